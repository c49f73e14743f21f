//! Where a session's inbound messages become durable: the engine calls [`StoreSink::commit`]
//! before acknowledging them to WhatsApp, and only an `Ok` lets the acknowledgement go out
//! (ARCHITECTURE.md "Events: persist, then acknowledge, then deliver"). Replays are deduplicated by
//! message id in the store.

use futures::future::BoxFuture;
use tokio::sync::watch;
use wawp_engine::{InboundSink, IncomingMessage};
use wawp_store::{MessageRow, NewMessage, Store};

use super::handle::SessionState;
use crate::events::Events;
use crate::model::{InstanceId, Message};

pub(crate) struct StoreSink {
    pub store: Store,
    pub events: Events,
    pub instance: InstanceId,
    pub state: watch::Receiver<SessionState>,
}

impl InboundSink for StoreSink {
    fn commit(&self, messages: Vec<IncomingMessage>) -> BoxFuture<'static, Result<(), String>> {
        let me = self.state.borrow().me.as_ref().map(|m| m.id.clone());
        let messages: Vec<(Message, NewMessage)> = messages
            .iter()
            .filter(|m| stored_kind(&m.content.kind))
            .map(|m| {
                let message = Message::from_incoming(m, me.as_deref());
                let row = new_message(self.instance.as_str(), &message, m);
                (message, row)
            })
            .collect();
        let store = self.store.clone();
        let events = self.events.clone();
        let instance = self.instance.clone();
        Box::pin(async move {
            let result = commit(&store, &events, instance.as_str(), messages).await;
            result.map_err(|e| {
                tracing::error!(%instance, error = %e, "cannot store inbound messages; WhatsApp will deliver them again");
                e.to_string()
            })
        })
    }
}

/// Stores the messages with their `message` / `message.any` events in one transaction: both or
/// neither, before WhatsApp is acknowledged.
async fn commit(
    store: &Store,
    events: &Events,
    instance: &str,
    messages: Vec<(Message, NewMessage)>,
) -> Result<(), crate::CoreError> {
    let mut outbox = Vec::new();
    for (message, _) in &messages {
        let names: &[&str] = if message.from_me {
            &["message.any"]
        } else {
            &["message", "message.any"]
        };
        let payload =
            serde_json::to_value(message).map_err(|e| crate::CoreError::Internal(e.to_string()))?;
        for name in names {
            outbox.extend(
                events
                    .prepare(instance, name, payload.clone(), Some(message.chat_id()))
                    .await?,
            );
        }
    }
    let rows: Vec<NewMessage> = messages.into_iter().map(|(_, row)| row).collect();
    store.save_messages(&rows, &outbox).await?;
    events.committed(instance);
    Ok(())
}

/// Protocol messages (key shares, revokes, edits) and reactions change other messages; they are not
/// chat messages of their own.
fn stored_kind(kind: &str) -> bool {
    !matches!(kind, "protocol" | "reaction" | "unknown")
}

pub(crate) fn new_message(
    instance: &str,
    message: &Message,
    incoming: &IncomingMessage,
) -> NewMessage {
    NewMessage {
        row: message_row(instance, message),
        chat_name: (!incoming.from_me && !incoming.is_group && !incoming.push_name.is_empty())
            .then(|| incoming.push_name.clone()),
        unread: !incoming.from_me,
    }
}

pub(crate) fn message_row(instance: &str, message: &Message) -> MessageRow {
    MessageRow {
        instance_id: instance.to_string(),
        id: message.id.clone(),
        wa_id: message.data.id.id.clone(),
        chat_id: message.chat_id().to_string(),
        from_me: i64::from(message.from_me),
        timestamp: message.timestamp.saturating_mul(1000),
        ack: i64::from(message.ack),
        payload: serde_json::to_string(message).unwrap_or_default(),
    }
}
