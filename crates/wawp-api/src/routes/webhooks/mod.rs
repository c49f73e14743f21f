//! Webhooks (`/v2/webhooks*`): read and replace an instance's webhooks, list delivery attempts
//! and dead letters, replay events.
//!
//! Wawp: these routes are wawp extensions. The documents list no `/v2/webhooks` route (their
//! "Webhooks" category holds the event payloads and an overview that configures webhooks in the
//! dashboard); wawp serves the same configuration over the API, next to `config.webhooks` at
//! `/v2/session/create`.

mod deliveries;
mod index;
mod replay;

pub use deliveries::*;
pub use index::*;
pub use replay::*;

use axum::http::Method;
use serde_json::Value;

use crate::error::ApiError;
use crate::routes::Table;

pub(crate) fn table() -> Table {
    use Method as M;
    Table::new()
        .route(&[M::GET], "/v2/webhooks", None, list_webhooks)
        .route(&[M::PUT], "/v2/webhooks", None, replace_webhooks)
        .route(&[M::GET], "/v2/webhooks/deliveries", None, list_deliveries)
        .route(&[M::POST], "/v2/webhooks/replay", None, replay_events)
}

/// A list parameter given as a JSON array, a JSON string of an array (form fields), one object,
/// or a comma-separated string (for names).
pub(crate) fn list_param(name: &str, value: Value) -> Result<Vec<Value>, ApiError> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => Ok(items),
        Value::Object(_) => Ok(vec![value]),
        Value::String(s) if s.trim_start().starts_with(['[', '{']) => {
            let parsed: Value = serde_json::from_str(&s)
                .map_err(|e| ApiError::invalid(name, format!("{name} is not valid JSON: {e}")))?;
            list_param(name, parsed)
        }
        Value::String(s) => Ok(s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| Value::String(s.to_string()))
            .collect()),
        other => Err(ApiError::invalid(
            name,
            format!("{name} must be a list, not {other}"),
        )),
    }
}
