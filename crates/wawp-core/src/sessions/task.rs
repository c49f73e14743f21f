//! The task that owns one session's WhatsApp client: it runs the client, follows its events through
//! the documented states, and obeys commands (pairing code, logout, stop).
//!
//! whatsapp-rust reconnects by itself after a dropped connection (Fibonacci backoff with ±10 %
//! jitter, capped at 15 min); this task restarts the client only when its run loop ends without
//! being asked to (jittered exponential backoff), and starts a fresh, unlinked client after a logout.

use std::time::Duration;

use rand::RngExt;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use wawp_engine::{Account, Engine, EngineEvent, EngineSender, EngineSession, InboundSink};
use wawp_store::Store;

use super::handle::{Command, SessionState};
use crate::events::Events;
use crate::model::{InstanceId, Me, QrCode, SessionStatus};

pub(crate) struct SessionTask {
    pub id: InstanceId,
    pub events: Events,
    pub instances: crate::instances::InstanceCache,
    /// Every status change, in order, for `session.status` events (see [`emit_statuses`]).
    pub statuses: mpsc::UnboundedSender<SessionStatus>,
    pub engine: Engine,
    pub store: Store,
    pub commands: mpsc::Receiver<Command>,
    pub state: watch::Sender<SessionState>,
    pub sender: watch::Sender<Option<EngineSender>>,
    pub inbound: Arc<dyn InboundSink>,
    pub cancel: CancellationToken,
}

/// Why one client's life ended.
enum ClientEnd {
    /// Stop asked, or the server shuts down: the task ends.
    Finish,
    /// Unlinked (logout from the API or from the phone): start again, unlinked.
    Unlinked,
    /// The run loop ended by itself: start again after a pause.
    Crashed,
    /// Unrecoverable: the task ends in FAILED.
    Failed,
}

impl SessionTask {
    pub async fn run(mut self) {
        let mut failures: u32 = 0;
        loop {
            self.publish(|s| {
                s.status = SessionStatus::Starting;
                s.qr = None;
            });
            // Raw events (`engine.event`) from the first one when a webhook already wants them;
            // `attach_raw` below follows later changes.
            let raw = self
                .events
                .subscribed(self.id.as_str(), crate::events::webhook::RAW_EVENT)
                .await;
            let session = match self
                .engine
                .start_session_with(self.id.as_str(), self.inbound.clone(), raw)
                .await
            {
                Ok(session) => session,
                Err(e) => {
                    tracing::error!(instance = %self.id, error = %e, "cannot start WhatsApp client");
                    self.publish(|s| s.status = SessionStatus::Failed);
                    self.drain_until_stopped().await;
                    return;
                }
            };
            self.sender.send_replace(Some(session.sender()));
            // The client produces every event kind only while a webhook wants `engine.event`.
            let raw = session.raw_events();
            self.events
                .attach_raw(self.id.as_str(), Arc::new(move |on| raw.set(on)))
                .await;
            let end = self.drive(session).await;
            self.events.detach_raw(self.id.as_str());
            self.sender.send_replace(None);
            match end {
                ClientEnd::Finish => return,
                ClientEnd::Failed => {
                    self.publish(|s| s.status = SessionStatus::Failed);
                    self.drain_until_stopped().await;
                    return;
                }
                ClientEnd::Unlinked => failures = 0,
                ClientEnd::Crashed => {
                    failures = failures.saturating_add(1);
                    if !self.pause(backoff(failures)).await {
                        return;
                    }
                }
            }
        }
    }

    /// Runs one client until it ends; returns why.
    async fn drive(&mut self, mut session: EngineSession) -> ClientEnd {
        enum Step {
            Event(Option<EngineEvent>),
            Command(Option<Command>),
            Cancelled,
        }
        loop {
            let step = tokio::select! {
                e = session.next_event() => Step::Event(e),
                c = self.commands.recv() => Step::Command(c),
                _ = self.cancel.cancelled() => Step::Cancelled,
            };
            match step {
                Step::Event(Some(event)) => {
                    if let Some(end) = self.on_event(&session, event).await {
                        // The client stops by itself after a logout or a crash; make sure it is
                        // down (and its store closed) before its keys are erased or it restarts.
                        session.shutdown().await;
                        if matches!(end, ClientEnd::Unlinked) {
                            self.forget_link().await;
                        }
                        return end;
                    }
                }
                Step::Event(None) => return ClientEnd::Crashed,
                Step::Command(Some(Command::PairCode { phone, reply })) => {
                    let _ = reply.send(session.pair_code(&phone).await);
                }
                Step::Command(Some(Command::Logout { reply })) => {
                    session.logout().await;
                    self.forget_link().await;
                    let _ = reply.send(());
                    return ClientEnd::Unlinked;
                }
                Step::Command(Some(Command::Stop { reply })) => {
                    session.shutdown().await;
                    self.publish(|s| {
                        s.status = SessionStatus::Stopped;
                        s.qr = None;
                    });
                    let _ = reply.send(());
                    return ClientEnd::Finish;
                }
                // Every handle is gone: nobody can reach this session any more.
                Step::Command(None) | Step::Cancelled => {
                    session.shutdown().await;
                    return ClientEnd::Finish;
                }
            }
        }
    }

    async fn on_event(&mut self, session: &EngineSession, event: EngineEvent) -> Option<ClientEnd> {
        match event {
            EngineEvent::Qr { code, timeout } => {
                let expiry = unix_now() + timeout.as_secs();
                self.publish(|s| {
                    s.status = SessionStatus::ScanQrCode;
                    s.qr = Some(QrCode {
                        value: code,
                        expiry,
                    });
                });
            }
            EngineEvent::Paired { account } => {
                tracing::info!(instance = %self.id, "device linked");
                let me = me_of(&account, None);
                self.save_me(Some(&me)).await;
                self.publish(|s| {
                    s.status = SessionStatus::Starting;
                    s.qr = None;
                    s.me = Some(me);
                });
            }
            EngineEvent::Connected => {
                let previous = self.state.borrow().me.clone();
                let me = session.account().map(|a| me_of(&a, previous.as_ref()));
                if me.is_some() && me != previous {
                    self.save_me(me.as_ref()).await;
                }
                self.publish(|s| {
                    s.status = SessionStatus::Working;
                    s.qr = None;
                    if me.is_some() {
                        s.me = me;
                    }
                });
            }
            EngineEvent::Disconnected { reason } => {
                tracing::info!(instance = %self.id, %reason, "connection lost, reconnecting");
                self.publish(|s| {
                    if s.status == SessionStatus::Working {
                        s.status = SessionStatus::Starting;
                    }
                });
            }
            EngineEvent::LoggedOut { reason } => {
                tracing::info!(instance = %self.id, %reason, "device unlinked");
                return Some(ClientEnd::Unlinked);
            }
            EngineEvent::PairFailed { error } => {
                tracing::warn!(instance = %self.id, %error, "pairing failed")
            }
            EngineEvent::PairCodeFailed { error } => {
                tracing::warn!(instance = %self.id, %error, "pairing code failed")
            }
            EngineEvent::QrExhausted => {
                tracing::info!(instance = %self.id, "QR codes expired, waiting for new ones")
            }
            EngineEvent::ClientOutdated => {
                tracing::error!(instance = %self.id, "WhatsApp refuses this client version; set a newer one");
                return Some(ClientEnd::Failed);
            }
            EngineEvent::Exited => return Some(ClientEnd::Crashed),
            EngineEvent::Receipt { chat, ids, ack } => self.on_receipt(&chat, &ids, ack).await,
            EngineEvent::Presence(p) => super::signals::presence(&self.events, &self.id, &p).await,
            EngineEvent::ChatArchived {
                chat,
                archived,
                timestamp,
            } => super::signals::archived(&self.events, &self.id, &chat, archived, timestamp).await,
            EngineEvent::Call(signal) => {
                super::calls::on_signal(&self.events, &self.id, &signal).await
            }
            EngineEvent::Raw(raw) => super::signals::raw(&self.events, &self.id, &raw).await,
        }
        None
    }

    /// Raises the stored ack of our messages and records a `message.ack` event for each that changed.
    async fn on_receipt(&self, chat: &str, ids: &[String], ack: wawp_engine::Ack) {
        let changed = self
            .store
            .raise_message_ack(self.id.as_str(), ids, ack as i64, move |row| {
                match serde_json::from_str::<crate::model::Message>(&row.payload) {
                    Ok(mut m) => {
                        m.set_ack(ack);
                        serde_json::to_string(&m).unwrap_or_else(|_| row.payload.clone())
                    }
                    Err(_) => row.payload.clone(),
                }
            })
            .await;
        let rows = match changed {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!(instance = %self.id, error = %e, "cannot store a receipt");
                return;
            }
        };
        for row in rows {
            let payload = serde_json::json!({
                "id": row.id, "ack": ack as i32, "ackName": ack.name(), "chatId": row.chat_id,
            });
            if let Err(e) = self
                .events
                .emit(self.id.as_str(), "message.ack", payload, Some(chat))
                .await
            {
                tracing::error!(instance = %self.id, error = %e, "cannot record message.ack");
            }
        }
    }

    /// Erases the keys of a link that no longer exists and forgets the account.
    async fn forget_link(&mut self) {
        if let Err(e) = self.engine.erase(self.id.as_str()) {
            tracing::error!(instance = %self.id, error = %e, "cannot erase the keys of an unlinked device");
        }
        self.save_me(None).await;
        self.publish(|s| {
            s.me = None;
            s.qr = None;
        });
    }

    async fn save_me(&self, me: Option<&Me>) {
        let json = me.and_then(|m| serde_json::to_string(m).ok());
        if let Err(e) = self
            .store
            .set_instance_me(self.id.as_str(), json.as_deref())
            .await
        {
            tracing::error!(instance = %self.id, error = %e, "cannot store the linked account");
        }
        self.instances.invalidate(self.id.as_str());
        // Event envelopes carry `me`.
        self.events.invalidate(self.id.as_str());
    }

    fn publish(&self, change: impl FnOnce(&mut SessionState)) {
        self.state.send_if_modified(|s| {
            let before = s.clone();
            change(s);
            if s.status != before.status {
                tracing::info!(instance = %self.id, from = %before.status, to = %s.status, "session status");
                let _ = self.statuses.send(s.status);
            }
            *s != before
        });
    }

    /// Waits out `delay` unless stopped meanwhile; false when the task must end.
    async fn pause(&mut self, delay: Duration) -> bool {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => return true,
                _ = self.cancel.cancelled() => return false,
                c = self.commands.recv() => match c {
                    Some(Command::Stop { reply }) => {
                        self.publish(|s| s.status = SessionStatus::Stopped);
                        let _ = reply.send(());
                        return false;
                    }
                    Some(Command::Logout { reply }) => {
                        self.forget_link().await;
                        let _ = reply.send(());
                    }
                    Some(Command::PairCode { reply, .. }) => {
                        let _ = reply.send(Err(wawp_engine::EngineError::NotRunning));
                    }
                    None => return false,
                },
            }
        }
    }

    /// After a failure: answer commands until stopped, so the API never waits on a dead task.
    async fn drain_until_stopped(&mut self) {
        while self.pause(Duration::from_secs(3600)).await {}
    }
}

/// Records a `session.status` event for every status change of one session, in order; ends when
/// the session task drops its sender.
pub(crate) async fn emit_statuses(
    events: Events,
    store: Store,
    id: InstanceId,
    mut statuses: mpsc::UnboundedReceiver<SessionStatus>,
) {
    while let Some(status) = statuses.recv().await {
        let name = match store.get_instance(id.as_str()).await {
            Ok(Some(row)) => row.name,
            // Deleted meanwhile: nobody to tell.
            _ => continue,
        };
        let payload = serde_json::json!({ "name": name, "status": status.as_str() });
        if let Err(e) = events
            .emit(id.as_str(), "session.status", payload, None)
            .await
        {
            tracing::error!(instance = %id, error = %e, "cannot record session.status");
        }
    }
}

fn me_of(account: &Account, previous: Option<&Me>) -> Me {
    Me {
        id: format!("{}@c.us", account.phone),
        lid: account.lid.as_ref().map(|l| format!("{l}@lid")),
        push_name: Some(account.push_name.clone())
            .filter(|n| !n.is_empty())
            .or_else(|| previous.and_then(|p| p.push_name.clone())),
        platform: account
            .platform
            .clone()
            .or_else(|| previous.and_then(|p| p.platform.clone())),
    }
}

/// 1 s, 2 s, 4 s … capped at 60 s, with ±20 % jitter.
fn backoff(failures: u32) -> Duration {
    let base = 1000u64.saturating_mul(1 << failures.min(6)).min(60_000);
    let jitter = rand::rng().random_range(0..=base * 2 / 5);
    Duration::from_millis(base - base / 5 + jitter)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for n in 0..20 {
            let d = backoff(n).as_millis() as u64;
            let base = 1000u64.saturating_mul(1 << n.min(6)).min(60_000);
            assert!(d >= base * 4 / 5 && d <= base * 6 / 5, "{n}: {d}");
        }
    }
}
