use axum::extract::State;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use wawp_core::media::{Expect, LinkPreview};

use crate::error::{ApiError, ApiResult};
use crate::extract::file::file_input;
use crate::extract::{ChatId, Params, RawParams, Required, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery, MediaErrors};
use crate::reply::Reply;
use crate::routes::messages::view::MessageObject;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct SendLinkPreviewParams {
    #[serde(rename = "chatId")]
    pub chat_id: ChatId,
    /// The link to preview (added to the text when the text does not contain it).
    #[schema(example = "https://wawp.net")]
    pub url: String,
    /// The message text.
    #[serde(default)]
    pub text: Option<String>,
    /// URL of a JPEG/PNG thumbnail (or a multipart part `thumbnail`).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub thumbnail: Option<Value>,
    /// Title of the preview card.
    #[serde(default)]
    pub title: Option<String>,
    /// Description of the preview card.
    #[serde(default)]
    pub description: Option<String>,
    /// Also upload the thumbnail as a large preview image.
    #[serde(rename = "linkPreviewHighQuality", default)]
    pub high_quality: Option<bool>,
    #[serde(default)]
    pub reply_to: Option<String>,
}

impl Required for SendLinkPreviewParams {
    const REQUIRED: &'static [&'static str] = &["instance_id", "access_token", "chatId", "url"];
}

/// Send Link Preview
///
/// Sends a text whose link shows a preview card with a custom title, description and thumbnail.
/// With `linkPreviewHighQuality=true` the thumbnail is also uploaded as a large preview.
#[utoipa::path(method(post, get), path = "/v2/send/link-preview", tag = "Send Messages", operation_id = "send_link_preview",
    params(InstanceQuery), request_body(content = SendLinkPreviewParams),
    responses((status = 200, description = "The sent message", body = MessageObject), MediaErrors, CommonErrors))]
pub async fn send_link_preview(
    State(state): State<AppState>,
    session: SessionRef,
    raw: RawParams,
    Params(p): Params<SendLinkPreviewParams>,
) -> ApiResult<Reply<MessageObject>> {
    let url = p.url.trim().to_string();
    if !(url.starts_with("http://") || url.starts_with("https://"))
        || url.contains(char::is_whitespace)
    {
        return Err(ApiError::invalid("url", "url must be an http(s) link."));
    }
    let thumbnail = match file_input(&raw, "thumbnail") {
        Some(input) => Some(
            state
                .core
                .media()
                .load(input, Expect::Image)
                .await
                .map_err(|e| ApiError::from(e).with("param", "thumbnail"))?
                .bytes,
        ),
        None => None,
    };
    let text = p.text.map(|t| t.trim().to_string()).unwrap_or_default();
    let text = if text.contains(&url) {
        text
    } else if text.is_empty() {
        url.clone()
    } else {
        format!("{text}\n{url}")
    };
    let preview = LinkPreview {
        text,
        url,
        title: p.title.filter(|t| !t.trim().is_empty()),
        description: p.description.filter(|d| !d.trim().is_empty()),
        thumbnail,
        high_quality: p.high_quality.unwrap_or(false),
    };
    let sent = state
        .core
        .sessions()
        .send_link_preview(
            &session.id,
            p.chat_id.as_str(),
            preview,
            super::reply_to(p.reply_to.as_deref()),
        )
        .await?;
    Ok(Reply(MessageObject(sent)))
}
