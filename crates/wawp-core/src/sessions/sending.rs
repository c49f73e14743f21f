//! Sending every kind of message, and the actions on sent or received ones (reactions, edits,
//! deletes, read receipts, typing). Every message sent is stored with its `message.any` event in
//! one transaction.

use wawp_engine::{Content, EngineSender, EventInfo, List, Location, Poll, Quoted, SentMessage};
use wawp_store::NewMessage;

use super::SessionManager;
use super::inbound::message_row;
use super::messaging::{decode, engine_error};
use crate::error::CoreError;
use crate::model::{InstanceId, Message};

/// What to send.
#[derive(Clone, Debug, PartialEq)]
pub enum Outgoing {
    Text(String),
    Location(Location),
    /// Contact cards: (display name, vCard).
    Contacts(Vec<(String, String)>),
    Poll(Poll),
    /// A list menu.
    List(List),
    /// A calendar event.
    Event(EventInfo),
}

impl Outgoing {
    /// How the sent message is shown and stored.
    fn content(&self) -> Content {
        let (kind, body) = match self {
            Outgoing::Text(t) => ("chat", Some(t.clone())),
            Outgoing::Location(l) => ("location", l.name.clone().or_else(|| l.address.clone())),
            Outgoing::Contacts(_) => ("vcard", None),
            Outgoing::Poll(p) => ("poll_creation", Some(p.name.clone())),
            Outgoing::List(l) => ("list", Some(l.description.clone())),
            Outgoing::Event(e) => ("event_creation", Some(e.name.clone())),
        };
        Content {
            kind: kind.to_string(),
            body,
            location: match self {
                Outgoing::Location(l) => Some(l.clone()),
                _ => None,
            },
            vcards: match self {
                Outgoing::Contacts(c) => c.iter().map(|(_, v)| v.clone()).collect(),
                _ => Vec::new(),
            },
            poll: match self {
                Outgoing::Poll(p) => Some(p.clone()),
                _ => None,
            },
            list: match self {
                Outgoing::List(l) => Some(l.clone()),
                _ => None,
            },
            event: match self {
                Outgoing::Event(e) => Some(e.clone()),
                _ => None,
            },
            ..Content::default()
        }
    }
}

/// A send under way: the session's sender, our own id, and what the reply quotes.
pub(super) struct Outbound {
    pub sender: EngineSender,
    pub me: String,
    pub quoted: Option<Quoted>,
}

impl SessionManager {
    /// Sends to `chat` (an API chat id), as a reply to `reply_to` when given, and stores it.
    pub async fn send(
        &self,
        id: &InstanceId,
        chat: &str,
        outgoing: Outgoing,
        reply_to: Option<&str>,
    ) -> Result<Message, CoreError> {
        let out = self.outbound(id, chat, reply_to).await?;
        let (sender, q) = (&out.sender, out.quoted.as_ref());
        // Polls and events come with the secret that opens the answers to them.
        let mut secret = None;
        let sent = match &outgoing {
            Outgoing::Text(text) => sender.send_text(chat, text, q).await,
            Outgoing::Location(l) => sender.send_location(chat, l, q).await,
            Outgoing::Contacts(cards) => sender.send_contacts(chat, cards, q).await,
            Outgoing::Poll(p) => sender.send_poll_keeping_secret(chat, p).await.map(|s| {
                secret = Some(s.secret);
                s.sent
            }),
            Outgoing::List(l) => sender.send_list(chat, l, q).await,
            Outgoing::Event(e) => sender.send_event(chat, e).await.map(|s| {
                secret = Some(s.secret);
                s.sent
            }),
        }
        .map_err(engine_error)?;
        let message = self
            .record_sent(id, chat, &out, &sent, &outgoing.content())
            .await?;
        if let Some(secret) = secret {
            super::addons::keep_secrets(&self.store, id.as_str(), &[(message.id.clone(), secret)])
                .await?;
        }
        Ok(message)
    }

    /// Sends a text (see [`SessionManager::send`]).
    pub async fn send_text(
        &self,
        id: &InstanceId,
        chat: &str,
        text: &str,
        reply_to: Option<&str>,
    ) -> Result<Message, CoreError> {
        self.send(id, chat, Outgoing::Text(text.to_string()), reply_to)
            .await
    }

    /// Reacts to a message of `chat` with `emoji` (empty removes our reaction); answers with the
    /// message as it now stands.
    pub async fn react(
        &self,
        id: &InstanceId,
        chat: &str,
        message_id: &str,
        emoji: &str,
    ) -> Result<Message, CoreError> {
        let (sender, me) = self.working_sender(id).await?;
        let target = self.message(id, chat, message_id).await?;
        let author = target.author.clone();
        sender
            .react(
                chat,
                &target.data.id.id,
                target.from_me,
                author.as_deref(),
                emoji,
            )
            .await
            .map_err(engine_error)?;
        self.change(id, chat, &target, |m| m.set_reaction(&me, emoji))
            .await
    }

    /// Replaces the text of one of our messages; answers with the message as it now stands.
    pub async fn edit(
        &self,
        id: &InstanceId,
        chat: &str,
        message_id: &str,
        text: &str,
    ) -> Result<Message, CoreError> {
        let (sender, _) = self.working_sender(id).await?;
        let target = self.message(id, chat, message_id).await?;
        if !target.from_me {
            return Err(CoreError::Invalid(
                "only your own messages can be edited".into(),
            ));
        }
        if target.kind != "chat" {
            return Err(CoreError::Invalid(
                "only text messages can be edited".into(),
            ));
        }
        sender
            .edit_text(chat, &target.data.id.id, text)
            .await
            .map_err(engine_error)?;
        self.change(id, chat, &target, |m| {
            m.body = Some(text.to_string());
            m.edited = true;
        })
        .await
    }

    /// Deletes one of our messages for everyone.
    pub async fn delete_message(
        &self,
        id: &InstanceId,
        chat: &str,
        message_id: &str,
    ) -> Result<(), CoreError> {
        let (sender, _) = self.working_sender(id).await?;
        let target = self.message(id, chat, message_id).await?;
        if !target.from_me {
            return Err(CoreError::Invalid(
                "only your own messages can be deleted for everyone".into(),
            ));
        }
        sender
            .revoke(chat, &target.data.id.id)
            .await
            .map_err(engine_error)?;
        self.change(id, chat, &target, Message::revoke)
            .await
            .map(|_| ())
    }

    /// Sends read receipts for `message_ids` (serialized or bare) of `chat`.
    pub async fn mark_seen(
        &self,
        id: &InstanceId,
        chat: &str,
        message_ids: &[String],
        participant: Option<&str>,
    ) -> Result<(), CoreError> {
        let (sender, _) = self.working_sender(id).await?;
        let ids: Vec<String> = message_ids
            .iter()
            .map(|m| crate::model::message::bare_id(m).to_string())
            .collect();
        sender
            .mark_read(chat, participant, &ids)
            .await
            .map_err(engine_error)?;
        self.store.set_chat_unread(id.as_str(), chat, 0).await?;
        Ok(())
    }

    /// Marks the chat read: read receipts for its latest incoming messages (at most `messages`,
    /// none older than `days`), and no unread count. Returns how many were marked.
    pub async fn read_chat(
        &self,
        id: &InstanceId,
        chat: &str,
        messages: u32,
        days: u32,
    ) -> Result<usize, CoreError> {
        let (sender, _) = self.working_sender(id).await?;
        let since = super::now_ms().saturating_sub(i64::from(days) * 86_400_000);
        let rows = self
            .store
            .latest_incoming(id.as_str(), chat, since, messages.into())
            .await?;
        // In groups each author gets its own receipt.
        let mut by_author: std::collections::BTreeMap<Option<String>, Vec<String>> =
            Default::default();
        for m in rows.iter().filter_map(decode) {
            by_author
                .entry(m.author.clone())
                .or_default()
                .push(m.data.id.id.clone());
        }
        for (author, ids) in &by_author {
            sender
                .mark_read(chat, author.as_deref(), ids)
                .await
                .map_err(engine_error)?;
        }
        self.store.set_chat_unread(id.as_str(), chat, 0).await?;
        Ok(rows.len())
    }

    /// Marks `chat` unread (on every device of the account); its unread count becomes at least 1.
    pub async fn mark_chat_unread(&self, id: &InstanceId, chat: &str) -> Result<(), CoreError> {
        let (sender, _) = self.working_sender(id).await?;
        sender.mark_chat_unread(chat).await.map_err(engine_error)?;
        let current = self
            .store
            .get_chat(id.as_str(), chat)
            .await?
            .map(|c| c.unread_count)
            .unwrap_or(0);
        self.store
            .set_chat_unread(id.as_str(), chat, current.max(1))
            .await?;
        Ok(())
    }

    /// Shows us typing in `chat` (`true`) or stops it.
    pub async fn typing(&self, id: &InstanceId, chat: &str, on: bool) -> Result<(), CoreError> {
        let (sender, _) = self.working_sender(id).await?;
        sender.typing(chat, on).await.map_err(engine_error)
    }

    /// Starts a send to `chat`: the session must be working; a reply quotes `reply_to`.
    pub(super) async fn outbound(
        &self,
        id: &InstanceId,
        chat: &str,
        reply_to: Option<&str>,
    ) -> Result<Outbound, CoreError> {
        let (sender, me) = self.working_sender(id).await?;
        let quoted = match reply_to {
            Some(r) => Some(self.quoted(id, chat, r, &me).await?),
            None => None,
        };
        Ok(Outbound { sender, me, quoted })
    }

    /// Stores what `out` sent to `chat`, shown as `content`, with its `message.any` event, and
    /// answers it.
    pub(super) async fn record_sent(
        &self,
        id: &InstanceId,
        chat: &str,
        out: &Outbound,
        sent: &SentMessage,
        content: &Content,
    ) -> Result<Message, CoreError> {
        let quoted = out.quoted.as_ref();
        let message = Message::sent(&sent.id, chat, sent.timestamp, &out.me, content, quoted);
        self.store_sent(id, &message).await?;
        Ok(message)
    }

    pub(super) async fn store_sent(
        &self,
        id: &InstanceId,
        message: &Message,
    ) -> Result<(), CoreError> {
        let row = NewMessage {
            row: message_row(id.as_str(), message),
            chat_name: None,
            unread: false,
        };
        let payload =
            serde_json::to_value(message).map_err(|e| CoreError::Internal(e.to_string()))?;
        let event = self
            .events
            .prepare(id.as_str(), "message.any", payload, Some(message.chat_id()))
            .await?;
        self.store.save_messages(&[row], event.as_slice()).await?;
        self.events.committed(id.as_str());
        Ok(())
    }

    /// Applies `change` to the stored `message` of `chat` (atomically, from the row as it now stands) and
    /// answers it as changed.
    pub(super) async fn change(
        &self,
        id: &InstanceId,
        chat: &str,
        message: &Message,
        change: impl FnOnce(&mut Message),
    ) -> Result<Message, CoreError> {
        super::messaging::change_stored(&self.store, id.as_str(), &message.id, chat, change)
            .await?
            .ok_or_else(|| CoreError::NotFound {
                kind: "message",
                id: message.id.clone(),
            })
    }
}
