//! Linking: QR through the admin HTTP API, pairing code, reconnects with stored credentials, the phone's
//! ADV signature, unlinking.

use std::sync::Arc;
use std::time::Instant;

use wacore::store::InMemoryBackend;

use wacore::libsignal::protocol::{KeyPair, PublicKey};
use wacore::store::traits::DeviceStore as _;
use wacore::types::events::Event;
use waproto::buffa::Message as _;
use waproto::whatsapp as wa;
use whatsapp_rust::pair_code::PairCodeOptions;

use crate::common::{TestClient, link_by_qr, start_fake};

#[tokio::test]
async fn qr_link_by_admin_scan_then_reconnect() {
    let fake = start_fake().await;
    let info = fake
        .create_phone("15550001111", "Alice")
        .await
        .expect("phone");
    assert_eq!(info.jid, "15550001111@s.whatsapp.net");
    assert!(info.lid.ends_with("@lid"));
    let started = Instant::now();
    let mut c = link_by_qr(&fake, "15550001111").await;
    assert!(
        started.elapsed().as_secs() < 8,
        "the phone's key share should spare the 10 s grace (took {:?})",
        started.elapsed()
    );

    // The companion's stored ADV identity is signed by the phone's account key, and only by it.
    let device = c.backend.load().await.expect("load").expect("a device");
    let pn = device.pn.clone().expect("paired pn");
    assert_eq!(pn.user, "15550001111");
    assert!(pn.device >= 1, "companions get device ids >= 1");
    let account = device.account.clone().expect("ADV identity stored");
    let details = account.details.clone().expect("details");
    let phone_key = fake.phone_identity_key("15550001111").expect("account key");
    assert_eq!(
        account.account_signature_key.as_deref(),
        Some(&phone_key[..])
    );
    let mut msg = vec![6u8, 0];
    msg.extend_from_slice(&details);
    msg.extend_from_slice(device.identity_key.public_key.public_key_bytes());
    let sig = account.account_signature.clone().expect("signature");
    let verify = |k: &[u8]| {
        PublicKey::from_djb_public_key_bytes(k)
            .expect("key")
            .verify_signature(&msg, &sig)
    };
    assert!(
        verify(&phone_key),
        "ADV account signature verifies under the phone's key"
    );
    let other = KeyPair::generate(&mut rand::rng());
    assert!(
        !verify(other.public_key.public_key_bytes()),
        "and fails under another key"
    );
    let adv = wa::ADVDeviceIdentity::decode_from_slice(&details).expect("details decode");
    assert_eq!(adv.key_index, Some(1));

    // Reconnect with the stored credentials (IK): connected again without pairing.
    c.restart(&fake).await;
    c.connected().await;
    fake.shutdown().await;
}

#[tokio::test]
async fn link_by_pairing_code_then_reconnect() {
    let fake = start_fake().await;
    fake.create_phone("15550002222", "Bob")
        .await
        .expect("phone");
    let mut c = TestClient::fresh(&fake).await;
    c.qr().await; // the registration socket is up
    let code = c
        .client
        .pair_with_code(PairCodeOptions {
            phone_number: "+1 555-000-2222".into(),
            ..Default::default()
        })
        .await
        .expect("pairing code");
    let dashed = format!("{}-{}", &code[..4], &code[4..]);
    let http = reqwest::Client::new();
    let resp = http
        .post(format!(
            "{}/admin/phones/15550002222/link-code",
            fake.admin_url()
        ))
        .json(&serde_json::json!({ "code": dashed }))
        .send()
        .await
        .expect("admin link-code");
    assert!(resp.status().is_success(), "link-code: {}", resp.status());
    c.connected().await;
    c.restart(&fake).await;
    c.connected().await;
    fake.shutdown().await;
}

#[tokio::test]
async fn unlink_logs_the_companion_out() {
    let fake = start_fake().await;
    fake.create_phone("15550003333", "Carol")
        .await
        .expect("phone");
    let mut c = link_by_qr(&fake, "15550003333").await;
    let http = reqwest::Client::new();
    let resp = http
        .post(format!(
            "{}/admin/phones/15550003333/unlink",
            fake.admin_url()
        ))
        .send()
        .await
        .expect("admin unlink");
    assert!(resp.status().is_success());
    c.wait_for("LoggedOut", |e| {
        matches!(e, Event::LoggedOut(_)).then_some(())
    })
    .await;
    fake.shutdown().await;
}

#[tokio::test]
async fn admin_errors_are_json() {
    let fake = start_fake().await;
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{}/admin/phones/999/scan", fake.admin_url()))
        .json(&serde_json::json!({ "qr": "nonsense" }))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 400);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert!(body["error"].is_string());
    let health = http
        .get(format!("{}/admin/health", fake.admin_url()))
        .send()
        .await
        .expect("health");
    assert!(health.status().is_success());
    let ready = http.get(fake.admin_url()).send().await.expect("ready");
    assert!(ready.status().is_success());
    fake.shutdown().await;
}

#[tokio::test]
async fn a_client_without_push_name_gets_the_account_name_from_app_state() {
    let fake = start_fake().await;
    fake.create_phone("15550004444", "Dana")
        .await
        .expect("phone");
    let mut c = TestClient::start_named(&fake, Arc::new(InMemoryBackend::new()), "").await;
    let qr = c.qr().await;
    let started = Instant::now();
    fake.scan_qr("15550004444", &qr).await.expect("scan");
    // The critical sync (which carries the push name) completes before `Connected`.
    let name = c
        .wait_for("the push name", |e| match e {
            Event::SelfPushNameUpdated(u) => Some(u.new_name.clone()),
            _ => None,
        })
        .await;
    assert_eq!(name, "Dana");
    c.connected().await;
    assert!(
        started.elapsed().as_secs() < 5,
        "connected after {:?}",
        started.elapsed()
    );
    // With a known push name, a fresh client on the same store connects without the 10 s grace.
    c.restart(&fake).await;
    let started = Instant::now();
    c.connected().await;
    assert!(
        started.elapsed().as_secs() < 5,
        "reconnected after {:?}",
        started.elapsed()
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn digest_matches_the_uploaded_keys() {
    let fake = start_fake().await;
    fake.create_phone("15550005555", "Eli")
        .await
        .expect("phone");
    let c = link_by_qr(&fake, "15550005555").await;
    let digest = c
        .client
        .execute(wacore::iq::prekeys::DigestKeyBundleSpec::new())
        .await
        .expect("digest");
    assert!(
        !digest.prekey_ids.is_empty(),
        "the server lists the one-time prekeys"
    );
    assert_eq!(digest.hash.len(), 20);
    fake.shutdown().await;
}

#[tokio::test]
async fn an_offline_companion_unlinked_is_refused_at_its_next_login() {
    let fake = start_fake().await;
    fake.create_phone("15550006666", "Fio")
        .await
        .expect("phone");
    let mut c = link_by_qr(&fake, "15550006666").await;
    c.stop().await;
    fake.unlink("15550006666").await.expect("unlink");
    c.restart(&fake).await;
    c.wait_for("LoggedOut at login", |e| match e {
        Event::LoggedOut(l) => Some(l.on_connect),
        _ => None,
    })
    .await;
    fake.shutdown().await;
}
