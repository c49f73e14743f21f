//! The caller: a [`Tenant`] from `Authorization: Bearer <token>` or the `access_token` parameter
//! (API-CONVENTIONS.md "Parameters"). Missing → `400 missing_param` (as the documents' create
//! example); unknown or revoked → `401 invalid_access_token`; over the token's rate → `429`.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use wawp_core::tenancy::Tenant;

use crate::error::ApiError;
use crate::extract::raw::RawParams;
use crate::state::AppState;

/// An authenticated caller (extractor).
#[derive(Clone, Debug)]
pub struct Auth(pub Tenant);

/// The bearer token of the request, if any (header first, then the `access_token` parameter).
pub(crate) fn presented_token(parts: &Parts, raw: &RawParams) -> Option<String> {
    bearer(parts).or_else(|| raw.string("access_token"))
}

/// `Authorization: Bearer <token>` (scheme case-insensitive).
pub(crate) fn bearer(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_string())
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(auth) = parts.extensions.get::<Auth>() {
            return Ok(auth.clone());
        }
        let raw = RawParams::from_request_parts(parts, state).await?;
        let token = presented_token(parts, &raw)
            .ok_or_else(|| ApiError::missing(&["access_token".to_string()]))?;
        let tenancy = state.core.tenancy();
        let tenant = tenancy.authenticate(&token).await?;
        tenancy.check_token(&tenant)?;
        let auth = Auth(tenant);
        parts.extensions.insert(auth.clone());
        Ok(auth)
    }
}
