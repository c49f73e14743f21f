use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wawp_core::tenancy::TokenInfo;

use super::Admin;
use crate::error::ApiResult;
use crate::extract::{Params, Required};
use crate::reply::Reply;
use crate::state::AppState;

/// An access token as the admin API shows it (never the secret, except once at creation).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    /// `null`: the server's default limit applies.
    pub max_instances: Option<u32>,
    /// Epoch milliseconds.
    pub created_at: i64,
    /// Epoch milliseconds; `null` while the token is valid.
    pub revoked_at: Option<i64>,
    /// Epoch milliseconds (updated at most every few seconds).
    pub last_used_at: Option<i64>,
}

impl From<TokenInfo> for TokenView {
    fn from(t: TokenInfo) -> Self {
        TokenView {
            id: t.id,
            name: t.name,
            max_instances: t.max_instances,
            created_at: t.created_at,
            revoked_at: t.revoked_at,
            last_used_at: t.last_used_at,
        }
    }
}

/// A new token: `token` is shown this once and stored hashed.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: TokenView,
    pub token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateTokenParams {
    pub name: String,
    pub max_instances: Option<u32>,
}

impl Required for CreateTokenParams {
    const REQUIRED: &'static [&'static str] = &["name"];
}

/// List access tokens
#[utoipa::path(get, path = "/admin/tokens", tag = "Admin", operation_id = "list_tokens",
    security(("admin_key" = [])), responses((status = 200, body = Vec<TokenView>)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    _admin: Admin,
) -> ApiResult<Reply<Vec<TokenView>>> {
    let tokens = state.core.tenancy().list_tokens().await?;
    Ok(Reply(tokens.into_iter().map(TokenView::from).collect()))
}

/// Create an access token
#[utoipa::path(post, path = "/admin/tokens", tag = "Admin", operation_id = "create_token",
    security(("admin_key" = [])), request_body = CreateTokenParams, responses((status = 201, body = CreatedToken)))]
pub async fn create_token(
    State(state): State<AppState>,
    _admin: Admin,
    Params(p): Params<CreateTokenParams>,
) -> ApiResult<(StatusCode, Reply<CreatedToken>)> {
    let (info, token) = state
        .core
        .tenancy()
        .create_token(&p.name, p.max_instances)
        .await?;
    Ok((
        StatusCode::CREATED,
        Reply(CreatedToken {
            info: info.into(),
            token,
        }),
    ))
}

/// Revoke an access token
#[utoipa::path(delete, path = "/admin/tokens/{id}", tag = "Admin", operation_id = "revoke_token",
    security(("admin_key" = [])), params(("id" = String, Path, description = "Token id")),
    responses((status = 204, description = "Revoked")))]
pub async fn revoke_token(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.core.tenancy().revoke_token(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
