use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wawp_core::model::{SessionConfig, SessionStatus};

use crate::error::ApiResult;
use crate::extract::{Auth, Params, Required};
use crate::openapi::{CommonErrors, TokenQuery};
use crate::reply::Reply;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateSessionParams {
    /// Optional instance configuration: `webhooks`, `proxy`, `metadata`, … (an object, or the
    /// same object as a JSON string in a form field).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub config: Option<SessionConfig>,
}

impl Required for CreateSessionParams {
    const REQUIRED: &'static [&'static str] = &["access_token"];
}

/// The new instance.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"instance_id": "3EB0BCB2E3D4", "session_name": "wawp-84729105", "status": "STARTING",
    "server_name": "wawp-api-prod-50", "config": {}}))]
pub struct SessionCreated {
    /// 12 characters `[A-Z0-9]`: store it, every other call needs it.
    pub instance_id: String,
    pub session_name: String,
    #[schema(value_type = String, example = "STARTING")]
    pub status: SessionStatus,
    /// The server that holds the instance.
    pub server_name: String,
    #[schema(value_type = Object)]
    pub config: SessionConfig,
}

/// Create Session
///
/// Provisions a fresh instance for the caller's token (within its instance quota) and starts it.
#[utoipa::path(post, path = "/v2/session/create", tag = "Session Management", operation_id = "create_session",
    params(TokenQuery), request_body(content = CreateSessionParams, description = "Optional configuration"),
    responses((status = 201, description = "Session created", body = SessionCreated), CommonErrors))]
pub async fn create_session(
    State(state): State<AppState>,
    Params(p): Params<CreateSessionParams>,
    Auth(tenant): Auth,
) -> ApiResult<(StatusCode, Reply<SessionCreated>)> {
    let view = state
        .core
        .sessions()
        .create(&tenant, p.config.unwrap_or_default())
        .await?;
    let created = SessionCreated {
        instance_id: view.instance_id,
        session_name: view.name,
        status: view.status,
        server_name: state.core.config().server_name.clone(),
        config: view.config,
    };
    Ok((StatusCode::CREATED, Reply(created)))
}
