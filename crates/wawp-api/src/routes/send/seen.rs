use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ChatId, Params, Required, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::{Done, Reply};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct SeenParams {
    #[serde(rename = "chatId")]
    pub chat_id: ChatId,
    /// Ids of the messages (serialized or bare).
    #[serde(rename = "messageIds")]
    pub message_ids: Vec<String>,
    /// The author of the messages, in groups.
    #[serde(default)]
    pub participant: Option<ChatId>,
}

impl Required for SeenParams {
    const REQUIRED: &'static [&'static str] =
        &["instance_id", "access_token", "chatId", "messageIds"];
}

/// Mark message(s) as seen
///
/// Sends read receipts (blue ticks) for the given messages.
#[utoipa::path(post, path = "/v2/send/seen", tag = "Send Messages", operation_id = "mark_message_s_as_seen",
    params(InstanceQuery), request_body(content = SeenParams),
    responses((status = 200, description = "Receipts sent", body = Done), CommonErrors))]
pub async fn mark_message_s_as_seen(
    State(state): State<AppState>,
    session: SessionRef,
    Params(p): Params<SeenParams>,
) -> ApiResult<Reply<Done>> {
    let ids: Vec<String> = p
        .message_ids
        .iter()
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty())
        .collect();
    if ids.is_empty() {
        return Err(ApiError::invalid(
            "messageIds",
            "messageIds must name at least one message.",
        ));
    }
    let participant = p.participant.as_ref().map(|c| c.as_str());
    state
        .core
        .sessions()
        .mark_seen(&session.id, p.chat_id.as_str(), &ids, participant)
        .await?;
    Ok(Done::ok())
}
