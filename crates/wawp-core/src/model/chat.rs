//! The chat object of `/v2/chats`.

use serde::{Deserialize, Serialize};

use super::Message;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatSummary {
    pub id: String,
    pub name: Option<String>,
    /// Unix seconds of the latest message.
    pub timestamp: i64,
    #[serde(rename = "unreadCount")]
    pub unread_count: i64,
    #[serde(rename = "isGroup")]
    pub is_group: bool,
    #[serde(rename = "lastMessage")]
    pub last_message: Option<Message>,
}
