use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ChatId, Params, Required, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::routes::messages::view::MessageObject;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReactionParams {
    #[serde(rename = "chatId")]
    pub chat_id: ChatId,
    /// The message reacted to (serialized or bare id).
    #[serde(rename = "messageId")]
    pub message_id: String,
    /// One emoji; an empty string removes your reaction.
    #[serde(default)]
    pub reaction: String,
}

impl Required for ReactionParams {
    const REQUIRED: &'static [&'static str] = &[
        "instance_id",
        "access_token",
        "chatId",
        "messageId",
        "reaction",
    ];
}

/// Reaction
///
/// Reacts to a message with an emoji (an empty `reaction` removes yours) and answers with the
/// message as it now stands.
#[utoipa::path(put, path = "/v2/send/reaction", tag = "Send Messages", operation_id = "reaction",
    params(InstanceQuery), request_body(content = ReactionParams),
    responses((status = 200, description = "The message reacted to", body = MessageObject), CommonErrors))]
pub async fn reaction(
    State(state): State<AppState>,
    session: SessionRef,
    Params(p): Params<ReactionParams>,
) -> ApiResult<Reply<MessageObject>> {
    let emoji = p.reaction.trim();
    if emoji.chars().count() > 10 || emoji.chars().any(|c| c.is_ascii_alphanumeric()) {
        return Err(ApiError::invalid(
            "reaction",
            "reaction must be one emoji, or empty to remove it.",
        ));
    }
    let m = state
        .core
        .sessions()
        .react(&session.id, p.chat_id.as_str(), p.message_id.trim(), emoji)
        .await?;
    Ok(Reply(MessageObject(m)))
}
