use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;
use wawp_core::sessions::VoteChoice;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ChatId, Params, Required, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::routes::messages::view::MessageObject;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct PollVoteParams {
    #[serde(rename = "chatId")]
    pub chat_id: ChatId,
    /// The poll (serialized or bare id).
    #[serde(rename = "messageId")]
    pub message_id: String,
    /// Option names or 0-based indices; `[]` withdraws your vote.
    #[schema(value_type = Vec<serde_json::Value>)]
    #[serde(default)]
    pub votes: Vec<serde_json::Value>,
}

impl Required for PollVoteParams {
    // Wawp: `votes` is required, but `[]` (withdraw) is an empty value; its absence reads as `[]`.
    const REQUIRED: &'static [&'static str] =
        &["instance_id", "access_token", "chatId", "messageId"];
}

/// Send Poll Vote
///
/// Votes on a poll (by option names or 0-based indices); the votes replace your earlier ones and
/// `[]` withdraws them. Answers with the poll as it now stands, your vote in `poll.votes`.
#[utoipa::path(post, path = "/v2/send/poll/vote", tag = "Send Messages", operation_id = "send_poll_vote",
    params(InstanceQuery), request_body(content = PollVoteParams),
    responses((status = 200, description = "The poll voted on", body = MessageObject), CommonErrors))]
pub async fn send_poll_vote(
    State(state): State<AppState>,
    session: SessionRef,
    Params(p): Params<PollVoteParams>,
) -> ApiResult<Reply<MessageObject>> {
    let choices = p.votes.iter().map(choice).collect::<Result<Vec<_>, _>>()?;
    let poll = state
        .core
        .sessions()
        .vote_poll(&session.id, p.chat_id.as_str(), &p.message_id, &choices)
        .await?;
    Ok(Reply(MessageObject(poll)))
}

/// A number (or a string of digits) is an index; any other string is an option name.
fn choice(v: &serde_json::Value) -> Result<VoteChoice, ApiError> {
    let bad = || ApiError::invalid("votes", "votes are option names or 0-based indices.");
    match v {
        serde_json::Value::Number(n) => n
            .as_u64()
            .and_then(|i| usize::try_from(i).ok())
            .map(VoteChoice::Index)
            .ok_or_else(bad),
        serde_json::Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().map(VoteChoice::Index).map_err(|_| bad())
        }
        serde_json::Value::String(s) if !s.trim().is_empty() => Ok(VoteChoice::Name(s.clone())),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn votes_are_names_or_indices() {
        assert_eq!(choice(&json!(2)).ok(), Some(VoteChoice::Index(2)));
        assert_eq!(choice(&json!("1")).ok(), Some(VoteChoice::Index(1)));
        assert_eq!(
            choice(&json!("Awesome!")).ok(),
            Some(VoteChoice::Name("Awesome!".into()))
        );
        assert!(choice(&json!(-1)).is_err());
        assert!(choice(&json!(" ")).is_err());
        assert!(choice(&json!({"a": 1})).is_err());
    }
}
