use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::extract::{ChatId, Params, Required, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReadChatParams {
    #[serde(rename = "chatId")]
    pub chat_id: ChatId,
    /// How many of the latest incoming messages to mark read (default 30, at most 1000).
    #[serde(default)]
    pub messages: Option<u32>,
    /// Only messages from the last this many days (default 7).
    #[serde(default)]
    pub days: Option<u32>,
}

impl Required for ReadChatParams {
    const REQUIRED: &'static [&'static str] = &["instance_id", "access_token", "chatId"];
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"success": true, "message": "Operation completed successfully", "marked": 3}))]
pub struct ReadChat {
    pub success: bool,
    pub message: String,
    /// How many messages got a read receipt.
    pub marked: usize,
}

/// Mark as read
///
/// Sends read receipts for the chat's latest incoming messages and clears its unread count.
#[utoipa::path(post, path = "/v2/chats/read", tag = "Chat Actions", operation_id = "mark_as_read",
    params(InstanceQuery), request_body(content = ReadChatParams),
    responses((status = 200, description = "Marked read", body = ReadChat), CommonErrors))]
pub async fn mark_as_read(
    State(state): State<AppState>,
    session: SessionRef,
    Params(p): Params<ReadChatParams>,
) -> ApiResult<Reply<ReadChat>> {
    let messages = p.messages.unwrap_or(30).clamp(1, 1000);
    let days = p.days.unwrap_or(7).clamp(1, 3650);
    let marked = state
        .core
        .sessions()
        .read_chat(&session.id, p.chat_id.as_str(), messages, days)
        .await?;
    Ok(Reply(ReadChat {
        success: true,
        message: "Operation completed successfully".into(),
        marked,
    }))
}
