use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::list_param;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Params, Required, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReplayParams {
    /// Event ids (`evt_…`) to send again to every webhook they went to.
    #[serde(default, rename = "eventIds")]
    #[schema(value_type = Option<Vec<String>>)]
    pub event_ids: Option<Value>,
    /// `true`: send every dead delivery again.
    #[serde(default)]
    pub dead: Option<bool>,
}

impl Required for ReplayParams {
    const REQUIRED: &'static [&'static str] = &["instance_id", "access_token"];
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"success": true, "queued": 3}))]
pub struct ReplayResult {
    pub success: bool,
    /// Deliveries put back in line (attempts start over).
    pub queued: u64,
}

/// Replay webhook events
///
/// Sends chosen events again (`eventIds`), or every dead letter (`dead=true`), or both. A wawp
/// extension.
#[utoipa::path(post, path = "/v2/webhooks/replay", tag = "Webhooks", operation_id = "replay_webhook_events",
    params(InstanceQuery), request_body(content = ReplayParams),
    responses((status = 200, description = "Queued", body = ReplayResult), CommonErrors))]
pub async fn replay_events(
    State(state): State<AppState>,
    session: SessionRef,
    Params(p): Params<ReplayParams>,
) -> ApiResult<Reply<ReplayResult>> {
    let ids: Vec<String> = list_param("eventIds", p.event_ids.unwrap_or(Value::Null))?
        .into_iter()
        .map(|v| match v {
            Value::String(s) => Ok(s),
            _ => Err(ApiError::invalid(
                "eventIds",
                "eventIds must be event id strings",
            )),
        })
        .collect::<Result<_, _>>()?;
    let dead = p.dead.unwrap_or(false);
    if ids.is_empty() && !dead {
        return Err(ApiError::invalid(
            "eventIds",
            "give eventIds, or dead=true to replay the dead letters",
        ));
    }
    let queued = state
        .core
        .events()
        .replay(session.id.as_str(), &ids, dead)
        .await?;
    Ok(Reply(ReplayResult {
        success: true,
        queued,
    }))
}
