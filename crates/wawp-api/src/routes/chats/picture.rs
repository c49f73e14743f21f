use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::extract::{ChatId, Params, Required, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChatPictureParams {
    /// A user (`447441429009@c.us`, or a bare number) or a group (`…@g.us`).
    #[serde(rename = "chatId")]
    pub chat_id: ChatId,
    /// Ask WhatsApp again instead of answering from the 24-hour cache.
    #[serde(default)]
    pub refresh: Option<bool>,
}

impl Required for ChatPictureParams {
    const REQUIRED: &'static [&'static str] = &["instance_id", "access_token", "chatId"];
}

/// A chat's profile picture.
///
/// Wawp: the shape documented for `/v2/contacts/profile-picture` (`{id, url}`), also for
/// `/v2/chats/picture`, whose document only shows a generic success. "No picture" (none set, or
/// hidden by the owner's privacy) is a 200 with `url: null`, the "null response" both documents
/// tell clients to render as an initials avatar.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "447441429009@c.us",
    "url": "https://pps.whatsapp.net/v/t61.24694-24/123_456_n.jpg?ccb=11-4&oh=…&oe=…"}))]
pub struct ProfilePicture {
    /// The chat asked for, normalized (`…@c.us`, `…@g.us`).
    pub id: String,
    /// The full-size picture on WhatsApp's CDN (the link expires; download it rather than store
    /// it); `null` when there is none or its privacy hides it.
    pub url: Option<String>,
}

/// Get chat picture
///
/// The profile picture URL of a user or a group, from a 24-hour cache unless `refresh=true`.
#[utoipa::path(get, path = "/v2/chats/picture", tag = "Chat Actions", operation_id = "get_chat_picture",
    params(InstanceQuery), request_body(content = ChatPictureParams),
    responses((status = 200, description = "The picture URL, or `url: null`", body = ProfilePicture),
        CommonErrors))]
pub async fn get_chat_picture(
    State(state): State<AppState>,
    session: SessionRef,
    Params(p): Params<ChatPictureParams>,
) -> ApiResult<Reply<ProfilePicture>> {
    picture(&state, &session, p.chat_id, p.refresh.unwrap_or(false)).await
}

/// The one operation behind `/v2/chats/picture` and `/v2/contacts/profile-picture`.
pub(crate) async fn picture(
    state: &AppState,
    session: &SessionRef,
    chat: ChatId,
    refresh: bool,
) -> ApiResult<Reply<ProfilePicture>> {
    let url = state
        .core
        .sessions()
        .chat_picture(&session.id, chat.as_str(), refresh)
        .await?;
    Ok(Reply(ProfilePicture {
        id: chat.to_string(),
        url,
    }))
}
