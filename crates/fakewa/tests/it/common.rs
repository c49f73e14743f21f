//! Shared helpers: real whatsapp-rust clients pointed at an in-process fakewa, and event waits with
//! deadlines.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use fakewa::{FakeWa, FakeWaConfig};
use tokio::sync::mpsc;
use wacore::store::InMemoryBackend;
use wacore::types::events::Event;
use whatsapp_rust::Client;
use whatsapp_rust::bot::{Bot, BotHandle};
use whatsapp_rust::transport::TokioWebSocketTransportFactory;

pub const DEADLINE: Duration = Duration::from_secs(30);

pub fn init() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "fakewa=info".into()),
        )
        .with_test_writer()
        .try_init();
}

pub async fn start_fake() -> FakeWa {
    init();
    FakeWa::start(FakeWaConfig::default())
        .await
        .expect("fakewa starts")
}

/// A whatsapp-rust client with its store, so it can be stopped and started again (IK reconnect).
pub struct TestClient {
    pub client: Arc<Client>,
    pub events: mpsc::UnboundedReceiver<Arc<Event>>,
    pub backend: Arc<InMemoryBackend>,
    handle: Option<BotHandle>,
    /// Texts of a batch not yet taken by [`TestClient::text`].
    texts: VecDeque<(String, String)>,
}

impl TestClient {
    pub async fn start(fake: &FakeWa, backend: Arc<InMemoryBackend>) -> TestClient {
        Self::start_named(fake, backend, "fakewa test").await
    }

    pub async fn start_named(
        fake: &FakeWa,
        backend: Arc<InMemoryBackend>,
        push_name: &str,
    ) -> TestClient {
        Self::start_with(fake, backend, push_name, Media::TrustFakewa).await
    }

    pub async fn start_with(
        fake: &FakeWa,
        backend: Arc<InMemoryBackend>,
        push_name: &str,
        media: Media,
    ) -> TestClient {
        let (tx, events) = mpsc::unbounded_channel();
        // A push name, as wawp sets one: without it every login of a fresh `Client` waits the 10 s
        // key-share grace (whatsapp-rust then expects the name from app state).
        let mut builder = Bot::builder();
        if !push_name.is_empty() {
            builder = builder.with_push_name(push_name);
        }
        if media == Media::TrustFakewa {
            builder = builder.with_http_client(media_http_client(&fake.media_ca_pem()));
        }
        let bot = builder
            .with_backend_arc(backend.clone())
            .with_transport_factory(TokioWebSocketTransportFactory::new().with_url(fake.ws_url()))
            .with_version((2, 3000, 0))
            .on_event(move |event, _client| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send(event);
                }
            })
            .build()
            .await
            .expect("bot builds");
        let client = bot.client();
        let handle = bot.spawn();
        TestClient {
            client,
            events,
            backend,
            handle: Some(handle),
            texts: VecDeque::new(),
        }
    }

    pub async fn fresh(fake: &FakeWa) -> TestClient {
        Self::start(fake, Arc::new(InMemoryBackend::new())).await
    }

    /// Waits until `f` picks an event, or panics at the deadline.
    pub async fn wait_for<T>(&mut self, what: &str, mut f: impl FnMut(&Event) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(ev)) => {
                    if let Some(v) = f(&ev) {
                        return v;
                    }
                }
                Ok(None) => panic!("event stream ended while waiting for {what}"),
                Err(_) => panic!("timed out waiting for {what}"),
            }
        }
    }

    pub async fn qr(&mut self) -> String {
        self.wait_for("a QR code", |e| match e {
            Event::PairingQrCode(q) => Some(q.code.clone()),
            _ => None,
        })
        .await
    }

    pub async fn connected(&mut self) {
        self.wait_for("Connected", |e| {
            matches!(e, Event::Connected(_)).then_some(())
        })
        .await
    }

    /// The next text message received (not sent by this account): (sender user, text).
    pub async fn text(&mut self) -> (String, String) {
        use wacore::proto_helpers::MessageExt as _;
        loop {
            if let Some(t) = self.texts.pop_front() {
                return t;
            }
            let batch: Vec<(String, String)> = self
                .wait_for("a text message", |e| match e {
                    Event::Messages(batch) => Some(
                        batch
                            .messages
                            .iter()
                            .filter(|m| !m.info.source.is_from_me)
                            .filter_map(|m| {
                                m.message
                                    .text_content()
                                    .map(|t| (m.info.source.sender.user.to_string(), t.to_string()))
                            })
                            .collect(),
                    ),
                    _ => None,
                })
                .await;
            self.texts.extend(batch);
        }
    }

    pub async fn stop(&mut self) {
        if let Some(h) = self.handle.take() {
            tokio::time::timeout(Duration::from_secs(5), h.shutdown())
                .await
                .expect("client stops");
        }
    }

    /// Stops the client and starts a new one on the same store (a reconnect with stored credentials).
    pub async fn restart(&mut self, fake: &FakeWa) {
        self.stop().await;
        let next = TestClient::start(fake, self.backend.clone()).await;
        *self = next;
    }
}

impl Drop for TestClient {
    fn drop(&mut self) {
        if let Some(h) = &self.handle {
            h.abort();
        }
    }
}

/// Which HTTP client a test companion uses for media.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    /// ureq trusting fakewa's media CA (`FakeWa::media_ca_pem`).
    TrustFakewa,
    /// whatsapp-rust's default client (webpki roots): it must refuse fakewa's media listener.
    Default,
}

/// A ureq agent trusting only fakewa's media CA, with the whatsapp-rust client's small buffers.
pub fn media_agent(ca_pem: &str) -> ureq::Agent {
    use ureq::tls::{Certificate, RootCerts, TlsConfig};
    let ca = Certificate::from_pem(ca_pem.as_bytes()).expect("media CA PEM");
    ureq::config::Config::builder()
        .input_buffer_size(16 * 1024)
        .output_buffer_size(16 * 1024)
        .max_idle_connections(3)
        .max_idle_connections_per_host(2)
        .http_status_as_error(false)
        .tls_config(
            TlsConfig::builder()
                .root_certs(RootCerts::new_with_certs(&[ca]))
                .build(),
        )
        .build()
        .into()
}

pub fn media_http_client(ca_pem: &str) -> whatsapp_rust::http::UreqHttpClient {
    whatsapp_rust::http::UreqHttpClient::with_agent(media_agent(ca_pem))
}

/// A companion linked to phone `number` by QR through the admin HTTP API, connected.
/// Waits until every device acknowledged what it got (nothing left in fakewa's queues), or fails
/// at the deadline listing what stays.
pub async fn assert_nothing_queued(fake: &FakeWa) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !fake.queued().is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let left = fake.queued();
    assert!(
        left.is_empty(),
        "{} stanzas never acknowledged: {:?}",
        left.len(),
        &left[..left.len().min(20)]
    );
}

pub async fn link_by_qr(fake: &FakeWa, number: &str) -> TestClient {
    link_by_qr_with(fake, number, Media::TrustFakewa).await
}

pub async fn link_by_qr_with(fake: &FakeWa, number: &str, media: Media) -> TestClient {
    let backend = Arc::new(InMemoryBackend::new());
    let mut c = TestClient::start_with(fake, backend, "fakewa test", media).await;
    let qr = c.qr().await;
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{}/admin/phones/{number}/scan", fake.admin_url()))
        .json(&serde_json::json!({ "qr": qr }))
        .send()
        .await
        .expect("admin scan");
    assert!(resp.status().is_success(), "scan: {}", resp.status());
    c.connected().await;
    c
}

/// A blocking HTTPS request with an agent trusting the media CA: (status, body).
pub async fn https(
    ca_pem: String,
    method: &'static str,
    url: String,
    body: Vec<u8>,
) -> (u16, Vec<u8>) {
    tokio::task::spawn_blocking(move || {
        let agent = media_agent(&ca_pem);
        let resp = match method {
            "POST" => agent.post(&url).send(&body[..]),
            _ => agent.get(&url).call(),
        };
        let mut resp = resp.expect("https request");
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_vec().expect("body");
        (status, body)
    })
    .await
    .expect("blocking task")
}
