//! Reading back the messages and chats of a session from the store.

use wawp_engine::{EngineError, Quoted};
use wawp_store::{ChatOrder, MessageRow};

use super::SessionManager;
use crate::error::CoreError;
use crate::model::message::bare_id;
use crate::model::{ChatSummary, InstanceId, Message, SessionStatus};

/// How `/v2/chats` sorts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChatSort {
    Id,
    LastMessage,
    Name,
}

impl SessionManager {
    /// The session's chats (newest first by default).
    pub async fn chats(
        &self,
        id: &InstanceId,
        sort: ChatSort,
        descending: bool,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<ChatSummary>, CoreError> {
        let order = match sort {
            ChatSort::Id => ChatOrder::Id,
            ChatSort::LastMessage => ChatOrder::LastMessage,
            ChatSort::Name => ChatOrder::Name,
        };
        let rows = self
            .store
            .list_chats(id.as_str(), order, descending, limit.into(), offset.into())
            .await?;
        let mut chats = Vec::with_capacity(rows.len());
        for row in rows {
            let last = match &row.last_message_id {
                Some(m) => self
                    .store
                    .get_message(id.as_str(), m)
                    .await?
                    .and_then(|r| decode(&r)),
                None => None,
            };
            chats.push(ChatSummary {
                is_group: row.id.ends_with("@g.us"),
                id: row.id,
                name: row.name,
                timestamp: row.last_timestamp / 1000,
                unread_count: row.unread_count,
                last_message: last,
            });
        }
        Ok(chats)
    }

    /// A chat's messages, newest first.
    pub async fn chat_messages(
        &self,
        id: &InstanceId,
        chat: &str,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<Message>, CoreError> {
        let rows = self
            .store
            .list_messages(id.as_str(), chat, limit.into(), offset.into())
            .await?;
        Ok(rows.iter().filter_map(decode).collect())
    }

    /// One message of `chat`, by serialized or bare id.
    pub async fn message(
        &self,
        id: &InstanceId,
        chat: &str,
        message_id: &str,
    ) -> Result<Message, CoreError> {
        let not_found = || CoreError::NotFound {
            kind: "message",
            id: message_id.to_string(),
        };
        let row = self.store.get_message(id.as_str(), message_id).await?;
        let row = match row {
            Some(r) => Some(r),
            None => {
                self.store
                    .get_message(id.as_str(), bare_id(message_id))
                    .await?
            }
        };
        row.filter(|r| r.chat_id == chat)
            .and_then(|r| decode(&r))
            .ok_or_else(not_found)
    }

    /// The session's sender and our own `123@c.us`, when it is WORKING.
    pub(super) async fn working_sender(
        &self,
        id: &InstanceId,
    ) -> Result<(wawp_engine::EngineSender, String), CoreError> {
        let row = self.row(id).await?;
        let state = self.state_of(id, &row);
        let wrong = |status| CoreError::WrongState {
            status,
            expected: vec![SessionStatus::Working],
        };
        if state.status != SessionStatus::Working {
            return Err(wrong(state.status));
        }
        let sender = self
            .handle(id)
            .and_then(|h| h.sender())
            .ok_or_else(|| wrong(SessionStatus::Stopped))?;
        let me = state.me.map(|m| m.id).ok_or_else(|| wrong(state.status))?;
        Ok((sender, me))
    }

    /// What a reply quotes: the stored message when known, else just its id.
    pub(super) async fn quoted(
        &self,
        id: &InstanceId,
        chat: &str,
        reply_to: &str,
        me: &str,
    ) -> Result<Quoted, CoreError> {
        if let Ok(m) = self.message(id, chat, reply_to).await {
            let participant = if m.from_me {
                Some(me.to_string())
            } else {
                m.author.clone().or(Some(m.from.clone()))
            };
            return Ok(Quoted {
                id: m.data.id.id,
                participant,
                body: m.body,
            });
        }
        Ok(Quoted {
            id: bare_id(reply_to).to_string(),
            participant: None,
            body: None,
        })
    }
}

pub(super) fn decode(row: &MessageRow) -> Option<Message> {
    serde_json::from_str(&row.payload).ok()
}

/// Applies `change` to the stored message `id` of `chat` as it stands in the store, atomically
/// (see [`wawp_store::Store::update_message`]): a receipt, a vote and a reaction arriving together
/// all land. Answers the message as changed, or `None` when `chat` has no such stored message.
pub(crate) async fn change_stored(
    store: &wawp_store::Store,
    instance: &str,
    id: &str,
    chat: &str,
    change: impl FnOnce(&mut Message),
) -> Result<Option<Message>, CoreError> {
    let mut changed = None;
    store
        .update_message(instance, id, |row| {
            let mut message = decode(row).filter(|_| row.chat_id == chat)?;
            change(&mut message);
            let payload = serde_json::to_string(&message).ok()?;
            changed = Some(message);
            Some(payload)
        })
        .await?;
    Ok(changed)
}

pub(super) fn engine_error(e: EngineError) -> CoreError {
    match e {
        EngineError::InvalidChat(m) | EngineError::InvalidPhone(m) => CoreError::Invalid(m),
        EngineError::NotRunning => CoreError::WrongState {
            status: SessionStatus::Stopped,
            expected: vec![SessionStatus::Working],
        },
        other => CoreError::Upstream(other.to_string()),
    }
}
