use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use utoipa::ToSchema;

use super::view::MessageObject;
use crate::error::ApiResult;
use crate::extract::{ChatId, Params, Required, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::routes::files::file_url;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct GetMessageParams {
    /// The chat the message belongs to.
    #[serde(rename = "chatId")]
    pub chat_id: ChatId,
    /// Serialized (`true_…@c.us_3EB0…`) or bare message id.
    #[serde(rename = "messageId")]
    pub message_id: String,
    /// Download the message's media into wawp's file store and set `media.url` (served at
    /// `/v2/files/…` for a limited time).
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
    headers: HeaderMap,
    Params(p): Params<GetMessageParams>,
) -> ApiResult<Reply<MessageObject>> {
    let m = state
        .core
        .sessions()
        .message(&session.id, p.chat_id.as_str(), p.message_id.trim())
        .await?;
    let mut list = [m];
    if p.download_media == Some(true) {
        state
            .core
            .download_media(&session.id, &mut list, |name| {
                file_url(&state, &headers, name)
            })
            .await?;
    }
    let [m] = list;
    Ok(Reply(MessageObject(m)))
}
