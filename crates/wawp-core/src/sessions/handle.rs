//! The cloneable handle the API holds on a running session task: a command channel and a watch
//! on its state.

use tokio::sync::{mpsc, oneshot, watch};
use wawp_engine::{EngineError, EngineSender};

use crate::model::{Me, QrCode, SessionStatus};

/// What a session task publishes; read without waiting on the task.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SessionState {
    pub status: SessionStatus,
    pub qr: Option<QrCode>,
    pub me: Option<Me>,
}

pub(crate) enum Command {
    PairCode {
        phone: String,
        reply: oneshot::Sender<Result<String, EngineError>>,
    },
    Logout {
        reply: oneshot::Sender<()>,
    },
    Stop {
        reply: oneshot::Sender<()>,
    },
}

#[derive(Clone)]
pub(crate) struct SessionHandle {
    commands: mpsc::Sender<Command>,
    state: watch::Receiver<SessionState>,
    sender: watch::Receiver<Option<EngineSender>>,
}

impl SessionHandle {
    pub fn new(
        commands: mpsc::Sender<Command>,
        state: watch::Receiver<SessionState>,
        sender: watch::Receiver<Option<EngineSender>>,
    ) -> Self {
        SessionHandle {
            commands,
            state,
            sender,
        }
    }

    /// Sends through the running client without going through the task (sends run concurrently).
    pub fn sender(&self) -> Option<EngineSender> {
        self.sender.borrow().clone()
    }

    pub fn state(&self) -> SessionState {
        self.state.borrow().clone()
    }

    /// Whether the task still runs (it drops its receiver when it ends).
    pub fn is_alive(&self) -> bool {
        !self.commands.is_closed()
    }

    /// Sends a command built around a reply channel and waits for the reply; `None` when the task
    /// ended before answering.
    pub async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(make(tx)).await.ok()?;
        rx.await.ok()
    }

    /// Waits until the published state satisfies `pred` (or the task ends).
    pub async fn wait_for(&self, pred: impl Fn(&SessionState) -> bool) -> SessionState {
        let mut rx = self.state.clone();
        let found = rx.wait_for(|s| pred(s)).await.map(|s| s.clone()).ok();
        found.unwrap_or_else(|| rx.borrow().clone())
    }
}
