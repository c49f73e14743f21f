//! Events: what an instance tells its subscribers, persisted before anyone hears of it.
//!
//! Persist, then acknowledge, then deliver (ARCHITECTURE.md "Events"): [`Events::prepare`] builds
//! an event's envelope and its delivery rows (one per webhook that subscribed); the caller commits
//! them in the transaction of what caused the event (`Store::save_messages` for inbound messages)
//! or [`Events::emit`] commits them on their own. The dispatcher ([`Events::run_dispatcher`]) then
//! POSTs each delivery, retrying per the webhook's policy, in order per (webhook, chat).
//! `GET /v2/events` streams the same outbox (every event, subscribed or not) as Server-Sent Events.
//!
//! # Layout
//! - `webhook.rs`: a webhook's config, its validation and its retry schedule.
//! - `signing.rs`: Standard Webhooks signatures.
//! - `crate::ssrf` (re-exported here as `ssrf`): the URL guard and the guarded HTTP client,
//!   shared with media downloads.
//! - `dispatcher.rs`: the delivery loop.
//!
//! This module never speaks HTTP to clients; the routes in wawp-api call the methods below.

mod dispatcher;
pub mod signing;
pub use crate::ssrf;
pub mod webhook;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;
use wawp_store::{NewDelivery, Store};

use crate::error::CoreError;
use crate::model::SessionConfig;
pub use ssrf::AllowList;
pub use wawp_store::{DeliveryRow, EventRow, NewEvent};
pub use webhook::WebhookConfig;

/// The dispatcher's settings (the `webhooks` section of wawp's config).
#[derive(Clone, Debug)]
pub struct EventsConfig {
    /// How often the dispatcher looks for due deliveries when nothing wakes it.
    pub poll_interval: Duration,
    /// Longest time one webhook request may take (connect included).
    pub request_timeout: Duration,
    /// `User-Agent` of webhook requests.
    pub user_agent: String,
    /// Hosts and networks webhooks may reach although private (`WAWP_ALLOW_PRIVATE_URLS`).
    pub allow: AllowList,
    /// Most requests in flight at once (across instances, webhooks and chats).
    pub concurrency: usize,
    /// Events older than this are deleted once none of their deliveries is pending.
    pub retention: Duration,
    /// Random spread of retry delays: 0.2 = ±20 %.
    pub jitter: f64,
    /// How long an instance's webhooks and `me` are cached (also invalidated on change).
    pub cache_ttl: Duration,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            poll_interval: Duration::from_secs(1),
            request_timeout: Duration::from_secs(10),
            user_agent: format!("wawp/{}", env!("CARGO_PKG_VERSION")),
            allow: AllowList::none(),
            concurrency: 32,
            retention: Duration::from_secs(7 * 24 * 3600),
            jitter: 0.2,
            cache_ttl: Duration::from_secs(5),
        }
    }
}

/// Turns a running client's raw events on (`true`) or off: the client only produces every event
/// kind while a webhook of its instance names `engine.event`.
pub type RawSwitch = Arc<dyn Fn(bool) + Send + Sync>;

/// The events service. Cheap to clone.
#[derive(Clone)]
pub struct Events {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    config: EventsConfig,
    instances: crate::instances::InstanceCache,
    /// `None` if the HTTP client could not be built (deliveries then fail and are retried).
    client: Option<reqwest::Client>,
    cache: Mutex<HashMap<String, (Instant, Arc<InstanceInfo>)>>,
    /// Wakes the dispatcher: something was committed or settled.
    wake: Notify,
    /// Whether the dispatcher gets new chains from the store's fast lane (SQLite), so that
    /// commits need not wake it.
    fast_lane: std::sync::atomic::AtomicBool,
    /// Tells live streams that an instance committed events (payload: the instance id).
    live: broadcast::Sender<Arc<str>>,
    /// Per running instance, what turns its client's raw events (`engine.event`) on and off.
    raw_switches: Mutex<HashMap<String, RawSwitch>>,
    /// Serializes [`Events::refresh_raw`], so the last setting applied is the latest one read.
    raw_refresh: tokio::sync::Mutex<()>,
    /// Cancelled when the server stops: live streams end (graceful shutdown waits for them).
    streams: CancellationToken,
}

/// What events need to know about an instance.
#[derive(Debug, Default)]
pub(crate) struct InstanceInfo {
    pub(crate) webhooks: Vec<WebhookConfig>,
    metadata: Map<String, Value>,
    me: Value,
}

impl Events {
    pub fn new(store: Store, config: EventsConfig) -> Self {
        Events::with_instance_cache(store, config, crate::instances::InstanceCache::default())
    }

    /// [`Events::new`], sharing the server's instance cache (invalidated when webhooks change).
    pub fn with_instance_cache(
        store: Store,
        config: EventsConfig,
        instances: crate::instances::InstanceCache,
    ) -> Self {
        let client = match ssrf::guarded_client(
            Arc::new(config.allow.clone()),
            config.request_timeout,
            &config.user_agent,
        ) {
            Ok(client) => Some(client),
            Err(e) => {
                tracing::error!(error = %e, "webhook HTTP client unavailable");
                None
            }
        };
        let (live, _) = broadcast::channel(256);
        Events {
            inner: Arc::new(Inner {
                store,
                instances,
                config,
                client,
                cache: Mutex::new(HashMap::new()),
                wake: Notify::new(),
                fast_lane: std::sync::atomic::AtomicBool::new(false),
                live,
                raw_switches: Mutex::new(HashMap::new()),
                raw_refresh: tokio::sync::Mutex::new(()),
                streams: CancellationToken::new(),
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn config(&self) -> &EventsConfig {
        &self.inner.config
    }

    /// The outbox rows of one event: its envelope, and one delivery per webhook of the instance
    /// that subscribed to `name`. Always `Some` (live streams read every event), except for
    /// `engine.event` when no webhook asked for it.
    pub async fn prepare(
        &self,
        instance_id: &str,
        name: &str,
        payload: Value,
        chat: Option<&str>,
    ) -> Result<Option<NewEvent>, CoreError> {
        let info = self.instance_info(instance_id).await?;
        let deliveries: Vec<NewDelivery> = info
            .webhooks
            .iter()
            .filter(|w| w.wants(name))
            .map(|w| NewDelivery {
                webhook_id: w.id(),
                url: w.url.clone(),
            })
            .collect();
        if name == webhook::RAW_EVENT && deliveries.is_empty() {
            return Ok(None);
        }
        let event_id = format!("evt_{}", ulid::Ulid::generate());
        let created_at = now_ms();
        let message_id = match name {
            "message" | "message.any" => payload
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_string),
            _ => None,
        };
        let envelope = json!({
            "id": event_id,
            "timestamp": created_at,
            "session": instance_id,
            "engine": "WAWP",
            "event": name,
            "payload": payload,
            "me": info.me,
            "metadata": info.metadata,
        });
        Ok(Some(NewEvent {
            event_id,
            instance_id: instance_id.to_string(),
            name: name.to_string(),
            chat_key: chat.map(str::to_string),
            envelope: envelope.to_string(),
            created_at,
            message_id,
            deliveries,
        }))
    }

    /// Whether a webhook of the instance subscribed to `name` (to skip building a costly payload,
    /// e.g. `engine.event`).
    pub async fn subscribed(&self, instance_id: &str, name: &str) -> bool {
        match self.instance_info(instance_id).await {
            Ok(info) => info.webhooks.iter().any(|w| w.wants(name)),
            Err(_) => false,
        }
    }

    /// [`Events::prepare`] and record, in its own transaction (events that are not part of a
    /// message commit: `session.status`, `message.ack`, …).
    pub async fn emit(
        &self,
        instance_id: &str,
        name: &str,
        payload: Value,
        chat: Option<&str>,
    ) -> Result<(), CoreError> {
        if let Some(event) = self.prepare(instance_id, name, payload, chat).await? {
            self.inner
                .store
                .record_events(std::slice::from_ref(&event))
                .await?;
            self.committed(instance_id);
        }
        Ok(())
    }

    /// Call after committing prepared events elsewhere (`save_messages`): wakes the dispatcher
    /// and the live streams now instead of at their next poll. (With the store's fast lane, the
    /// commit itself handed the dispatcher the chains it created, and a delivery that joined an
    /// existing chain waits for that chain's settlement, which wakes the dispatcher.)
    pub fn committed(&self, instance_id: &str) {
        if !self
            .inner
            .fast_lane
            .load(std::sync::atomic::Ordering::Acquire)
        {
            self.inner.wake.notify_one();
        }
        let _ = self.inner.live.send(Arc::from(instance_id));
    }

    /// Runs the dispatcher until `cancel` fires.
    pub async fn run_dispatcher(self, cancel: CancellationToken) {
        dispatcher::run(self, cancel).await;
    }

    /// Forgets the cached webhooks / metadata / `me` of an instance (after a config change or a
    /// new link).
    pub fn invalidate(&self, instance_id: &str) {
        if let Ok(mut cache) = self.inner.cache.lock() {
            cache.remove(instance_id);
        }
    }

    /// The instance's webhooks as the API shows them (secrets hidden).
    pub async fn webhooks(&self, instance_id: &str) -> Result<Vec<Value>, CoreError> {
        let info = self.instance_info(instance_id).await?;
        Ok(info.webhooks.iter().map(WebhookConfig::redacted).collect())
    }

    /// Validates `webhooks` and makes them the instance's webhooks (`config.webhooks`). Returns
    /// them as shown (secrets hidden). A bad entry is `CoreError::Invalid`.
    pub async fn set_webhooks(
        &self,
        instance_id: &str,
        webhooks: &[Value],
    ) -> Result<Vec<Value>, CoreError> {
        let store = &self.inner.store;
        let row = store
            .get_instance(instance_id)
            .await?
            .ok_or(CoreError::NoSuchSession)?;
        let mut config: SessionConfig = serde_json::from_str(&row.config).unwrap_or_default();
        let previous = webhook::parse_stored(&config.webhooks);
        let hooks = webhook::validate(webhooks, &previous, &self.inner.config.allow).await?;
        config.webhooks = hooks
            .iter()
            .map(|h| serde_json::to_value(h).map_err(|e| CoreError::Internal(e.to_string())))
            .collect::<Result<_, _>>()?;
        let json =
            serde_json::to_string(&config).map_err(|e| CoreError::Internal(e.to_string()))?;
        store.set_instance_config(instance_id, &json).await?;
        self.inner.instances.invalidate(instance_id);
        self.invalidate(instance_id);
        // Before answering, so an event right after this call already finds raw events on.
        self.refresh_raw(instance_id).await;
        Ok(hooks.iter().map(WebhookConfig::redacted).collect())
    }

    /// Follows the webhooks of `instance_id` with `switch` (its running client's raw events)
    /// until [`Events::detach_raw`].
    pub(crate) async fn attach_raw(&self, instance_id: &str, switch: RawSwitch) {
        if let Ok(mut switches) = self.inner.raw_switches.lock() {
            switches.insert(instance_id.to_string(), switch);
        }
        self.refresh_raw(instance_id).await;
    }

    /// Forgets the switch of a client that stopped.
    pub(crate) fn detach_raw(&self, instance_id: &str) {
        if let Ok(mut switches) = self.inner.raw_switches.lock() {
            switches.remove(instance_id);
        }
    }

    /// Turns the instance's raw events on exactly when one of its webhooks names `engine.event`.
    async fn refresh_raw(&self, instance_id: &str) {
        let _serial = self.inner.raw_refresh.lock().await;
        let switch = match self.inner.raw_switches.lock() {
            Ok(switches) => switches.get(instance_id).cloned(),
            Err(_) => None,
        };
        if let Some(switch) = switch {
            switch(self.subscribed(instance_id, webhook::RAW_EVENT).await);
        }
    }

    /// Validates webhooks given at `/v2/session/create` (`config.webhooks`), returning the
    /// values to store.
    pub async fn validate_webhooks(&self, webhooks: &[Value]) -> Result<Vec<Value>, CoreError> {
        let hooks = webhook::validate(webhooks, &[], &self.inner.config.allow).await?;
        hooks
            .iter()
            .map(|h| serde_json::to_value(h).map_err(|e| CoreError::Internal(e.to_string())))
            .collect()
    }

    /// The instance's recent deliveries, newest first (`status`: `pending`, `delivered`, `dead`).
    pub async fn deliveries(
        &self,
        instance_id: &str,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>, CoreError> {
        Ok(self
            .inner
            .store
            .list_deliveries(instance_id, status, limit.clamp(1, 1000))
            .await?)
    }

    /// Sends again: the chosen events (every delivery of each), and every dead delivery when
    /// `dead`. Returns how many deliveries were queued.
    pub async fn replay(
        &self,
        instance_id: &str,
        event_ids: &[String],
        dead: bool,
    ) -> Result<u64, CoreError> {
        let store = &self.inner.store;
        let mut queued = store.requeue_events(instance_id, event_ids).await?;
        if dead {
            queued += store.requeue_dead_deliveries(instance_id).await?;
        }
        self.inner.wake.notify_one();
        Ok(queued)
    }

    /// Where a live stream resumes: after `last_event_id` when it is a known event of the
    /// instance, else after the latest event (only new events).
    pub async fn resume_point(
        &self,
        instance_id: &str,
        last_event_id: Option<&str>,
    ) -> Result<i64, CoreError> {
        let store = &self.inner.store;
        if let Some(id) = last_event_id
            && let Some(seq) = store.event_seq(instance_id, id).await?
        {
            return Ok(seq);
        }
        Ok(store.last_event_seq(instance_id).await?)
    }

    /// The instance's events after `seq`, oldest first.
    pub async fn events_after(
        &self,
        instance_id: &str,
        seq: i64,
        limit: i64,
    ) -> Result<Vec<EventRow>, CoreError> {
        Ok(self
            .inner
            .store
            .events_after(instance_id, seq, limit)
            .await?)
    }

    /// Ends every live stream (`GET /v2/events`) now and any opened later: call when the server
    /// begins to shut down, since a graceful shutdown waits for open responses.
    pub fn close_streams(&self) {
        self.inner.streams.cancel();
    }

    /// Resolves once [`Events::close_streams`] was called.
    pub async fn streams_closed(&self) {
        self.inner.streams.cancelled().await;
    }

    /// Whether [`Events::close_streams`] was called.
    pub fn streams_are_closed(&self) -> bool {
        self.inner.streams.is_cancelled()
    }

    /// Signals of commits, for live streams (each message is an instance id).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.inner.live.subscribe()
    }

    /// The instance's webhooks, metadata and `me`, cached for `cache_ttl`.
    pub(crate) async fn instance_info(
        &self,
        instance_id: &str,
    ) -> Result<Arc<InstanceInfo>, CoreError> {
        let ttl = self.inner.config.cache_ttl;
        if let Ok(cache) = self.inner.cache.lock()
            && let Some((at, info)) = cache.get(instance_id)
            && at.elapsed() < ttl
        {
            return Ok(info.clone());
        }
        let row = self
            .inner
            .store
            .get_instance(instance_id)
            .await?
            .ok_or(CoreError::NoSuchSession)?;
        let config: SessionConfig = serde_json::from_str(&row.config).unwrap_or_default();
        let me = row
            .me
            .as_deref()
            .and_then(|m| serde_json::from_str::<Value>(m).ok())
            .map_or(
                Value::Null,
                |m| json!({"id": m.get("id"), "lid": m.get("lid"), "pushName": m.get("pushName")}),
            );
        let info = Arc::new(InstanceInfo {
            webhooks: webhook::parse_stored(&config.webhooks),
            metadata: config.metadata,
            me,
        });
        if let Ok(mut cache) = self.inner.cache.lock() {
            cache.insert(instance_id.to_string(), (Instant::now(), info.clone()));
        }
        Ok(info)
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
