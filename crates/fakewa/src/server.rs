//! The single listener: WebSocket upgrade at `/ws/chat`, readiness at `/`, the admin API under `/admin`.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::response::Response;
use axum::routing::get;

use crate::{Shared, admin, conn};

pub(crate) fn app(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(ready))
        .route("/ws/chat", get(ws_chat))
        .nest("/admin", admin::routes())
        .with_state(shared)
}

async fn ready() -> &'static str {
    "fakewa ready\n"
}

async fn ws_chat(State(shared): State<Arc<Shared>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| conn::serve(socket, shared))
}
