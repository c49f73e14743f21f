//! The message object the API answers with and webhooks carry (the documents' `message` payload),
//! and serialized message ids (API-CONVENTIONS.md "Identifiers").

use serde::{Deserialize, Serialize};
use wawp_engine::{Ack, Content, IncomingMessage, Location, Poll, Quoted};

/// `{fromMe}_{chatId}_{id}`, plus `_{participant}` for group messages from others.
pub fn serialize_id(from_me: bool, chat: &str, id: &str, participant: Option<&str>) -> String {
    match participant {
        Some(p) if !from_me => format!("{from_me}_{chat}_{id}_{p}"),
        _ => format!("{from_me}_{chat}_{id}"),
    }
}

/// The bare WhatsApp id inside a serialized id (or the input itself when it is bare).
pub fn bare_id(id: &str) -> &str {
    let mut parts = id.splitn(4, '_');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("true" | "false"), Some(chat), Some(rest)) if chat.contains('@') => {
            rest.split('_').next().unwrap_or(rest)
        }
        _ => id,
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: String,
    /// Unix seconds.
    pub timestamp: i64,
    pub from: String,
    #[serde(rename = "fromMe")]
    pub from_me: bool,
    /// `api` (sent through this API), `app` (another device of the account) or `whatsapp` (received).
    pub source: String,
    pub to: String,
    pub participant: Option<String>,
    pub author: Option<String>,
    pub body: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(rename = "hasMedia")]
    pub has_media: bool,
    pub media: Option<serde_json::Value>,
    pub ack: i32,
    #[serde(rename = "ackName")]
    pub ack_name: String,
    #[serde(rename = "replyTo")]
    pub reply_to: Option<ReplyTo>,
    /// A location message's pin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationView>,
    /// A contact message's cards.
    #[serde(rename = "vCards", default, skip_serializing_if = "Vec::is_empty")]
    pub vcards: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll: Option<PollView>,
    /// A list menu's sections and rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<super::interactive::ListView>,
    /// A calendar event's fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<super::interactive::EventView>,
    /// Reactions to this message, one per sender.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<ReactionView>,
    /// The text was edited after it was sent.
    #[serde(
        rename = "isEdited",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub edited: bool,
    #[serde(rename = "_data")]
    pub data: MessageData,
}

/// As in the documents: coordinates as strings, `description` the place's name or address.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LocationView {
    pub latitude: String,
    pub longitude: String,
    pub description: Option<String>,
    pub name: Option<String>,
    pub address: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PollView {
    pub name: String,
    pub options: Vec<String>,
    #[serde(rename = "multipleAnswers")]
    pub multiple_answers: bool,
    /// The latest vote of each voter (a withdrawn vote removes its voter).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub votes: Vec<super::interactive::PollVoteView>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReactionView {
    /// Who reacted (`123@c.us`).
    pub from: String,
    pub reaction: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplyTo {
    pub id: String,
    pub participant: Option<String>,
    pub body: Option<String>,
}

/// The raw view of the message (`_data` in the documents).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageData {
    pub id: MessageKey,
    #[serde(rename = "notifyName")]
    pub notify_name: Option<String>,
    pub t: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageKey {
    #[serde(rename = "fromMe")]
    pub from_me: bool,
    pub remote: String,
    pub id: String,
    #[serde(rename = "_serialized")]
    pub serialized: String,
}

impl Message {
    /// The chat a message belongs to.
    pub fn chat_id(&self) -> &str {
        &self.data.id.remote
    }

    /// A message this session received or sent from another device. `me` is our `123@c.us`.
    pub fn from_incoming(m: &IncomingMessage, me: Option<&str>) -> Message {
        let participant = m.is_group.then(|| m.sender.clone());
        let id = serialize_id(m.from_me, &m.chat, &m.id, participant.as_deref());
        let (from, to) = match (m.from_me, m.is_group) {
            (true, _) => (me.unwrap_or(&m.sender).to_string(), m.chat.clone()),
            (false, true) => (m.chat.clone(), me.unwrap_or_default().to_string()),
            (false, false) => (m.chat.clone(), me.unwrap_or_default().to_string()),
        };
        let ack = if m.from_me { Ack::Server } else { Ack::Device };
        Message {
            data: MessageData {
                id: MessageKey {
                    from_me: m.from_me,
                    remote: m.chat.clone(),
                    id: m.id.clone(),
                    serialized: id.clone(),
                },
                notify_name: Some(m.push_name.clone()).filter(|n| !n.is_empty()),
                t: m.timestamp,
            },
            id,
            timestamp: m.timestamp,
            from,
            from_me: m.from_me,
            source: if m.from_me { "app" } else { "whatsapp" }.to_string(),
            to,
            author: participant.clone(),
            participant,
            body: m.content.body.clone(),
            kind: m.content.kind.clone(),
            has_media: m.content.has_media,
            media: m.content.media.as_ref().map(super::media::view),
            ack: ack as i32,
            ack_name: ack.name().to_string(),
            reply_to: m.content.quoted.as_ref().map(ReplyTo::from),
            location: m.content.location.as_ref().map(LocationView::from),
            vcards: m.content.vcards.clone(),
            poll: m.content.poll.as_ref().map(PollView::from),
            list: m.content.list.as_ref().map(Into::into),
            event: m.content.event.as_ref().map(Into::into),
            reactions: Vec::new(),
            edited: false,
        }
    }

    /// A text message this API just sent.
    /// A message this API just sent, with `content` (kind, body, location, cards, poll).
    pub fn sent(
        id: &str,
        chat: &str,
        timestamp: i64,
        me: &str,
        content: &Content,
        quoted: Option<&Quoted>,
    ) -> Message {
        let serialized = serialize_id(true, chat, id, None);
        Message {
            data: MessageData {
                id: MessageKey {
                    from_me: true,
                    remote: chat.to_string(),
                    id: id.to_string(),
                    serialized: serialized.clone(),
                },
                notify_name: None,
                t: timestamp,
            },
            id: serialized,
            timestamp,
            from: me.to_string(),
            from_me: true,
            source: "api".to_string(),
            to: chat.to_string(),
            participant: None,
            author: None,
            body: content.body.clone(),
            kind: content.kind.clone(),
            has_media: content.has_media,
            media: content.media.as_ref().map(super::media::view),
            ack: Ack::Server as i32,
            ack_name: Ack::Server.name().to_string(),
            reply_to: quoted.map(ReplyTo::from),
            location: content.location.as_ref().map(LocationView::from),
            vcards: content.vcards.clone(),
            poll: content.poll.as_ref().map(PollView::from),
            list: content.list.as_ref().map(Into::into),
            event: content.event.as_ref().map(Into::into),
            reactions: Vec::new(),
            edited: false,
        }
    }

    /// Sets (or, with an empty emoji, removes) `from`'s reaction.
    pub fn set_reaction(&mut self, from: &str, emoji: &str) {
        self.reactions.retain(|r| r.from != from);
        if !emoji.is_empty() {
            self.reactions.push(ReactionView {
                from: from.to_string(),
                reaction: emoji.to_string(),
            });
        }
    }

    /// Marks the message deleted for everyone: no content remains.
    pub fn revoke(&mut self) {
        self.kind = "revoked".to_string();
        self.body = None;
        self.has_media = false;
        self.media = None;
        self.location = None;
        self.vcards.clear();
        self.poll = None;
        self.list = None;
        self.event = None;
    }

    pub fn set_ack(&mut self, ack: Ack) {
        self.ack = ack as i32;
        self.ack_name = ack.name().to_string();
    }
}

impl From<&Location> for LocationView {
    fn from(l: &Location) -> Self {
        LocationView {
            latitude: l.latitude.to_string(),
            longitude: l.longitude.to_string(),
            description: l.name.clone().or_else(|| l.address.clone()),
            name: l.name.clone(),
            address: l.address.clone(),
        }
    }
}

impl From<&Poll> for PollView {
    fn from(p: &Poll) -> Self {
        PollView {
            name: p.name.clone(),
            options: p.options.clone(),
            multiple_answers: p.selectable != 1,
            votes: Vec::new(),
        }
    }
}

impl From<&Quoted> for ReplyTo {
    fn from(q: &Quoted) -> Self {
        ReplyTo {
            id: q.id.clone(),
            participant: q.participant.clone(),
            body: q.body.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_serialize_as_documented() {
        assert_eq!(
            serialize_id(true, "447441429009@c.us", "3EB0AA", None),
            "true_447441429009@c.us_3EB0AA"
        );
        assert_eq!(
            serialize_id(false, "1203@g.us", "3EB0AA", Some("12015550111@c.us")),
            "false_1203@g.us_3EB0AA_12015550111@c.us"
        );
        // Our own group messages carry no participant suffix.
        assert_eq!(
            serialize_id(true, "1203@g.us", "X", Some("me@c.us")),
            "true_1203@g.us_X"
        );
    }

    #[test]
    fn bare_ids_are_found_in_every_form() {
        assert_eq!(bare_id("true_447441429009@c.us_3EB0AA"), "3EB0AA");
        assert_eq!(bare_id("false_1203@g.us_3EB0AA_12015550111@c.us"), "3EB0AA");
        assert_eq!(bare_id("3EB0AA"), "3EB0AA");
        assert_eq!(bare_id("false_111...AAAA"), "false_111...AAAA");
    }
}
