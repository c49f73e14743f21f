//! The events service against a real store and a real HTTP receiver on loopback: envelopes,
//! retries, signatures, per-chat order across an outage, dead letters and replay, config changes.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use wawp_store::{InstanceRow, Store, TokenRow};

use super::*;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One request the receiver got.
#[derive(Clone, Debug)]
pub(crate) struct Received {
    pub headers: HashMap<String, String>,
    pub body: Value,
    pub raw: Vec<u8>,
    pub at: std::time::Instant,
}

/// A tiny HTTP/1.1 server recording POSTs and answering scripted statuses (then 200), each with
/// a JSON body, as real receivers answer. The body follows the head a moment later, as it does
/// from a receiver whose framework writes them apart: a client that stops at the head and leaves
/// the body unread cannot reuse the connection.
#[derive(Clone, Default)]
pub(crate) struct Receiver {
    pub got: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
    connections: Arc<std::sync::atomic::AtomicUsize>,
}

/// How long the receiver takes between the head of its answer and the body.
const BODY_AFTER: Duration = Duration::from_millis(5);

impl Receiver {
    pub(crate) async fn start(listener: TcpListener, script: &[u16]) -> Receiver {
        let rx = Receiver::default();
        if let Ok(mut s) = rx.script.lock() {
            s.extend(script);
        }
        let this = rx.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                this.connections
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::spawn(this.clone().serve(conn));
            }
        });
        rx
    }

    async fn serve(self, conn: TcpStream) {
        let mut conn = BufReader::new(conn);
        loop {
            let mut headers = HashMap::new();
            let mut line = String::new();
            if conn.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            loop {
                line.clear();
                if conn.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                let l = line.trim_end();
                if l.is_empty() {
                    break;
                }
                if let Some((k, v)) = l.split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                }
            }
            let len: usize = headers
                .get("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut raw = vec![0; len];
            if conn.read_exact(&mut raw).await.is_err() {
                return;
            }
            let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
            let status = self
                .script
                .lock()
                .ok()
                .and_then(|mut s| s.pop_front())
                .unwrap_or(200);
            if let Ok(mut got) = self.got.lock() {
                got.push(Received {
                    headers,
                    body,
                    raw,
                    at: std::time::Instant::now(),
                });
            }
            let body = r#"{"ok":true}"#;
            let head = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            if conn.get_mut().write_all(head.as_bytes()).await.is_err() {
                return;
            }
            tokio::time::sleep(BODY_AFTER).await;
            if conn.get_mut().write_all(body.as_bytes()).await.is_err() {
                return;
            }
        }
    }

    pub(crate) fn requests(&self) -> Vec<Received> {
        self.got.lock().map(|g| g.clone()).unwrap_or_default()
    }

    /// TCP connections accepted so far.
    pub(crate) fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::Relaxed)
    }
}

async fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

struct Env {
    events: Events,
    instance: String,
    cancel: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for Env {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

async fn env(webhooks: Value) -> Env {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open_in_dir(dir.path()).await.expect("store");
    let token = TokenRow {
        id: "tok_events".into(),
        hash: "hash".into(),
        name: "events".into(),
        max_instances: None,
        created_at: 1,
        revoked_at: None,
        last_used_at: None,
    };
    store.insert_token(&token).await.expect("token");
    let config = json!({"webhooks": webhooks, "proxy": null, "metadata": {"user.id": "42"}});
    let row = InstanceRow {
        id: "INST00000001".into(),
        name: "wawp-00000001".into(),
        token_id: token.id,
        config: config.to_string(),
        desired_state: "stopped".into(),
        me: Some(
            r#"{"id":"447441429009@c.us","lid":"1234@lid","pushName":"Bot","platform":"android"}"#
                .into(),
        ),
        created_at: 1,
        updated_at: 1,
    };
    store.insert_instance(&row, None).await.expect("instance");
    let events = Events::new(
        store,
        EventsConfig {
            poll_interval: Duration::from_millis(50),
            allow: AllowList::parse("127.0.0.1"),
            jitter: 0.0,
            request_timeout: Duration::from_secs(5),
            ..EventsConfig::default()
        },
    );
    let cancel = CancellationToken::new();
    tokio::spawn(events.clone().run_dispatcher(cancel.clone()));
    Env {
        events,
        instance: row.id,
        cancel,
        _dir: dir,
    }
}

async fn loopback() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    (listener, addr)
}

#[tokio::test]
async fn envelopes_follow_the_conventions_and_raw_events_need_a_subscriber() {
    let env = env(json!([{"url": "http://127.0.0.1:9/h", "events": ["message"]}])).await;
    let ev = env
        .events
        .prepare(
            &env.instance,
            "message",
            json!({"id": "false_1@c.us_ABC", "body": "hi"}),
            Some("1@c.us"),
        )
        .await
        .expect("prepare")
        .expect("an event");
    assert_eq!(ev.deliveries.len(), 1);
    assert_eq!(ev.message_id.as_deref(), Some("false_1@c.us_ABC"));
    assert_eq!(ev.chat_key.as_deref(), Some("1@c.us"));
    let envelope: Value = serde_json::from_str(&ev.envelope).expect("json");
    assert!(
        envelope["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("evt_") && id.len() == 30)
    );
    assert_eq!(envelope["session"], env.instance.as_str());
    assert_eq!(envelope["engine"], "WAWP");
    assert_eq!(envelope["event"], "message");
    assert_eq!(envelope["payload"]["body"], "hi");
    assert_eq!(
        envelope["me"],
        json!({"id": "447441429009@c.us", "lid": "1234@lid", "pushName": "Bot"})
    );
    assert_eq!(envelope["metadata"], json!({"user.id": "42"}));
    assert!(
        envelope["timestamp"]
            .as_i64()
            .is_some_and(|t| t > 1_700_000_000_000)
    );

    // Not subscribed: still an event (for live streams), with no delivery.
    let status = env
        .events
        .prepare(&env.instance, "session.status", json!({}), None)
        .await
        .expect("prepare");
    assert!(status.is_some_and(|e| e.deliveries.is_empty()));
    // engine.event only when asked for.
    assert!(
        env.events
            .prepare(&env.instance, "engine.event", json!({}), None)
            .await
            .expect("p")
            .is_none()
    );
    let err = env.events.prepare("NOPE", "message", json!({}), None).await;
    assert!(matches!(err, Err(CoreError::NoSuchSession)));
}

#[tokio::test]
async fn two_failures_then_success_is_three_signed_attempts_and_one_delivery() {
    let (listener, addr) = loopback().await;
    let rx = Receiver::start(listener, &[500, 500]).await;
    let env = env(
        json!([{"url": format!("http://{addr}/hook"), "secret": SECRET,
        "retries": {"attempts": 3, "delaySeconds": 0},
        "customHeaders": [{"name": "X-Api-Key", "value": "k1"}]}]),
    )
    .await;
    env.events
        .emit(
            &env.instance,
            "message",
            json!({"id": "false_1@c.us_A", "body": "hi"}),
            Some("1@c.us"),
        )
        .await
        .expect("emit");
    let delivered = wait_for("the delivery to succeed", || {
        let got = rx.requests();
        (got.len() >= 3).then_some(got)
    })
    .await;
    assert_eq!(delivered.len(), 3, "exactly three attempts");
    let event_id = delivered[0].body["id"].as_str().expect("id").to_string();
    for r in &delivered {
        assert_eq!(
            r.body["id"],
            event_id.as_str(),
            "same event id on every attempt"
        );
        assert_eq!(
            r.headers.get("content-type").map(String::as_str),
            Some("application/json")
        );
        assert!(
            r.headers
                .get("user-agent")
                .is_some_and(|ua| ua.starts_with("wawp/"))
        );
        assert_eq!(r.headers.get("x-api-key").map(String::as_str), Some("k1"));
        assert_eq!(r.headers.get("webhook-id"), Some(&event_id));
        let ts: i64 = r
            .headers
            .get("webhook-timestamp")
            .and_then(|t| t.parse().ok())
            .expect("timestamp");
        let sig = r.headers.get("webhook-signature").expect("signature");
        assert!(
            signing::verify(SECRET, &event_id, ts, &r.raw, sig),
            "signature verifies"
        );
    }
    let rows = wait_until_settled(&env, 1).await;
    assert_eq!(rows[0].status, "delivered");
    assert_eq!(rows[0].attempts, 3);
    assert_eq!(rows[0].last_status_code, Some(200));
}

/// Receivers answer with a body; wawp reads it, so one kept-alive connection carries a chat's
/// webhooks, retries included, instead of a new connection (and a socket in TIME_WAIT) each.
#[tokio::test]
async fn answers_with_a_body_keep_the_connection_alive() {
    let (listener, addr) = loopback().await;
    let rx = Receiver::start(listener, &[500]).await;
    let env = env(json!([{"url": format!("http://{addr}/hook"),
        "retries": {"attempts": 3, "delaySeconds": 0}}]))
    .await;
    for i in 0..10 {
        env.events
            .emit(
                &env.instance,
                "message",
                json!({"id": format!("false_1@c.us_{i}"), "body": "hi"}),
                Some("1@c.us"),
            )
            .await
            .expect("emit");
    }
    let rows = wait_until_settled(&env, 10).await;
    assert!(rows.iter().all(|r| r.status == "delivered"), "{rows:?}");
    assert_eq!(rx.requests().len(), 11, "ten deliveries and one retry");
    // One chat is one chain: one request at a time. The pool may, rarely, not have the
    // connection back yet when the next request starts.
    assert!(
        rx.connections() <= 2,
        "{} connections for 11 requests",
        rx.connections()
    );
}

async fn wait_until_settled(env: &Env, n: usize) -> Vec<wawp_store::DeliveryRow> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let rows = env
            .events
            .deliveries(&env.instance, None, 1000)
            .await
            .expect("list");
        if rows.len() >= n && rows.iter().all(|r| r.status != "pending") {
            return rows;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "deliveries never settled: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_receiver_down_then_up_gets_everything_in_order_per_chat() {
    // Reserve a port, then close it: the receiver is "down" (connection refused).
    let (listener, addr) = loopback().await;
    drop(listener);
    let env = env(json!([{"url": format!("http://{addr}/hook"),
        "retries": {"attempts": 20, "delaySeconds": 1}}]))
    .await;
    let mut sent: HashMap<&str, Vec<String>> = HashMap::new();
    for i in 0..6 {
        let chat = if i % 2 == 0 { "a@c.us" } else { "b@c.us" };
        let id = format!("false_{chat}_{i}");
        env.events
            .emit(&env.instance, "message", json!({"id": id}), Some(chat))
            .await
            .expect("emit");
        sent.entry(chat).or_default().push(id);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rx = Receiver::start(TcpListener::bind(addr).await.expect("rebind"), &[]).await;
    let got = wait_for("all six events", || {
        let got = rx.requests();
        (got.len() >= 6).then_some(got)
    })
    .await;
    for (chat, ids) in &sent {
        let order: Vec<String> = got
            .iter()
            .filter_map(|r| r.body["payload"]["id"].as_str().map(str::to_string))
            .filter(|id| id.contains(chat))
            .collect();
        assert_eq!(&order, ids, "in order for {chat}");
    }
    let rows = wait_until_settled(&env, 6).await;
    assert!(rows.iter().all(|r| r.status == "delivered"), "{rows:?}");
    // Only the head of each chat was tried while the receiver was down; the rest waited.
    let retried = rows.iter().filter(|r| r.attempts >= 2).count();
    assert_eq!(retried, 2, "{rows:?}");
}

#[tokio::test]
async fn dead_letters_can_be_replayed_and_config_changes_apply() {
    let (listener, addr) = loopback().await;
    let rx = Receiver::start(listener, &[503, 503]).await;
    let env = env(json!([{"url": format!("http://{addr}/hook"), "retries": {"attempts": 1, "delaySeconds": 0}}])).await;
    env.events
        .emit(&env.instance, "message", json!({"id": "x"}), None)
        .await
        .expect("emit");
    let rows = wait_until_settled(&env, 1).await;
    assert_eq!(rows[0].status, "dead");
    assert_eq!(rows[0].attempts, 2, "first try + 1 retry");
    assert_eq!(rows[0].last_status_code, Some(503));
    assert_eq!(
        rows[0].last_error.as_deref(),
        Some("HTTP 503 Service Unavailable")
    );

    assert_eq!(
        env.events
            .replay(&env.instance, &[], true)
            .await
            .expect("replay"),
        1
    );
    let rows = wait_until_settled(&env, 1).await;
    assert_eq!(rows[0].status, "delivered");
    assert_eq!(rx.requests().len(), 3);

    // Replace the webhooks: secrets are hidden, events filtered, bad ones refused.
    let shown = env
        .events
        .set_webhooks(&env.instance, &[json!({"url": format!("http://{addr}/v2"), "events": ["message.ack"], "secret": "s"})])
        .await
        .expect("set");
    assert_eq!(shown[0]["secret"], "***");
    assert_eq!(
        env.events.webhooks(&env.instance).await.expect("get"),
        shown
    );
    let stored = env
        .events
        .store()
        .get_instance(&env.instance)
        .await
        .expect("get")
        .expect("row");
    let stored: Value = serde_json::from_str(&stored.config).expect("json");
    assert_eq!(
        stored["metadata"]["user.id"], "42",
        "the rest of the config is kept"
    );
    assert_eq!(stored["webhooks"][0]["secret"], "s");
    env.events
        .emit(&env.instance, "message", json!({"id": "y"}), None)
        .await
        .expect("emit");
    env.events
        .emit(
            &env.instance,
            "message.ack",
            json!({"id": "z", "ack": 3}),
            None,
        )
        .await
        .expect("emit");
    let got = wait_for("the ack", || {
        let got = rx.requests();
        (got.len() >= 4).then_some(got)
    })
    .await;
    assert_eq!(got[3].body["event"], "message.ack");
    assert!(got[3].headers.contains_key("webhook-signature"));
    let err = env
        .events
        .set_webhooks(&env.instance, &[json!({"url": "http://10.0.0.1/x"})])
        .await
        .expect_err("private");
    assert!(matches!(err, CoreError::Invalid(_)));
}

/// A rough figure, not a timed test: `cargo test -p wawp-core --lib -- --ignored
/// outbox_throughput --nocapture` (add `--release` for meaningful numbers). A burst over 50
/// chats gives events/s from the first emit to the last delivery; a paced run gives the p50/p99
/// latency from `emit` returning (committed) to the receiver reading the request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn outbox_throughput() {
    const N: usize = 3000;
    let (listener, addr) = loopback().await;
    let rx = Receiver::start(listener, &[]).await;
    let env = env(json!([{"url": format!("http://{addr}/hook"), "events": ["message"]}])).await;
    let started = std::time::Instant::now();
    for i in 0..N {
        let chat = format!("{}@c.us", i % 50);
        let payload = json!({"id": format!("m{i}")});
        env.events
            .emit(&env.instance, "message", payload, Some(&chat))
            .await
            .expect("emit");
    }
    let emit_time = started.elapsed();
    wait_for("every delivery", || {
        (rx.requests().len() >= N).then_some(())
    })
    .await;
    let total = started.elapsed();
    eprintln!(
        "outbox burst: {N} events committed in {emit_time:?} ({:.0}/s), all delivered in {total:?} ({:.0}/s)",
        N as f64 / emit_time.as_secs_f64(),
        N as f64 / total.as_secs_f64()
    );

    // Paced: 200 events/s for 2 s.
    let mut committed = HashMap::new();
    for i in 0..400 {
        let id = format!("p{i}");
        let chat = format!("{}@c.us", i % 50);
        env.events
            .emit(&env.instance, "message", json!({"id": id}), Some(&chat))
            .await
            .expect("emit");
        committed.insert(id, std::time::Instant::now());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    wait_for("paced deliveries", || {
        (rx.requests().len() >= N + 400).then_some(())
    })
    .await;
    let mut latencies: Vec<Duration> = rx
        .requests()
        .iter()
        .filter_map(|r| {
            let id = r.body["payload"]["id"].as_str()?;
            Some(r.at.saturating_duration_since(*committed.get(id)?))
        })
        .collect();
    latencies.sort();
    let pct = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    eprintln!(
        "outbox paced (200/s): commit→received p50 {:?}, p99 {:?}",
        pct(50),
        pct(99)
    );
}
