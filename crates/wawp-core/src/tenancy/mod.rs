//! Tenancy: access tokens (stored hashed, shown once), the per-token instance quota and rate limits.
//!
//! - `tokens.rs`: create, list, revoke and [`Tenancy::authenticate`], with a short in-memory cache
//!   of positive lookups ([`AUTH_CACHE_TTL`]).
//! - `rate_limit.rs`: token buckets (governor, GCRA) keyed by token and by instance, and the
//!   cool-down between two `start` calls on one instance.
//!
//! The quota itself is enforced by the store (`Store::insert_instance` counts and inserts in one
//! transaction); this module only decides each token's limit ([`Tenant::max_instances`]).

mod rate_limit;
mod tokens;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use wawp_store::Store;

use crate::config::LimitsConfig;

pub use tokens::{AUTH_CACHE_TTL, TOKEN_PREFIX, TokenInfo};

/// The caller behind an access token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant {
    /// The token's public id (never the token itself).
    pub token_id: String,
    pub name: String,
    /// Instances this token may own; `None` = unlimited.
    pub max_instances: Option<u32>,
}

/// Tokens, quotas and rate limits of one server. Cheap to clone; clones share the cache and the
/// rate-limit state.
#[derive(Clone)]
pub struct Tenancy {
    store: Store,
    limits: LimitsConfig,
    inner: Arc<Inner>,
}

struct Inner {
    cache: tokens::TokenCache,
    rates: rate_limit::RateLimits,
}

impl Tenancy {
    pub fn new(store: Store, limits: LimitsConfig) -> Self {
        let inner = Inner {
            cache: tokens::TokenCache::new(AUTH_CACHE_TTL),
            rates: rate_limit::RateLimits::new(&limits),
        };
        Tenancy {
            store,
            limits,
            inner: Arc::new(inner),
        }
    }

    /// Like [`Tenancy::new`], with another lifetime for cached token lookups (`Duration::ZERO`
    /// turns the cache off: every request reads the store).
    pub fn with_auth_cache_ttl(
        store: Store,
        limits: LimitsConfig,
        ttl: std::time::Duration,
    ) -> Self {
        let inner = Inner {
            cache: tokens::TokenCache::new(ttl),
            rates: rate_limit::RateLimits::new(&limits),
        };
        Tenancy {
            store,
            limits,
            inner: Arc::new(inner),
        }
    }

    pub fn limits(&self) -> &LimitsConfig {
        &self.limits
    }
}
