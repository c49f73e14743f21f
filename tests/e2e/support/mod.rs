//! The test environment: fakewa + wawp (temp data dir) on loopback, driven over HTTP.

mod child;
mod receiver;
mod server;

use std::time::Duration;

use base64::Engine as _;
pub use child::ChildWawp;
use fakewa::{FakeWa, FakeWaConfig};
pub use receiver::Receiver;
use serde_json::Value;
pub use server::WawpServer;

/// How long a test waits for something that should happen.
pub const DEADLINE: Duration = Duration::from_secs(30);

pub struct TestEnv {
    pub fakewa: FakeWa,
    /// fakewa's media CA (PEM file), trusted by wawp for media over TLS.
    pub media_ca: std::path::PathBuf,
    pub wawp: WawpServer,
    pub http: reqwest::Client,
    pub token: String,
    _dir: tempfile::TempDir,
}

impl TestEnv {
    pub async fn start() -> TestEnv {
        Self::start_with(|_| {}).await
    }

    /// As [`TestEnv::start`], with wawp's test configuration changed by `tweak` (fakewa's media
    /// CA is always trusted).
    pub async fn start_with(tweak: impl FnOnce(&mut wawp::Config)) -> TestEnv {
        let _ = rustls::crypto::ring::default_provider().install_default();
        // Logs only when asked (`RUST_LOG=wawp_core=debug cargo test …`), captured per test.
        if std::env::var_os("RUST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .with_test_writer()
                .try_init();
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let fakewa = FakeWa::start(FakeWaConfig::default())
            .await
            .expect("fakewa starts");
        let media_ca = dir.path().join("fakewa-media-ca.pem");
        std::fs::write(&media_ca, fakewa.media_ca_pem()).expect("media CA written");
        let ca = media_ca.clone();
        let wawp = WawpServer::start_with(dir.path().join("wawp"), &fakewa.ws_url(), |c| {
            c.whatsapp_ca = Some(ca);
            tweak(c);
        })
        .await;
        let token = wawp.create_token("tester", None).await;
        TestEnv {
            fakewa,
            media_ca,
            wawp,
            http: reqwest::Client::new(),
            token,
            _dir: dir,
        }
    }

    /// Restarts wawp on the same data dir (a crash-free stop, then a new process-equivalent).
    pub async fn restart_wawp(&mut self) {
        let dir = self.wawp.data_dir.clone();
        let url = self.fakewa.ws_url();
        let old = std::mem::replace(&mut self.wawp, WawpServer::placeholder());
        old.stop().await;
        let ca = self.media_ca.clone();
        self.wawp = WawpServer::start_with(dir, &url, |c| c.whatsapp_ca = Some(ca)).await;
    }

    /// `POST` (form) or `GET` (query) on the API with this env's token as a Bearer header.
    pub async fn call(&self, method: &str, path: &str, params: &[(&str, &str)]) -> Resp {
        self.call_as(&self.token, method, path, params).await
    }

    pub async fn call_as(
        &self,
        token: &str,
        method: &str,
        path: &str,
        params: &[(&str, &str)],
    ) -> Resp {
        let url = format!("{}{path}", self.wawp.base);
        let req = match method {
            "GET" => self.http.get(url).query(params),
            "DELETE" => self.http.delete(url).query(params),
            "PUT" => self.http.put(url).form(params),
            _ => self.http.post(url).form(params),
        };
        let res = req.bearer_auth(token).send().await.expect("request sent");
        Resp::read(res).await
    }

    /// `method` `path` with a JSON body and this env's token.
    pub async fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &serde_json::Value,
    ) -> Resp {
        let url = format!("{}{path}", self.wawp.base);
        let res = self
            .http
            .request(method, url)
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await;
        Resp::read(res.expect("request sent")).await
    }

    /// `POST /v2/send/text` from `instance` to `chat`.
    pub async fn send_text(&self, instance: &str, chat: &str, text: &str) -> Resp {
        self.call(
            "POST",
            "/v2/send/text",
            &[
                ("instance_id", instance),
                ("chatId", chat),
                ("message", text),
            ],
        )
        .await
    }

    /// Creates an instance and returns its id.
    pub async fn create_instance(&self) -> String {
        let res = self.call("POST", "/v2/session/create", &[]).await;
        res.assert_status(201);
        res.json["instance_id"]
            .as_str()
            .expect("instance_id")
            .to_string()
    }

    /// Polls `/v2/session/info` until the session has `status`.
    pub async fn wait_status(&self, instance: &str, status: &str) -> Value {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let res = self
                .call("POST", "/v2/session/info", &[("instance_id", instance)])
                .await;
            if res.json["status"] == status {
                return res.json;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{instance} never reached {status}: {}",
                res.json
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The QR string the session shows, decoded from `/v2/auth/qr`.
    pub async fn qr_value(&self, instance: &str) -> String {
        let res = self
            .call("GET", "/v2/auth/qr", &[("instance_id", instance)])
            .await;
        res.assert_status(200);
        let data = res.json["data"].as_str().expect("data");
        let raw = base64::engine::general_purpose::STANDARD
            .decode(data)
            .expect("base64");
        let qr: Value = serde_json::from_slice(&raw).expect("QR json");
        qr["value"].as_str().expect("value").to_string()
    }

    /// A new virtual phone on fakewa; returns its number.
    pub async fn phone(&self, number: &str, name: &str) -> String {
        self.fakewa
            .create_phone(number, name)
            .await
            .expect("phone created");
        number.to_string()
    }

    /// create → SCAN_QR_CODE → the phone scans the QR → WORKING. Returns the instance id.
    pub async fn linked_instance(&self, phone: &str) -> String {
        let id = self.create_instance().await;
        self.wait_status(&id, "SCAN_QR_CODE").await;
        let qr = self.qr_value(&id).await;
        self.fakewa
            .scan_qr(phone, &qr)
            .await
            .expect("phone scans the QR");
        self.wait_status(&id, "WORKING").await;
        id
    }
}

/// A read answer: status, headers and the body as JSON (`Null` when not JSON).
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub json: Value,
    pub text: String,
}

impl Resp {
    pub async fn read(res: reqwest::Response) -> Resp {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            json,
            text,
        }
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) {
        assert_eq!(self.status, status, "unexpected answer: {}", self.text);
    }

    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        self.assert_status(status);
        assert_eq!(self.json["code"], code, "unexpected error: {}", self.text);
    }
}

/// Polls `check` until it returns `Some`, failing the test after [`DEADLINE`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl TestEnv {
    /// Waits until the virtual phone `number` has received a message with `text`; returns it.
    pub async fn phone_receives(&self, number: &str, text: &str) -> fakewa::InboxMessage {
        eventually(&format!("{number} to receive {text:?}"), || async {
            let inbox = self.fakewa.inbox(number).await.ok()?;
            inbox.into_iter().find(|m| m.text.as_deref() == Some(text))
        })
        .await
    }

    /// `GET /v2/chats/messages` of `chat` as session `id` stores it.
    pub async fn chat_messages(&self, id: &str, chat: &str) -> Resp {
        self.call(
            "GET",
            "/v2/chats/messages",
            &[("instance_id", id), ("chatId", chat)],
        )
        .await
    }

    /// Waits until session `id` has stored a message in `chat` for which `pred` holds (`what`
    /// names it in the timeout message); returns it.
    pub async fn stored(
        &self,
        id: &str,
        chat: &str,
        what: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        eventually(&format!("{what} in {chat}"), || async {
            let res = self.chat_messages(id, chat).await;
            res.json.as_array()?.iter().find(|m| pred(m)).cloned()
        })
        .await
    }

    /// Waits until session `id` has stored a message in `chat` whose body is `body`; returns it.
    pub async fn stored_body(&self, id: &str, chat: &str, body: &str) -> Value {
        self.stored(id, chat, &format!("{body:?}"), |m| m["body"] == body)
            .await
    }
}
