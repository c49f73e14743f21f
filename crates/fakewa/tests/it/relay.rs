//! Message relay between companions of two accounts, receipts, offline queues, virtual phones.

use std::time::Duration;

use wacore::types::events::Event;
use wacore::types::presence::ReceiptType;
use wacore_binary::Jid;

use crate::common::{DEADLINE, TestClient, assert_nothing_queued, link_by_qr, start_fake};

async fn receipt(c: &mut TestClient, id: &str, kinds: &[ReceiptType]) -> ReceiptType {
    c.wait_for("a receipt", |e| match e {
        Event::Receipt(r) if r.message_ids.iter().any(|m| m == id) && kinds.contains(&r.r#type) => {
            Some(r.r#type.clone())
        }
        _ => None,
    })
    .await
}

#[tokio::test]
async fn two_companions_exchange_text_with_receipts() {
    let fake = start_fake().await;
    fake.create_phone("15551110001", "Ann")
        .await
        .expect("phone A");
    fake.create_phone("15551110002", "Ben")
        .await
        .expect("phone B");
    let mut a = link_by_qr(&fake, "15551110001").await;
    let mut b = link_by_qr(&fake, "15551110002").await;

    let sent = a
        .client
        .send_text(Jid::pn("15551110002"), "hello from A")
        .await
        .expect("send");
    let (from, text) = b.text().await;
    assert_eq!(
        (from.as_str(), text.as_str()),
        ("15551110001", "hello from A")
    );
    receipt(
        &mut a,
        &sent.message_id,
        &[ReceiptType::Delivered, ReceiptType::Inactive],
    )
    .await;

    b.client
        .mark_as_read(&Jid::pn("15551110001"), None, &[sent.message_id.as_str()])
        .await
        .expect("read receipt");
    receipt(&mut a, &sent.message_id, &[ReceiptType::Read]).await;

    let reply = b
        .client
        .send_text(Jid::pn("15551110001"), "hi A, B here")
        .await
        .expect("reply");
    let (from, text) = a.text().await;
    assert_eq!(
        (from.as_str(), text.as_str()),
        ("15551110002", "hi A, B here")
    );
    receipt(
        &mut b,
        &reply.message_id,
        &[ReceiptType::Delivered, ReceiptType::Inactive],
    )
    .await;
    // Every device acknowledged what it got: nothing stays queued (a relay that kept acknowledged
    // stanzas grew without bound under load).
    assert_nothing_queued(&fake).await;
    fake.shutdown().await;
}

#[tokio::test]
async fn offline_receiver_gets_its_messages_in_order_on_reconnect() {
    let fake = start_fake().await;
    fake.create_phone("15552220001", "Cid")
        .await
        .expect("phone A");
    fake.create_phone("15552220002", "Dee")
        .await
        .expect("phone B");
    let a = link_by_qr(&fake, "15552220001").await;
    let mut b = link_by_qr(&fake, "15552220002").await;
    // A session first, so the queued messages are ordinary `msg`s as well as a `pkmsg`.
    a.client
        .send_text(Jid::pn("15552220002"), "warm-up")
        .await
        .expect("send");
    assert_eq!(b.text().await.1, "warm-up");

    b.stop().await;
    for text in ["first", "second", "third"] {
        a.client
            .send_text(Jid::pn("15552220002"), text)
            .await
            .expect("send while B is offline");
    }
    b.restart(&fake).await;
    let mut got = Vec::new();
    while got.len() < 3 {
        got.push(b.text().await.1);
    }
    assert_eq!(got, ["first", "second", "third"]);
    fake.shutdown().await;
}

#[tokio::test]
async fn dropped_connection_loses_nothing() {
    let fake = start_fake().await;
    fake.create_phone("15553330001", "Eve")
        .await
        .expect("phone A");
    fake.create_phone("15553330002", "Fay")
        .await
        .expect("phone B");
    let a = link_by_qr(&fake, "15553330001").await;
    let mut b = link_by_qr(&fake, "15553330002").await;
    let b_jid = b.client.pn().expect("B's jid").to_string();
    assert!(fake.drop_connection(&b_jid).await.expect("drop"));
    a.client
        .send_text(Jid::pn("15553330002"), "after the drop")
        .await
        .expect("send");
    assert_eq!(b.text().await.1, "after the drop");
    // Nothing more (no duplicate) arrives within a short window.
    let dup = tokio::time::timeout(Duration::from_secs(2), b.text()).await;
    assert!(dup.is_err(), "duplicate delivery: {dup:?}");
    drop(a);
    fake.shutdown().await;
}

#[tokio::test]
async fn phone_sends_to_companion_and_reads_the_reply() {
    let fake = start_fake().await;
    fake.create_phone("15554440001", "Gus")
        .await
        .expect("phone A");
    fake.create_phone("15554440002", "Hal")
        .await
        .expect("phone B");
    let mut b = link_by_qr(&fake, "15554440002").await;
    let id = fake
        .send_text("15554440001", "15554440002", "hello from a phone")
        .await
        .expect("phone send");
    assert!(!id.is_empty());
    let (from, text) = b.text().await;
    assert_eq!(
        (from.as_str(), text.as_str()),
        ("15554440001", "hello from a phone")
    );
    b.client
        .send_text(Jid::pn("15554440001"), "got it")
        .await
        .expect("reply");

    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let inbox: serde_json::Value = http
            .get(format!(
                "{}/admin/phones/15554440001/inbox",
                fake.admin_url()
            ))
            .send()
            .await
            .expect("inbox")
            .json()
            .await
            .expect("json");
        let found = inbox.as_array().is_some_and(|msgs| {
            msgs.iter()
                .any(|m| m["text"] == "got it" && m["chat"] == "15554440002@s.whatsapp.net")
        });
        if found {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "reply never reached the inbox: {inbox}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    fake.shutdown().await;
}

#[tokio::test]
async fn echo_phone_answers() {
    let fake = start_fake().await;
    fake.create_phone("15555550001", "Ivy")
        .await
        .expect("phone A");
    fake.create_phone("15555550002", "Echo")
        .await
        .expect("phone B");
    fake.set_echo("15555550002", true).await.expect("echo on");
    let mut a = link_by_qr(&fake, "15555550001").await;
    a.client
        .send_text(Jid::pn("15555550002"), "ping")
        .await
        .expect("send");
    let (from, text) = a.text().await;
    assert_eq!(
        (from.as_str(), text.as_str()),
        ("15555550002", "echo: ping")
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn a_restart_with_data_dir_keeps_accounts_and_links() {
    crate::common::init();
    let dir = std::env::temp_dir().join(format!("fakewa-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let config = fakewa::FakeWaConfig {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        data_dir: Some(dir.clone()),
        ..Default::default()
    };
    let fake = fakewa::FakeWa::start(config.clone()).await.expect("start");
    fake.create_phone("15558880001", "Ned")
        .await
        .expect("phone A");
    fake.create_phone("15558880002", "Ola")
        .await
        .expect("phone B");
    let mut a = link_by_qr(&fake, "15558880001").await;
    let mut b = link_by_qr(&fake, "15558880002").await;
    a.client
        .send_text(Jid::pn("15558880002"), "before")
        .await
        .expect("send");
    assert_eq!(b.text().await.1, "before");
    fake.shutdown().await;

    let fake = fakewa::FakeWa::start(config).await.expect("restart");
    a.connected().await;
    b.connected().await;
    a.client
        .send_text(Jid::pn("15558880002"), "after")
        .await
        .expect("send");
    assert_eq!(b.text().await.1, "after");
    let id = fake
        .send_text("15558880002", "15558880001", "from the phone")
        .await
        .expect("phone");
    assert!(!id.is_empty());
    assert_eq!(a.text().await.1, "from the phone");
    fake.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_both_ways_leaves_nothing_queued_once_everything_is_acknowledged() {
    let fake = start_fake().await;
    fake.create_phone("15551110031", "Cy")
        .await
        .expect("phone A");
    fake.create_phone("15551110032", "Di")
        .await
        .expect("phone B");
    let mut a = link_by_qr(&fake, "15551110031").await;
    let mut b = link_by_qr(&fake, "15551110032").await;
    let (to_a, to_b) = (Jid::pn("15551110031"), Jid::pn("15551110032"));
    a.client
        .send_text(to_b.clone(), "first")
        .await
        .expect("first");
    b.text().await;
    b.client
        .send_text(to_a.clone(), "first")
        .await
        .expect("first");
    a.text().await;
    const BURST: usize = 1000;
    let sends = (0..BURST).flat_map(|i| {
        [
            (a.client.clone(), to_b.clone()),
            (b.client.clone(), to_a.clone()),
        ]
        .map(|(client, to)| async move { client.send_text(to, &format!("burst {i}")).await })
    });
    for sent in futures::future::join_all(sends).await {
        sent.expect("send");
    }
    for _ in 0..BURST {
        a.text().await;
        b.text().await;
    }
    assert_nothing_queued(&fake).await;
    fake.shutdown().await;
}
