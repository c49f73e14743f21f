use axum::extract::State;

use super::ChatParams;
use crate::error::ApiResult;
use crate::extract::{Params, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::{Done, Reply};
use crate::state::AppState;

/// Start Typing
///
/// Shows "typing…" in the chat until Stop Typing (or until WhatsApp times it out).
#[utoipa::path(post, path = "/v2/send/start-typing", tag = "Send Messages", operation_id = "start_typing",
    params(InstanceQuery), request_body(content = ChatParams),
    responses((status = 200, description = "Typing shown", body = Done), CommonErrors))]
pub async fn start_typing(
    State(state): State<AppState>,
    session: SessionRef,
    Params(p): Params<ChatParams>,
) -> ApiResult<Reply<Done>> {
    super::set_typing(&state, &session, &p.chat_id, true).await
}
