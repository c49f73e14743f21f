use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;
use wawp_core::model::Poll;
use wawp_core::sessions::Outgoing;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ChatId, Params, Required, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::routes::messages::view::MessageObject;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct PollSpec {
    /// The question.
    pub name: String,
    /// 2 to 12 distinct options.
    pub options: Vec<String>,
    /// Whether a voter may choose several options.
    #[serde(rename = "multipleAnswers", default)]
    pub multiple_answers: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SendPollParams {
    #[serde(rename = "chatId")]
    pub chat_id: ChatId,
    pub poll: PollSpec,
    #[serde(default)]
    pub reply_to: Option<String>,
}

impl Required for SendPollParams {
    const REQUIRED: &'static [&'static str] = &["instance_id", "access_token", "chatId", "poll"];
}

/// Send Poll
///
/// Sends a poll with 2 to 12 options, single or multiple choice.
#[utoipa::path(post, path = "/v2/send/poll", tag = "Send Messages", operation_id = "send_poll",
    params(InstanceQuery), request_body(content = SendPollParams),
    responses((status = 200, description = "The sent message", body = MessageObject), CommonErrors))]
pub async fn send_poll(
    State(state): State<AppState>,
    session: SessionRef,
    Params(p): Params<SendPollParams>,
) -> ApiResult<Reply<MessageObject>> {
    let poll = check(p.poll)?;
    super::send_and_answer(
        &state,
        &session,
        &p.chat_id,
        Outgoing::Poll(poll),
        p.reply_to.as_deref(),
    )
    .await
}

fn check(spec: PollSpec) -> Result<Poll, ApiError> {
    let name = spec.name.trim().to_string();
    if name.is_empty() {
        return Err(ApiError::invalid(
            "poll.name",
            "poll.name must not be empty.",
        ));
    }
    let options: Vec<String> = spec.options.iter().map(|o| o.trim().to_string()).collect();
    if options.len() < 2 || options.len() > 12 {
        return Err(ApiError::invalid(
            "poll.options",
            "a poll needs 2 to 12 options.",
        ));
    }
    if options.iter().any(String::is_empty) {
        return Err(ApiError::invalid(
            "poll.options",
            "poll options must not be empty.",
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if !options.iter().all(|o| seen.insert(o.to_lowercase())) {
        return Err(ApiError::invalid(
            "poll.options",
            "poll options must be different from each other.",
        ));
    }
    // WhatsApp takes 1 ..= options for the count a voter may pick; "any number" is all of them
    // (0 is refused by whatsapp-rust).
    let selectable = if spec.multiple_answers {
        u32::try_from(options.len()).unwrap_or(1)
    } else {
        1
    };
    Ok(Poll {
        name,
        options,
        selectable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(options: &[&str]) -> PollSpec {
        PollSpec {
            name: "Q?".into(),
            options: options.iter().map(|o| o.to_string()).collect(),
            multiple_answers: false,
        }
    }

    #[test]
    fn polls_need_two_to_twelve_distinct_options() {
        assert!(check(spec(&["a"])).is_err());
        assert!(check(spec(&["a", "A"])).is_err());
        assert!(check(spec(&["a", " "])).is_err());
        assert!(check(spec(&["x"; 13])).is_err());
        let ok = check(spec(&["yes", "no"])).expect("valid");
        assert_eq!(ok.selectable, 1);
    }
}
