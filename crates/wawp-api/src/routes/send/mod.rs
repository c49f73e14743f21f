//! Send Messages (`/v2/send/*`): one file per kind of message.

mod contact;
mod location;
mod poll;
mod reaction;
mod seen;
mod start_typing;
mod stop_typing;
mod text;

pub use contact::*;
pub use location::*;
pub use poll::*;
pub use reaction::*;
pub use seen::*;
pub use start_typing::*;
pub use stop_typing::*;
pub use text::*;

use axum::http::Method;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::extract::{ChatId, Required};
use crate::routes::Table;

pub(crate) fn table() -> Table {
    use Method as M;
    Table::new()
        .route(&[M::POST, M::GET], "/v2/send/text", None, send_text_message)
        .route(&[M::POST, M::GET], "/v2/send/location", None, send_location)
        .route(&[M::POST], "/v2/send/poll", None, send_poll)
        .route(&[M::POST], "/v2/send/contact", None, send_contact_vcard)
        .route(&[M::POST], "/v2/send/seen", None, mark_message_s_as_seen)
        .route(&[M::POST], "/v2/send/start-typing", None, start_typing)
        .route(&[M::POST], "/v2/send/stop-typing", None, stop_typing)
        .route(&[M::PUT], "/v2/send/reaction", None, reaction)
}

/// Routes that take only a chat.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChatParams {
    #[serde(rename = "chatId")]
    pub chat_id: ChatId,
}

impl Required for ChatParams {
    const REQUIRED: &'static [&'static str] = &["instance_id", "access_token", "chatId"];
}

/// `reply_to` as given, or `None` when absent, empty or the documents' placeholder `false`.
pub(crate) fn reply_to(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim)
        .filter(|r| !r.is_empty() && *r != "false" && *r != "null")
}
