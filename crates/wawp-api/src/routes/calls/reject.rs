use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::extract::{ChatId, Params, Required, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::{Done, Reply};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct RejectCallParams {
    /// The id of the ringing call (`payload.id` of `call.received`).
    #[serde(rename = "callId")]
    pub call_id: String,
    /// The caller (`payload.from` of `call.received`).
    pub from: ChatId,
}

impl Required for RejectCallParams {
    const REQUIRED: &'static [&'static str] = &["instance_id", "access_token", "callId", "from"];
}

/// Reject Call
///
/// Declines a call that rings on the session: the caller sees it rejected, and `call.rejected`
/// is emitted. `404 not_found` when no call with this id from this caller rings (unknown, or
/// already answered, rejected or ended).
#[utoipa::path(post, path = "/v2/calls/reject", tag = "Calls", operation_id = "reject_call",
    params(InstanceQuery), request_body(content = RejectCallParams),
    responses((status = 200, description = "Call rejected", body = Done), CommonErrors))]
pub async fn reject_call(
    State(state): State<AppState>,
    session: SessionRef,
    Params(p): Params<RejectCallParams>,
) -> ApiResult<Reply<Done>> {
    state
        .core
        .sessions()
        .reject_call(&session.id, p.call_id.trim(), p.from.as_str())
        .await?;
    Ok(Done::ok())
}
