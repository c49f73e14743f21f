//! A webhook receiver on loopback that records every event it is sent and answers 200: enough for
//! stories that check what arrives (webhooks.rs has its own, scriptable one for retries).

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::{TestEnv, eventually};

#[derive(Clone, Default)]
pub struct Receiver {
    pub url: String,
    got: Arc<Mutex<Vec<Value>>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let rx = Receiver {
            url: format!("http://{addr}/hook"),
            got: Arc::default(),
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
            let mut len = 0usize;
            loop {
                line.clear();
                if conn.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                let l = line.trim_end();
                if l.is_empty() {
                    break;
                }
                if let Some((k, v)) = l.split_once(':')
                    && k.trim().eq_ignore_ascii_case("content-length")
                {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut raw = vec![0; len];
            if conn.read_exact(&mut raw).await.is_err() {
                return;
            }
            if let Ok(body) = serde_json::from_slice(&raw) {
                self.got.lock().expect("got").push(body);
            }
            let answer = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
            if conn.get_mut().write_all(answer.as_bytes()).await.is_err() {
                return;
            }
        }
    }

    /// Every event received so far, in arrival order.
    pub fn all(&self) -> Vec<Value> {
        self.got.lock().expect("got").clone()
    }

    /// The events named `name` received so far.
    pub fn of(&self, name: &str) -> Vec<Value> {
        self.all()
            .into_iter()
            .filter(|e| e["event"] == name)
            .collect()
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
