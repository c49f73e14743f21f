use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wawp_core::events::DeliveryRow;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Params, Required, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct DeliveriesParams {
    /// `pending`, `delivered` or `dead` (dead letters); all when absent.
    #[serde(default)]
    pub status: Option<String>,
    /// At most this many, newest first (default 100, at most 1000).
    #[serde(default)]
    pub limit: Option<u32>,
}

impl Required for DeliveriesParams {
    const REQUIRED: &'static [&'static str] = &["instance_id", "access_token"];
}

/// One event's delivery to one webhook.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub id: i64,
    #[schema(example = "evt_01JQ8Z6V7XK4M2N3P5R6S7T8V9")]
    pub event_id: String,
    #[schema(example = "message")]
    pub event: String,
    pub webhook_id: String,
    pub url: String,
    /// `pending`, `delivered` or `dead`.
    #[schema(example = "delivered")]
    pub status: String,
    /// Requests made so far.
    pub attempts: i64,
    /// When the next attempt is due (epoch ms; pending only).
    pub next_attempt_at: Option<i64>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub last_latency_ms: Option<i64>,
    pub delivered_at: Option<i64>,
    pub created_at: i64,
}

impl From<DeliveryRow> for Delivery {
    fn from(r: DeliveryRow) -> Self {
        Delivery {
            id: r.id,
            event_id: r.event_id,
            event: r.event_name,
            webhook_id: r.webhook_id,
            url: r.url,
            next_attempt_at: (r.status == "pending").then_some(r.next_attempt_at),
            status: r.status,
            attempts: r.attempts,
            last_status_code: r.last_status_code,
            last_error: r.last_error,
            last_latency_ms: r.last_latency_ms,
            delivered_at: r.delivered_at,
            created_at: r.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<Delivery>,
}

/// List webhook deliveries
///
/// Recent delivery attempts of the instance's events, newest first: status, attempts, latency
/// and last error; `status=dead` lists the dead letters. A wawp extension.
#[utoipa::path(get, path = "/v2/webhooks/deliveries", tag = "Webhooks", operation_id = "list_webhook_deliveries",
    params(InstanceQuery), request_body(content = DeliveriesParams),
    responses((status = 200, description = "Deliveries", body = DeliveryList), CommonErrors))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    session: SessionRef,
    Params(p): Params<DeliveriesParams>,
) -> ApiResult<Reply<DeliveryList>> {
    let status = p.status.filter(|s| !s.is_empty());
    if let Some(s) = &status
        && !matches!(s.as_str(), "pending" | "delivered" | "dead")
    {
        return Err(ApiError::invalid(
            "status",
            "status must be pending, delivered or dead",
        ));
    }
    let limit = i64::from(p.limit.unwrap_or(100).clamp(1, 1000));
    let rows = state
        .core
        .events()
        .deliveries(session.id.as_str(), status.as_deref(), limit)
        .await?;
    Ok(Reply(DeliveryList {
        deliveries: rows.into_iter().map(Delivery::from).collect(),
    }))
}
