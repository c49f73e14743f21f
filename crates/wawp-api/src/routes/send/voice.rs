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
pub struct SendVoiceParams {
    #[serde(rename = "chatId")]
    pub chat_id: ChatId,
    /// `file[url]`, `file[filename]`, `file[mimetype]`; or a multipart part `file`.
    #[serde(default)]
    #[schema(value_type = Option<FileFields>)]
    pub file: Option<Value>,
    /// Transcode to OGG/Opus first (any audio or video ffmpeg reads). Without it the file must
    /// already be a voice note (OGG/Opus).
    #[serde(default)]
    pub convert: Option<bool>,
    #[serde(default)]
    pub reply_to: Option<String>,
}

impl Required for SendVoiceParams {
    const REQUIRED: &'static [&'static str] = media_shared::REQUIRED;
}

/// Send Voice
///
/// Sends a voice note (push-to-talk). With `convert=true` the file is transcoded to OGG/Opus
/// with ffmpeg; otherwise it is sent as is.
#[utoipa::path(method(post, get), path = "/v2/send/voice", tag = "Send Messages", operation_id = "send_voice",
    params(InstanceQuery), request_body(content = SendVoiceParams),
    responses((status = 200, description = "The sent message", body = MessageObject), MediaErrors, CommonErrors))]
pub async fn send_voice(
    State(state): State<AppState>,
    session: SessionRef,
    WithFile(p, file): WithFile<SendVoiceParams>,
) -> ApiResult<Reply<MessageObject>> {
    let convert = p.convert.unwrap_or(false);
    let media = state.core.media();
    let file = media
        .load(
            file,
            Expect::Audio {
                convertible: convert,
            },
        )
        .await?;
    let file = media.voice_note(file, convert).await?;
    let how = Sending::new(&p.chat_id, p.reply_to.as_deref(), MediaKind::Audio).voice_note();
    send_file(&state, &session, file, how).await
}
