use axum::extract::State;

use super::SessionStatusView;
use crate::error::ApiResult;
use crate::extract::SessionRef;
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::state::AppState;

/// Delete Session
///
/// Stops, unlinks and erases the instance with its keys and data. There is no undo.
#[utoipa::path(delete, path = "/v2/session/delete", tag = "Session Management", operation_id = "delete_session",
    params(InstanceQuery), responses((status = 200, description = "Deleted", body = SessionStatusView,
        example = json!({"name": "wawp-84729105", "status": "DELETED", "instance_id": "3EB0BCB2E3D4"})), CommonErrors))]
pub async fn delete_session(
    State(state): State<AppState>,
    session: SessionRef,
) -> ApiResult<Reply<SessionStatusView>> {
    let sessions = state.core.sessions();
    // The name is gone once deleted: read it first.
    let view = sessions.info(&session.id).await?;
    sessions.delete(&session.id).await?;
    Ok(Reply(SessionStatusView {
        name: view.name,
        status: "DELETED".into(),
        instance_id: view.instance_id,
    }))
}
