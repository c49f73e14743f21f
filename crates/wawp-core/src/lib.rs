//! wawp's domain: tenancy (tokens, quotas, rate limits), the session manager (one task per WhatsApp
//! session) and, later, events, webhooks and media.
//!
//! # Layout
//! - [`Core`]: the cloneable handle the HTTP layer holds; built once by `wawp serve`.
//! - [`tenancy`]: access tokens (stored hashed), per-token instance quota, rate limits.
//! - [`sessions`]: instance lifecycle (`create`, `start`, `stop`, `logout`, `delete`), the state
//!   machine of API-CONVENTIONS.md, QR codes and pairing codes, on top of `wawp-engine`.
//! - [`model`]: identifiers and views shared by the layers above.
//! - [`media`]: `file` parameters (fetch with the [`ssrf`] guard, sniff, ffmpeg) and the file
//!   store behind `/v2/files/…`.
//!
//! This crate never speaks HTTP (no status codes, no JSON shapes of errors) and never imports
//! whatsapp-rust directly: that is `wawp-engine`'s job.

pub mod config;
pub mod error;
pub mod events;
pub mod instances;
pub mod media;
pub mod model;
pub mod sessions;
pub mod ssrf;
pub mod tenancy;

use std::sync::Arc;

pub use config::CoreConfig;
pub use error::CoreError;
use events::Events;
use sessions::SessionManager;
use tenancy::Tenancy;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use wawp_store::Store;

/// The domain services of one wawp server. Cheap to clone; no globals, so several servers can run
/// in one process (tests do).
#[derive(Clone)]
pub struct Core {
    inner: Arc<CoreInner>,
}

struct CoreInner {
    store: Store,
    tenancy: Tenancy,
    sessions: SessionManager,
    events: Events,
    media: media::Media,
    config: CoreConfig,
    background: TaskTracker,
    cancel: CancellationToken,
}

impl Core {
    /// Builds the services over an opened store. Sessions are not started here: call
    /// [`Core::restore_sessions`] once the HTTP listener is up.
    pub async fn open(config: CoreConfig, store: Store) -> Result<Core, CoreError> {
        let tenancy = Tenancy::new(store.clone(), config.limits.clone());
        let instances = instances::InstanceCache::default();
        let events =
            Events::with_instance_cache(store.clone(), config.events.clone(), instances.clone());
        let sessions =
            SessionManager::open(store.clone(), config.clone(), events.clone(), instances).await?;
        // Media URLs follow the same private-address rule as webhooks (`WAWP_ALLOW_PRIVATE_URLS`).
        let media = media::Media::open(
            config.media.clone(),
            &config.data_dir,
            config.events.allow.clone(),
        )
        .await?;
        let background = TaskTracker::new();
        let cancel = CancellationToken::new();
        background.spawn(events.clone().run_dispatcher(cancel.child_token()));
        Ok(Core {
            inner: Arc::new(CoreInner {
                store,
                tenancy,
                sessions,
                events,
                media,
                config,
                background,
                cancel,
            }),
        })
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn tenancy(&self) -> &Tenancy {
        &self.inner.tenancy
    }

    pub fn sessions(&self) -> &SessionManager {
        &self.inner.sessions
    }

    pub fn events(&self) -> &Events {
        &self.inner.events
    }

    /// The media pipeline (fetch, sniff, convert) and the file store.
    pub fn media(&self) -> &media::Media {
        &self.inner.media
    }

    pub fn config(&self) -> &CoreConfig {
        &self.inner.config
    }

    /// Starts every session that was running when the server last stopped.
    pub async fn restore_sessions(&self) -> Result<usize, CoreError> {
        self.inner.sessions.restore().await
    }

    /// Stops every session task (without logging out), then the webhook dispatcher, and waits.
    /// Undelivered events stay in the outbox for the next start.
    pub async fn shutdown(&self) {
        self.inner.sessions.shutdown().await;
        self.inner.cancel.cancel();
        self.inner.background.close();
        self.inner.background.wait().await;
    }
}

/// Whether this build's WhatsApp library verifies WhatsApp's certificate chain (false in sandbox
/// and test builds, which then only connect to loopback).
pub fn verifies_certificates() -> bool {
    wawp_engine::certs::verifies_certificate_chain()
}
