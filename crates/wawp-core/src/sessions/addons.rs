//! Poll votes and event answers: the secrets of polls and events are kept with their stored
//! messages (sent and received), votes and answers that arrive are opened with them, applied to
//! the stored poll or event (its tally) and told as `poll.vote` / `event.response`, or as
//! `poll.vote.failed` / `event.response.failed` when they cannot be opened. Votes are sent by
//! `/v2/send/poll/vote` ([`SessionManager::vote_poll`]).
//!
//! Wawp: `event.response` is documented as "an asynchronous event completed" with
//! `{requestId, data}`; wawp reads it as the answer (RSVP) to a calendar event sent with
//! `/v2/send/event`: `requestId` is that event message's id, `data` the answer.

use serde_json::json;
use wawp_engine::{AddonKind, IncomingMessage, SealedAddon};
use wawp_store::Store;

use super::SessionManager;
use super::messaging::engine_error;
use crate::error::CoreError;
use crate::events::Events;
use crate::model::interactive::{set_response, set_vote};
use crate::model::{InstanceId, Message};

/// A vote or answer that arrived, to open and apply.
pub(crate) struct Answer {
    /// Serialized id of the vote / answer message itself.
    id: String,
    chat: String,
    /// Who answered (`123@c.us`).
    from: String,
    from_me: bool,
    timestamp: i64,
    sealed: SealedAddon,
}

/// The secrets carried by polls and events among `messages` (serialized id, secret).
pub(crate) fn secrets_of(messages: &[IncomingMessage], me: Option<&str>) -> Vec<(String, Vec<u8>)> {
    messages
        .iter()
        .filter_map(|m| {
            let secret = m.content.secret.clone()?;
            matches!(m.content.kind.as_str(), "poll_creation" | "event_creation")
                .then(|| (Message::from_incoming(m, me).id, secret))
        })
        .collect()
}

/// The votes and answers among `messages`.
pub(crate) fn answers_of(messages: &[IncomingMessage], me: Option<&str>) -> Vec<Answer> {
    messages
        .iter()
        .filter_map(|m| {
            let sealed = m.content.addon.clone()?;
            let from = match (m.from_me, me) {
                (true, Some(me)) => me.to_string(),
                _ => m.sender.clone(),
            };
            Some(Answer {
                id: Message::from_incoming(m, me).id,
                chat: m.chat.clone(),
                from,
                from_me: m.from_me,
                timestamp: m.timestamp,
                sealed,
            })
        })
        .collect()
}

/// Keeps each secret with its stored message (hex). Idempotent, so replays are harmless.
pub(crate) async fn keep_secrets(
    store: &Store,
    instance: &str,
    secrets: &[(String, Vec<u8>)],
) -> Result<(), CoreError> {
    for (id, secret) in secrets {
        store.set_message_secret(instance, id, &hex(secret)).await?;
    }
    Ok(())
}

/// Why an answer could not be applied (the documents' `reason`).
const NOT_FOUND: &str = "MSG_NOT_FOUND";
const NO_SECRET: &str = "SECRET_NOT_FOUND";
const UNREADABLE: &str = "DECRYPT_FAILED";

/// Opens each answer with its target's secret, updates the target's tally and records the event.
pub(crate) async fn apply(
    store: &Store,
    events: &Events,
    instance: &str,
    answers: Vec<Answer>,
) -> Result<(), CoreError> {
    for a in answers {
        let (name, payload) = match open(store, instance, &a).await? {
            Ok((target, opened)) => {
                let payload = match (&a.sealed.kind, &opened) {
                    (AddonKind::PollVote, Opened::Vote(options)) => {
                        poll_vote_payload(&a, &target, options)
                    }
                    (_, Opened::Answer(answer)) => json!({
                        "requestId": target.id,
                        "data": {"eventId": target.id, "id": a.id, "from": a.from, "fromMe": a.from_me,
                                 "response": answer.response, "extraGuestCount": answer.extra_guests,
                                 "timestamp": a.timestamp},
                    }),
                    _ => continue,
                };
                super::messaging::change_stored(store, instance, &target.id, &a.chat, |t| {
                    record(t, &a.from, &opened)
                })
                .await?;
                (success_name(a.sealed.kind), payload)
            }
            Err(reason) => {
                tracing::debug!(%instance, target = %a.sealed.target, reason, "answer not applied");
                (failure_name(a.sealed.kind), failure_payload(&a, reason))
            }
        };
        events.emit(instance, name, payload, Some(&a.chat)).await?;
    }
    Ok(())
}

enum Opened {
    Vote(Vec<String>),
    Answer(wawp_engine::EventAnswer),
}

/// The answered message and what the answer says, or why it cannot be read.
async fn open(
    store: &Store,
    instance: &str,
    a: &Answer,
) -> Result<Result<(Message, Opened), &'static str>, CoreError> {
    let Some(row) = store
        .get_message(instance, &a.sealed.target)
        .await?
        .filter(|r| r.chat_id == a.chat)
    else {
        return Ok(Err(NOT_FOUND));
    };
    let Some(target) = serde_json::from_str::<Message>(&row.payload).ok() else {
        return Ok(Err(NOT_FOUND));
    };
    let Some(secret) = store
        .message_secret(instance, &row.id)
        .await?
        .and_then(|h| unhex(&h))
    else {
        return Ok(Err(NO_SECRET));
    };
    let opened = match a.sealed.kind {
        AddonKind::PollVote => {
            let options = target.poll.as_ref().map(|p| p.options.clone());
            let Some(options) = options else {
                return Ok(Err(NOT_FOUND));
            };
            wawp_engine::addons::open_poll_vote(&a.sealed, &secret, &options).map(Opened::Vote)
        }
        AddonKind::EventAnswer => {
            wawp_engine::addons::open_event_answer(&a.sealed, &secret).map(Opened::Answer)
        }
    };
    Ok(opened.map(|o| (target, o)).map_err(|_| UNREADABLE))
}

fn record(target: &mut Message, from: &str, opened: &Opened) {
    match opened {
        Opened::Vote(options) => {
            if let Some(p) = target.poll.as_mut() {
                set_vote(&mut p.votes, from, options);
            }
        }
        Opened::Answer(answer) => {
            if let Some(e) = target.event.as_mut() {
                set_response(&mut e.responses, from, &answer.response);
            }
        }
    }
}

fn poll_vote_payload(a: &Answer, poll: &Message, options: &[String]) -> serde_json::Value {
    json!({
        "vote": {"id": a.id, "selectedOptions": options, "timestamp": a.timestamp,
                 "from": a.from, "fromMe": a.from_me, "to": a.chat},
        "poll": {"id": poll.id, "from": poll.from, "fromMe": poll.from_me, "to": poll.to},
    })
}

fn failure_payload(a: &Answer, reason: &str) -> serde_json::Value {
    match a.sealed.kind {
        AddonKind::PollVote => {
            json!({"pollId": a.sealed.target, "voter": a.from, "reason": reason})
        }
        AddonKind::EventAnswer => json!({"requestId": a.sealed.target, "error": reason}),
    }
}

fn success_name(kind: AddonKind) -> &'static str {
    match kind {
        AddonKind::PollVote => "poll.vote",
        AddonKind::EventAnswer => "event.response",
    }
}

fn failure_name(kind: AddonKind) -> &'static str {
    match kind {
        AddonKind::PollVote => "poll.vote.failed",
        AddonKind::EventAnswer => "event.response.failed",
    }
}

/// A choice in `/v2/send/poll/vote`: an option's name or its 0-based index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VoteChoice {
    Name(String),
    Index(usize),
}

impl SessionManager {
    /// Votes on a poll of `chat` (our own or another's): `choices` replace our earlier vote; none
    /// withdraws it. Answers with the poll as it now stands (our vote in its tally).
    pub async fn vote_poll(
        &self,
        id: &InstanceId,
        chat: &str,
        message_id: &str,
        choices: &[VoteChoice],
    ) -> Result<Message, CoreError> {
        let (sender, me) = self.working_sender(id).await?;
        let poll = self.message(id, chat, message_id).await?;
        let Some(view) = poll.poll.as_ref() else {
            return Err(CoreError::Invalid(format!("{message_id} is not a poll")));
        };
        let options = resolve_choices(&view.options, choices)?;
        if !view.multiple_answers && options.len() > 1 {
            return Err(CoreError::Invalid(
                "this poll takes one answer; give one vote".into(),
            ));
        }
        let secret = self
            .store
            .message_secret(id.as_str(), &poll.id)
            .await?
            .and_then(|h| unhex(&h))
            .ok_or_else(|| {
                CoreError::Invalid(format!(
                    "the poll {message_id} arrived without its secret; it cannot be voted on"
                ))
            })?;
        let creator = if poll.from_me {
            me.clone()
        } else {
            poll.author.clone().unwrap_or_else(|| poll.from.clone())
        };
        sender
            .vote_poll(chat, &poll.data.id.id, &creator, &secret, &options)
            .await
            .map_err(engine_error)?;
        self.change(id, chat, &poll, |m| {
            if let Some(p) = m.poll.as_mut() {
                set_vote(&mut p.votes, &me, &options);
            }
        })
        .await
    }
}

/// The option names the choices mean, in the poll's order, each once.
fn resolve_choices(options: &[String], choices: &[VoteChoice]) -> Result<Vec<String>, CoreError> {
    let mut chosen = Vec::new();
    for c in choices {
        let index = match c {
            VoteChoice::Index(i) => Some(*i).filter(|i| *i < options.len()),
            VoteChoice::Name(n) => options.iter().position(|o| o.trim() == n.trim()),
        };
        let Some(index) = index else {
            return Err(CoreError::Invalid(format!(
                "{c:?} is not an option of this poll ({})",
                options.join(", ")
            )));
        };
        if !chosen.contains(&index) {
            chosen.push(index);
        }
    }
    chosen.sort_unstable();
    Ok(chosen.into_iter().map(|i| options[i].clone()).collect())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_are_names_or_indices() {
        let options: Vec<String> = ["Pizza", "Sushi", "Salad"].map(String::from).to_vec();
        let got = resolve_choices(
            &options,
            &[
                VoteChoice::Name("Salad".into()),
                VoteChoice::Index(0),
                VoteChoice::Index(0),
            ],
        )
        .expect("valid");
        assert_eq!(got, ["Pizza", "Salad"]);
        assert!(resolve_choices(&options, &[VoteChoice::Index(3)]).is_err());
        assert!(resolve_choices(&options, &[VoteChoice::Name("Tacos".into())]).is_err());
        assert!(resolve_choices(&options, &[]).expect("withdraw").is_empty());
    }

    #[test]
    fn secrets_round_trip_as_hex() {
        let secret: Vec<u8> = (0..32).collect();
        assert_eq!(unhex(&hex(&secret)), Some(secret));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }
}
