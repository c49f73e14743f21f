//! Events from client signals: `chat.archive` when another device of the account archives a chat
//! (app state relayed by fakewa), and `engine.event` (raw client events) for webhooks that name it.

use accept::ok_sink;
use wawp_engine::{Engine, EngineConfig, EngineEvent};

use crate::support::{DEADLINE, TestEnv};

mod accept {
    //! An inbound sink that accepts everything: the sibling device only acts, it keeps nothing.
    use std::future::Future;
    use std::pin::Pin;

    use wawp_engine::{InboundSink, IncomingMessage};

    pub struct Accept;

    impl InboundSink for Accept {
        fn commit(
            &self,
            _: Vec<IncomingMessage>,
        ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'static>> {
            Box::pin(async { Ok(()) })
        }
    }

    pub fn ok_sink() -> std::sync::Arc<dyn InboundSink> {
        std::sync::Arc::new(Accept)
    }
}

/// A second companion device of `phone`'s account: a bare wawp-engine client, linked by the phone.
pub(crate) async fn sibling(
    env: &TestEnv,
    phone: &str,
    keys: &std::path::Path,
) -> wawp_engine::EngineSession {
    let engine = Engine::new(EngineConfig {
        ws_url: env.fakewa.ws_url(),
        version: (2, 3000, 0),
        push_name: None,
        keys_dir: keys.to_path_buf(),
        media_roots_pem: None,
    })
    .expect("engine");
    let mut session = engine
        .start_session("sibling", ok_sink())
        .await
        .expect("sibling starts");
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let event = tokio::time::timeout_at(deadline, session.next_event())
            .await
            .expect("sibling links in time")
            .expect("sibling runs");
        match event {
            EngineEvent::Qr { code, .. } => {
                env.fakewa.scan_qr(phone, &code).await.expect("scan");
            }
            EngineEvent::Connected => return session,
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_chat_archived_on_another_device_is_a_chat_archive_event() {
    let env = TestEnv::start().await;
    let me = env.phone("12015550701", "Arch").await;
    let ann = env.phone("12015550702", "Ann").await;
    let id = env.linked_instance(&me).await;
    let hook = env.subscribe(&id, &["chat.archive"]).await;
    let keys = tempfile::tempdir().expect("keys dir");
    let other = sibling(&env, &me, keys.path()).await;
    let chat = format!("{ann}@c.us");

    other
        .sender()
        .archive_chat(&chat, true)
        .await
        .expect("archived");
    let got = hook
        .wait("chat.archive", |p| {
            p["chatId"] == chat.as_str() && p["archived"] == true
        })
        .await;
    assert_eq!(got["session"], id.as_str());
    other
        .sender()
        .archive_chat(&chat, false)
        .await
        .expect("unarchived");
    hook.wait("chat.archive", |p| {
        p["chatId"] == chat.as_str() && p["archived"] == false
    })
    .await;
    other.shutdown().await;
}

#[tokio::test]
async fn raw_engine_events_reach_only_webhooks_that_name_them() {
    let env = TestEnv::start().await;
    let me = env.phone("12015550711", "Raw").await;
    let bob = env.phone("12015550712", "Bob").await;
    let id = env.linked_instance(&me).await;
    let raw = crate::support::Receiver::start().await;
    let all = crate::support::Receiver::start().await;
    env.json(
        reqwest::Method::PUT,
        "/v2/webhooks",
        &serde_json::json!({"instance_id": id, "webhooks": [
            {"url": raw.url, "events": ["engine.event"]},
            {"url": all.url, "events": ["*"]}]}),
    )
    .await
    .assert_status(200);
    env.fakewa
        .send_text(&bob, &me, "raw hello")
        .await
        .expect("bob sends");
    let got = raw
        .wait("engine.event", |p| p["raw"]["event"] == "Messages")
        .await;
    assert!(got["payload"]["raw"]["data"].is_object(), "{got}");
    assert_eq!(got["engine"], "WAWP");
    // `*` gets the message but never the raw events.
    all.wait("message", |p| p["body"] == "raw hello").await;
    assert!(all.of("engine.event").is_empty());
    assert!(raw.of("message").is_empty());
}
