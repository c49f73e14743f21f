//! Client events that are signals rather than messages: presence and chat states (typing,
//! recording), archive changes from app state, and every event raw for `engine.event`.

use std::sync::Arc;

use whatsapp_rust::prelude::Event;
use whatsapp_rust::{Client, Jid};

use crate::messages::{chat_id, user_id};

/// Someone's presence, or their chat state in a chat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresenceUpdate {
    /// The chat it applies to (`123@c.us`, `456@g.us`).
    pub chat: String,
    /// Whose presence (`123@c.us`).
    pub from: String,
    /// `composing`, `recording`, `paused`, `available` or `unavailable`.
    pub kind: String,
    /// Unix seconds, for `unavailable` when the contact shares it.
    pub last_seen: Option<i64>,
}

/// A client event as it came, for subscribers of `engine.event`. Serialized only when asked.
#[derive(Clone)]
pub struct RawEvent(pub(crate) Arc<Event>);

impl RawEvent {
    /// The event's kind (`Messages`, `Receipt`, `ChatPresence`…).
    pub fn name(&self) -> String {
        format!("{:?}", self.0.kind())
    }

    /// The event's data as JSON; `None` for kinds that cannot be serialized (raw stanzas).
    pub fn data(&self) -> Option<serde_json::Value> {
        serde_json::to_value(&*self.0).ok().map(|v| match v {
            // Externally tagged enum: `{"Receipt": {...}}` → `{...}`.
            serde_json::Value::Object(mut m) if m.len() == 1 => m
                .values_mut()
                .next()
                .map(std::mem::take)
                .unwrap_or_default(),
            other => other,
        })
    }
}

impl std::fmt::Debug for RawEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RawEvent({})", self.name())
    }
}

impl PartialEq for RawEvent {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for RawEvent {}

pub(crate) fn presence_of(event: &Event) -> Option<PresenceUpdate> {
    use wacore::types::presence::{ChatPresence, ChatPresenceMedia};
    Some(match event {
        Event::ChatPresence(c) => {
            let src = &c.source;
            let from = user_id(&src.sender, src.sender_alt.as_ref());
            let chat = if src.is_group {
                chat_id(&src.chat)
            } else {
                user_id(&src.chat, src.sender_alt.as_ref())
            };
            let kind = match (c.state, c.media) {
                (ChatPresence::Composing, ChatPresenceMedia::Audio) => "recording",
                (ChatPresence::Composing, _) => "composing",
                (ChatPresence::Paused, _) => "paused",
            };
            PresenceUpdate {
                chat,
                from,
                kind: kind.to_string(),
                last_seen: None,
            }
        }
        Event::Presence(p) => {
            let from = chat_id(&p.from);
            PresenceUpdate {
                chat: from.clone(),
                from,
                kind: if p.unavailable {
                    "unavailable"
                } else {
                    "available"
                }
                .to_string(),
                last_seen: p.last_seen.map(|t| t.timestamp()),
            }
        }
        _ => return None,
    })
}

/// Shows users by phone number where the client knows the LID's number.
pub(crate) async fn resolve_presence(client: &Client, p: &mut PresenceUpdate) {
    for id in [&mut p.chat, &mut p.from] {
        if let Some(user) = id.strip_suffix("@lid")
            && let Ok(Some(entry)) = client.get_lid_pn_entry(&Jid::lid(user)).await
        {
            *id = format!("{}@c.us", entry.phone_number);
        }
    }
}

/// `(chat, archived, unix seconds)` of an archive change.
pub(crate) fn archive_of(event: &Event) -> Option<(String, bool, i64)> {
    let Event::ArchiveUpdate(a) = event else {
        return None;
    };
    Some((
        chat_id(&a.jid),
        a.action.archived.unwrap_or(false),
        a.timestamp.timestamp(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wacore::types::events::{ArchiveUpdate, ChatPresenceUpdate};
    use wacore::types::message::MessageSource;
    use wacore::types::presence::{ChatPresence, ChatPresenceMedia};

    fn source(chat: Jid) -> MessageSource {
        MessageSource {
            chat: chat.clone(),
            sender: chat,
            ..Default::default()
        }
    }

    #[test]
    fn chat_states_become_documented_presence_types() {
        for (state, media, kind) in [
            (
                ChatPresence::Composing,
                ChatPresenceMedia::Text,
                "composing",
            ),
            (
                ChatPresence::Composing,
                ChatPresenceMedia::Audio,
                "recording",
            ),
            (ChatPresence::Paused, ChatPresenceMedia::Text, "paused"),
        ] {
            let e = Event::ChatPresence(
                ChatPresenceUpdate::builder()
                    .source(source(Jid::pn("12015550111")))
                    .state(state)
                    .media(media)
                    .build(),
            );
            let p = presence_of(&e).expect("presence");
            assert_eq!(
                (p.chat.as_str(), p.from.as_str(), p.kind.as_str()),
                ("12015550111@c.us", "12015550111@c.us", kind)
            );
        }
    }

    #[test]
    fn archive_changes_are_read() {
        let e = Event::ArchiveUpdate(
            ArchiveUpdate::builder()
                .jid(Jid::pn("12015550111"))
                .timestamp(
                    wacore::chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("time"),
                )
                .action(Box::new(
                    whatsapp_rust::prelude::wa::sync_action_value::ArchiveChatAction {
                        archived: Some(true),
                        ..Default::default()
                    },
                ))
                .from_full_sync(false)
                .build(),
        );
        assert_eq!(
            archive_of(&e),
            Some(("12015550111@c.us".to_string(), true, 1_700_000_000))
        );
        let raw = RawEvent(Arc::new(e));
        assert_eq!(raw.name(), "ArchiveUpdate");
        assert!(
            raw.data().is_some_and(|d| d.get("jid").is_some()),
            "{:?}",
            raw.data()
        );
    }
}
