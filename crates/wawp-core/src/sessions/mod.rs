//! The session manager: one tokio task per running WhatsApp session (ARCHITECTURE.md "Sessions"),
//! the documented state machine, QR and pairing codes, restore on boot.
//!
//! The instance row in the store says what the user wants (`desired_state`) and who the session is
//! linked to (`me`); the running task says what is happening now. A session whose task is not
//! running is `STOPPED`.

mod addons;
mod calls;
mod handle;
mod inbound;
mod media;
mod messaging;
mod pictures;
mod sending;
mod signals;
mod task;

pub use addons::VoteChoice;
pub use messaging::ChatSort;
pub use sending::Outgoing;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use wawp_engine::{Engine, EngineConfig, EngineError};
use wawp_store::{InstanceRow, Store, StoreError};

use crate::config::CoreConfig;
use crate::error::CoreError;
use crate::events::Events;
use crate::instances::InstanceCache;
use crate::model::{
    InstanceId, Me, QrCode, SessionConfig, SessionName, SessionStatus, SessionView,
};
use crate::tenancy::Tenant;
use handle::{Command, SessionHandle, SessionState};
use task::SessionTask;

const RUNNING: &str = "running";
const STOPPED: &str = "stopped";

/// How long `start`/`create` wait for the session to leave `STARTING` before answering.
const START_SETTLE: Duration = Duration::from_secs(3);

pub struct SessionManager {
    store: Store,
    events: Events,
    instances: InstanceCache,
    engine: Engine,
    running: Mutex<HashMap<InstanceId, SessionHandle>>,
    tracker: TaskTracker,
    cancel: CancellationToken,
    /// Profile-picture URLs by session and chat (`pictures`).
    pictures: pictures::PictureCache,
}

impl SessionManager {
    pub async fn open(
        store: Store,
        config: CoreConfig,
        events: Events,
        instances: InstanceCache,
    ) -> Result<Self, CoreError> {
        let engine = Engine::new(EngineConfig {
            ws_url: config.whatsapp.url.clone(),
            version: config.whatsapp.version,
            push_name: config.whatsapp.push_name.clone(),
            keys_dir: config.data_dir.join("whatsapp"),
            media_roots_pem: crate::media::read_ca(config.whatsapp.ca_pem.as_deref())?,
        })?;
        Ok(SessionManager {
            store,
            events,
            instances,
            engine,
            running: Mutex::new(HashMap::new()),
            tracker: TaskTracker::new(),
            cancel: CancellationToken::new(),
            pictures: pictures::PictureCache::default(),
        })
    }

    /// Creates an instance for `tenant` (checking its quota) and starts it: answers `STARTING`.
    pub async fn create(
        &self,
        tenant: &Tenant,
        config: SessionConfig,
    ) -> Result<SessionView, CoreError> {
        let mut config = config;
        // Webhooks are checked (scheme, SSRF guard, retry policy) before anything is created.
        config.webhooks = self.events.validate_webhooks(&config.webhooks).await?;
        let config_json =
            serde_json::to_string(&config).map_err(|e| CoreError::Internal(e.to_string()))?;
        let mut attempts = 0;
        let row = loop {
            let now = now_ms();
            let row = InstanceRow {
                id: InstanceId::generate().to_string(),
                name: SessionName::generate().to_string(),
                token_id: tenant.token_id.clone(),
                config: config_json.clone(),
                desired_state: RUNNING.to_string(),
                me: None,
                created_at: now,
                updated_at: now,
            };
            match self.store.insert_instance(&row, tenant.max_instances).await {
                Ok(()) => break row,
                Err(StoreError::LimitReached) => {
                    return Err(CoreError::Quota {
                        limit: tenant.max_instances.unwrap_or(0),
                    });
                }
                // A random id or name clashed with an existing one: draw again.
                Err(StoreError::Conflict(_)) if attempts < 5 => attempts += 1,
                Err(e) => return Err(e.into()),
            }
        };
        let id = InstanceId::from_stored(row.id.clone());
        self.spawn(&id);
        Ok(view(&row, &self.state_of(&id, &row)))
    }

    /// Resolves `instance_id` within the tenant: unknown, malformed or another tenant's instance
    /// are all `NoSuchSession`.
    pub async fn find(&self, tenant: &Tenant, instance_id: &str) -> Result<InstanceId, CoreError> {
        let id = InstanceId::parse(instance_id).ok_or(CoreError::NoSuchSession)?;
        match self.instances.get(&self.store, id.as_str()).await? {
            Some(row) if row.token_id == tenant.token_id => Ok(id),
            _ => Err(CoreError::NoSuchSession),
        }
    }

    pub async fn list(&self, tenant: &Tenant) -> Result<Vec<SessionView>, CoreError> {
        let rows = self.store.list_instances(&tenant.token_id).await?;
        Ok(rows
            .iter()
            .map(|row| {
                view(
                    row,
                    &self.state_of(&InstanceId::from_stored(row.id.clone()), row),
                )
            })
            .collect())
    }

    pub async fn info(&self, id: &InstanceId) -> Result<SessionView, CoreError> {
        let row = self.row(id).await?;
        Ok(view(&row, &self.state_of(id, &row)))
    }

    /// Starts the session (a no-op when it runs) and waits briefly for it to settle, so that a
    /// linked session usually answers `WORKING` and a new one `SCAN_QR_CODE`.
    pub async fn start(&self, id: &InstanceId) -> Result<SessionView, CoreError> {
        self.store
            .set_instance_desired_state(id.as_str(), RUNNING)
            .await?;
        self.instances.invalidate(id.as_str());
        let handle = self.spawn(id);
        let _ = tokio::time::timeout(
            START_SETTLE,
            handle.wait_for(|s| s.status != SessionStatus::Starting),
        )
        .await;
        self.info(id).await
    }

    pub async fn stop(&self, id: &InstanceId) -> Result<SessionView, CoreError> {
        self.store
            .set_instance_desired_state(id.as_str(), STOPPED)
            .await?;
        self.instances.invalidate(id.as_str());
        self.halt(id).await;
        self.info(id).await
    }

    pub async fn restart(&self, id: &InstanceId) -> Result<SessionView, CoreError> {
        self.halt(id).await;
        self.start(id).await
    }

    /// Unlinks the WhatsApp account and goes back to `SCAN_QR_CODE`; the instance stays.
    pub async fn logout(&self, id: &InstanceId) -> Result<SessionView, CoreError> {
        self.row(id).await?;
        match self.handle(id) {
            Some(handle) => {
                handle.ask(|reply| Command::Logout { reply }).await;
            }
            None => {
                self.engine.erase(id.as_str())?;
                self.store.set_instance_me(id.as_str(), None).await?;
                self.instances.invalidate(id.as_str());
                self.events.invalidate(id.as_str());
            }
        }
        self.start(id).await
    }

    /// Stops, unlinks (when connected) and erases the instance with its keys and data.
    pub async fn delete(&self, id: &InstanceId) -> Result<(), CoreError> {
        self.row(id).await?;
        if let Some(handle) = self.handle(id) {
            handle.ask(|reply| Command::Logout { reply }).await;
        }
        self.halt(id).await;
        self.engine.erase(id.as_str())?;
        self.store.delete_instance(id.as_str()).await?;
        self.instances.invalidate(id.as_str());
        Ok(())
    }

    /// The linked account; `WrongState` when the session has never been linked.
    pub async fn me(&self, id: &InstanceId) -> Result<Me, CoreError> {
        let row = self.row(id).await?;
        let state = self.state_of(id, &row);
        state.me.ok_or(CoreError::WrongState {
            status: state.status,
            expected: vec![SessionStatus::Working],
        })
    }

    /// The current QR code; `WrongState` unless the session is `SCAN_QR_CODE`.
    pub async fn qr(&self, id: &InstanceId) -> Result<QrCode, CoreError> {
        let row = self.row(id).await?;
        let state = self.state_of(id, &row);
        match (state.status, state.qr) {
            (SessionStatus::ScanQrCode, Some(qr)) => Ok(qr),
            (status, _) => Err(CoreError::WrongState {
                status,
                expected: vec![SessionStatus::ScanQrCode],
            }),
        }
    }

    /// Asks WhatsApp for a pairing code for `phone_number` (digits; `+`, spaces and dashes are
    /// dropped); returns it formatted `ABCD-1234`. `WrongState` unless `SCAN_QR_CODE`.
    pub async fn request_code(
        &self,
        id: &InstanceId,
        phone_number: &str,
    ) -> Result<String, CoreError> {
        let row = self.row(id).await?;
        let state = self.state_of(id, &row);
        let expected = || vec![SessionStatus::ScanQrCode];
        let handle = match self.handle(id) {
            Some(h) if state.status == SessionStatus::ScanQrCode => h,
            _ => {
                return Err(CoreError::WrongState {
                    status: state.status,
                    expected: expected(),
                });
            }
        };
        let phone: String = phone_number
            .chars()
            .filter(|c| c.is_ascii_digit())
            .collect();
        let code = handle
            .ask(|reply| Command::PairCode { phone, reply })
            .await
            .ok_or(CoreError::WrongState {
                status: SessionStatus::Stopped,
                expected: expected(),
            })?;
        match code {
            Ok(code) => Ok(format_pair_code(&code)),
            Err(EngineError::InvalidPhone(m)) => Err(CoreError::Invalid(m)),
            Err(EngineError::NotRunning) => Err(CoreError::WrongState {
                status: state.status,
                expected: expected(),
            }),
            Err(e) => Err(CoreError::Upstream(e.to_string())),
        }
    }

    pub(crate) async fn restore(&self) -> Result<usize, CoreError> {
        let rows = self.store.list_instances_to_restore().await?;
        for row in &rows {
            self.spawn(&InstanceId::from_stored(row.id.clone()));
        }
        Ok(rows.len())
    }

    pub(crate) async fn shutdown(&self) {
        self.cancel.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }

    async fn row(&self, id: &InstanceId) -> Result<std::sync::Arc<InstanceRow>, CoreError> {
        self.instances
            .get(&self.store, id.as_str())
            .await?
            .ok_or(CoreError::NoSuchSession)
    }

    fn handle(&self, id: &InstanceId) -> Option<SessionHandle> {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running.get(id).filter(|h| h.is_alive()).cloned()
    }

    /// The live state when the task runs, else `STOPPED` with the stored account.
    fn state_of(&self, id: &InstanceId, row: &InstanceRow) -> SessionState {
        match self.handle(id) {
            Some(h) => h.state(),
            None => SessionState {
                status: SessionStatus::Stopped,
                qr: None,
                me: row.me.as_deref().and_then(|m| serde_json::from_str(m).ok()),
            },
        }
    }

    /// Returns the running task's handle, spawning the task when none runs.
    fn spawn(&self, id: &InstanceId) -> SessionHandle {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = running.get(id).filter(|h| h.is_alive()) {
            return h.clone();
        }
        let (cmd_tx, cmd_rx) = mpsc::channel(16);
        let (state_tx, state_rx) = watch::channel(SessionState {
            status: SessionStatus::Starting,
            qr: None,
            me: None,
        });
        let (sender_tx, sender_rx) = watch::channel(None);
        let inbound = inbound::StoreSink {
            store: self.store.clone(),
            events: self.events.clone(),
            instance: id.clone(),
            state: state_rx.clone(),
        };
        let (status_tx, status_rx) = mpsc::unbounded_channel();
        self.tracker.spawn(task::emit_statuses(
            self.events.clone(),
            self.store.clone(),
            id.clone(),
            status_rx,
        ));
        let task = SessionTask {
            id: id.clone(),
            events: self.events.clone(),
            instances: self.instances.clone(),
            statuses: status_tx,
            engine: self.engine.clone(),
            store: self.store.clone(),
            commands: cmd_rx,
            state: state_tx,
            sender: sender_tx,
            inbound: std::sync::Arc::new(inbound),
            cancel: self.cancel.child_token(),
        };
        let store = self.store.clone();
        let key = id.clone();
        self.tracker.spawn(async move {
            // The stored account is shown while the client starts.
            if let Ok(Some(row)) = store.get_instance(key.as_str()).await {
                let me: Option<Me> = row.me.as_deref().and_then(|m| serde_json::from_str(m).ok());
                task.state.send_modify(|s| s.me = me);
            }
            task.run().await
        });
        let handle = SessionHandle::new(cmd_tx, state_rx, sender_rx);
        running.insert(id.clone(), handle.clone());
        handle
    }

    /// Stops the task when it runs and waits for it.
    async fn halt(&self, id: &InstanceId) {
        let handle = {
            let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
            running.remove(id)
        };
        if let Some(handle) = handle {
            handle.ask(|reply| Command::Stop { reply }).await;
        }
    }
}

fn view(row: &InstanceRow, state: &SessionState) -> SessionView {
    let mut config: SessionConfig = serde_json::from_str(&row.config).unwrap_or_default();
    // Webhook secrets and header values are never shown again.
    config.webhooks = crate::events::webhook::redact_all(&config.webhooks);
    SessionView {
        instance_id: row.id.clone(),
        name: row.name.clone(),
        status: state.status,
        config,
        me: state.me.clone(),
    }
}

/// `ABCD1234` → `ABCD-1234` (the documented shape).
fn format_pair_code(code: &str) -> String {
    if code.len() == 8 && code.is_ascii() {
        format!("{}-{}", &code[..4], &code[4..])
    } else {
        code.to_string()
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_codes_are_shown_with_a_dash() {
        assert_eq!(format_pair_code("WTVAJWBH"), "WTVA-JWBH");
        assert_eq!(format_pair_code("odd"), "odd");
    }
}
