use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wawp_core::sessions::ChatSort;

use crate::error::ApiResult;
use crate::extract::{Params, Required, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct OverviewParams {
    /// At most this many chats, most recent first (default 20, at most 1000).
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub offset: Option<u32>,
}

impl Required for OverviewParams {
    const REQUIRED: &'static [&'static str] = &["instance_id", "access_token"];
}

/// One chat in the overview: who, how many unread, and a preview of the latest message.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatOverview {
    pub id: String,
    pub name: Option<String>,
    #[serde(rename = "isGroup")]
    pub is_group: bool,
    #[serde(rename = "unreadCount")]
    pub unread_count: i64,
    /// Unix seconds of the latest message.
    pub timestamp: i64,
    #[serde(rename = "lastMessage")]
    pub last_message: Option<LastMessage>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LastMessage {
    pub id: String,
    #[serde(rename = "fromMe")]
    pub from_me: bool,
    pub body: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub timestamp: i64,
    #[serde(rename = "ackName")]
    pub ack_name: String,
}

/// The overview: totals, then the chats.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"totalChats": 2, "unreadChats": 1, "unreadMessages": 3, "chats": [{"id": "447441429009@c.us",
    "name": "John", "isGroup": false, "unreadCount": 3, "timestamp": 1759108866,
    "lastMessage": {"id": "false_447441429009@c.us_3EB0…", "fromMe": false, "body": "Hi", "type": "chat",
    "timestamp": 1759108866, "ackName": "DEVICE"}}]}))]
pub struct ChatsOverview {
    /// Chats in this page.
    #[serde(rename = "totalChats")]
    pub total_chats: usize,
    #[serde(rename = "unreadChats")]
    pub unread_chats: usize,
    #[serde(rename = "unreadMessages")]
    pub unread_messages: i64,
    pub chats: Vec<ChatOverview>,
}

/// Get Chats Overview
///
/// A light summary of the active chats: unread counts and a preview of each latest message.
#[utoipa::path(get, path = "/v2/chats/overview", tag = "Chat Actions", operation_id = "get_chats_overview",
    params(InstanceQuery), request_body(content = OverviewParams),
    responses((status = 200, description = "Overview", body = ChatsOverview), CommonErrors))]
pub async fn get_chats_overview(
    State(state): State<AppState>,
    session: SessionRef,
    Params(p): Params<OverviewParams>,
) -> ApiResult<Reply<ChatsOverview>> {
    let limit = p.limit.unwrap_or(20).clamp(1, 1000);
    let chats = state
        .core
        .sessions()
        .chats(
            &session.id,
            ChatSort::LastMessage,
            true,
            limit,
            p.offset.unwrap_or(0),
        )
        .await?;
    let chats: Vec<ChatOverview> = chats
        .into_iter()
        .map(|c| ChatOverview {
            id: c.id,
            name: c.name,
            is_group: c.is_group,
            unread_count: c.unread_count,
            timestamp: c.timestamp,
            last_message: c.last_message.map(|m| LastMessage {
                id: m.id,
                from_me: m.from_me,
                body: m.body,
                kind: m.kind,
                timestamp: m.timestamp,
                ack_name: m.ack_name,
            }),
        })
        .collect();
    Ok(Reply(ChatsOverview {
        total_chats: chats.len(),
        unread_chats: chats.iter().filter(|c| c.unread_count > 0).count(),
        unread_messages: chats.iter().map(|c| c.unread_count).sum(),
        chats,
    }))
}
