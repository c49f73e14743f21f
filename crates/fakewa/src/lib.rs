//! fakewa: a fake WhatsApp network that speaks the real WhatsApp Web protocol on loopback.
//!
//! Real WhatsApp Web clients (whatsapp-rust built with `danger-skip-cert-chain-verify`) connect to
//! [`FakeWa::ws_url`], run the Noise handshake against fakewa's own certificate chain, pair with a virtual
//! phone, log in and exchange end-to-end encrypted messages. fakewa never decrypts: it routes.
//!
//! # Layout
//! - `server`: one axum listener — WebSocket at `/ws/chat`, readiness at `/`, the admin API at `/admin/*`.
//! - `conn`: one task per WebSocket — intro, 3-byte frames (`conn::wire`), the Noise responder
//!   (`conn::noise`: XX, IK, XXfallback), then encrypted binary nodes handled in arrival order.
//! - `stanza`: one module per stanza kind (iq dispatch, pairing, login, prekeys, usync, message relay,
//!   receipts, presence/chatstate, acks, app state, call signaling).
//! - `state`: accounts, devices and their keys behind one short-held mutex.
//! - `mailbox`: the routing table and the per-device delivery queues (`queue`, indexed by stanza id),
//!   one lock per device, so relaying, acks and flushes of different devices run in parallel.
//! - `certs`: fakewa's root, intermediate and Noise static keys and the signed chain.
//! - `phone`: virtual phones — whatsapp-rust clients acting as device 0 of each account (`phone::keyshare`:
//!   the app-state key push to new companions).
//! - `media`: the HTTPS media server (upload/download, own CA); `stanza::media_conn` advertises it.
//! - `pictures`: profile pictures (ids, blob ids, `profile` privacy); `stanza::picture` serves the IQs.
//! - `persist`: with a data directory, accounts and devices survive restarts.
//! - `admin`: the HTTP admin API.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

mod admin;
mod certs;
mod conn;
mod error;
mod mailbox;
mod media;
mod persist;
mod phone;
mod pictures;
mod queue;
mod server;
mod stanza;
mod state;

pub use error::FakeWaError;
pub use phone::calls::{CallStatus, PhoneCall};

/// How to start a fakewa instance.
#[derive(Debug, Clone)]
pub struct FakeWaConfig {
    /// Address of the single listener (WebSocket, readiness, admin). Port 0 picks a free port.
    pub listen: SocketAddr,
    /// Address of the HTTPS media listener (upload/download; its `host:port` is what `<media_conn>`
    /// advertises). Port 0 picks a free port.
    pub media_listen: SocketAddr,
    /// Where fakewa keeps its keys, accounts, devices and the phones' stores, so a restart keeps the
    /// server identity and every link. `None`: in memory only.
    pub data_dir: Option<PathBuf>,
    /// How long a chat state (typing…) waits for an offline device.
    pub chatstate_ttl: Duration,
    /// Relay receipts sent by virtual phones (device 0), as a real phone's reach the sender. On by
    /// default; whatsapp-rust's e2e suite expects its mock's behaviour (a phone that never sends
    /// receipts): run it with `fakewa --no-phone-receipts` (`FAKEWA_NO_PHONE_RECEIPTS=1`).
    pub relay_phone_receipts: bool,
    /// Have the phone push the app-state sync key to each new companion (so it reaches `Connected`
    /// at once instead of after the client's 10 s key-share grace).
    pub share_app_state_key: bool,
    /// `TCP_NODELAY` on every accepted connection (on by default): a stanza leaves when it is
    /// written. Off, Nagle's algorithm holds a small write behind an unacknowledged one until the
    /// peer's delayed ACK (up to 40 ms): fewer, larger segments for a saturated relay, tens of
    /// milliseconds of latency for everything else. `fakewa --tcp-nodelay false`.
    pub tcp_nodelay: bool,
}

impl Default for FakeWaConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            media_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: None,
            chatstate_ttl: Duration::from_secs(30),
            relay_phone_receipts: true,
            share_app_state_key: true,
            tcp_nodelay: true,
        }
    }
}

/// An account as the admin API shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PhoneInfo {
    pub number: String,
    pub jid: String,
    pub lid: String,
}

/// A message a virtual phone received and decrypted.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboxMessage {
    pub id: String,
    pub from: String,
    pub chat: String,
    /// The content: `text`, `image`, `video`, `audio`, `document`, `sticker`, or another content field
    /// of the message protobuf without its `_message[_vN]` suffix (`location`, `contact`,
    /// `contacts_array`, `poll_creation`, `reaction`, `list`, `event`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// Text of a text message (a media caption is in [`InboxMedia::caption`]).
    pub text: Option<String>,
    pub timestamp: i64,
    /// Image, video, audio, document or sticker: what the phone downloaded and decrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<InboxMedia>,
    /// Any other content (location, contacts, poll, list, event, reaction, …): the non-empty fields of
    /// the message protobuf as JSON, snake_case as the protobuf names them, nulls dropped, e.g.
    /// `{"location_message": {"degrees_latitude": …, "name": …}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<serde_json::Value>,
}

/// The media of an inbox message. The decrypted bytes are at [`FakeWa::inbox_media`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct InboxMedia {
    /// `image`, `video`, `audio`, `document` or `sticker`.
    pub kind: String,
    pub mimetype: Option<String>,
    pub caption: Option<String>,
    pub file_name: Option<String>,
    pub file_length: Option<u64>,
    pub seconds: Option<u32>,
    pub ptt: Option<bool>,
    pub gif_playback: Option<bool>,
    /// Lowercase hex SHA-256 of the decrypted bytes (absent if the download failed).
    pub sha256: Option<String>,
    /// Why the download or decryption failed.
    pub error: Option<String>,
}

/// Media a virtual phone sends ([`FakeWa::send_media`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhoneMedia {
    /// `image`, `video`, `audio`, `document` or `sticker`.
    pub kind: String,
    /// The plain bytes; the phone encrypts and uploads them.
    pub data: Vec<u8>,
    pub mimetype: String,
    pub caption: Option<String>,
    pub file_name: Option<String>,
    /// Audio only: a voice note.
    pub ptt: bool,
}

/// An account's current profile picture, as a `w:profile:picture` get would answer it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PictureInfo {
    /// The picture id (changes with every new picture).
    pub id: String,
    /// Where the media listener serves the JPEG (`https://127.0.0.1:PORT/v/t61.24694-24/<sha256>.jpg?…`).
    pub url: String,
}

/// Everything one fakewa instance shares between its tasks.
pub(crate) struct Shared {
    pub config: FakeWaConfig,
    pub addr: SocketAddr,
    pub certs: certs::Certs,
    pub media: Arc<media::Media>,
    pub token: CancellationToken,
    pub tracker: TaskTracker,
    state: Mutex<state::State>,
    /// The state's routing table and queues, reachable without the state mutex.
    mail: Arc<mailbox::Mailboxes>,
    pub phones: Mutex<HashMap<String, Arc<phone::Phone>>>,
    /// Serialises phone creation, so two requests for one number make one account.
    pub create_lock: tokio::sync::Mutex<()>,
    conn_seq: AtomicU64,
}

impl Shared {
    pub fn state(&self) -> MutexGuard<'_, state::State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Routing and queues, locked per device (`mailbox`).
    pub fn mail(&self) -> &mailbox::Mailboxes {
        &self.mail
    }

    pub fn phones(&self) -> MutexGuard<'_, HashMap<String, Arc<phone::Phone>>> {
        self.phones.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn next_conn_id(&self) -> u64 {
        self.conn_seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws/chat", self.addr)
    }
}

/// A running fakewa. Dropping it (or [`FakeWa::shutdown`]) stops every task.
pub struct FakeWa {
    shared: Arc<Shared>,
}

impl FakeWa {
    /// Binds the listener, loads or creates the keys and starts serving.
    pub async fn start(config: FakeWaConfig) -> Result<FakeWa, FakeWaError> {
        let certs = certs::Certs::load_or_create(config.data_dir.as_deref())?;
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let (media, media_tcp) = media::Media::bind(&config).await?;
        let state = state::State::default();
        let shared = Arc::new(Shared {
            config,
            addr,
            certs,
            media: Arc::new(media),
            token: CancellationToken::new(),
            tracker: TaskTracker::new(),
            mail: state.mail.clone(),
            state: Mutex::new(state),
            phones: Mutex::new(HashMap::new()),
            create_lock: tokio::sync::Mutex::new(()),
            conn_seq: AtomicU64::new(0),
        });
        // Saved accounts are back before the listener accepts: a reconnecting companion must not get a 401.
        let saved_phones = match &shared.config.data_dir {
            Some(dir) => persist::load(dir, &mut shared.state())?,
            None => Vec::new(),
        };
        let app = server::app(shared.clone());
        let token = shared.token.clone();
        // No Nagle by default: a stanza goes out when it is written. With Nagle, a small write
        // that follows another still unacknowledged waits for the peer's delayed ACK (up to
        // 40 ms), which turned a 3 ms delivery into 40 ms as soon as a device got ~100 stanzas a
        // second.
        let nodelay = shared.config.tcp_nodelay;
        let listener = axum::serve::ListenerExt::tap_io(listener, move |tcp| {
            if let Err(e) = tcp.set_nodelay(nodelay) {
                tracing::debug!("TCP_NODELAY not set: {e}");
            }
        });
        shared.tracker.spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(token.cancelled_owned());
            if let Err(e) = serve.await {
                tracing::error!("fakewa listener stopped: {e}");
            }
        });
        // From here an early return drops `fake`, which stops everything started so far.
        let fake = FakeWa { shared };
        let sh = &fake.shared;
        media::serve(sh.media.clone(), media_tcp, sh.token.clone(), &sh.tracker)?;
        tracing::info!(%addr, media = %sh.media.addr, "fakewa listening");
        for (number, sync_key, raw_id) in saved_phones {
            let store = phone::open_store(&fake.shared, &number).await?;
            phone::launch(&fake.shared, &number, store, sync_key, raw_id).await?;
        }
        if let Some(dir) = fake.shared.config.data_dir.clone() {
            persist::spawn_saver(fake.shared.clone(), dir);
        }
        Ok(fake)
    }

    pub fn ws_url(&self) -> String {
        self.shared.ws_url()
    }

    pub fn admin_url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// The HTTPS media server (upload/download), `https://127.0.0.1:PORT`, as `<media_conn>` advertises it.
    pub fn media_url(&self) -> String {
        self.shared.media.url()
    }

    /// The PEM of fakewa's media CA: what a client must trust to reach [`FakeWa::media_url`] (kept in
    /// `<data-dir>/media-ca.pem` across restarts).
    pub fn media_ca_pem(&self) -> String {
        self.shared.media.tls.ca_pem.clone()
    }

    /// The root public key that signs fakewa's Noise certificate chain.
    pub fn root_public_key(&self) -> [u8; 32] {
        self.shared.certs.root_public()
    }

    /// The encoded `CertChain` (intermediate signed by the root, leaf = Noise static key) sent in every
    /// `ServerHello`.
    pub fn cert_chain(&self) -> Vec<u8> {
        self.shared.certs.chain.clone()
    }

    /// The account key of a phone (its Signal identity), which signs every companion's ADV identity.
    pub fn phone_identity_key(&self, number: &str) -> Option<[u8; 32]> {
        let st = self.shared.state();
        st.accounts.get(number).map(|a| certs::pub32(&a.key))
    }

    /// Creates an account with a virtual phone (device 0) and waits until the phone is online.
    /// Idempotent for an existing number.
    pub async fn create_phone(
        &self,
        number: &str,
        push_name: &str,
    ) -> Result<PhoneInfo, FakeWaError> {
        phone::create(&self.shared, number, push_name).await
    }

    /// The phone answers every text it receives with `echo: <text>`.
    pub async fn set_echo(&self, number: &str, on: bool) -> Result<(), FakeWaError> {
        phone::get(&self.shared, number)?.set_echo(on);
        Ok(())
    }

    /// The phone scans a QR code a client shows; returns once the companion is linked.
    pub async fn scan_qr(&self, number: &str, qr: &str) -> Result<(), FakeWaError> {
        stanza::pair::scan_qr(&self.shared, number, qr).await
    }

    /// The phone confirms an 8-character pairing code ("ABCD-1234" or "ABCD1234").
    pub async fn enter_link_code(&self, number: &str, code: &str) -> Result<(), FakeWaError> {
        stanza::paircode::enter_link_code(&self.shared, number, code).await
    }

    /// The phone sends a text; returns the message id.
    pub async fn send_text(
        &self,
        number: &str,
        to: &str,
        text: &str,
    ) -> Result<String, FakeWaError> {
        phone::get(&self.shared, number)?.send_text(to, text).await
    }

    /// The phone uploads the media (whatsapp-rust's upload API, through the media listener) and sends it;
    /// returns the message id.
    pub async fn send_media(
        &self,
        number: &str,
        to: &str,
        media: PhoneMedia,
    ) -> Result<String, FakeWaError> {
        phone::get(&self.shared, number)?
            .send_media(to, media)
            .await
    }

    /// The decrypted bytes of a media message the phone received ([`InboxMessage::media`]).
    pub async fn inbox_media(&self, number: &str, id: &str) -> Result<Vec<u8>, FakeWaError> {
        phone::get(&self.shared, number)?.inbox_media(id)
    }

    /// Messages the phone received.
    pub async fn inbox(&self, number: &str) -> Result<Vec<InboxMessage>, FakeWaError> {
        Ok(phone::get(&self.shared, number)?.inbox())
    }

    /// The phone sets the account's profile picture (JPEG bytes; empty removes it) with the
    /// `w:profile:picture` IQ, so every device of the account and every connected contact gets the picture
    /// notification. Returns the new picture id (empty after a removal).
    pub async fn set_picture(&self, number: &str, jpeg: Vec<u8>) -> Result<String, FakeWaError> {
        phone::get(&self.shared, number)?.set_picture(jpeg).await
    }

    /// The account's current profile picture, if any (whatever its privacy).
    pub fn picture(&self, number: &str) -> Option<PictureInfo> {
        let st = self.shared.state();
        st.pictures.get(number).map(|p| PictureInfo {
            id: p.id.clone(),
            url: p.url(&self.shared.media.host()),
        })
    }

    /// The phone sets who may see the account's picture: `all`, `contacts` (everyone: fakewa has no
    /// address books), `contact_blacklist` or `none` (others get 401 `not-authorized`).
    pub async fn set_picture_privacy(&self, number: &str, value: &str) -> Result<(), FakeWaError> {
        phone::get(&self.shared, number)?
            .set_picture_privacy(value)
            .await
    }

    /// The phone calls `to` (a JID or a phone number): every device of the callee rings (signaling
    /// only, no media). Returns the call id; [`FakeWa::calls`] follows what the callee does with it.
    pub async fn place_call(
        &self,
        number: &str,
        to: &str,
        video: bool,
    ) -> Result<String, FakeWaError> {
        phone::get(&self.shared, number)?
            .place_call(to, video)
            .await
    }

    /// The calls the phone placed, with their status.
    pub async fn calls(&self, number: &str) -> Result<Vec<PhoneCall>, FakeWaError> {
        Ok(phone::get(&self.shared, number)?.calls())
    }

    /// Logs out every companion of that phone.
    pub async fn unlink(&self, number: &str) -> Result<(), FakeWaError> {
        stanza::devices::unlink(&self.shared, number)
    }

    /// Closes the socket of one device (fault injection). `true` if it was connected.
    pub async fn drop_connection(&self, jid: &str) -> Result<bool, FakeWaError> {
        stanza::login::drop_connection(&self.shared, jid)
    }

    /// Stanzas waiting in the devices' queues (held for an offline device, or sent and not yet
    /// acknowledged), as `(number, device, class, id)`; `GET /admin/stats` counts them.
    pub fn queued(&self) -> Vec<(String, u16, String, String)> {
        self.shared.mail().queued()
    }

    /// Stops the listener, every connection and every virtual phone.
    pub async fn shutdown(self) {
        let phones: Vec<_> = self.shared.phones().drain().map(|(_, p)| p).collect();
        futures::future::join_all(phones.iter().map(|p| p.stop())).await;
        self.shared.token.cancel();
        self.shared.tracker.close();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.shared.tracker.wait()).await;
    }
}

impl Drop for FakeWa {
    fn drop(&mut self) {
        self.shared.token.cancel();
        for (_, p) in self.shared.phones().drain() {
            p.abort();
        }
    }
}
