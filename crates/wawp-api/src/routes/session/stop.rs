use axum::extract::State;

use super::SessionState;
use crate::error::ApiResult;
use crate::extract::SessionRef;
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::state::AppState;

/// Stop Session
///
/// Stops the instance's WhatsApp engine. The link is kept: a later start needs no QR.
#[utoipa::path(method(post, get), path = "/v2/session/stop", tag = "Session Management", operation_id = "stop_session",
    params(InstanceQuery), responses((status = 200, description = "Stop Session", body = SessionState), CommonErrors))]
pub async fn stop_session(
    State(state): State<AppState>,
    session: SessionRef,
) -> ApiResult<Reply<SessionState>> {
    let view = state.core.sessions().stop(&session.id).await?;
    Ok(Reply(view.into()))
}
