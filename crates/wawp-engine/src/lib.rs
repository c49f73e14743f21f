//! Everything in wawp that touches `whatsapp-rust`: one WhatsApp session = one client.
//!
//! # Layout
//! - [`Engine`]: opens sessions over per-instance key stores and the configured WhatsApp URL.
//! - [`session`]: [`EngineSession`], a running client with its events turned into [`EngineEvent`]s.
//! - [`certs`]: the certificate rule (does this build verify WhatsApp's chain? which URLs may it use?).
//! - [`calls`]: incoming call signaling as [`CallSignal`]s, and rejecting a ringing call.
//! - [`keystore`]: where a session's WhatsApp key material lives, and how it is erased.
//! - `buffered_store.rs`: the key store as a session's client sees it, with whatsapp-rust's
//!   pending-inbound buffer kept in memory until Signal state is written, its trusted-contact
//!   tokens cached (`tc_token_cache.rs`), and its message-secret writes coalesced over 20 ms.
//! - `wawp-transport` (its own crate, shared with fakewa): the WebSocket transport, with `TCP_NODELAY`.
//!
//! No other wawp crate imports whatsapp-rust (ARCHITECTURE.md layering), except `wawp-transport`,
//! which sits under this one.

pub mod addons;
mod buffered_store;
pub mod calls;
pub mod certs;
mod error;
mod events;
pub mod interactive;
pub mod keystore;
mod media_http;
pub mod messages;
pub mod pictures;
pub mod send_media;
pub mod session;
pub mod signals;
mod tc_token_cache;

use std::path::PathBuf;
use std::sync::Arc;

pub use addons::{AddonKind, EventAnswer, SealedAddon};
pub use calls::CallSignal;
pub use error::EngineError;
pub use events::{Account, Ack, EngineEvent};
pub use interactive::{EventInfo, List, ListRow, ListSection, SentWithSecret};
pub use messages::{Action, Content, InboundSink, IncomingMessage, Location, Poll, Quoted};
pub use pictures::Picture;
pub use send_media::{LinkPreview, MediaInfo, MediaKind, MediaRef, OutgoingMedia};
pub use session::{EngineSender, SentMessage};
pub use session::{EngineSession, RawEvents};
pub use signals::{PresenceUpdate, RawEvent};

/// How the engine reaches WhatsApp.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// WebSocket URL (`wss://web.whatsapp.com/ws/chat`, or fakewa's on loopback).
    pub ws_url: String,
    /// WhatsApp Web version announced at login; always set so `connect()` never fetches it.
    pub version: (u32, u32, u32),
    /// Push name given to a newly linked device.
    pub push_name: Option<String>,
    /// Folder holding one key-store file per session.
    pub keys_dir: PathBuf,
    /// Extra root certificates (PEM) trusted for media over TLS, instead of the public roots
    /// (fakewa's CA in the sandbox and tests). `None`: WhatsApp's CDN with webpki roots.
    pub media_roots_pem: Option<String>,
}

/// Opens WhatsApp sessions. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    config: Arc<EngineConfig>,
}

impl Engine {
    /// Checks the configuration against the certificate rule (see [`certs`]) and prepares the
    /// key-store folder.
    pub fn new(config: EngineConfig) -> Result<Engine, EngineError> {
        certs::check_url(&config.ws_url)?;
        std::fs::create_dir_all(&config.keys_dir).map_err(|e| {
            EngineError::Store(format!("cannot create {}: {e}", config.keys_dir.display()))
        })?;
        Ok(Engine {
            config: Arc::new(config),
        })
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Starts a client for the session `key` (its key store is created on first use). Events
    /// arrive on the returned session's channel; it connects, and reconnects on its own. Raw
    /// events (`engine.event`) start off; see [`Engine::start_session_with`].
    pub async fn start_session(
        &self,
        key: &str,
        inbound: std::sync::Arc<dyn InboundSink>,
    ) -> Result<EngineSession, EngineError> {
        self.start_session_with(key, inbound, false).await
    }

    /// [`Engine::start_session`], with raw events (`engine.event`) on from the first event when
    /// `raw_events` (switched later with [`EngineSession::raw_events`]).
    pub async fn start_session_with(
        &self,
        key: &str,
        inbound: std::sync::Arc<dyn InboundSink>,
        raw_events: bool,
    ) -> Result<EngineSession, EngineError> {
        EngineSession::start(
            &self.config,
            &keystore::path(&self.config.keys_dir, key),
            inbound,
            raw_events,
        )
        .await
    }

    /// Whether the session `key` holds a linked device (so it will log in without a QR code).
    pub async fn is_linked(&self, key: &str) -> Result<bool, EngineError> {
        keystore::is_linked(&keystore::path(&self.config.keys_dir, key)).await
    }

    /// Erases every key of the session `key`. The session must not be running.
    pub fn erase(&self, key: &str) -> Result<(), EngineError> {
        keystore::erase(&keystore::path(&self.config.keys_dir, key))
    }
}
