use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::list_param;
use crate::error::ApiResult;
use crate::extract::{Params, Required, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::state::AppState;

/// An instance's webhooks. Secrets and custom header values are never shown: they read `"***"`
/// (send `"***"` back to keep the current value).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"webhooks": [{"id": "wh_1f2e3d4c5b6a7988", "url": "https://example.com/hook",
    "events": ["message", "session.status"], "secret": "***",
    "retries": {"attempts": 5, "delaySeconds": 5, "policy": "constant"},
    "customHeaders": [{"name": "X-Api-Key", "value": "***"}]}]}))]
pub struct WebhookList {
    #[schema(value_type = Vec<Object>)]
    pub webhooks: Vec<Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReplaceWebhooksParams {
    /// The new list (replaces the current one; `[]` removes every webhook). Each:
    /// `{url, events?: ["*"], secret?, retries?: {attempts: 5, delaySeconds: 5,
    /// policy: constant|linear|exponential}, customHeaders?: [{name, value}], id?}`.
    /// `attempts` counts retries after the first try; `"*"` is every event but `engine.event`.
    /// URLs must be http(s) and public (private addresses only when the operator allows them).
    /// A `secret` signs requests (Standard Webhooks headers); `whsec_<base64>` secrets sign with
    /// the decoded bytes, others with their UTF-8 bytes.
    #[schema(value_type = Vec<Object>)]
    pub webhooks: Value,
}

impl Required for ReplaceWebhooksParams {
    const REQUIRED: &'static [&'static str] = &["instance_id", "access_token", "webhooks"];
}

/// List webhooks
///
/// The instance's webhooks (secrets and header values hidden). A wawp extension: the Wawp
/// documents configure webhooks in their dashboard.
#[utoipa::path(get, path = "/v2/webhooks", tag = "Webhooks", operation_id = "list_webhooks",
    params(InstanceQuery), responses((status = 200, description = "Webhooks", body = WebhookList), CommonErrors))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    session: SessionRef,
) -> ApiResult<Reply<WebhookList>> {
    let webhooks = state.core.events().webhooks(session.id.as_str()).await?;
    Ok(Reply(WebhookList { webhooks }))
}

/// Replace webhooks
///
/// Validates every webhook (`invalid_param` names the bad entry) and makes the list the
/// instance's webhooks; events from now on go to them. A wawp extension.
#[utoipa::path(put, path = "/v2/webhooks", tag = "Webhooks", operation_id = "replace_webhooks",
    params(InstanceQuery), request_body(content = ReplaceWebhooksParams),
    responses((status = 200, description = "The webhooks now set", body = WebhookList), CommonErrors))]
pub async fn replace_webhooks(
    State(state): State<AppState>,
    session: SessionRef,
    Params(p): Params<ReplaceWebhooksParams>,
) -> ApiResult<Reply<WebhookList>> {
    let given = list_param("webhooks", p.webhooks)?;
    let webhooks = state
        .core
        .events()
        .set_webhooks(session.id.as_str(), &given)
        .await?;
    Ok(Reply(WebhookList { webhooks }))
}
