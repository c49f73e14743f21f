//! Profile-picture stories: a contact's phone sets a picture and wawp answers a URL that serves
//! exactly those bytes (fakewa's TLS media listener, trusted through its CA, never by turning
//! verification off); the 24-hour cache until `refresh=true`; a contact without a picture answers
//! `url: null`; `/v2/contacts/profile-picture` is the same operation; bad ids get the documented
//! errors.

use reqwest::Certificate;

use crate::support::{Resp, TestEnv};

/// JPEG magic and a marker byte: fakewa keeps pictures verbatim.
fn jpeg(tag: u8) -> Vec<u8> {
    vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', tag, 0xFF, 0xD9,
    ]
}

/// GETs `url` with a client that trusts only fakewa's media CA: (status, content type, body).
async fn download(env: &TestEnv, url: &str) -> (u16, String, Vec<u8>) {
    let ca = Certificate::from_pem(env.fakewa.media_ca_pem().as_bytes()).expect("media CA");
    let http = reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .expect("https client");
    let res = http.get(url).send().await.expect("picture downloaded");
    let status = res.status().as_u16();
    let kind = res
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, kind, res.bytes().await.expect("body").to_vec())
}

/// `GET /v2/chats/picture` for `chat`.
async fn chat_picture(env: &TestEnv, inst: &str, chat: &str, refresh: &str) -> Resp {
    let params = [
        ("instance_id", inst),
        ("chatId", chat),
        ("refresh", refresh),
    ];
    env.call("GET", "/v2/chats/picture", &params).await
}

#[tokio::test]
async fn a_contacts_picture_url_serves_the_bytes_and_is_cached_until_refresh() {
    let env = TestEnv::start().await;
    let me = env.phone("12015550901", "Pia").await;
    let bob = env.phone("12015550902", "Bob").await;
    let inst = env.linked_instance(&me).await;
    let bob_chat = format!("{bob}@c.us");
    env.fakewa
        .set_picture(&bob, jpeg(1))
        .await
        .expect("Bob's phone sets a picture");

    let res = chat_picture(&env, &inst, &bob_chat, "false").await;
    res.assert_status(200);
    assert_eq!(res.json["id"], bob_chat.as_str());
    let url = res.json["url"].as_str().expect("a URL").to_string();
    assert!(url.starts_with(&env.fakewa.media_url()), "{url}");
    assert_eq!(
        download(&env, &url).await,
        (200, "image/jpeg".into(), jpeg(1))
    );

    // The same operation under the contacts section, with the contact named `contactId`.
    let res = env
        .call(
            "GET",
            "/v2/contacts/profile-picture",
            &[("instance_id", &inst), ("contactId", &bob)],
        )
        .await;
    res.assert_status(200);
    assert_eq!(res.json["id"], bob_chat.as_str());
    assert_eq!(res.json["url"], url.as_str());

    // A new picture: the cached URL until `refresh=true`.
    env.fakewa
        .set_picture(&bob, jpeg(2))
        .await
        .expect("a new picture");
    let cached = chat_picture(&env, &inst, &bob_chat, "false").await;
    assert_eq!(cached.json["url"], url.as_str(), "cached");
    let fresh = chat_picture(&env, &inst, &bob_chat, "true").await;
    fresh.assert_status(200);
    let new_url = fresh.json["url"].as_str().expect("a URL").to_string();
    assert_ne!(new_url, url);
    assert_eq!(download(&env, &new_url).await.2, jpeg(2));
}

#[tokio::test]
async fn a_contact_without_a_picture_answers_null_and_bad_ids_are_refused() {
    let env = TestEnv::start().await;
    let me = env.phone("12015550911", "Rui").await;
    let eve = env.phone("12015550912", "Eve").await;
    let inst = env.linked_instance(&me).await;

    let res = chat_picture(&env, &inst, &format!("{eve}@c.us"), "false").await;
    res.assert_status(200);
    assert_eq!(res.json["id"], format!("{eve}@c.us"));
    assert!(res.json["url"].is_null(), "no picture: {}", res.text);

    // Hidden by privacy reads the same as none.
    env.fakewa
        .set_picture(&eve, jpeg(3))
        .await
        .expect("picture");
    env.fakewa
        .set_picture_privacy(&eve, "none")
        .await
        .expect("privacy");
    let res = env
        .call(
            "GET",
            "/v2/contacts/profile-picture",
            &[
                ("instance_id", &inst),
                ("contactId", &eve),
                ("refresh", "true"),
            ],
        )
        .await;
    res.assert_status(200);
    assert!(res.json["url"].is_null(), "hidden: {}", res.text);

    let bad = chat_picture(&env, &inst, "not a chat", "false").await;
    bad.assert_error(400, "invalid_chat_id");
    let missing = env
        .call("GET", "/v2/chats/picture", &[("instance_id", &inst)])
        .await;
    missing.assert_error(400, "missing_param");
    assert_eq!(missing.json["details"]["missing"][0], "chatId");
    let missing = env
        .call(
            "GET",
            "/v2/contacts/profile-picture",
            &[("instance_id", &inst)],
        )
        .await;
    missing.assert_error(400, "missing_param");
    assert_eq!(missing.json["details"]["missing"][0], "contactId");
}
