//! The admin API (`/admin/tokens`): manage access tokens over HTTP, like `wawp token …`.
//! Guarded by `Authorization: Bearer <WAWP_ADMIN_KEY>` (compared in constant time) and not
//! routed at all (404) when no admin key is configured.

mod tokens;

pub use tokens::*;

use axum::extract::FromRequestParts;
use axum::http::Method;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, Code};
use crate::extract::auth::bearer;
use crate::routes::Table;
use crate::state::AppState;

pub(crate) fn table() -> Table {
    use Method as M;
    Table::new()
        .route(&[M::GET], "/admin/tokens", None, list_tokens)
        .route(&[M::POST], "/admin/tokens", None, create_token)
        .route(&[M::DELETE], "/admin/tokens/{id}", None, revoke_token)
}

/// Proof that the caller holds the admin key (extractor).
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let denied = || {
            ApiError::new(Code::InvalidAccessToken, "Invalid or missing admin key.")
                .recommend("Send 'Authorization: Bearer <WAWP_ADMIN_KEY>'.")
        };
        let Some(key) = state.config.admin_key.as_deref() else {
            return Err(ApiError::route_not_found());
        };
        let presented = bearer(parts).ok_or_else(denied)?;
        if same_secret(presented.as_bytes(), key.as_bytes()) {
            Ok(Admin)
        } else {
            Err(denied())
        }
    }
}

/// Constant-time comparison: both sides are hashed first, so neither the content nor the length
/// of the key leaks through timing.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    let (ha, hb) = (Sha256::digest(a), Sha256::digest(b));
    ha.iter()
        .zip(hb.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_compare_by_content() {
        assert!(super::same_secret(b"k3y", b"k3y"));
        assert!(!super::same_secret(b"k3y", b"k3z"));
        assert!(!super::same_secret(b"k3y", b"k3y "));
    }
}
