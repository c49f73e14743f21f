use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::extract::{ChatId, Params, Required, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::{Done, Reply};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct DeleteMessageParams {
    #[serde(rename = "chatId")]
    pub chat_id: ChatId,
    /// One of your messages (serialized or bare id).
    #[serde(rename = "messageId")]
    pub message_id: String,
}

impl Required for DeleteMessageParams {
    const REQUIRED: &'static [&'static str] =
        &["instance_id", "access_token", "chatId", "messageId"];
}

/// Delete a message
///
/// Deletes one of your messages for everyone ("This message was deleted").
#[utoipa::path(delete, path = "/v2/messages/delete", tag = "Chat Actions", operation_id = "delete_a_message",
    params(InstanceQuery), request_body(content = DeleteMessageParams),
    responses((status = 200, description = "Deleted", body = Done), CommonErrors))]
pub async fn delete_a_message(
    State(state): State<AppState>,
    session: SessionRef,
    Params(p): Params<DeleteMessageParams>,
) -> ApiResult<Reply<Done>> {
    state
        .core
        .sessions()
        .delete_message(&session.id, p.chat_id.as_str(), p.message_id.trim())
        .await?;
    Ok(Done::ok())
}
