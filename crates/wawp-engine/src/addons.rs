//! Poll votes and event answers ("add-ons"): each is encrypted with the message secret of the poll
//! or event it answers, keyed by who created that message and who answers it. wawp keeps the
//! secret with the stored poll or event ([`Content::secret`](crate::Content)); the inbound hook
//! hands the add-on over sealed, with the JIDs that key it ([`SealedAddon`]), and the domain opens it
//! with the secret it stored ([`open_poll_vote`], [`open_event_answer`]). Nothing here needs a
//! running client.

use std::sync::Arc;

use wacore::poll::{self, PollVoteAddressing, PollVoteCiphertext};
use wacore::types::events::InboundMessage;
use whatsapp_rust::prelude::wa;
use whatsapp_rust::{Client, Jid, Server};

use crate::EngineError;

/// What an add-on answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddonKind {
    PollVote,
    EventAnswer,
}

/// An encrypted answer to a poll or an event, as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedAddon {
    pub kind: AddonKind,
    /// Bare id of the poll or event answered.
    pub target: String,
    payload: Vec<u8>,
    iv: Vec<u8>,
    /// (creator, answerer) as non-device JID strings: the primary addressing first, then the same
    /// two in the other namespace (LID ⇄ phone number) when both are known.
    addressing: Vec<(String, String)>,
}

/// An answer to an event (`EventResponseMessage`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventAnswer {
    /// `GOING`, `NOT_GOING`, `MAYBE` or `UNKNOWN`.
    pub response: String,
    pub extra_guests: Option<i32>,
    /// When the answer was given (ms), when told.
    pub timestamp_ms: Option<i64>,
}

/// The sealed add-on a message carries, without its addressing yet (see [`address`]).
pub(crate) fn sealed_of(m: &wa::Message) -> Option<SealedAddon> {
    if let Some(p) = m.poll_update_message.as_option() {
        let vote = p.vote.as_option()?;
        return Some(SealedAddon {
            kind: AddonKind::PollVote,
            target: p.poll_creation_message_key.as_option()?.id.clone()?,
            payload: vote.enc_payload.clone()?,
            iv: vote.enc_iv.clone()?,
            addressing: Vec::new(),
        });
    }
    let e = m.enc_event_response_message.as_option()?;
    Some(SealedAddon {
        kind: AddonKind::EventAnswer,
        target: e.event_creation_message_key.as_option()?.id.clone()?,
        payload: e.enc_payload.clone()?,
        iv: e.enc_iv.clone()?,
        addressing: Vec::new(),
    })
}

/// The key of the poll or event an add-on message answers.
fn target_key(m: &wa::Message) -> Option<&wa::MessageKey> {
    m.poll_update_message
        .as_option()
        .and_then(|p| p.poll_creation_message_key.as_option())
        .or_else(|| {
            m.enc_event_response_message
                .as_option()
                .and_then(|e| e.event_creation_message_key.as_option())
        })
}

/// Works out who created the answered message and who answered, in both namespaces when known.
pub(crate) async fn address(client: &Arc<Client>, m: &InboundMessage, sealed: &mut SealedAddon) {
    use wacore::proto_helpers::MessageExt;
    let src = &m.info.source;
    let Some(key) = target_key(m.message.get_base_message()) else {
        return;
    };
    let answerer = src.sender.to_non_ad();
    let creator = if key.from_me == Some(true) {
        // The answerer's own poll (from another of their devices).
        answerer.clone()
    } else if src.is_group {
        match key
            .participant
            .as_deref()
            .and_then(|p| p.parse::<Jid>().ok())
        {
            Some(p) => p.to_non_ad(),
            None => return,
        }
    } else if src.is_from_me {
        // We answered from another device: the poll is the other party's.
        src.recipient
            .clone()
            .unwrap_or_else(|| src.chat.clone())
            .to_non_ad()
    } else {
        // They answered our poll, addressed in their namespace.
        let own = if answerer.server == Server::Lid {
            client.lid()
        } else {
            client.pn()
        };
        match own {
            Some(j) => j.to_non_ad(),
            None => return,
        }
    };
    sealed.addressing = vec![(creator.to_string(), answerer.to_string())];
    let answerer_alt = match src.sender_alt.as_ref() {
        Some(a) => Some(a.to_non_ad()),
        None => other_namespace(client, &answerer).await,
    };
    if let (Some(c), Some(a)) = (other_namespace(client, &creator).await, answerer_alt) {
        sealed.addressing.push((c.to_string(), a.to_string()));
    }
}

/// The same user in the other namespace (LID ⇄ phone number), when the client knows it.
async fn other_namespace(client: &Client, jid: &Jid) -> Option<Jid> {
    if client.pn().is_some_and(|p| p.user == jid.user) {
        return client.lid().map(|l| l.to_non_ad());
    }
    if client.lid().is_some_and(|l| l.user == jid.user) {
        return client.pn().map(|p| p.to_non_ad());
    }
    let entry = client.get_lid_pn_entry(jid).await.ok()??;
    Some(match jid.server {
        Server::Lid => Jid::pn(&*entry.phone_number),
        _ => Jid::lid(&*entry.lid),
    })
}

/// Opens a poll vote with the poll's `secret`; answers the chosen option names (empty: the vote
/// was withdrawn). Hashes matching no option are dropped.
pub fn open_poll_vote(
    sealed: &SealedAddon,
    secret: &[u8],
    options: &[String],
) -> Result<Vec<String>, EngineError> {
    let hashes = with_addressing(sealed, |creator, answerer| {
        poll::decrypt_poll_vote_with_fallback(
            PollVoteCiphertext {
                enc_payload: &sealed.payload,
                enc_iv: &sealed.iv,
            },
            secret,
            &sealed.target,
            PollVoteAddressing {
                poll_creator_jid: creator,
                voter_jid: answerer,
            },
            None,
        )
    })?;
    Ok(options
        .iter()
        .filter(|o| {
            let h = poll::compute_option_hash(o);
            hashes.iter().any(|x| x.as_slice() == h)
        })
        .cloned()
        .collect())
}

/// Opens an event answer with the event's `secret`.
pub fn open_event_answer(sealed: &SealedAddon, secret: &[u8]) -> Result<EventAnswer, EngineError> {
    use wa::message::event_response_message::EventResponseType as T;
    let answer = with_addressing(sealed, |creator, answerer| {
        wacore::event::decrypt_event_response_with_secret(
            &sealed.payload,
            &sealed.iv,
            secret,
            &sealed.target,
            creator,
            answerer,
        )
    })?;
    let response = match answer.response {
        Some(T::GOING) => "GOING",
        Some(T::NOT_GOING) => "NOT_GOING",
        Some(T::MAYBE) => "MAYBE",
        _ => "UNKNOWN",
    };
    Ok(EventAnswer {
        response: response.to_string(),
        extra_guests: answer.extra_guest_count,
        timestamp_ms: answer.timestamp_ms,
    })
}

/// Tries each addressing in turn; the first that opens wins.
fn with_addressing<T, E: std::fmt::Display>(
    sealed: &SealedAddon,
    open: impl Fn(&str, &str) -> Result<T, E>,
) -> Result<T, EngineError> {
    let mut last = String::from("no addressing known");
    for (creator, answerer) in &sealed.addressing {
        match open(creator, answerer) {
            Ok(v) => return Ok(v),
            Err(e) => last = e.to_string(),
        }
    }
    Err(EngineError::Crypto(last))
}

/// The secret a poll or event creation message carries (32 bytes), if any.
pub(crate) fn secret_of(m: &wa::Message) -> Option<Vec<u8>> {
    m.message_context_info
        .as_option()
        .and_then(|c| c.message_secret.clone())
        .filter(|s| s.len() == 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vote_opens_with_the_secret_and_the_right_addressing() {
        let secret = [7u8; 32];
        let options = vec!["Pizza".to_string(), "Sushi".to_string()];
        let chosen = vec![poll::compute_option_hash("Sushi").to_vec()];
        let (payload, iv) = poll::encrypt_poll_vote_with_secret(
            &chosen,
            &secret,
            "POLL1",
            "111@s.whatsapp.net",
            "222@s.whatsapp.net",
        )
        .expect("encrypt");
        let mut sealed = SealedAddon {
            kind: AddonKind::PollVote,
            target: "POLL1".into(),
            payload,
            iv: iv.to_vec(),
            addressing: vec![("111@lid".into(), "222@lid".into())],
        };
        assert!(open_poll_vote(&sealed, &secret, &options).is_err());
        sealed
            .addressing
            .push(("111@s.whatsapp.net".into(), "222@s.whatsapp.net".into()));
        assert_eq!(
            open_poll_vote(&sealed, &secret, &options).expect("opens"),
            vec!["Sushi".to_string()]
        );
        assert!(open_poll_vote(&sealed, &[8u8; 32], &options).is_err());
    }
}
