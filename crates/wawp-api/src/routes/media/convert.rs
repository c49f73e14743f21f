use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use wawp_core::media::Expect;

use crate::error::{ApiError, ApiResult};
use crate::extract::{FileFields, Required, SessionRef, WithFile};
use crate::openapi::{CommonErrors, InstanceQuery, MediaErrors};
use crate::reply::Reply;
use crate::routes::files::file_url;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct ConvertMediaParams {
    /// `{url, filename, mimetype}` (or `file[url]`…, or a multipart part `file`).
    #[serde(default)]
    #[schema(value_type = Option<FileFields>)]
    pub file: Option<Value>,
    /// `ogg` (OGG/Opus voice note; also `opus`, `oga`) or `mp4` (H.264 + AAC).
    #[serde(rename = "outputFormat")]
    #[schema(example = "ogg")]
    pub output_format: String,
}

impl Required for ConvertMediaParams {
    const REQUIRED: &'static [&'static str] =
        &["instance_id", "access_token", "file", "outputFormat"];
}

/// A converted file, served by wawp until it expires.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"url": "https://wa.example.com/v2/files/3f2a9c0d6b1e4f8a9c0d6b1e4f8a9c0d.ogg",
    "filename": "converted.ogg", "mimetype": "audio/ogg; codecs=opus"}))]
pub struct ConvertedFile {
    /// Where to get it (`GET /v2/files/<name>`, no token needed; the name is unguessable).
    pub url: String,
    pub filename: String,
    pub mimetype: String,
}

/// Convert Media
///
/// Converts an audio or video file to a WhatsApp format with ffmpeg: `ogg` (OGG/Opus, a voice
/// note) or `mp4` (H.264 + AAC). Answers where wawp serves the result, for a limited time.
#[utoipa::path(post, path = "/v2/media/convert", tag = "Media", operation_id = "convert_media",
    params(InstanceQuery), request_body(content = ConvertMediaParams),
    responses((status = 200, description = "The converted file", body = ConvertedFile), MediaErrors, CommonErrors))]
pub async fn convert_media(
    State(state): State<AppState>,
    _session: SessionRef,
    headers: HeaderMap,
    WithFile(p, file): WithFile<ConvertMediaParams>,
) -> ApiResult<Reply<ConvertedFile>> {
    let media = state.core.media();
    let format = p
        .output_format
        .trim()
        .trim_start_matches('.')
        .to_ascii_lowercase();
    let converted = match format.as_str() {
        "ogg" | "opus" | "oga" => {
            let file = media.load(file, Expect::AudioOrVideo).await?;
            media.to_voice(file).await?
        }
        "mp4" => {
            let file = media.load(file, Expect::Video).await?;
            media.to_mp4(file, false).await?
        }
        _ => {
            return Err(ApiError::invalid(
                "outputFormat",
                "outputFormat must be ogg or mp4.",
            ));
        }
    };
    let stored = media
        .files()
        .put(&converted.bytes, &converted.filename, &converted.mimetype)
        .await?;
    Ok(Reply(ConvertedFile {
        url: file_url(&state, &headers, &stored.name),
        filename: stored.filename,
        mimetype: stored.mimetype,
    }))
}
