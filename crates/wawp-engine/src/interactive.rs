//! Interactive messages beyond text: list menus, calendar events, poll votes, and the chat actions
//! that go through app state (archive). Building and reading the protobufs, and the sends.

use whatsapp_rust::EventCreationParams;
use whatsapp_rust::buffa::MessageField;
use whatsapp_rust::prelude::wa;

use crate::session::{EngineSender, SentMessage, jid, sent_message, upstream};
use crate::{EngineError, Quoted, messages};

/// A list menu: a button that opens sections of rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct List {
    pub title: String,
    pub description: String,
    pub footer: String,
    pub button: String,
    pub sections: Vec<ListSection>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListSection {
    pub title: String,
    pub rows: Vec<ListRow>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListRow {
    pub title: String,
    pub row_id: String,
    pub description: Option<String>,
}

/// A calendar event.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct EventInfo {
    pub name: String,
    pub description: Option<String>,
    /// Unix seconds.
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub location: Option<String>,
    pub extra_guests_allowed: bool,
    pub canceled: bool,
}

pub(crate) fn list_message(list: &List) -> wa::Message {
    use wa::message::list_message::{ListType, Row, Section};
    let sections = list
        .sections
        .iter()
        .map(|s| Section {
            title: Some(s.title.clone()),
            rows: s
                .rows
                .iter()
                .map(|r| Row {
                    title: Some(r.title.clone()),
                    description: r.description.clone(),
                    row_id: Some(r.row_id.clone()),
                })
                .collect(),
        })
        .collect();
    wa::Message {
        list_message: MessageField::some(wa::message::ListMessage {
            title: Some(list.title.clone()),
            description: Some(list.description.clone()),
            button_text: Some(list.button.clone()),
            footer_text: Some(list.footer.clone()).filter(|f| !f.is_empty()),
            list_type: Some(ListType::SINGLE_SELECT),
            sections,
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(crate) fn list_of(m: &wa::Message) -> Option<List> {
    let l = m.list_message.as_option()?;
    Some(List {
        title: l.title.clone().unwrap_or_default(),
        description: l.description.clone().unwrap_or_default(),
        footer: l.footer_text.clone().unwrap_or_default(),
        button: l.button_text.clone().unwrap_or_default(),
        sections: l
            .sections
            .iter()
            .map(|s| ListSection {
                title: s.title.clone().unwrap_or_default(),
                rows: s
                    .rows
                    .iter()
                    .map(|r| ListRow {
                        title: r.title.clone().unwrap_or_default(),
                        row_id: r.row_id.clone().unwrap_or_default(),
                        description: r.description.clone(),
                    })
                    .collect(),
            })
            .collect(),
    })
}

pub(crate) fn event_of(m: &wa::Message) -> Option<EventInfo> {
    let e = m.event_message.as_option()?;
    Some(EventInfo {
        name: e.name.clone().unwrap_or_default(),
        description: e.description.clone(),
        start_time: e.start_time,
        end_time: e.end_time,
        location: e.location.as_option().and_then(|l| l.name.clone()),
        extra_guests_allowed: e.extra_guests_allowed.unwrap_or(false),
        canceled: e.is_canceled.unwrap_or(false),
    })
}

/// A message sent with the secret that keys the answers to it (polls, events).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentWithSecret {
    pub sent: SentMessage,
    pub secret: Vec<u8>,
}

impl EngineSender {
    /// Sends a list menu.
    pub async fn send_list(
        &self,
        chat: &str,
        list: &List,
        quoted: Option<&Quoted>,
    ) -> Result<SentMessage, EngineError> {
        self.send(chat, messages::with_quote(list_message(list), quoted))
            .await
    }

    /// Sends a calendar event; answers with its secret (kept to open the answers to it).
    pub async fn send_event(
        &self,
        chat: &str,
        event: &EventInfo,
    ) -> Result<SentWithSecret, EngineError> {
        let to = jid(chat)?;
        let params = EventCreationParams {
            name: event.name.clone(),
            description: event.description.clone(),
            start_time: event.start_time,
            end_time: event.end_time,
            location: event
                .location
                .as_ref()
                .map(|name| wa::message::LocationMessage {
                    name: Some(name.clone()),
                    ..Default::default()
                }),
            extra_guests_allowed: Some(event.extra_guests_allowed),
            ..Default::default()
        };
        let (sent, secret) = self
            .client
            .events()
            .create(to, params)
            .await
            .map_err(upstream)?;
        Ok(SentWithSecret {
            sent: sent_message(sent),
            secret,
        })
    }

    /// Sends a poll; answers with its secret (kept to open the votes).
    pub async fn send_poll_keeping_secret(
        &self,
        chat: &str,
        poll: &crate::Poll,
    ) -> Result<SentWithSecret, EngineError> {
        let to = jid(chat)?;
        let (sent, secret) = self
            .client
            .polls()
            .create(to, &poll.name, &poll.options, poll.selectable)
            .await
            .map_err(|e| EngineError::Upstream(e.to_string()))?;
        Ok(SentWithSecret {
            sent: sent_message(sent),
            secret,
        })
    }

    /// Votes `options` (names; empty withdraws the vote) on poll `poll_id` (bare) of `chat`,
    /// created by `creator` (an API chat id) with `secret`.
    pub async fn vote_poll(
        &self,
        chat: &str,
        poll_id: &str,
        creator: &str,
        secret: &[u8],
        options: &[String],
    ) -> Result<SentMessage, EngineError> {
        let to = jid(chat)?;
        let creator = jid(creator)?;
        let sent = self
            .client
            .polls()
            .vote(to, poll_id, &creator, secret, options)
            .await
            .map_err(|e| EngineError::Upstream(e.to_string()))?;
        Ok(sent_message(sent))
    }

    /// Archives (`true`) or unarchives `chat` on every device of the account.
    pub async fn archive_chat(&self, chat: &str, archived: bool) -> Result<(), EngineError> {
        let to = jid(chat)?;
        let actions = self.client.chat_actions();
        let result = if archived {
            actions.archive_chat(&to, None).await
        } else {
            actions.unarchive_chat(&to, None).await
        };
        result.map_err(|e| EngineError::Upstream(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_read_back() {
        let list = List {
            title: "Menu".into(),
            description: "Pick one".into(),
            footer: "Thanks".into(),
            button: "Open".into(),
            sections: vec![ListSection {
                title: "Main".into(),
                rows: vec![ListRow {
                    title: "One".into(),
                    row_id: "opt1".into(),
                    description: Some("first".into()),
                }],
            }],
        };
        assert_eq!(list_of(&list_message(&list)), Some(list));
    }
}
