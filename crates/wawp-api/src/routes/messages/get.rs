use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::view::MessageObject;
use crate::error::ApiResult;
use crate::extract::{ChatId, Params, Required, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct GetMessageParams {
    /// The chat the message belongs to.
    #[serde(rename = "chatId")]
    pub chat_id: ChatId,
    /// Serialized (`true_…@c.us_3EB0…`) or bare message id.
    #[serde(rename = "messageId")]
    pub message_id: String,
    /// Accepted for compatibility; media download arrives with the media milestone.
    #[serde(rename = "downloadMedia", default)]
    pub download_media: Option<bool>,
}

impl Required for GetMessageParams {
    const REQUIRED: &'static [&'static str] =
        &["instance_id", "access_token", "chatId", "messageId"];
}

/// Get message by id
///
/// One stored message of the chat (sent or received), by serialized or bare id.
#[utoipa::path(post, path = "/v2/messages/get", tag = "Chat Actions", operation_id = "get_message_by_id",
    params(InstanceQuery), request_body(content = GetMessageParams),
    responses((status = 200, description = "The message", body = MessageObject), CommonErrors))]
pub async fn get_message_by_id(
    State(state): State<AppState>,
    session: SessionRef,
    Params(p): Params<GetMessageParams>,
) -> ApiResult<Reply<MessageObject>> {
    let m = state
        .core
        .sessions()
        .message(&session.id, p.chat_id.as_str(), p.message_id.trim())
        .await?;
    Ok(Reply(MessageObject(m)))
}
