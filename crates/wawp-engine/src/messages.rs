//! Messages as wawp sees them, turned from whatsapp-rust's protobuf messages, and the chat-id
//! conventions (`123@c.us` out, every documented form in).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    pub location: Option<Location>,
    /// vCards of a contact message.
    pub vcards: Vec<String>,
    pub poll: Option<Poll>,
    /// What a reaction, edit or revoke does to an earlier message.
    pub action: Option<Action>,
    /// The file of an image, video, audio, document or sticker message.
    pub media: Option<crate::send_media::MediaInfo>,
    /// The message secret of a poll or event: it keys the votes and answers to it.
    pub secret: Option<Vec<u8>>,
    /// A poll vote or event answer, still encrypted (opened with the target's secret).
    pub addon: Option<crate::addons::SealedAddon>,
    pub list: Option<crate::interactive::List>,
    pub event: Option<crate::interactive::EventInfo>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    pub name: Option<String>,
    pub address: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Poll {
    pub name: String,
    pub options: Vec<String>,
    /// How many options one voter may choose (0 = any number).
    pub selectable: u32,
}

/// A message that changes an earlier one (`target` is its bare id).
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// An emoji on `target`; an empty one removes the reaction.
    React { target: String, emoji: String },
    /// `target`'s text is now `body`.
    Edit { target: String, body: String },
    /// `target` was deleted for everyone.
    Revoke { target: String },
}

impl Action {
    /// The bare id of the message this action changes.
    pub fn target(&self) -> &str {
        match self {
            Action::React { target, .. }
            | Action::Edit { target, .. }
            | Action::Revoke { target } => target,
        }
    }
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
pub(crate) struct DurableInbound {
    sink: Arc<dyn InboundSink>,
    unknown_lids: UnknownLids,
}

impl DurableInbound {
    pub(crate) fn new(sink: Arc<dyn InboundSink>) -> Self {
        DurableInbound {
            sink,
            unknown_lids: UnknownLids::default(),
        }
    }
}

#[whatsapp_rust::async_trait]
impl whatsapp_rust::InboundDurabilityHook for DurableInbound {
    async fn on_messages(
        &self,
        client: Arc<whatsapp_rust::Client>,
        batch: &[InboundMessage],
    ) -> whatsapp_rust::anyhow::Result<()> {
        let mut messages: Vec<IncomingMessage> = batch.iter().map(incoming).collect();
        for (m, raw) in messages.iter_mut().zip(batch) {
            resolve_lids(&client, &self.unknown_lids, m).await;
            if let Some(addon) = m.content.addon.as_mut() {
                crate::addons::address(&client, raw, addon).await;
            }
        }
        self.sink
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

/// LIDs whose phone number the client did not know, recently.
///
/// whatsapp-rust keeps every known LID mapping in memory (loaded from the key store at start, and
/// added to as it learns them), but a LID it does not know costs a key-store query on each lookup.
/// A group whose members hide their numbers (no `participant_pn` on their messages) would pay that
/// query for every message it receives, so a miss is remembered for [`UNKNOWN_LID_TTL`]: a number
/// learned meanwhile shows that much later (messages that carry the number never look it up).
#[derive(Default)]
struct UnknownLids(std::sync::Mutex<HashMap<String, Instant>>);

/// How long an unknown LID is not looked up again.
const UNKNOWN_LID_TTL: Duration = Duration::from_secs(30);
/// Most unknown LIDs remembered; past that, the expired ones are dropped (all of them if none is).
const UNKNOWN_LIDS_MAX: usize = 4096;

impl UnknownLids {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `lid` (user part) was unknown less than [`UNKNOWN_LID_TTL`] ago.
    fn recently_unknown(&self, lid: &str, now: Instant) -> bool {
        self.lock()
            .get(lid)
            .is_some_and(|at| now.duration_since(*at) < UNKNOWN_LID_TTL)
    }

    fn remember(&self, lid: &str, now: Instant) {
        let mut map = self.lock();
        if map.len() >= UNKNOWN_LIDS_MAX {
            map.retain(|_, at| now.duration_since(*at) < UNKNOWN_LID_TTL);
            if map.len() >= UNKNOWN_LIDS_MAX {
                map.clear();
            }
        }
        map.insert(lid.to_string(), now);
    }
}

/// Shows users by phone number wherever the client knows the LID's number (a LID-addressed
/// message does not always carry its phone-number alternative).
async fn resolve_lids(
    client: &whatsapp_rust::Client,
    unknown: &UnknownLids,
    m: &mut IncomingMessage,
) {
    let quoted = m
        .content
        .quoted
        .as_mut()
        .and_then(|q| q.participant.as_mut());
    // The chat and the sender of a one-to-one message are the same LID: look it up once.
    let mut resolved: Vec<(String, Option<String>)> = Vec::new();
    for id in [Some(&mut m.chat), Some(&mut m.sender), quoted]
        .into_iter()
        .flatten()
    {
        let Some(user) = id.strip_suffix("@lid") else {
            continue;
        };
        let phone = match resolved.iter().find(|(lid, _)| lid == user) {
            Some((_, phone)) => phone.clone(),
            None => {
                let phone = lid_phone(client, unknown, user).await;
                resolved.push((user.to_string(), phone.clone()));
                phone
            }
        };
        if let Some(phone) = phone {
            *id = format!("{phone}@c.us");
        }
    }
}

/// The phone number of LID `user`, when the client knows it.
async fn lid_phone(
    client: &whatsapp_rust::Client,
    unknown: &UnknownLids,
    user: &str,
) -> Option<String> {
    let now = Instant::now();
    if unknown.recently_unknown(user, now) {
        return None;
    }
    match client.get_lid_pn_entry(&Jid::lid(user)).await {
        Ok(Some(entry)) => Some(entry.phone_number.to_string()),
        Ok(None) => {
            unknown.remember(user, now);
            None
        }
        // A failed lookup is not remembered: the next message asks again.
        Err(_) => None,
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
        .or_else(|| base.list_message.as_option()?.description.as_deref())
        .or_else(|| base.event_message.as_option()?.name.as_deref())
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
        location: base.location_message.as_option().map(|l| Location {
            latitude: l.degrees_latitude.unwrap_or_default(),
            longitude: l.degrees_longitude.unwrap_or_default(),
            name: l.name.clone(),
            address: l.address.clone(),
        }),
        vcards: vcards_of(base),
        poll: [
            &base.poll_creation_message,
            &base.poll_creation_message_v2,
            &base.poll_creation_message_v3,
        ]
        .into_iter()
        .find_map(|p| p.as_option())
        .map(|p| Poll {
            name: p.name.clone().unwrap_or_default(),
            options: p
                .options
                .iter()
                .filter_map(|o| o.option_name.clone())
                .collect(),
            selectable: p.selectable_options_count.unwrap_or(0),
        }),
        action: action_of(base),
        media: crate::send_media::media_of(base),
        secret: crate::addons::secret_of(message).or_else(|| crate::addons::secret_of(base)),
        addon: crate::addons::sealed_of(base),
        list: crate::interactive::list_of(base),
        event: crate::interactive::event_of(base),
    }
}

fn vcards_of(m: &wa::Message) -> Vec<String> {
    if let Some(c) = m.contact_message.as_option() {
        return c.vcard.iter().cloned().collect();
    }
    m.contacts_array_message
        .as_option()
        .map(|a| a.contacts.iter().filter_map(|c| c.vcard.clone()).collect())
        .unwrap_or_default()
}

fn action_of(m: &wa::Message) -> Option<Action> {
    use wa::message::protocol_message::Type;
    if let Some(r) = m.reaction_message.as_option() {
        let target = r.key.as_option()?.id.clone()?;
        return Some(Action::React {
            target,
            emoji: r.text.clone().unwrap_or_default(),
        });
    }
    let p = m.protocol_message.as_option()?;
    let target = p.key.as_option()?.id.clone()?;
    match p.r#type {
        Some(Type::Revoke) => Some(Action::Revoke { target }),
        Some(Type::MessageEdit) => {
            let body = p
                .edited_message
                .as_option()
                .and_then(|e| e.text_content().map(str::to_string))?;
            Some(Action::Edit { target, body })
        }
        _ => None,
    }
}

fn kind_of(m: &wa::Message) -> (&'static str, bool) {
    if m.conversation.is_some() || m.extended_text_message.is_set() {
        ("chat", false)
    } else if m.image_message.is_set() {
        ("image", true)
    } else if m.video_message.is_set() || m.ptv_message.is_set() {
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
    } else if m.poll_creation_message.is_set()
        || m.poll_creation_message_v2.is_set()
        || m.poll_creation_message_v3.is_set()
    {
        ("poll_creation", false)
    } else if m.list_message.is_set() {
        ("list", false)
    } else if m.event_message.is_set() {
        ("event_creation", false)
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
    with_quote(wa::Message::text(text), quoted)
}

/// Makes `message` a reply to `quoted` (no change when `None`).
pub(crate) fn with_quote(mut message: wa::Message, quoted: Option<&Quoted>) -> wa::Message {
    use wacore::proto_helpers::MessageBuilderExt;
    let Some(q) = quoted else {
        return message;
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
    message.set_context_info(context);
    message
}

/// A location pin.
pub(crate) fn location_message(l: &Location) -> wa::Message {
    wa::Message {
        location_message: whatsapp_rust::buffa::MessageField::some(wa::message::LocationMessage {
            degrees_latitude: Some(l.latitude),
            degrees_longitude: Some(l.longitude),
            name: l.name.clone(),
            address: l.address.clone(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// One contact card, or several in one message. Each item is (display name, vCard).
pub(crate) fn contacts_message(cards: &[(String, String)]) -> wa::Message {
    let card = |(name, vcard): &(String, String)| wa::message::ContactMessage {
        display_name: Some(name.clone()),
        vcard: Some(vcard.clone()),
        ..Default::default()
    };
    if let [one] = cards {
        return wa::Message {
            contact_message: whatsapp_rust::buffa::MessageField::some(card(one)),
            ..Default::default()
        };
    }
    wa::Message {
        contacts_array_message: whatsapp_rust::buffa::MessageField::some(
            wa::message::ContactsArrayMessage {
                display_name: Some(format!("{} contacts", cards.len())),
                contacts: cards.iter().map(card).collect(),
                ..Default::default()
            },
        ),
        ..Default::default()
    }
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
    fn locations_and_contacts_are_read_back() {
        let pin = Location {
            latitude: 38.8937255,
            longitude: -77.0969763,
            name: Some("Office".into()),
            address: Some("1 Main St".into()),
        };
        let got = content_of(&location_message(&pin));
        assert_eq!((got.kind.as_str(), got.location), ("location", Some(pin)));
        let one = vec![(
            "Ann".to_string(),
            "BEGIN:VCARD\nFN:Ann\nEND:VCARD".to_string(),
        )];
        let got = content_of(&contacts_message(&one));
        assert_eq!((got.kind.as_str(), got.vcards.len()), ("vcard", 1));
        let two = vec![
            one[0].clone(),
            ("Bo".into(), "BEGIN:VCARD\nFN:Bo\nEND:VCARD".into()),
        ];
        assert_eq!(content_of(&contacts_message(&two)).vcards.len(), 2);
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

    #[test]
    fn an_unknown_lid_is_remembered_for_a_while_and_the_memory_is_bounded() {
        let unknown = UnknownLids::default();
        let t0 = Instant::now();
        assert!(!unknown.recently_unknown("100", t0));
        unknown.remember("100", t0);
        assert!(unknown.recently_unknown("100", t0 + Duration::from_secs(1)));
        assert!(!unknown.recently_unknown("100", t0 + UNKNOWN_LID_TTL));
        assert!(!unknown.recently_unknown("200", t0));

        for i in 0..UNKNOWN_LIDS_MAX + 10 {
            unknown.remember(&i.to_string(), t0);
        }
        assert!(unknown.lock().len() <= UNKNOWN_LIDS_MAX);
    }
}
