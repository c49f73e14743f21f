use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::extract::{ChatId, Params, Required, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::routes::files::file_url;
use crate::routes::messages::view::{MessageList, MessageObject};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChatMessagesParams {
    #[serde(rename = "chatId")]
    pub chat_id: ChatId,
    /// At most this many messages, newest first (default 50, at most 1000).
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub offset: Option<u32>,
    /// Download the media of the listed messages into wawp's file store and set each
    /// `media.url` (served at `/v2/files/…` for a limited time).
    #[serde(rename = "downloadMedia", default)]
    pub download_media: Option<bool>,
}

impl Required for ChatMessagesParams {
    const REQUIRED: &'static [&'static str] = &["instance_id", "access_token", "chatId"];
}

/// Get messages in chat
///
/// The chat's messages, sent and received, newest first, from wawp's store.
#[utoipa::path(get, path = "/v2/chats/messages", tag = "Chat Actions", operation_id = "get_messages_in_chat",
    params(InstanceQuery), request_body(content = ChatMessagesParams),
    responses((status = 200, description = "Messages", body = MessageList), CommonErrors))]
pub async fn get_messages_in_chat(
    State(state): State<AppState>,
    session: SessionRef,
    headers: HeaderMap,
    Params(p): Params<ChatMessagesParams>,
) -> ApiResult<Reply<MessageList>> {
    let limit = p.limit.unwrap_or(50).clamp(1, 1000);
    let mut messages = state
        .core
        .sessions()
        .chat_messages(
            &session.id,
            p.chat_id.as_str(),
            limit,
            p.offset.unwrap_or(0),
        )
        .await?;
    if p.download_media == Some(true) {
        state
            .core
            .download_media(&session.id, &mut messages, |name| {
                file_url(&state, &headers, name)
            })
            .await?;
    }
    Ok(Reply(MessageList(
        messages.into_iter().map(MessageObject).collect(),
    )))
}
