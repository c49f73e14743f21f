//! Presence subscriptions, typing indicators, and the suite's `mock-phone/scan-qr` (account by push name).

use std::sync::Arc;

use wacore::store::InMemoryBackend;
use wacore::types::events::Event;
use wacore::types::presence::ChatPresence;
use wacore_binary::Jid;

use crate::common::{TestClient, link_by_qr, start_fake};

#[tokio::test]
async fn presence_and_typing_reach_the_peer() {
    let fake = start_fake().await;
    fake.create_phone("15556660001", "Joe")
        .await
        .expect("phone A");
    fake.create_phone("15556660002", "Kim")
        .await
        .expect("phone B");
    let mut a = link_by_qr(&fake, "15556660001").await;
    let b = link_by_qr(&fake, "15556660002").await;

    b.client
        .presence()
        .set_available()
        .await
        .expect("available");
    a.client
        .presence()
        .subscribe(Jid::pn("15556660002"))
        .await
        .expect("subscribe");
    a.wait_for("B's presence", |e| match e {
        Event::Presence(p) if p.from.user == "15556660002" && !p.unavailable => Some(()),
        _ => None,
    })
    .await;

    b.client
        .chatstate()
        .send_composing(&Jid::pn("15556660001"))
        .await
        .expect("typing");
    a.wait_for("B typing", |e| match e {
        Event::ChatPresence(c)
            if c.source.sender.user == "15556660002" && c.state == ChatPresence::Composing =>
        {
            Some(())
        }
        _ => None,
    })
    .await;
    fake.shutdown().await;
}

#[tokio::test]
async fn mock_phone_scan_picks_the_account_by_push_name() {
    let fake = start_fake().await;
    let http = reqwest::Client::new();
    let scan_url = format!("{}/admin/mock-phone/scan-qr", fake.admin_url());
    let mut users = Vec::new();
    for _ in 0..2 {
        let mut c =
            TestClient::start_named(&fake, Arc::new(InMemoryBackend::new()), "suite_same").await;
        let qr = c.qr().await;
        let url = format!("https://wa.me/settings/linked_devices#{qr}");
        let resp = http.post(&scan_url).body(url).send().await.expect("scan");
        assert!(resp.status().is_success(), "scan-qr: {}", resp.status());
        c.connected().await;
        users.push(c.client.pn().expect("paired"));
    }
    assert_eq!(users[0].user, users[1].user, "same push name, same account");
    assert_ne!(users[0].device, users[1].device, "two companion devices");

    let mut other =
        TestClient::start_named(&fake, Arc::new(InMemoryBackend::new()), "suite_other").await;
    let qr = other.qr().await;
    let resp = http.post(&scan_url).body(qr).send().await.expect("scan");
    assert!(resp.status().is_success());
    other.connected().await;
    assert_ne!(other.client.pn().expect("paired").user, users[0].user);
    fake.shutdown().await;
}
