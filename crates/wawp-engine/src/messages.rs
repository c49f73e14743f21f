//! Messages as wawp sees them, turned from whatsapp-rust's protobuf messages, and the chat-id
//! conventions (`123@c.us` out, every documented form in).

use std::sync::Arc;

use futures::future::BoxFuture;
use wacore::proto_helpers::MessageExt;
use wacore::types::events::InboundMessage;
use whatsapp_rust::prelude::wa;
use whatsapp_rust::{Jid, Server};

/// A message received (or sent from another of our devices), in plain fields.
#[derive(Clone, Debug, PartialEq)]
pub struct IncomingMessage {
    /// The bare WhatsApp id.
    pub id: String,
    /// `123@c.us`, `456@g.us`, `789@lid` (when no phone number is known)…
    pub chat: String,
    /// Who wrote it (`123@c.us`); in groups, the participant.
    pub sender: String,
    pub from_me: bool,
    pub is_group: bool,
    /// Unix seconds.
    pub timestamp: i64,
    pub push_name: String,
    pub content: Content,
}

/// What a message carries.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Content {
    /// `chat` (text), `image`, `video`, `audio`, `ptt`, `document`, `sticker`, `location`,
    /// `vcard`, `poll_creation`, `reaction`, `protocol`, `unknown`.
    pub kind: String,
    /// Text, or a caption.
    pub body: Option<String>,
    pub has_media: bool,
    pub quoted: Option<Quoted>,
}

/// The message a reply quotes.
#[derive(Clone, Debug, PartialEq)]
pub struct Quoted {
    pub id: String,
    /// Author of the quoted message (`123@c.us`), when known.
    pub participant: Option<String>,
    pub body: Option<String>,
}

/// Where inbound messages are made durable before WhatsApp is acknowledged (the domain's store).
/// `Ok` means committed; `Err` leaves them unacknowledged so WhatsApp delivers them again.
pub trait InboundSink: Send + Sync + 'static {
    fn commit(&self, messages: Vec<IncomingMessage>) -> BoxFuture<'static, Result<(), String>>;
}

/// whatsapp-rust's inbound durability hook, forwarding to an [`InboundSink`].
pub(crate) struct DurableInbound(pub Arc<dyn InboundSink>);

#[whatsapp_rust::async_trait]
impl whatsapp_rust::InboundDurabilityHook for DurableInbound {
    async fn on_messages(
        &self,
        _client: Arc<whatsapp_rust::Client>,
        batch: &[InboundMessage],
    ) -> whatsapp_rust::anyhow::Result<()> {
        let messages = batch.iter().map(incoming).collect();
        self.0
            .commit(messages)
            .await
            .map_err(whatsapp_rust::anyhow::Error::msg)
    }
}

fn incoming(m: &InboundMessage) -> IncomingMessage {
    let info = &m.info;
    let src = &info.source;
    let chat = if src.is_group {
        chat_id(&src.chat)
    } else {
        user_chat(
            &src.chat,
            src.sender_alt.as_ref(),
            src.recipient_alt.as_ref(),
            src,
        )
    };
    let sender = if src.is_from_me && !src.is_group {
        // Our own message (from another of our devices): the sender is us.
        user_id(&src.sender, None)
    } else {
        user_id(&src.sender, src.sender_alt.as_ref())
    };
    IncomingMessage {
        id: info.id.to_string(),
        chat,
        sender,
        from_me: src.is_from_me,
        is_group: src.is_group,
        timestamp: info.timestamp.timestamp(),
        push_name: info.push_name.clone(),
        content: content_of(&m.message),
    }
}

/// The chat of a one-to-one message: the other party, by phone number when one is known.
fn user_chat(
    chat: &Jid,
    sender_alt: Option<&Jid>,
    recipient_alt: Option<&Jid>,
    src: &wacore::types::message::MessageSource,
) -> String {
    if src.is_from_me {
        // Sent by another of our devices: the chat is the recipient.
        let target = src.recipient.as_ref().unwrap_or(chat);
        return user_id(target, recipient_alt);
    }
    user_id(chat, sender_alt)
}

/// `123@c.us` for a user (a LID is replaced by its phone-number alternative when given).
pub fn user_id(jid: &Jid, alt: Option<&Jid>) -> String {
    if jid.server == Server::Lid
        && let Some(alt) = alt.filter(|a| a.server == Server::Pn)
    {
        return format!("{}@c.us", alt.user);
    }
    chat_id(jid)
}

/// The API's form of a JID: users as `@c.us`, devices dropped.
pub fn chat_id(jid: &Jid) -> String {
    match jid.server {
        Server::Pn | Server::Legacy => format!("{}@c.us", jid.user),
        Server::Lid => format!("{}@lid", jid.user),
        Server::Group => format!("{}@g.us", jid.user),
        Server::Newsletter => format!("{}@newsletter", jid.user),
        Server::Broadcast => format!("{}@broadcast", jid.user),
        _ => jid.to_non_ad().to_string(),
    }
}

/// Parses a chat id the API accepted (`123@c.us`, `123@s.whatsapp.net`, `x@lid`, `x@g.us`,
/// `x@newsletter`, `status@broadcast`, or bare digits).
pub fn parse_chat_id(chat: &str) -> Option<Jid> {
    let (user, server) = chat.split_once('@').unwrap_or((chat, "c.us"));
    if user.is_empty() {
        return None;
    }
    Some(match server {
        "c.us" | "s.whatsapp.net" => Jid::pn(user),
        "lid" => Jid::lid(user),
        "g.us" => Jid::group(user),
        "newsletter" => Jid::newsletter(user),
        "broadcast" => Jid::new(user, Server::Broadcast),
        _ => return None,
    })
}

fn content_of(message: &wa::Message) -> Content {
    let base = message.get_base_message();
    let (kind, has_media) = kind_of(base);
    let body = base
        .text_content()
        .or_else(|| base.get_caption())
        .map(str::to_string);
    let quoted = base
        .extended_text_message
        .as_option()
        .and_then(|t| t.context_info.as_option())
        .and_then(|ctx| {
            let id = ctx.stanza_id.clone()?;
            Some(Quoted {
                id,
                participant: ctx
                    .participant
                    .as_deref()
                    .and_then(|p| p.parse::<Jid>().ok())
                    .map(|j| chat_id(&j)),
                body: ctx
                    .quoted_message
                    .as_option()
                    .and_then(|q| q.text_content())
                    .map(str::to_string),
            })
        });
    Content {
        kind: kind.to_string(),
        body,
        has_media,
        quoted,
    }
}

fn kind_of(m: &wa::Message) -> (&'static str, bool) {
    if m.conversation.is_some() || m.extended_text_message.is_set() {
        ("chat", false)
    } else if m.image_message.is_set() {
        ("image", true)
    } else if m.video_message.is_set() {
        ("video", true)
    } else if let Some(audio) = m.audio_message.as_option() {
        (
            if audio.ptt == Some(true) {
                "ptt"
            } else {
                "audio"
            },
            true,
        )
    } else if m.document_message.is_set() {
        ("document", true)
    } else if m.sticker_message.is_set() {
        ("sticker", true)
    } else if m.location_message.is_set() {
        ("location", false)
    } else if m.contact_message.is_set() || m.contacts_array_message.is_set() {
        ("vcard", false)
    } else if m.reaction_message.is_set() {
        ("reaction", false)
    } else if m.protocol_message.is_set() {
        ("protocol", false)
    } else {
        ("unknown", false)
    }
}

/// Builds the protobuf of a text message, quoting `quoted` when it is a reply.
pub(crate) fn text_message(text: &str, quoted: Option<&Quoted>) -> wa::Message {
    use wacore::proto_helpers::MessageBuilderExt;
    let Some(q) = quoted else {
        return wa::Message::text(text);
    };
    let participant = q
        .participant
        .as_deref()
        .and_then(parse_chat_id)
        .map(|j| j.to_string());
    let context = wa::ContextInfo {
        stanza_id: Some(q.id.clone()),
        participant,
        quoted_message: q
            .body
            .as_ref()
            .map(|b| whatsapp_rust::buffa::MessageField::some(wa::Message::text(b.clone())))
            .unwrap_or_default(),
        ..Default::default()
    };
    wa::Message::text_with_context(text, context)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_ids_round_trip() {
        for (input, output) in [
            ("12015550111@c.us", "12015550111@c.us"),
            ("12015550111@s.whatsapp.net", "12015550111@c.us"),
            ("12015550111", "12015550111@c.us"),
            ("1203630@g.us", "1203630@g.us"),
            ("99887766@lid", "99887766@lid"),
            ("1203@newsletter", "1203@newsletter"),
            ("status@broadcast", "status@broadcast"),
        ] {
            let jid = parse_chat_id(input).unwrap_or_else(|| panic!("{input}"));
            assert_eq!(chat_id(&jid), output, "{input}");
        }
        assert!(parse_chat_id("@c.us").is_none());
        assert!(parse_chat_id("1@example.com").is_none());
    }

    #[test]
    fn a_lid_is_shown_by_its_phone_number_when_known() {
        let lid = Jid::lid("99887766");
        assert_eq!(
            user_id(&lid, Some(&Jid::pn("12015550111"))),
            "12015550111@c.us"
        );
        assert_eq!(user_id(&lid, None), "99887766@lid");
    }

    #[test]
    fn text_and_replies_are_read_back() {
        let plain = content_of(&text_message("hello", None));
        assert_eq!(
            (
                plain.kind.as_str(),
                plain.body.as_deref(),
                plain.quoted.is_none()
            ),
            ("chat", Some("hello"), true)
        );
        let q = Quoted {
            id: "ABC".into(),
            participant: Some("12015550111@c.us".into()),
            body: Some("hi".into()),
        };
        let reply = content_of(&text_message("answer", Some(&q)));
        assert_eq!(reply.body.as_deref(), Some("answer"));
        assert_eq!(reply.quoted, Some(q));
    }
}
