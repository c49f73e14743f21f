//! Session Management (`/v2/session/*`): the route table and the views the routes answer with.

mod create;
mod delete;
mod info;
mod logout;
mod me;
mod restart;
mod start;
mod stop;

pub use create::*;
pub use delete::*;
pub use info::*;
pub use logout::*;
pub use me::*;
pub use restart::*;
pub use start::*;
pub use stop::*;

use axum::http::Method;
use serde::Serialize;
use utoipa::ToSchema;
use wawp_core::model::{SessionConfig, SessionStatus, SessionView};

use crate::routes::Table;

pub(crate) fn table() -> Table {
    use Method as M;
    Table::new()
        .route(&[M::POST], "/v2/session/create", None, create_session)
        .route(&[M::POST, M::GET], "/v2/session/start", None, start_session)
        .route(&[M::POST, M::GET], "/v2/session/stop", None, stop_session)
        .route(
            &[M::POST, M::GET],
            "/v2/session/restart",
            None,
            restart_session,
        )
        .route(
            &[M::POST, M::GET],
            "/v2/session/logout",
            None,
            logout_session,
        )
        .route(&[M::DELETE], "/v2/session/delete", None, delete_session)
        .route(&[M::POST], "/v2/session/info", None, session_info)
        .route(&[M::GET], "/v2/session/me", None, about_whatsapp_data)
}

/// A session's name, status and configuration (start, stop, restart).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"name": "wawp-84729105", "status": "STARTING", "config": {"webhooks": [], "proxy": null}}))]
pub struct SessionState {
    /// `wawp-` + 8 digits.
    pub name: String,
    /// `STOPPED`, `STARTING`, `SCAN_QR_CODE`, `WORKING` or `FAILED`.
    #[schema(value_type = String, example = "STARTING")]
    pub status: SessionStatus,
    /// The instance's configuration (`webhooks`, `proxy`, `metadata`, …).
    #[schema(value_type = Object)]
    pub config: SessionConfig,
}

impl From<SessionView> for SessionState {
    fn from(v: SessionView) -> Self {
        SessionState {
            name: v.name,
            status: v.status,
            config: v.config,
        }
    }
}

/// A session named by id, with its status (logout, delete).
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionStatusView {
    pub name: String,
    #[schema(example = "SCAN_QR_CODE")]
    pub status: String,
    #[schema(example = "3EB0BCB2E3D4")]
    pub instance_id: String,
}
