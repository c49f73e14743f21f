//! wawp's HTTP surface: the Wawp API v2 routes, parameter extraction, content negotiation, the
//! error model and the OpenAPI document. No WhatsApp logic and no SQL: every handler makes one
//! call into `wawp-core` and converts the answer.
//!
//! # Layout
//! - [`app`] builds the whole router from an [`AppState`]; `wawp serve` and the tests call it.
//! - [`state`]: [`AppState`] (core, [`ApiConfig`], readiness flag).
//! - [`layers`]: request id, trace (matched path only), sensitive headers, body limit,
//!   catch-panic, timeout, in one place and one order.
//! - [`extract`]: the parameter pipeline (`raw` → `auth` → `session` → `params`, plus `ids`).
//! - [`error`]: [`ApiError`] and the one `From<CoreError>` mapping.
//! - [`reply`]: [`Reply<T>`] and JSON / XML / text negotiation for successes and errors.
//! - [`routes`]: one folder per spec section, one file per URL leaf; `routes/pending.rs` lists
//!   the spec routes not served yet.
//! - [`openapi`]: `/openapi.json` (OpenAPI 3.1) and Swagger UI at `/docs`.

pub mod error;
pub mod extract;
pub mod health;
pub mod layers;
pub mod openapi;
pub mod reply;
pub mod routes;
pub mod state;

use axum::Router;
use axum::http::Method;
use axum::middleware;
use axum::routing::get;
use utoipa_swagger_ui::SwaggerUi;

pub use error::{ApiError, ApiResult, Code};
pub use reply::Reply;
pub use state::{ApiConfig, AppState};

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let buffer = middleware::from_fn_with_state(state.clone(), extract::raw::buffer_params);

    let mut api = routes::v2().router;
    if state.config.admin_key.is_some() {
        api = api.merge(routes::admin::table().router);
    }
    let api = api.route_layer(buffer);

    let router = Router::new()
        .merge(api)
        .route("/v2/pending-routes", get(routes::pending::pending_routes))
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .fallback(not_found)
        .with_state(state.clone())
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi::document()));

    layers::apply(
        router,
        state.config.body_limit,
        state.config.request_timeout,
    )
}

async fn not_found() -> ApiError {
    ApiError::route_not_found()
}

/// Every Wawp API route this build serves, as `(method, path)` pairs (spec `path`s and `realPath`
/// aliases), for comparison with the spec.
pub fn routed_operations() -> Vec<(Method, &'static str)> {
    routes::v2().ops
}

/// Routes beyond the Wawp API documents (see `routes::EXTENSIONS`).
pub fn extension_operations() -> &'static [(&'static str, &'static str)] {
    routes::EXTENSIONS
}

/// The spec routes not served yet (see `routes/pending.rs`).
pub fn pending_operations() -> &'static [routes::pending::PendingRoute] {
    routes::pending::PENDING
}
