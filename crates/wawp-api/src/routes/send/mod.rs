//! Send Messages (`/v2/send/*`): one file per kind of message.

mod contact;
mod event;
mod image;
mod link_preview;
mod list;
mod location;
mod media_shared;
mod pdf;
mod poll;
mod poll_vote;
mod reaction;
mod seen;
mod start_typing;
mod stop_typing;
mod text;
mod video;
mod voice;

pub use contact::*;
pub use event::*;
pub use image::*;
pub use link_preview::*;
pub use list::*;
pub use location::*;
pub use pdf::*;
pub use poll::*;
pub use poll_vote::*;
pub use reaction::*;
pub use seen::*;
pub use start_typing::*;
pub use stop_typing::*;
pub use text::*;
pub use video::*;
pub use voice::*;

use axum::http::Method;
use serde::Deserialize;
use utoipa::ToSchema;
use wawp_core::sessions::Outgoing;

use crate::error::ApiResult;
use crate::extract::{ChatId, Required, SessionRef};
use crate::reply::{Done, Reply};
use crate::routes::Table;
use crate::routes::messages::view::MessageObject;
use crate::state::AppState;

pub(crate) fn table() -> Table {
    use Method as M;
    Table::new()
        .route(&[M::POST, M::GET], "/v2/send/text", None, send_text_message)
        .route(&[M::POST, M::GET], "/v2/send/location", None, send_location)
        .route(&[M::POST, M::GET], "/v2/send/image", None, send_image)
        .route(&[M::POST, M::GET], "/v2/send/pdf", None, send_pdf)
        .route(&[M::POST, M::GET], "/v2/send/voice", None, send_voice)
        .route(&[M::POST, M::GET], "/v2/send/video", None, send_video)
        .route(
            &[M::POST, M::GET],
            "/v2/send/link-preview",
            None,
            send_link_preview,
        )
        .route(&[M::POST], "/v2/send/poll", None, send_poll)
        .route(&[M::POST], "/v2/send/poll/vote", None, send_poll_vote)
        .route(&[M::POST, M::GET], "/v2/send/list", None, send_list_message)
        .route(&[M::POST], "/v2/send/event", None, send_event)
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

/// Sends `outgoing` to `chat` (as a reply when `reply_to` names a message) and answers with the
/// sent message: the shared tail of every send route.
pub(crate) async fn send_and_answer(
    state: &AppState,
    session: &SessionRef,
    chat: &ChatId,
    outgoing: Outgoing,
    reply_to: Option<&str>,
) -> ApiResult<Reply<MessageObject>> {
    let sent = state
        .core
        .sessions()
        .send(
            &session.id,
            chat.as_str(),
            outgoing,
            self::reply_to(reply_to),
        )
        .await?;
    Ok(Reply(MessageObject(sent)))
}

/// Shows (`on`) or stops showing us typing in the chat.
pub(crate) async fn set_typing(
    state: &AppState,
    session: &SessionRef,
    chat: &ChatId,
    on: bool,
) -> ApiResult<Reply<Done>> {
    state
        .core
        .sessions()
        .typing(&session.id, chat.as_str(), on)
        .await?;
    Ok(Done::ok())
}
