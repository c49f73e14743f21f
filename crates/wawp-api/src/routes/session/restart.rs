use axum::extract::State;

use super::SessionState;
use crate::error::ApiResult;
use crate::extract::SessionRef;
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::state::AppState;

/// Restart Session
///
/// Stops and starts the instance; a linked session comes back without a QR.
#[utoipa::path(method(post, get), path = "/v2/session/restart", tag = "Session Management", operation_id = "restart_session",
    params(InstanceQuery), responses((status = 200, description = "Restart Session", body = SessionState), CommonErrors))]
pub async fn restart_session(
    State(state): State<AppState>,
    session: SessionRef,
) -> ApiResult<Reply<SessionState>> {
    let view = state.core.sessions().restart(&session.id).await?;
    Ok(Reply(view.into()))
}
