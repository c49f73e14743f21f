//! A webhook receiver on loopback: a small HTTP/1.1 server that records every request it is sent
//! (headers, raw body, JSON) and answers the statuses it was scripted with, then 200.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::{TestEnv, eventually};

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    /// Header names lower-cased.
    pub headers: HashMap<String, String>,
    /// The body as JSON (`Null` when it is not JSON).
    pub body: Value,
    pub raw: Vec<u8>,
}

#[derive(Clone, Default)]
pub struct Receiver {
    pub url: String,
    got: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    /// A receiver on a free loopback port that answers 200.
    pub async fn start() -> Receiver {
        Self::scripted(&[]).await
    }

    /// A receiver on a free loopback port that answers `script`'s statuses in turn, then 200.
    pub async fn scripted(script: &[u16]) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        Self::on(listener, script)
    }

    /// As [`Receiver::scripted`], on `listener` (a port chosen beforehand).
    pub fn on(listener: TcpListener, script: &[u16]) -> Receiver {
        let addr = listener.local_addr().expect("addr");
        let rx = Receiver {
            url: format!("http://{addr}/hook"),
            got: Arc::default(),
            script: Arc::new(Mutex::new(script.iter().copied().collect())),
        };
        let this = rx.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(this.clone().serve(conn));
            }
        });
        rx
    }

    async fn serve(self, conn: TcpStream) {
        let mut conn = BufReader::new(conn);
        loop {
            let mut line = String::new();
            if conn.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let mut headers = HashMap::new();
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
                .expect("script")
                .pop_front()
                .unwrap_or(200);
            self.got
                .lock()
                .expect("got")
                .push(Received { headers, body, raw });
            let reason = if status == 200 { "OK" } else { "Scripted" };
            let answer = format!("HTTP/1.1 {status} {reason}\r\ncontent-length: 0\r\n\r\n");
            if conn.get_mut().write_all(answer.as_bytes()).await.is_err() {
                return;
            }
        }
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Received> {
        self.got.lock().expect("got").clone()
    }

    /// The requests carrying event `name`, in arrival order.
    pub fn requests_of(&self, name: &str) -> Vec<Received> {
        self.requests()
            .into_iter()
            .filter(|r| r.body["event"] == name)
            .collect()
    }

    /// The events named `name` received so far.
    pub fn of(&self, name: &str) -> Vec<Value> {
        self.requests_of(name).into_iter().map(|r| r.body).collect()
    }

    /// Waits for an event `name` whose payload satisfies `check`; returns it.
    pub async fn wait(&self, name: &str, check: impl Fn(&Value) -> bool) -> Value {
        eventually(&format!("a {name} event"), || async {
            self.of(name).into_iter().find(|e| check(&e["payload"]))
        })
        .await
    }
}

impl TestEnv {
    /// Points `instance`'s webhooks at a new receiver for `events`.
    pub async fn subscribe(&self, instance: &str, events: &[&str]) -> Receiver {
        let rx = Receiver::start().await;
        let res = self
            .json(
                reqwest::Method::PUT,
                "/v2/webhooks",
                &json!({"instance_id": instance, "webhooks": [
                    {"url": rx.url, "events": events,
                     "retries": {"attempts": 5, "delaySeconds": 0, "policy": "constant"}}]}),
            )
            .await;
        res.assert_status(200);
        rx
    }
}
