use axum::extract::State;

use crate::error::ApiResult;
use crate::extract::{Params, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::{Done, Reply};
use crate::routes::send::ChatParams;
use crate::state::AppState;

/// Mark chat as unread
///
/// Marks the chat unread on every device of the account (as "Mark as unread" on the phone).
#[utoipa::path(post, path = "/v2/chats/unread", tag = "Chat Actions", operation_id = "mark_chat_as_unread",
    params(InstanceQuery), request_body(content = ChatParams),
    responses((status = 200, description = "Marked unread", body = Done), CommonErrors))]
pub async fn mark_chat_as_unread(
    State(state): State<AppState>,
    session: SessionRef,
    Params(p): Params<ChatParams>,
) -> ApiResult<Reply<Done>> {
    state
        .core
        .sessions()
        .mark_chat_unread(&session.id, p.chat_id.as_str())
        .await?;
    Ok(Done::ok())
}
