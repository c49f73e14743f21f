use axum::extract::State;

use super::SessionState;
use crate::error::ApiResult;
use crate::extract::SessionRef;
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::state::AppState;

/// Start Session
///
/// Boots the WhatsApp engine of an instance: answers `STARTING` at once, the connection follows in the background. Repeated starts within seconds are rate limited.
#[utoipa::path(method(post, get), path = "/v2/session/start", tag = "Session Management", operation_id = "start_session",
    params(InstanceQuery), responses((status = 200, description = "Start Session", body = SessionState), CommonErrors))]
pub async fn start_session(
    State(state): State<AppState>,
    session: SessionRef,
) -> ApiResult<Reply<SessionState>> {
    state.core.tenancy().check_start(session.id.as_str())?;
    let view = state.core.sessions().start(&session.id).await?;
    Ok(Reply(view.into()))
}
