use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ChatId, Params, Required, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::routes::messages::view::MessageObject;
use crate::state::AppState;

/// Longest text WhatsApp accepts in one message.
const MAX_TEXT: usize = 65_536;

#[derive(Debug, Deserialize, ToSchema)]
pub struct SendTextParams {
    /// Recipient: `<digits>@c.us`, a group `@g.us`, a channel `@newsletter`, or a phone number.
    #[serde(rename = "chatId")]
    pub chat_id: ChatId,
    /// The text.
    #[schema(example = "Hi from Wawp")]
    pub message: String,
    /// Id (serialized or bare) of the message this one answers.
    #[serde(default)]
    pub reply_to: Option<String>,
}

impl Required for SendTextParams {
    const REQUIRED: &'static [&'static str] = &["instance_id", "access_token", "chatId", "message"];
}

/// Send Text Message
///
/// Sends a text, optionally as a reply (`reply_to`), and answers with the sent message.
#[utoipa::path(method(post, get), path = "/v2/send/text", tag = "Send Messages", operation_id = "send_text_message",
    params(InstanceQuery), request_body(content = SendTextParams),
    responses((status = 200, description = "The sent message", body = MessageObject), CommonErrors))]
pub async fn send_text_message(
    State(state): State<AppState>,
    session: SessionRef,
    Params(p): Params<SendTextParams>,
) -> ApiResult<Reply<MessageObject>> {
    if p.message.is_empty() {
        return Err(ApiError::invalid("message", "message must not be empty."));
    }
    if p.message.len() > MAX_TEXT {
        return Err(ApiError::invalid(
            "message",
            "message is longer than 65536 bytes.",
        ));
    }
    let reply_to = super::reply_to(p.reply_to.as_deref());
    let sent = state
        .core
        .sessions()
        .send_text(&session.id, p.chat_id.as_str(), &p.message, reply_to)
        .await?;
    Ok(Reply(MessageObject(sent)))
}
