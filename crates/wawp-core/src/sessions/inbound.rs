//! Where a session's inbound messages become durable: the engine calls [`StoreSink::commit`]
//! before acknowledging them to WhatsApp, and only an `Ok` lets the acknowledgement go out
//! (ARCHITECTURE.md "Events: persist, then acknowledge, then deliver"). Replays are deduplicated by
//! message id in the store.

use futures::future::BoxFuture;
use serde_json::json;
use tokio::sync::watch;
use wawp_engine::{Action, InboundSink, IncomingMessage};
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
    fn commit(&self, messages_in: Vec<IncomingMessage>) -> BoxFuture<'static, Result<(), String>> {
        let me = self.state.borrow().me.as_ref().map(|m| m.id.clone());
        let messages: Vec<(Message, NewMessage)> = messages_in
            .iter()
            .filter(|m| stored_kind(&m.content.kind))
            .map(|m| {
                let message = Message::from_incoming(m, me.as_deref());
                let row = new_message(self.instance.as_str(), &message, m);
                (message, row)
            })
            .collect();
        let actions: Vec<Change> = messages_in
            .iter()
            .filter_map(|m| {
                let action = m.content.action.clone()?;
                let actor = if m.from_me {
                    me.clone().unwrap_or_else(|| m.sender.clone())
                } else {
                    m.sender.clone()
                };
                let id = Message::from_incoming(m, me.as_deref()).id;
                Some(Change {
                    id,
                    chat: m.chat.clone(),
                    actor,
                    action,
                })
            })
            .collect();
        // Media download references, kept beside the messages (never in their payload); set
        // before WhatsApp is acknowledged, so a failure means a redelivery, not a lost file.
        let media_refs = super::media::refs_of(&messages_in, me.as_deref());
        // Secrets of polls and events, and the votes and answers they open (same rule).
        let secrets = super::addons::secrets_of(&messages_in, me.as_deref());
        let answers = super::addons::answers_of(&messages_in, me.as_deref());
        let store = self.store.clone();
        let events = self.events.clone();
        let instance = self.instance.clone();
        Box::pin(async move {
            let mut result = commit(&store, &events, instance.as_str(), messages).await;
            if result.is_ok() {
                result = super::media::save_refs(&store, instance.as_str(), &media_refs).await;
            }
            if result.is_ok() {
                result = apply_changes(&store, &events, instance.as_str(), actions).await;
            }
            if result.is_ok() && !(secrets.is_empty() && answers.is_empty()) {
                result = super::addons::keep_secrets(&store, instance.as_str(), &secrets).await;
                if result.is_ok() {
                    result =
                        super::addons::apply(&store, &events, instance.as_str(), answers).await;
                }
            }
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

/// A reaction, edit or revoke that arrived, to apply to the message it targets.
struct Change {
    /// Serialized id of the reaction / protocol message itself.
    id: String,
    chat: String,
    /// Who made the change (`123@c.us`).
    actor: String,
    action: Action,
}

/// Applies reactions, edits and revokes to the stored messages they target and records
/// `message.reaction`, `message.edited` and `message.revoked`. A target we never stored (sent
/// before this session was linked) still gets its event, without a stored message to change.
/// Replays are harmless: applying the same change twice leaves the same message.
async fn apply_changes(
    store: &Store,
    events: &Events,
    instance: &str,
    changes: Vec<Change>,
) -> Result<(), crate::CoreError> {
    for change in changes {
        let mut prev_body = None;
        let target = super::messaging::change_stored(
            store,
            instance,
            change.action.target(),
            &change.chat,
            |t| match &change.action {
                Action::React { emoji, .. } => t.set_reaction(&change.actor, emoji),
                Action::Edit { body, .. } => {
                    prev_body = t.body.replace(body.clone());
                    t.edited = true;
                }
                Action::Revoke { .. } => t.revoke(),
            },
        )
        .await?;
        if target.is_none() {
            tracing::debug!(%instance, chat = %change.chat, target = %change.action.target(), "change to a message we never stored");
        }
        let target_id = target
            .as_ref()
            .map(|t| t.id.clone())
            .unwrap_or_else(|| change.action.target().to_string());
        let (name, payload) = match &change.action {
            Action::React { emoji, .. } => (
                "message.reaction",
                json!({"id": change.id, "reaction": emoji, "senderId": change.actor, "messageId": target_id}),
            ),
            Action::Edit { body, .. } => (
                "message.edited",
                json!({"id": target_id, "newBody": body, "prevBody": prev_body}),
            ),
            Action::Revoke { .. } => (
                "message.revoked",
                json!({"id": target_id, "revokedBy": change.actor}),
            ),
        };
        events
            .emit(instance, name, payload, Some(&change.chat))
            .await?;
    }
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
