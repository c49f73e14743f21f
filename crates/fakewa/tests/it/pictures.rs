//! Profile pictures: a companion or a phone sets one, the account's devices and its contacts get the
//! picture notification, a contact fetches the URL and downloads the exact bytes from the media listener;
//! privacy `none` hides it from others (not from the owner); removal; a restart with `--data-dir` keeps it.

use base64::Engine as _;
use wacore::types::events::Event;
use wacore_binary::Jid;

use crate::common::{TestClient, https, link_by_qr, start_fake};
use fakewa::FakeWa;

/// JPEG magic and a few bytes: fakewa stores pictures verbatim.
fn jpeg(tag: u8) -> Vec<u8> {
    vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, tag, 0xFF, 0xD9]
}

/// Waits for a picture notification about `user`: `Some(id)` for a new picture, `None` for a removal.
async fn picture_update(c: &mut TestClient, user: &str, want: Option<&str>) {
    let what = format!("a picture notification about {user}: {want:?}");
    c.wait_for(&what, |e| match e {
        Event::PictureUpdate(u)
            if u.jid == Jid::pn(user)
                && u.removed == want.is_none()
                && u.picture_id.as_deref() == want =>
        {
            Some(())
        }
        _ => None,
    })
    .await
}

/// `(id, url)` of `user`'s full picture as `c` may see it.
async fn fetch(c: &TestClient, user: &str, preview: bool) -> Option<(String, String)> {
    c.client
        .contacts()
        .get_profile_picture(&Jid::pn(user), preview)
        .await
        .expect("picture IQ answered")
        .map(|p| (p.id, p.url))
}

#[tokio::test]
async fn a_companion_sets_its_picture_and_a_contact_downloads_the_bytes() {
    let fake = start_fake().await;
    let (ana, ben) = ("15556710001", "15556710002");
    fake.create_phone(ana, "Ana").await.expect("phone A");
    fake.create_phone(ben, "Ben").await.expect("phone B");
    let mut a = link_by_qr(&fake, ana).await;
    let mut b = link_by_qr(&fake, ben).await;
    assert_eq!(fetch(&b, ana, false).await, None, "no picture yet: 404");

    let set = a
        .client
        .profile()
        .set_profile_picture(jpeg(1))
        .await
        .expect("set");
    picture_update(&mut a, ana, Some(&set.id)).await;
    picture_update(&mut b, ana, Some(&set.id)).await;
    assert_eq!(fake.picture(ana).map(|p| p.id), Some(set.id.clone()));

    let (id, url) = fetch(&b, ana, false).await.expect("B sees A's picture");
    assert_eq!(id, set.id);
    assert!(url.starts_with(&fake.media_url()), "{url}");
    let (status, body) = https(fake.media_ca_pem(), "GET", url, vec![]).await;
    assert_eq!((status, body), (200, jpeg(1)), "the exact bytes");
    let (preview_id, _) = fetch(&b, ana, true).await.expect("preview");
    assert_eq!(preview_id, set.id, "preview and full share the id");

    let again = a
        .client
        .profile()
        .set_profile_picture(jpeg(2))
        .await
        .expect("update");
    assert_ne!(again.id, set.id, "a new id for every change");
    picture_update(&mut b, ana, Some(&again.id)).await;

    a.client
        .profile()
        .remove_profile_picture()
        .await
        .expect("remove");
    picture_update(&mut a, ana, None).await;
    picture_update(&mut b, ana, None).await;
    assert_eq!(fetch(&b, ana, false).await, None, "removed: 404");
    assert_eq!(fetch(&b, "19990000000", false).await, None, "unknown: 404");
    fake.shutdown().await;
}

#[tokio::test]
async fn a_phone_sets_its_picture_by_admin_api_and_privacy_none_hides_it() {
    let fake = start_fake().await;
    let (cai, dan) = ("15556720001", "15556720002");
    fake.create_phone(cai, "Cai").await.expect("phone C");
    fake.create_phone(dan, "Dan").await.expect("phone D");
    let mut c = link_by_qr(&fake, cai).await;
    let d = link_by_qr(&fake, dan).await;
    let http = reqwest::Client::new();
    let admin = |path: &str| format!("{}/admin/phones/{path}", fake.admin_url());

    let data = base64::engine::general_purpose::STANDARD.encode(jpeg(3));
    let res = http
        .post(admin(&format!("{cai}/picture")))
        .json(&serde_json::json!({ "data": data }))
        .send()
        .await
        .expect("admin picture");
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.expect("json");
    let id = body["id"].as_str().expect("id").to_string();
    picture_update(&mut c, cai, Some(&id)).await;
    assert_eq!(fetch(&d, cai, false).await.map(|p| p.0), Some(id.clone()));

    let privacy = |value: &'static str| {
        http.post(admin(&format!("{cai}/picture-privacy")))
            .json(&serde_json::json!({ "value": value }))
            .send()
    };
    assert_eq!(privacy("none").await.expect("privacy").status(), 200);
    assert_eq!(fetch(&d, cai, false).await, None, "hidden from others: 401");
    assert_eq!(fetch(&c, cai, false).await.map(|p| p.0), Some(id));
    assert_eq!(privacy("sometimes").await.expect("privacy").status(), 400);
    assert_eq!(privacy("all").await.expect("privacy").status(), 200);

    let res = http
        .delete(admin(&format!("{cai}/picture")))
        .send()
        .await
        .expect("admin delete");
    assert_eq!(res.status(), 200);
    picture_update(&mut c, cai, None).await;
    assert_eq!(fetch(&d, cai, false).await, None);

    let bad = http
        .post(admin(&format!("{cai}/picture")))
        .json(&serde_json::json!({ "data": "not base64!" }))
        .send()
        .await
        .expect("admin");
    assert_eq!(bad.status(), 400);
    let unknown = http
        .post(admin("19990000001/picture"))
        .json(&serde_json::json!({ "data": data }))
        .send()
        .await
        .expect("admin");
    assert_eq!(unknown.status(), 404);
    fake.shutdown().await;
}

#[tokio::test]
async fn a_restart_with_data_dir_keeps_the_picture() {
    crate::common::init();
    let dir = std::env::temp_dir().join(format!("fakewa-pictures-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = fakewa::FakeWaConfig {
        data_dir: Some(dir.clone()),
        ..Default::default()
    };
    let fake = FakeWa::start(config.clone()).await.expect("start");
    let eva = "15556730001";
    fake.create_phone(eva, "Eva").await.expect("phone");
    let id = fake.set_picture(eva, jpeg(4)).await.expect("set");
    let ca = fake.media_ca_pem();
    fake.shutdown().await;

    let fake = FakeWa::start(config).await.expect("restart");
    let pic = fake.picture(eva).expect("the picture survives");
    assert_eq!(pic.id, id);
    let (status, body) = https(ca, "GET", pic.url, vec![]).await;
    assert_eq!((status, body), (200, jpeg(4)));
    fake.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
