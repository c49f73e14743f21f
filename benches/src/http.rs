//! A small HTTP/1.1 client for setting things up (tokens, sessions, fakewa's admin API): pooled
//! keep-alive connections, every call bounded by a timeout. The load generator has its own loop
//! (`load.rs`).

use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::Request;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

const CALL_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
}

/// An answer: status and body (parsed as JSON when it is JSON, else `Null`).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub json: Value,
    pub text: String,
}

impl Answer {
    pub fn ok(self, what: &str) -> anyhow::Result<Value> {
        anyhow::ensure!(
            (200..300).contains(&self.status),
            "{what}: HTTP {}: {}",
            self.status,
            self.text
        );
        Ok(self.json)
    }
}

pub enum Body<'a> {
    Empty,
    Form(&'a [(&'a str, &'a str)]),
    Json(&'a Value),
}

impl Http {
    pub fn new() -> Http {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(64)
            .build(connector);
        Http { client }
    }

    pub async fn call(
        &self,
        method: &str,
        url: &str,
        bearer: Option<&str>,
        body: Body<'_>,
    ) -> anyhow::Result<Answer> {
        let mut req = Request::builder().method(method).uri(url);
        if let Some(token) = bearer {
            req = req.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let bytes = match body {
            Body::Empty => Bytes::new(),
            Body::Form(pairs) => {
                req = req.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
                Bytes::from(form(pairs))
            }
            Body::Json(v) => {
                req = req.header(CONTENT_TYPE, "application/json");
                Bytes::from(serde_json::to_vec(v)?)
            }
        };
        let req = req.body(Full::new(bytes))?;
        let fut = async {
            let res = self
                .client
                .request(req)
                .await
                .with_context(|| format!("{method} {url}"))?;
            let status = res.status().as_u16();
            let body = res
                .into_body()
                .collect()
                .await
                .with_context(|| format!("{method} {url}: body"))?;
            let text = String::from_utf8_lossy(&body.to_bytes()).into_owned();
            let json = serde_json::from_str(&text).unwrap_or(Value::Null);
            anyhow::Ok(Answer { status, json, text })
        };
        tokio::time::timeout(CALL_TIMEOUT, fut)
            .await
            .with_context(|| format!("{method} {url}: timed out"))?
    }
}

/// `application/x-www-form-urlencoded` for a few ASCII pairs.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
