//! `GET /health` (the process answers) and `GET /ready` (restored sessions have started; the
//! binary flips [`AppState::mark_ready`]).

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::reply::Reply;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct Health {
    /// `ok`, or `starting` from `/ready` before the server is ready.
    pub status: &'static str,
}

/// Health
///
/// 200 as long as the server answers.
#[utoipa::path(get, path = "/health", tag = "Server", operation_id = "health",
    responses((status = 200, body = Health)))]
pub async fn health() -> Reply<Health> {
    Reply(Health { status: "ok" })
}

/// Ready
///
/// 200 once the sessions that were running have been restored; 503 before.
#[utoipa::path(get, path = "/ready", tag = "Server", operation_id = "ready",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Reply<Health>) {
    if state.is_ready() {
        (StatusCode::OK, Reply(Health { status: "ok" }))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Reply(Health { status: "starting" }),
        )
    }
}
