use axum::extract::State;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use wawp_core::media::{Expect, MediaKind};

use super::media_shared::{self, Sending, send_file};
use crate::error::ApiResult;
use crate::extract::{ChatId, FileFields, Required, SessionRef, WithFile};
use crate::openapi::{CommonErrors, InstanceQuery, MediaErrors};
use crate::reply::Reply;
use crate::routes::messages::view::MessageObject;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct SendImageParams {
    #[serde(rename = "chatId")]
    pub chat_id: ChatId,
    /// `file[url]`, `file[filename]`, `file[mimetype]`; or a multipart part `file`.
    #[serde(default)]
    #[schema(value_type = Option<FileFields>)]
    pub file: Option<Value>,
    /// Caption shown under the image.
    #[serde(default)]
    pub caption: Option<String>,
    #[serde(default)]
    pub reply_to: Option<String>,
}

impl Required for SendImageParams {
    const REQUIRED: &'static [&'static str] = media_shared::REQUIRED;
}

/// Send Image
///
/// Sends a JPEG, PNG, WebP or GIF image (by URL or upload) with an optional caption, optionally
/// as a reply. The type is read from the file's bytes (`415` when it is not an image).
#[utoipa::path(method(post, get), path = "/v2/send/image", tag = "Send Messages", operation_id = "send_image",
    params(InstanceQuery), request_body(content = SendImageParams),
    responses((status = 200, description = "The sent message", body = MessageObject), MediaErrors, CommonErrors))]
pub async fn send_image(
    State(state): State<AppState>,
    session: SessionRef,
    WithFile(p, file): WithFile<SendImageParams>,
) -> ApiResult<Reply<MessageObject>> {
    let file = state.core.media().load(file, Expect::Image).await?;
    let how = Sending::new(&p.chat_id, p.reply_to.as_deref(), MediaKind::Image).caption(p.caption);
    send_file(&state, &session, file, how).await
}
