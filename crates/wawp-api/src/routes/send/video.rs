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
pub struct SendVideoParams {
    #[serde(rename = "chatId")]
    pub chat_id: ChatId,
    /// `file[url]`, `file[filename]`, `file[mimetype]`; or a multipart part `file`.
    #[serde(default)]
    #[schema(value_type = Option<FileFields>)]
    pub file: Option<Value>,
    /// Caption shown under the video (not on round video notes).
    #[serde(default)]
    pub caption: Option<String>,
    /// Transcode to MP4 (H.264 + AAC) first.
    #[serde(default)]
    pub convert: Option<bool>,
    /// Send as a round video note (cropped to a square when converted).
    #[serde(rename = "asNote", default)]
    pub as_note: Option<bool>,
    #[serde(default)]
    pub reply_to: Option<String>,
}

impl Required for SendVideoParams {
    const REQUIRED: &'static [&'static str] = media_shared::REQUIRED;
}

/// Send Video
///
/// Sends a video, or with `asNote=true` a round video note. With `convert=true` it is transcoded
/// to MP4/H.264 with ffmpeg first.
#[utoipa::path(method(post, get), path = "/v2/send/video", tag = "Send Messages", operation_id = "send_video",
    params(InstanceQuery), request_body(content = SendVideoParams),
    responses((status = 200, description = "The sent message", body = MessageObject), MediaErrors, CommonErrors))]
pub async fn send_video(
    State(state): State<AppState>,
    session: SessionRef,
    WithFile(p, file): WithFile<SendVideoParams>,
) -> ApiResult<Reply<MessageObject>> {
    let as_note = p.as_note.unwrap_or(false);
    let media = state.core.media();
    let mut file = media.load(file, Expect::Video).await?;
    if p.convert.unwrap_or(false) {
        file = media.to_mp4(file, as_note).await?;
    }
    let how = Sending::new(&p.chat_id, p.reply_to.as_deref(), MediaKind::Video)
        .caption(p.caption)
        .video_note(as_note);
    send_file(&state, &session, file, how).await
}
