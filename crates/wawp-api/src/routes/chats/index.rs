use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wawp_core::sessions::ChatSort;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Params, Required, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChatsParams {
    /// `id`, `name`, or `timestamp` / `conversationTimestamp` (the latest message; the default).
    #[serde(rename = "sortBy", default)]
    pub sort_by: Option<String>,
    /// `ASC` or `DESC` (default `DESC`).
    #[serde(rename = "sortOrder", default)]
    pub sort_order: Option<String>,
    /// At most this many chats (default 100, at most 1000).
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub offset: Option<u32>,
}

impl Required for ChatsParams {
    const REQUIRED: &'static [&'static str] = &["instance_id", "access_token"];
}

/// A chat with its latest message.
#[derive(Debug, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = Object, example = json!({"id": "447441429009@c.us", "name": "John", "timestamp": 1759108866,
    "unreadCount": 2, "isGroup": false, "lastMessage": {"id": "false_447441429009@c.us_3EB0…", "body": "Hi"}}))]
pub struct Chat(pub wawp_core::model::ChatSummary);

#[derive(Debug, Serialize, ToSchema)]
#[serde(transparent)]
pub struct ChatList(pub Vec<Chat>);

/// Chats list & overview
///
/// The session's chats with their latest message and unread count, from wawp's store.
#[utoipa::path(method(get, post), path = "/v2/chats", tag = "Chat Actions", operation_id = "chats_list_overview",
    params(InstanceQuery), request_body(content = ChatsParams),
    responses((status = 200, description = "Chats", body = ChatList), CommonErrors))]
pub async fn chats_list_overview(
    State(state): State<AppState>,
    session: SessionRef,
    Params(p): Params<ChatsParams>,
) -> ApiResult<Reply<ChatList>> {
    let sort = match p.sort_by.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None
        | Some("")
        | Some("timestamp")
        | Some("conversationtimestamp")
        | Some("lastmessage") => ChatSort::LastMessage,
        Some("id") => ChatSort::Id,
        Some("name") => ChatSort::Name,
        Some(_) => {
            return Err(ApiError::invalid(
                "sortBy",
                "sortBy must be one of id, name, timestamp.",
            ));
        }
    };
    let descending = match p
        .sort_order
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("") | Some("DESC") => true,
        Some("ASC") => false,
        Some(_) => {
            return Err(ApiError::invalid(
                "sortOrder",
                "sortOrder must be ASC or DESC.",
            ));
        }
    };
    let limit = p.limit.unwrap_or(100).clamp(1, 1000);
    let chats = state
        .core
        .sessions()
        .chats(&session.id, sort, descending, limit, p.offset.unwrap_or(0))
        .await?;
    Ok(Reply(ChatList(chats.into_iter().map(Chat).collect())))
}
