//! One running WhatsApp client: built over the session's key store, connected to the configured
//! URL, its lifecycle events forwarded in order on a channel.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::FutureExt;
use tokio::sync::{mpsc, oneshot};
use whatsapp_rust::Client;
use whatsapp_rust::bot::Bot;
use whatsapp_rust::pair_code::PairCodeOptions;
use whatsapp_rust::prelude::{Event, EventHandler, EventInterest, EventKind, Subscription};

use crate::events::{self, Account, EngineEvent};
use whatsapp_rust::prelude::wa;

use crate::messages::{self, DurableInbound, InboundSink, Location, Poll, Quoted};
use crate::{EngineConfig, EngineError, keystore};

/// A running client. Dropping it without [`EngineSession::shutdown`] leaves the client running
/// until its run loop notices; always shut it down.
pub struct EngineSession {
    client: Arc<Client>,
    calls: crate::calls::Ringing,
    raw: RawEvents,
    events: mpsc::UnboundedReceiver<EngineEvent>,
    exited: Option<oneshot::Receiver<()>>,
}

impl EngineSession {
    pub(crate) async fn start(
        config: &EngineConfig,
        store_path: &Path,
        inbound: Arc<dyn InboundSink>,
        raw_events: bool,
    ) -> Result<EngineSession, EngineError> {
        let store = keystore::open(store_path).await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let forward = tx.clone();
        let calls = crate::calls::Ringing::default();
        let ringing = calls.clone();
        let mut builder = Bot::builder()
            // whatsapp-rust's pending-inbound buffer stays in memory until Signal state is written
            // (buffered_store.rs): no key-store write transaction per received message.
            .with_backend(crate::buffered_store::BufferedInbound::new(store))
            .with_transport_factory(
                wawp_transport::NoDelayTransportFactory::new(&config.ws_url)
                    .map_err(|e| EngineError::Client(e.to_string()))?,
            )
            .with_version(config.version)
            // Media over TLS: WhatsApp's CDN, or the configured extra roots (fakewa).
            .with_http_client(crate::media_http::client(
                config.media_roots_pem.as_deref(),
            )?)
            // Inbound messages are committed by wawp before WhatsApp is acknowledged.
            .with_inbound_durability_hook(DurableInbound::new(inbound));
        if let Some(name) = &config.push_name {
            builder = builder.with_push_name(name.clone());
        }
        let bot = builder
            .build()
            .await
            .map_err(|e| EngineError::Client(e.to_string()))?;
        let client = bot.client();
        // Events are subscribed here rather than with the builder's `on_event` so that the set of
        // kinds can change while the client runs: only the kinds wawp maps ([`MAPPED_KINDS`]),
        // plus every kind while `engine.event` is wanted ([`RawEvents`]). Inbound messages reach
        // wawp through the durability hook, so without `engine.event` a received text is no
        // longer also built into an `Event::Messages` and queued for nothing. Subscribed before
        // the client runs, so no lifecycle event is missed.
        let (events_tx, mut events_rx) = mpsc::unbounded_channel::<Arc<Event>>();
        let raw_on = Arc::new(AtomicBool::new(raw_events));
        let interest = if raw_events {
            EventInterest::ALL
        } else {
            mapped_interest()
        };
        let raw = RawEvents(Arc::new(RawSwitch {
            on: raw_on.clone(),
            subscription: client.subscribe(interest, Arc::new(Forward(events_tx))),
        }));
        // One drainer, so events are handled in arrival order (QR before pairing before
        // Connected). The queue is unbounded like the channel it feeds: an event is never dropped
        // (whatsapp-rust's ordered mailbox drops them when full), and the drainer only awaits a
        // cached LID lookup for presences. It ends when the client (and its event bus) is gone.
        let drain_client = Arc::downgrade(&client);
        tokio::spawn(async move {
            while let Some(event) = events_rx.recv().await {
                let Some(client) = drain_client.upgrade() else {
                    break;
                };
                let handled = std::panic::AssertUnwindSafe(handle_event(
                    event, client, &ringing, &forward, &raw_on,
                ))
                .catch_unwind()
                .await;
                if handled.is_err() {
                    tracing::warn!("client event handler panicked; continuing");
                }
            }
        });
        let handle = bot.spawn();
        let (exited_tx, exited_rx) = oneshot::channel();
        tokio::spawn(async move {
            handle.await;
            let _ = tx.send(EngineEvent::Exited);
            let _ = exited_tx.send(());
        });
        Ok(EngineSession {
            client,
            calls,
            raw,
            events: rx,
            exited: Some(exited_rx),
        })
    }

    /// The switch of raw event forwarding (`engine.event`) for this client.
    pub fn raw_events(&self) -> RawEvents {
        self.raw.clone()
    }

    /// The next lifecycle event; `None` once the session is gone.
    pub async fn next_event(&mut self) -> Option<EngineEvent> {
        self.events.recv().await
    }

    /// The linked account, once the device has one.
    pub fn account(&self) -> Option<Account> {
        account_of(&self.client)
    }

    pub fn is_connected(&self) -> bool {
        self.client.is_connected()
    }

    /// A cloneable handle that sends through this client (usable from any task).
    pub fn sender(&self) -> EngineSender {
        EngineSender {
            client: self.client.clone(),
            calls: self.calls.clone(),
        }
    }

    /// Asks WhatsApp for an 8-character pairing code for `phone` (digits only).
    pub async fn pair_code(&self, phone: &str) -> Result<String, EngineError> {
        if phone.is_empty() || !phone.bytes().all(|b| b.is_ascii_digit()) {
            return Err(EngineError::InvalidPhone(format!(
                "{phone:?} is not a phone number (digits only)"
            )));
        }
        let options = PairCodeOptions {
            phone_number: phone.to_string(),
            ..Default::default()
        };
        self.client
            .pair_with_code(options)
            .await
            .map_err(|e| EngineError::Upstream(e.to_string()))
    }

    /// Unlinks this device from the account (tells WhatsApp when connected) and stops the client.
    pub async fn logout(mut self) {
        self.client.logout().await;
        self.wait_exit().await;
    }

    /// Disconnects cleanly (flushing state) and waits for the run loop to end. Keeps the link.
    pub async fn shutdown(mut self) {
        self.client.disconnect().await;
        self.wait_exit().await;
    }

    async fn wait_exit(&mut self) {
        if let Some(rx) = self.exited.take() {
            let _ = rx.await;
        }
    }
}

/// The client event kinds wawp turns into its own events: [`events::from_client_event`] and
/// [`crate::calls::Ringing::signal`]. A kind missing here never reaches them (unless
/// `engine.event` is on), so keep the three in step.
const MAPPED_KINDS: &[EventKind] = &[
    EventKind::PairingQrCode,
    EventKind::PairingQrCodesExhausted,
    EventKind::PairSuccess,
    EventKind::PairError,
    EventKind::PairingCodeError,
    EventKind::Connected,
    EventKind::Disconnected,
    EventKind::LoggedOut,
    EventKind::ClientOutdated,
    EventKind::Receipt,
    EventKind::ChatPresence,
    EventKind::Presence,
    EventKind::ArchiveUpdate,
    EventKind::IncomingCall,
];

fn mapped_interest() -> EventInterest {
    EventInterest::of(MAPPED_KINDS)
}

/// Queues each client event for the drainer. Runs inside whatsapp-rust's dispatch, so it only
/// queues (an unbounded send never waits).
struct Forward(mpsc::UnboundedSender<Arc<Event>>);

impl EventHandler for Forward {
    fn handle_event(&self, event: Arc<Event>) {
        let _ = self.0.send(event);
    }

    fn interest(&self) -> EventInterest {
        mapped_interest()
    }
}

/// One client event, in order: its call signal and mapped event, if any, then the event raw
/// when `engine.event` is on.
async fn handle_event(
    event: Arc<Event>,
    client: Arc<Client>,
    ringing: &crate::calls::Ringing,
    forward: &mpsc::UnboundedSender<EngineEvent>,
    raw_on: &AtomicBool,
) {
    if let Some(signal) = ringing.signal(&event) {
        let _ = forward.send(EngineEvent::Call(signal));
    }
    match events::from_client_event(&event) {
        Some(EngineEvent::Presence(mut p)) => {
            crate::signals::resolve_presence(&client, &mut p).await;
            let _ = forward.send(EngineEvent::Presence(p));
        }
        Some(e) => {
            let _ = forward.send(e);
        }
        None => {}
    }
    if raw_on.load(Ordering::Acquire) {
        let _ = forward.send(EngineEvent::Raw(crate::signals::RawEvent(event)));
    }
}

/// Turns on and off the raw forwarding of every client event (`engine.event`), for the domain to
/// follow its webhooks. While off, the client only builds the events wawp maps. Cheap to clone.
#[derive(Clone)]
pub struct RawEvents(Arc<RawSwitch>);

struct RawSwitch {
    on: Arc<AtomicBool>,
    /// Dropping it (with the last clone) unsubscribes; the client's bus is held weakly.
    subscription: Subscription,
}

impl RawEvents {
    /// `true`: every event kind, each also forwarded raw; `false`: only the mapped kinds.
    pub fn set(&self, on: bool) {
        // Events already queued follow the new setting; wawp-core checks its webhooks again
        // before emitting `engine.event`, so a raw event straddling a change is harmless.
        if on {
            self.0.on.store(true, Ordering::Release);
            self.0.subscription.update_interest(EventInterest::ALL);
        } else {
            self.0.subscription.update_interest(mapped_interest());
            self.0.on.store(false, Ordering::Release);
        }
    }
}

impl std::fmt::Debug for RawEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RawEvents({})", self.0.on.load(Ordering::Relaxed))
    }
}

/// Sends messages through a running client. Cheap to clone; calls run concurrently.
#[derive(Clone)]
pub struct EngineSender {
    pub(crate) client: Arc<Client>,
    /// The calls ringing on this device (see [`crate::calls`]).
    pub(crate) calls: crate::calls::Ringing,
}

/// What WhatsApp accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentMessage {
    /// The bare WhatsApp id.
    pub id: String,
    /// The chat it went to (`123@c.us`…).
    pub chat: String,
    /// Unix seconds.
    pub timestamp: i64,
}

impl EngineSender {
    /// Sends `text` to `chat` (an API chat id), quoting `quoted` when it is a reply.
    pub async fn send_text(
        &self,
        chat: &str,
        text: &str,
        quoted: Option<&Quoted>,
    ) -> Result<SentMessage, EngineError> {
        self.send(chat, messages::text_message(text, quoted)).await
    }

    /// Sends a location pin.
    pub async fn send_location(
        &self,
        chat: &str,
        location: &Location,
        quoted: Option<&Quoted>,
    ) -> Result<SentMessage, EngineError> {
        self.send(
            chat,
            messages::with_quote(messages::location_message(location), quoted),
        )
        .await
    }

    /// Sends contact cards, each `(display name, vCard)`.
    pub async fn send_contacts(
        &self,
        chat: &str,
        cards: &[(String, String)],
        quoted: Option<&Quoted>,
    ) -> Result<SentMessage, EngineError> {
        self.send(
            chat,
            messages::with_quote(messages::contacts_message(cards), quoted),
        )
        .await
    }

    /// Sends a poll; `selectable` is how many options one voter may pick (0 = any number).
    pub async fn send_poll(&self, chat: &str, poll: &Poll) -> Result<SentMessage, EngineError> {
        let to = jid(chat)?;
        let (sent, _secret) = self
            .client
            .polls()
            .create(to, &poll.name, &poll.options, poll.selectable)
            .await
            .map_err(|e| EngineError::Upstream(e.to_string()))?;
        Ok(sent_message(sent))
    }

    /// Reacts to message `target` (bare id) of `chat` with `emoji` (empty removes the reaction).
    /// `target_from_me`: whether we sent it; `author`: who did, in groups.
    pub async fn react(
        &self,
        chat: &str,
        target: &str,
        target_from_me: bool,
        author: Option<&str>,
        emoji: &str,
    ) -> Result<SentMessage, EngineError> {
        let to = jid(chat)?;
        let key = wa::MessageKey {
            remote_jid: Some(to.to_string()),
            from_me: Some(target_from_me),
            id: Some(target.to_string()),
            participant: author
                .and_then(messages::parse_chat_id)
                .map(|j| j.to_string()),
        };
        let sent = self
            .client
            .send_reaction(to, key, emoji)
            .await
            .map_err(upstream)?;
        Ok(sent_message(sent))
    }

    /// Replaces the text of our message `target` (bare id).
    pub async fn edit_text(&self, chat: &str, target: &str, text: &str) -> Result<(), EngineError> {
        use wacore::proto_helpers::MessageBuilderExt;
        let to = jid(chat)?;
        self.client
            .edit_message(to, target, wa::Message::text(text))
            .await
            .map_err(upstream)?;
        Ok(())
    }

    /// Deletes our message `target` (bare id) for everyone.
    pub async fn revoke(&self, chat: &str, target: &str) -> Result<(), EngineError> {
        let to = jid(chat)?;
        self.client
            .revoke_message(to, target, whatsapp_rust::RevokeType::Sender)
            .await
            .map_err(upstream)
    }

    /// Sends read receipts for `ids` (bare) of `chat`; `sender` is the author, in groups.
    pub async fn mark_read(
        &self,
        chat: &str,
        sender: Option<&str>,
        ids: &[String],
    ) -> Result<(), EngineError> {
        let to = jid(chat)?;
        let sender = sender.and_then(messages::parse_chat_id);
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        self.client
            .mark_as_read(&to, sender.as_ref(), &ids)
            .await
            .map_err(|e| EngineError::Upstream(e.to_string()))
    }

    /// Marks `chat` unread on every device of the account (an app-state change, as the phone does).
    pub async fn mark_chat_unread(&self, chat: &str) -> Result<(), EngineError> {
        let to = jid(chat)?;
        self.client
            .chat_actions()
            .mark_chat_as_read(&to, false, None)
            .await
            .map_err(|e| EngineError::Upstream(e.to_string()))
    }

    /// Shows (`true`) or stops showing us as typing in `chat`.
    pub async fn typing(&self, chat: &str, on: bool) -> Result<(), EngineError> {
        let to = jid(chat)?;
        let chatstate = self.client.chatstate();
        let result = if on {
            chatstate.send_composing(&to).await
        } else {
            chatstate.send_paused(&to).await
        };
        result.map_err(|e| EngineError::Upstream(e.to_string()))
    }

    pub(crate) async fn send(
        &self,
        chat: &str,
        message: wa::Message,
    ) -> Result<SentMessage, EngineError> {
        let to = jid(chat)?;
        let sent = self
            .client
            .send_message(to, message)
            .await
            .map_err(upstream)?;
        Ok(sent_message(sent))
    }

    /// The account this client is linked to.
    pub fn account(&self) -> Option<Account> {
        account_of(&self.client)
    }
}

fn account_of(client: &Client) -> Option<Account> {
    let pn = client.pn()?;
    Some(Account {
        phone: events::user_of(&pn),
        lid: client.lid().map(|l| events::user_of(&l)),
        push_name: client.push_name(),
        platform: None,
    })
}

pub(crate) fn jid(chat: &str) -> Result<whatsapp_rust::Jid, EngineError> {
    messages::parse_chat_id(chat)
        .ok_or_else(|| EngineError::InvalidChat(format!("{chat:?} is not a chat id")))
}

pub(crate) fn upstream(e: whatsapp_rust::SendError) -> EngineError {
    EngineError::Upstream(e.to_string())
}

pub(crate) fn sent_message(sent: whatsapp_rust::SendResult) -> SentMessage {
    SentMessage {
        id: sent.message_id,
        chat: messages::chat_id(&sent.to),
        timestamp: wacore::time::now_millis() / 1000,
    }
}
