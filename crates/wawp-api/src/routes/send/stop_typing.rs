use axum::extract::State;

use super::ChatParams;
use crate::error::ApiResult;
use crate::extract::{Params, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::{Done, Reply};
use crate::state::AppState;

/// Stop Typing
///
/// Stops showing "typing…" in the chat.
#[utoipa::path(post, path = "/v2/send/stop-typing", tag = "Send Messages", operation_id = "stop_typing",
    params(InstanceQuery), request_body(content = ChatParams),
    responses((status = 200, description = "Typing stopped", body = Done), CommonErrors))]
pub async fn stop_typing(
    State(state): State<AppState>,
    session: SessionRef,
    Params(p): Params<ChatParams>,
) -> ApiResult<Reply<Done>> {
    super::set_typing(&state, &session, &p.chat_id, false).await
}
