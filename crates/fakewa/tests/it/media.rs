//! Media: the HTTPS listener with fakewa's CA, `<media_conn>`, upload and download with whatsapp-rust's
//! own APIs, virtual phones receiving (download + decrypt into the inbox) and sending media.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use sha2::{Digest as _, Sha256};
use wacore::download::{Downloadable, MediaType};
use wacore::types::events::Event;
use wacore_binary::Jid;
use waproto::buffa::MessageField;
use waproto::whatsapp as wa;

use crate::common::{DEADLINE, Media, https, link_by_qr, link_by_qr_with, start_fake};
use fakewa::{FakeWa, InboxMessage, PhoneMedia};

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Polls the phone's inbox until `f` picks a message, or panics at the deadline.
async fn inbox_until(
    fake: &FakeWa,
    number: &str,
    f: impl Fn(&InboxMessage) -> bool,
) -> InboxMessage {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let inbox = fake.inbox(number).await.expect("inbox");
        if let Some(m) = inbox.into_iter().find(|m| f(m)) {
            return m;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the message never reached {number}'s inbox"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn companion_image_is_downloaded_into_the_phone_inbox() {
    let fake = start_fake().await;
    fake.create_phone("15556660001", "Pia")
        .await
        .expect("phone A");
    fake.create_phone("15556660002", "Quin")
        .await
        .expect("phone B");
    let b = link_by_qr(&fake, "15556660002").await;

    let original = b"fakewa image bytes: not a real jpeg".repeat(50);
    let up = b
        .client
        .upload(original.clone(), MediaType::Image, Default::default())
        .await
        .expect("upload through the media listener");
    assert!(up.url.starts_with(&fake.media_url()), "url {}", up.url);
    assert!(up.direct_path.starts_with("/v/") && !up.direct_path.contains('?'));
    let msg = wa::Message {
        image_message: MessageField::some(wa::message::ImageMessage {
            url: Some(up.url.clone()),
            direct_path: Some(up.direct_path.clone()),
            media_key: Some(up.media_key.to_vec()),
            file_sha256: Some(up.file_sha256.to_vec()),
            file_enc_sha256: Some(up.file_enc_sha256.to_vec()),
            file_length: Some(up.file_length),
            mimetype: Some("image/jpeg".into()),
            caption: Some("a picture".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let id = b
        .client
        .send_message(Jid::pn("15556660001"), msg)
        .await
        .expect("send")
        .message_id;

    let entry = inbox_until(&fake, "15556660001", |m| m.id == id).await;
    let media = entry.media.expect("the inbox entry has media");
    assert_eq!(media.error, None);
    assert_eq!(media.kind, "image");
    assert_eq!(entry.kind, "image");
    assert_eq!(media.mimetype.as_deref(), Some("image/jpeg"));
    assert_eq!(media.caption.as_deref(), Some("a picture"));
    assert_eq!(media.file_length, Some(original.len() as u64));
    assert_eq!(
        media.sha256.as_deref(),
        Some(sha256_hex(&original).as_str())
    );
    assert_eq!(
        fake.inbox_media("15556660001", &id).await.expect("bytes"),
        original
    );

    // The same through the admin API.
    let http = reqwest::Client::new();
    let inbox: serde_json::Value = http
        .get(format!(
            "{}/admin/phones/15556660001/inbox",
            fake.admin_url()
        ))
        .send()
        .await
        .expect("inbox")
        .json()
        .await
        .expect("json");
    let json_entry = inbox
        .as_array()
        .and_then(|a| a.iter().find(|m| m["id"] == id.as_str()))
        .expect("entry in the admin inbox");
    assert_eq!(json_entry["media"]["sha256"], sha256_hex(&original));
    assert_eq!(json_entry["media"]["fileLength"], original.len());
    let bytes = http
        .get(format!(
            "{}/admin/phones/15556660001/media/{id}",
            fake.admin_url()
        ))
        .send()
        .await
        .expect("media")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(bytes.as_ref(), original.as_slice());
    let missing = http
        .get(format!(
            "{}/admin/phones/15556660001/media/nope",
            fake.admin_url()
        ))
        .send()
        .await
        .expect("media");
    assert_eq!(missing.status().as_u16(), 404);
    fake.shutdown().await;
}

#[tokio::test]
async fn phone_document_is_downloaded_by_the_companion() {
    let fake = start_fake().await;
    fake.create_phone("15556670001", "Ros")
        .await
        .expect("phone A");
    fake.create_phone("15556670002", "Sam")
        .await
        .expect("phone B");
    let mut b = link_by_qr(&fake, "15556670002").await;

    let original: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    let id = fake
        .send_media(
            "15556670001",
            "15556670002",
            PhoneMedia {
                kind: "document".into(),
                data: original.clone(),
                mimetype: "application/pdf".into(),
                caption: Some("the report".into()),
                file_name: Some("report.pdf".into()),
                ptt: false,
            },
        )
        .await
        .expect("phone sends a document");
    let doc = b
        .wait_for("the document", |e| match e {
            Event::Messages(batch) => batch
                .messages
                .iter()
                .find(|m| m.info.id == id)
                .and_then(|m| m.message.document_message.as_option().cloned()),
            _ => None,
        })
        .await;
    assert_eq!(doc.file_name.as_deref(), Some("report.pdf"));
    assert_eq!(doc.mimetype.as_deref(), Some("application/pdf"));
    let downloaded = b
        .client
        .download(&doc as &dyn Downloadable)
        .await
        .expect("download with whatsapp-rust");
    assert_eq!(downloaded, original);

    // A voice note through the admin API (base64 body).
    let audio = vec![0x4f_u8; 3_000];
    let resp: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/admin/phones/15556670001/send", fake.admin_url()))
        .json(&serde_json::json!({
            "to": "15556670002",
            "media": { "kind": "audio", "data": B64.encode(&audio), "mimetype": "audio/ogg; codecs=opus", "ptt": true }
        }))
        .send()
        .await
        .expect("admin send")
        .json()
        .await
        .expect("json");
    let audio_id = resp["id"].as_str().expect("an id").to_string();
    let voice = b
        .wait_for("the voice note", |e| match e {
            Event::Messages(batch) => batch
                .messages
                .iter()
                .find(|m| m.info.id == audio_id)
                .and_then(|m| m.message.audio_message.as_option().cloned()),
            _ => None,
        })
        .await;
    assert_eq!(voice.ptt, Some(true));
    let downloaded = b
        .client
        .download(&voice as &dyn Downloadable)
        .await
        .expect("download the voice note");
    assert_eq!(downloaded, audio);
    fake.shutdown().await;
}

#[tokio::test]
async fn the_default_http_client_refuses_the_media_listener() {
    let fake = start_fake().await;
    fake.create_phone("15556680001", "Tao")
        .await
        .expect("phone");
    let c = link_by_qr_with(&fake, "15556680001", Media::Default).await;
    let err = c
        .client
        .upload(b"x".to_vec(), MediaType::Image, Default::default())
        .await
        .expect_err("webpki roots do not know fakewa's media CA");
    let text = format!("{err:#}").to_lowercase();
    assert!(
        text.contains("invalid peer certificate") && text.contains("unknownissuer"),
        "not a TLS error: {text}"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn the_media_listener_checks_auth_and_answers_404_for_unknown_blobs() {
    let fake = start_fake().await;
    let ca = fake.media_ca_pem();
    // The admin route serves the same PEM.
    let pem = reqwest::get(format!("{}/admin/media-ca", fake.admin_url()))
        .await
        .expect("media-ca")
        .text()
        .await
        .expect("text");
    assert_eq!(pem, ca);

    let body = b"an encrypted blob".to_vec();
    let token = B64URL.encode(Sha256::digest(&body));
    let url = format!(
        "{}/mms/image/{token}?auth=not-issued&token={token}",
        fake.media_url()
    );
    let (status, _) = https(ca.clone(), "POST", url.clone(), body.clone()).await;
    assert_eq!(status, 401, "an auth fakewa never issued");
    let (status, _) = https(ca.clone(), "POST", format!("{url}&resume=1"), vec![]).await;
    assert_eq!(status, 404, "nothing to resume");
    let unknown = "0".repeat(64);
    let (status, _) = https(
        ca.clone(),
        "GET",
        format!("{}/v/t62.7118-24/{unknown}.enc?token=x", fake.media_url()),
        vec![],
    )
    .await;
    assert_eq!(status, 404);
    fake.shutdown().await;
}

#[tokio::test]
async fn a_restart_with_data_dir_keeps_media_blobs_and_the_ca() {
    crate::common::init();
    let dir = std::env::temp_dir().join(format!("fakewa-media-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = fakewa::FakeWaConfig {
        data_dir: Some(dir.clone()),
        ..Default::default()
    };
    let fake = FakeWa::start(config.clone()).await.expect("start");
    fake.create_phone("15556690001", "Uma")
        .await
        .expect("phone");
    let c = link_by_qr(&fake, "15556690001").await;
    let up = c
        .client
        .upload(
            b"kept across restarts".to_vec(),
            MediaType::Document,
            Default::default(),
        )
        .await
        .expect("upload");
    let ca = fake.media_ca_pem();
    drop(c);
    fake.shutdown().await;
    assert!(dir.join("media-ca.pem").exists());

    let fake = FakeWa::start(config).await.expect("restart");
    assert_eq!(fake.media_ca_pem(), ca, "the media CA survives a restart");
    let token = B64URL.encode(up.file_enc_sha256);
    for path in [up.direct_path.clone(), format!("/mms/document/{token}")] {
        let (status, body) = https(
            ca.clone(),
            "GET",
            format!("{}{path}?token={token}", fake.media_url()),
            vec![],
        )
        .await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(
            Sha256::digest(&body).as_slice(),
            up.file_enc_sha256.as_slice()
        );
    }
    fake.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn other_content_is_kept_as_json_in_the_inbox() {
    let fake = start_fake().await;
    fake.create_phone("15556700001", "Vic")
        .await
        .expect("phone A");
    fake.create_phone("15556700002", "Wes")
        .await
        .expect("phone B");
    let b = link_by_qr(&fake, "15556700002").await;
    let msg = wa::Message {
        location_message: MessageField::some(wa::message::LocationMessage {
            degrees_latitude: Some(-23.5),
            degrees_longitude: Some(-46.6),
            name: Some("Sé".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let id = b
        .client
        .send_message(Jid::pn("15556700001"), msg)
        .await
        .expect("send")
        .message_id;
    let entry = inbox_until(&fake, "15556700001", |m| m.id == id).await;
    assert!(entry.media.is_none());
    let extra = entry.extra.expect("extra");
    assert_eq!(entry.kind, "location");
    let loc = &extra["location_message"];
    assert_eq!(loc["degrees_latitude"], -23.5);
    assert_eq!(loc["name"], "Sé");
    assert!(loc.get("url").is_none(), "nulls are dropped: {extra}");
    assert!(extra.get("message_context_info").is_none());
    fake.shutdown().await;
}
