use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use wawp_core::model::{SessionConfig, SessionStatus};

use crate::error::ApiResult;
use crate::extract::SessionRef;
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::state::AppState;

/// The linked account as `info` shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct InfoMe {
    #[schema(example = "201012345678@c.us")]
    pub id: String,
    #[serde(rename = "pushName", skip_serializing_if = "Option::is_none")]
    pub push_name: Option<String>,
}

/// A session with its linked account.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"name": "wawp-84729105", "status": "WORKING", "config": {"webhooks": [], "proxy": null},
    "me": {"id": "201012345678@c.us", "pushName": "John Doe"}}))]
pub struct SessionInfo {
    pub name: String,
    #[schema(value_type = String, example = "WORKING")]
    pub status: SessionStatus,
    #[schema(value_type = Object)]
    pub config: SessionConfig,
    /// `null` until the session is linked.
    pub me: Option<InfoMe>,
}

/// Session Info
///
/// The session's live status, configuration and linked account.
#[utoipa::path(post, path = "/v2/session/info", tag = "Session Management", operation_id = "session_info",
    params(InstanceQuery), responses((status = 200, description = "Session info", body = SessionInfo), CommonErrors))]
pub async fn session_info(
    State(state): State<AppState>,
    session: SessionRef,
) -> ApiResult<Reply<SessionInfo>> {
    let view = state.core.sessions().info(&session.id).await?;
    Ok(Reply(SessionInfo {
        name: view.name,
        status: view.status,
        config: view.config,
        me: view.me.map(|me| InfoMe {
            id: me.id,
            push_name: me.push_name,
        }),
    }))
}
