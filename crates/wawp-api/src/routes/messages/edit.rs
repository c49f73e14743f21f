use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::view::MessageObject;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ChatId, Params, Required, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct EditMessageParams {
    #[serde(rename = "chatId")]
    pub chat_id: ChatId,
    /// One of your text messages (serialized or bare id).
    #[serde(rename = "messageId")]
    pub message_id: String,
    /// The new text.
    pub text: String,
}

impl Required for EditMessageParams {
    const REQUIRED: &'static [&'static str] =
        &["instance_id", "access_token", "chatId", "messageId", "text"];
}

/// Edit a text message
///
/// Replaces the text of one of your messages, for everyone, and answers with the message as it
/// now stands.
#[utoipa::path(put, path = "/v2/messages/edit", tag = "Chat Actions", operation_id = "edit_a_text_message",
    params(InstanceQuery), request_body(content = EditMessageParams),
    responses((status = 200, description = "The edited message", body = MessageObject), CommonErrors))]
pub async fn edit_a_text_message(
    State(state): State<AppState>,
    session: SessionRef,
    Params(p): Params<EditMessageParams>,
) -> ApiResult<Reply<MessageObject>> {
    if p.text.is_empty() {
        return Err(ApiError::invalid("text", "text must not be empty."));
    }
    let m = state
        .core
        .sessions()
        .edit(
            &session.id,
            p.chat_id.as_str(),
            p.message_id.trim(),
            &p.text,
        )
        .await?;
    Ok(Reply(MessageObject(m)))
}
