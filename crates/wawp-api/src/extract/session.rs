//! [`SessionRef`]: the caller's instance named by `instance_id`. An unknown instance and another
//! tenant's instance are the same `404 invalid_session` (never reveal which). Each instance has
//! its own rate limit, checked here.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use wawp_core::model::InstanceId;
use wawp_core::tenancy::Tenant;

use crate::error::ApiError;
use crate::extract::auth::Auth;
use crate::extract::params::missing_names;
use crate::extract::raw::RawParams;
use crate::state::AppState;

/// An instance of the authenticated tenant (extractor).
#[derive(Clone, Debug)]
pub struct SessionRef {
    pub id: InstanceId,
    pub tenant: Tenant,
}

impl FromRequestParts<AppState> for SessionRef {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let raw = RawParams::from_request_parts(parts, state).await?;
        // Both names at once, so a call missing both hears about both.
        let missing = missing_names(parts, &raw, &["instance_id", "access_token"]);
        if !missing.is_empty() {
            return Err(ApiError::missing(&missing));
        }
        let Auth(tenant) = Auth::from_request_parts(parts, state).await?;
        let requested = raw.string("instance_id").unwrap_or_default();
        let id = state.core.sessions().find(&tenant, &requested).await?;
        state.core.tenancy().check_instance(id.as_str())?;
        Ok(SessionRef { id, tenant })
    }
}
