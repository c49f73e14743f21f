use axum::extract::State;

use super::SessionStatusView;
use crate::error::ApiResult;
use crate::extract::SessionRef;
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::state::AppState;

/// Logout Session
///
/// Unlinks the WhatsApp account; the instance stays and goes back to `SCAN_QR_CODE`.
#[utoipa::path(method(post, get), path = "/v2/session/logout", tag = "Session Management", operation_id = "logout_session",
    params(InstanceQuery), responses((status = 200, description = "Logged out", body = SessionStatusView,
        example = json!({"name": "wawp-84729105", "status": "SCAN_QR_CODE", "instance_id": "3EB0BCB2E3D4"})), CommonErrors))]
pub async fn logout_session(
    State(state): State<AppState>,
    session: SessionRef,
) -> ApiResult<Reply<SessionStatusView>> {
    let view = state.core.sessions().logout(&session.id).await?;
    Ok(Reply(SessionStatusView {
        name: view.name,
        status: view.status.to_string(),
        instance_id: view.instance_id,
    }))
}
