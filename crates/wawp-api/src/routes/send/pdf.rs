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
pub struct SendPdfParams {
    #[serde(rename = "chatId")]
    pub chat_id: ChatId,
    /// `file[url]`, `file[filename]` (shown to the recipient), `file[mimetype]`; or a multipart
    /// part `file`.
    #[serde(default)]
    #[schema(value_type = Option<FileFields>)]
    pub file: Option<Value>,
    /// Caption shown under the document.
    #[serde(default)]
    pub caption: Option<String>,
    #[serde(default)]
    pub reply_to: Option<String>,
}

impl Required for SendPdfParams {
    const REQUIRED: &'static [&'static str] = media_shared::REQUIRED;
}

/// Send PDF
///
/// Sends a document (a PDF or any other file) with its file name and an optional caption. The
/// MIME type is read from the bytes when they tell, else `file[mimetype]` is used.
#[utoipa::path(method(post, get), path = "/v2/send/pdf", tag = "Send Messages", operation_id = "send_pdf",
    params(InstanceQuery), request_body(content = SendPdfParams),
    responses((status = 200, description = "The sent message", body = MessageObject), MediaErrors, CommonErrors))]
pub async fn send_pdf(
    State(state): State<AppState>,
    session: SessionRef,
    WithFile(p, file): WithFile<SendPdfParams>,
) -> ApiResult<Reply<MessageObject>> {
    let file = state.core.media().load(file, Expect::Document).await?;
    let how =
        Sending::new(&p.chat_id, p.reply_to.as_deref(), MediaKind::Document).caption(p.caption);
    send_file(&state, &session, file, how).await
}
