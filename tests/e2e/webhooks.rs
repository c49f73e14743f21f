//! Webhooks and the event stream, end to end: a virtual phone writes to a linked instance, and a
//! real receiver on loopback (`support::Receiver`, scripted where a story needs failures) checks
//! envelopes, retries, signatures, ordering across an outage, and URL validation.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::support::{Receiver, Resp, TestEnv, eventually};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// `PUT /v2/webhooks` with a JSON body.
async fn put_webhooks(env: &TestEnv, instance: &str, webhooks: Value) -> Resp {
    env.json(
        reqwest::Method::PUT,
        "/v2/webhooks",
        &json!({"instance_id": instance, "webhooks": webhooks}),
    )
    .await
}

#[tokio::test]
async fn two_failures_then_success_is_three_signed_attempts_and_one_delivery() {
    let env = TestEnv::start().await;
    let me = env.phone("12015550301", "Wendy").await;
    let ann = env.phone("12015550302", "Ann").await;
    let id = env.linked_instance(&me).await;
    let rx = Receiver::scripted(&[500, 500]).await;
    let res = put_webhooks(
        &env,
        &id,
        json!([{"url": rx.url, "events": ["message"],
        "secret": SECRET, "retries": {"attempts": 3, "delaySeconds": 0, "policy": "constant"},
        "customHeaders": [{"name": "X-Api-Key", "value": "k1"}]}]),
    )
    .await;
    res.assert_status(200);
    assert_eq!(
        res.json["webhooks"][0]["secret"], "***",
        "secrets are never shown"
    );

    env.fakewa
        .send_text(&ann, &me, "hello wendy")
        .await
        .expect("ann sends");
    let got = eventually("three attempts", || async {
        let got = rx.requests_of("message");
        (got.len() >= 3).then_some(got)
    })
    .await;
    let event_id = got[0].body["id"].as_str().expect("event id").to_string();
    assert!(event_id.starts_with("evt_"));
    for r in &got {
        assert_eq!(r.body["id"], event_id.as_str(), "one event, retried");
        assert_eq!(r.body["session"], id.as_str());
        assert_eq!(r.body["engine"], "WAWP");
        assert_eq!(r.body["payload"]["body"], "hello wendy");
        assert_eq!(r.body["payload"]["fromMe"], false);
        assert_eq!(r.headers.get("x-api-key").map(String::as_str), Some("k1"));
        assert!(
            r.headers
                .get("user-agent")
                .is_some_and(|ua| ua.starts_with("wawp/"))
        );
        let ts: i64 = r
            .headers
            .get("webhook-timestamp")
            .and_then(|t| t.parse().ok())
            .expect("timestamp");
        let sig = r.headers.get("webhook-signature").expect("signed");
        assert!(
            wawp_core::events::signing::verify(SECRET, &event_id, ts, &r.raw, sig),
            "signature verifies"
        );
    }
    let delivery = eventually("the delivery to settle", || async {
        let res = env
            .call("GET", "/v2/webhooks/deliveries", &[("instance_id", &id)])
            .await;
        res.json["deliveries"].as_array().and_then(|d| {
            d.iter()
                .find(|d| d["eventId"] == event_id.as_str() && d["status"] == "delivered")
                .cloned()
        })
    })
    .await;
    assert_eq!(delivery["attempts"], 3);
    assert_eq!(delivery["lastStatusCode"], 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.of("message").len(), 3, "no attempt after success");
}

#[tokio::test]
async fn a_receiver_down_then_up_gets_everything_in_order_per_chat() {
    let env = TestEnv::start().await;
    let me = env.phone("12015550311", "Wendy").await;
    let ann = env.phone("12015550312", "Ann").await;
    let bob = env.phone("12015550313", "Bob").await;
    let id = env.linked_instance(&me).await;
    // The receiver's port, closed for now: connections are refused.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    put_webhooks(
        &env,
        &id,
        json!([{"url": format!("http://{addr}/hook"), "events": ["message"],
        "retries": {"attempts": 30, "delaySeconds": 1}}]),
    )
    .await
    .assert_status(200);

    let mut sent: Vec<(String, String)> = Vec::new();
    for i in 0..4 {
        for phone in [&ann, &bob] {
            let text = format!("{phone} #{i}");
            env.fakewa
                .send_text(phone, &me, &text)
                .await
                .expect("sends");
            sent.push((format!("{phone}@c.us"), text));
        }
    }
    // Wait until wawp has tried (and failed) at least once, then bring the receiver up.
    eventually("a failed attempt", || async {
        let res = env
            .call("GET", "/v2/webhooks/deliveries", &[("instance_id", &id)])
            .await;
        res.json["deliveries"].as_array().and_then(|d| {
            d.iter()
                .find(|d| d["attempts"].as_i64() >= Some(1))
                .map(|_| ())
        })
    })
    .await;
    let rx = Receiver::on(TcpListener::bind(addr).await.expect("rebind"), &[]);
    let got = eventually("every message", || async {
        let got = rx.of("message");
        (got.len() >= sent.len()).then_some(got)
    })
    .await;
    for chat in [format!("{ann}@c.us"), format!("{bob}@c.us")] {
        let expected: Vec<&str> = sent
            .iter()
            .filter(|(c, _)| *c == chat)
            .map(|(_, t)| t.as_str())
            .collect();
        let order: Vec<&str> = got
            .iter()
            .filter(|e| e["payload"]["from"] == chat.as_str())
            .filter_map(|e| e["payload"]["body"].as_str())
            .collect();
        assert_eq!(order, expected, "in order for {chat}");
    }
}

#[tokio::test]
async fn bad_webhook_urls_are_refused_with_invalid_param() {
    let env = TestEnv::start().await;
    let id = env.create_instance().await;
    for bad in [
        json!([{"url": "ftp://example.com/hook"}]),
        json!([{"url": "not a url"}]),
        json!([{"url": "http://169.254.169.254/latest/meta-data"}]),
        json!([{"url": "http://10.0.0.1/hook"}]),
        json!([{"url": "http://[::1]/hook"}]),
        json!([{"url": "http://127.0.0.1:9/hook", "events": ["no.such.event"]}]),
        json!([{"url": "http://127.0.0.1:9/hook", "retries": {"policy": "sometimes"}}]),
    ] {
        let res = put_webhooks(&env, &id, bad.clone()).await;
        assert_eq!(res.status, 400, "{bad}: {}", res.text);
        assert_eq!(res.json["code"], "invalid_param", "{bad}: {}", res.text);
    }
    let listed = env
        .call("GET", "/v2/webhooks", &[("instance_id", &id)])
        .await;
    listed.assert_status(200);
    assert_eq!(listed.json["webhooks"], json!([]), "nothing was stored");

    // A good one is stored, shown without its secret, and `"***"` keeps it on the next PUT.
    let hook = json!({"url": "http://127.0.0.1:9/hook", "events": ["message", "session.status"], "secret": "s3cret"});
    put_webhooks(&env, &id, json!([hook]))
        .await
        .assert_status(200);
    let listed = env
        .call("GET", "/v2/webhooks", &[("instance_id", &id)])
        .await;
    assert_eq!(listed.json["webhooks"][0]["secret"], "***");
    assert!(!listed.text.contains("s3cret"));
    put_webhooks(&env, &id, listed.json["webhooks"].clone())
        .await
        .assert_status(200);
    let missing = env
        .call("PUT", "/v2/webhooks", &[("instance_id", &id)])
        .await;
    missing.assert_error(400, "missing_param");
    let replay = env
        .call("POST", "/v2/webhooks/replay", &[("instance_id", &id)])
        .await;
    replay.assert_error(400, "invalid_param");
}

#[tokio::test]
async fn the_event_stream_sends_new_events_and_resumes_after_last_event_id() {
    let mut env = TestEnv::start().await;
    let me = env.phone("12015550321", "Wendy").await;
    let ann = env.phone("12015550322", "Ann").await;
    let id = env.linked_instance(&me).await;

    let first = read_stream(&env, &id, None, "one", 1).await;
    assert_eq!(first.len(), 1);
    let (first_id, first_event) = &first[0];
    assert_eq!(first_event["event"], "message");
    assert_eq!(first_event["payload"]["body"], "one");
    // Two more while nobody listens; resuming after the first gets exactly those.
    env.fakewa.send_text(&ann, &me, "two").await.expect("sends");
    env.fakewa
        .send_text(&ann, &me, "three")
        .await
        .expect("sends");
    eventually("both stored", || async {
        let res = env.chat_messages(&id, &format!("{ann}@c.us")).await;
        (res.json.as_array().map_or(0, Vec::len) >= 3).then_some(())
    })
    .await;
    let resumed = read_stream(&env, &id, Some(first_id.as_str()), "", 2).await;
    let bodies: Vec<&Value> = resumed.iter().map(|(_, e)| &e["payload"]["body"]).collect();
    assert_eq!(bodies, [&json!("two"), &json!("three")]);

    // An open stream does not hold up a graceful stop: it ends when the server stops.
    let mut open = env
        .http
        .get(format!("{}/v2/events", env.wawp.base))
        .query(&[
            ("instance_id", id.as_str()),
            ("access_token", env.token.as_str()),
        ])
        .send()
        .await
        .expect("stream opens");
    assert_eq!(open.status(), 200);
    tokio::time::timeout(crate::support::DEADLINE, env.restart_wawp())
        .await
        .expect("wawp stops while a stream is open");
    let ended = tokio::time::timeout(crate::support::DEADLINE, async {
        while let Ok(Some(_)) = open.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the stream ended with the server");

    async fn read_stream(
        env: &TestEnv,
        id: &str,
        last: Option<&str>,
        send: &str,
        want: usize,
    ) -> Vec<(String, Value)> {
        let mut req = env
            .http
            .get(format!("{}/v2/events", env.wawp.base))
            .query(&[
                ("instance_id", id),
                ("access_token", env.token.as_str()),
                ("events", "message"),
            ]);
        if let Some(last) = last {
            req = req.header("Last-Event-ID", last);
        }
        let mut res = req.send().await.expect("stream opens");
        assert_eq!(res.status(), 200);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .is_ok_and(|t| t.starts_with("text/event-stream"))
        );
        if !send.is_empty() {
            env.fakewa
                .send_text("12015550322", "12015550321", send)
                .await
                .expect("sends");
        }
        let mut text = String::new();
        let mut events = Vec::new();
        let deadline = tokio::time::Instant::now() + crate::support::DEADLINE;
        while events.len() < want {
            let chunk = tokio::time::timeout_at(deadline, res.chunk())
                .await
                .expect("an event in time");
            let Some(chunk) = chunk.expect("stream readable") else {
                break;
            };
            text.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = text.find("\n\n") {
                let block: String = text.drain(..end + 2).collect();
                let id = block
                    .lines()
                    .find_map(|l| l.strip_prefix("id:"))
                    .map(|s| s.trim().to_string());
                let data = block
                    .lines()
                    .find_map(|l| l.strip_prefix("data:"))
                    .map(str::trim);
                if let (Some(id), Some(data)) = (id, data) {
                    events.push((id, serde_json::from_str(data).expect("envelope json")));
                }
            }
        }
        events
    }
}

/// Webhooks given in `config` at `/v2/session/create` hear the session's life: every status change
/// as `session.status`, then `message` (incoming) and `message.any` (ours too), each envelope
/// carrying `me` and the instance's `metadata`.
#[tokio::test]
async fn webhooks_set_at_create_hear_status_changes_and_messages() {
    let env = TestEnv::start().await;
    let receiver = Receiver::start().await;
    let phone = env.phone("12015550331", "Olga").await;
    let contact = env.phone("12015550342", "Pete").await;

    let config = json!({
        "webhooks": [{"url": receiver.url, "events": ["*"]}],
        "metadata": {"user.id": "42"},
    });
    let res = env
        .json(
            reqwest::Method::POST,
            "/v2/session/create",
            &json!({ "config": config }),
        )
        .await;
    res.assert_status(201);
    let id = res.json["instance_id"]
        .as_str()
        .expect("instance_id")
        .to_string();

    env.wait_status(&id, "SCAN_QR_CODE").await;
    let qr = env.qr_value(&id).await;
    env.fakewa.scan_qr(&phone, &qr).await.expect("scan");
    env.wait_status(&id, "WORKING").await;

    let statuses = eventually("session.status up to WORKING", || async {
        let got: Vec<String> = receiver
            .of("session.status")
            .iter()
            .filter_map(|r| r["payload"]["status"].as_str().map(str::to_string))
            .collect();
        got.contains(&"WORKING".to_string()).then_some(got)
    })
    .await;
    let scan = statuses
        .iter()
        .position(|s| s == "SCAN_QR_CODE")
        .expect("SCAN_QR_CODE announced");
    let working = statuses
        .iter()
        .position(|s| s == "WORKING")
        .expect("WORKING announced");
    assert!(scan < working, "in order: {statuses:?}");
    let last = receiver.of("session.status").pop().expect("one");
    assert_eq!(last["session"], id.as_str());
    assert_eq!(last["engine"], "WAWP");
    assert_eq!(last["metadata"]["user.id"], "42");
    assert_eq!(last["me"]["id"], "12015550331@c.us", "{}", last);
    assert!(last["id"].as_str().is_some_and(|e| e.starts_with("evt_")));

    env.fakewa
        .send_text(&contact, &phone, "hi Olga")
        .await
        .expect("send");
    let inbound = eventually("message", || async {
        receiver
            .of("message")
            .into_iter()
            .find(|r| r["payload"]["body"] == "hi Olga")
    })
    .await;
    assert_eq!(inbound["payload"]["from"], "12015550342@c.us");
    assert_eq!(inbound["payload"]["fromMe"], false);

    let sent = env.send_text(&id, "12015550342@c.us", "hi Pete").await;
    sent.assert_status(200);
    let sent_id = sent.json["id"].as_str().expect("id").to_string();
    eventually("message.any for our own message", || async {
        receiver
            .of("message.any")
            .into_iter()
            .find(|r| r["payload"]["id"] == sent_id.as_str())
    })
    .await;
    assert!(
        receiver
            .of("message")
            .iter()
            .all(|r| r["payload"]["fromMe"] == false),
        "`message` is incoming only"
    );
}
