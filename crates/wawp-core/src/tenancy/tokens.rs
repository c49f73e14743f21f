//! Access tokens: `wawp_` + 43 base64url characters (32 random bytes), shown once at creation and
//! stored only as a SHA-256 hash. Never log a token; log its public id (`tok_…`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngExt as _;
use serde::Serialize;
use sha2::{Digest, Sha256};
use wawp_store::{StoreError, TokenRow};

use super::{Tenancy, Tenant};
use crate::error::CoreError;

/// Every token starts with this, so secret scanners (and people) recognise a leaked one.
pub const TOKEN_PREFIX: &str = "wawp_";
const TOKEN_BYTES: usize = 32;
const TOKEN_ID_PREFIX: &str = "tok_";
const TOKEN_ID_LEN: usize = 10;
const TOKEN_ID_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
/// Longer presented strings are refused before hashing (ours are 48 characters).
const MAX_PRESENTED_LEN: usize = 512;
const MAX_NAME_LEN: usize = 200;

/// How long a successful token lookup is served from memory.
///
/// A token revoked through this process (HTTP admin API) is refused at once: the revocation drops
/// it from the cache. A token revoked by another process (the `wawp token revoke` CLI, another node
/// on PostgreSQL) is refused at the latest this long after the revocation.
pub const AUTH_CACHE_TTL: Duration = Duration::from_secs(5);
/// Cached lookups kept at most; beyond this, expired entries go, then everything.
const AUTH_CACHE_CAPACITY: usize = 10_000;

/// The public view of a token (never the token or its hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    /// `None`: the server's default limit applies.
    pub max_instances: Option<u32>,
    /// Epoch milliseconds.
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    /// Epoch milliseconds; updated at most once per [`AUTH_CACHE_TTL`] while in use.
    pub last_used_at: Option<i64>,
}

impl From<&TokenRow> for TokenInfo {
    fn from(row: &TokenRow) -> Self {
        TokenInfo {
            id: row.id.clone(),
            name: row.name.clone(),
            max_instances: row.max_instances.map(stored_limit),
            created_at: row.created_at,
            revoked_at: row.revoked_at,
            last_used_at: row.last_used_at,
        }
    }
}

fn stored_limit(value: i64) -> u32 {
    u32::try_from(value.max(0)).unwrap_or(u32::MAX)
}

/// A new random token. `rand`'s thread RNG is a CSPRNG (ChaCha12) seeded from the OS.
fn generate_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::fill(&mut bytes);
    format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A short public id, `tok_` + 10 of `[a-z0-9]` (about 52 bits; a clash is retried).
fn generate_token_id() -> String {
    let mut rng = rand::rng();
    let id: String = (0..TOKEN_ID_LEN)
        .map(|_| char::from(TOKEN_ID_ALPHABET[rng.random_range(0..TOKEN_ID_ALPHABET.len())]))
        .collect();
    format!("{TOKEN_ID_PREFIX}{id}")
}

/// The stored form of a token: hex SHA-256.
///
/// A plain fast hash is right here, unlike for passwords: a token carries 256 bits from a CSPRNG, so
/// a stolen hash cannot be reversed by guessing, however fast each guess is, and a slow KDF (argon2,
/// bcrypt) would only add milliseconds of CPU to every request that misses the cache. Unsalted is
/// fine for the same reason, and it lets the hash be the lookup key (`tokens.hash` is unique).
pub(crate) fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Tenancy {
    /// Creates a token. Returns its public view and the token itself, which is shown this once:
    /// only its hash is stored.
    pub async fn create_token(
        &self,
        name: &str,
        max_instances: Option<u32>,
    ) -> Result<(TokenInfo, String), CoreError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
            return Err(CoreError::Invalid(format!(
                "token name must be 1 to {MAX_NAME_LEN} characters"
            )));
        }
        let token = generate_token();
        let mut row = TokenRow {
            id: generate_token_id(),
            name: name.to_string(),
            hash: hash_token(&token),
            max_instances: max_instances.map(i64::from),
            created_at: now_ms(),
            revoked_at: None,
            last_used_at: None,
        };
        // A clash of the 10-character id is unlikely but possible; draw another.
        let mut attempts = 0;
        loop {
            match self.store.insert_token(&row).await {
                Ok(()) => break,
                Err(StoreError::Conflict(_)) if attempts < 3 => {
                    attempts += 1;
                    row.id = generate_token_id();
                }
                Err(e) => return Err(e.into()),
            }
        }
        tracing::info!(token_id = %row.id, name = %row.name, "access token created");
        Ok((TokenInfo::from(&row), token))
    }

    /// Every token, revoked ones included, oldest first.
    pub async fn list_tokens(&self) -> Result<Vec<TokenInfo>, CoreError> {
        Ok(self
            .store
            .list_tokens()
            .await?
            .iter()
            .map(TokenInfo::from)
            .collect())
    }

    /// Revokes the token (idempotent). Requests with it are refused from now on in this process,
    /// and within [`AUTH_CACHE_TTL`] in other processes. `NotFound{kind: "token"}` if unknown.
    pub async fn revoke_token(&self, id: &str) -> Result<(), CoreError> {
        if !self.store.revoke_token(id, now_ms()).await? {
            return Err(CoreError::NotFound {
                kind: "token",
                id: id.to_string(),
            });
        }
        self.inner.cache.forget_token(id);
        tracing::info!(token_id = %id, "access token revoked");
        Ok(())
    }

    /// Resolves a presented token. Empty, unknown or revoked: `CoreError::InvalidToken`.
    pub async fn authenticate(&self, token: &str) -> Result<Tenant, CoreError> {
        if token.is_empty() || token.len() > MAX_PRESENTED_LEN {
            return Err(CoreError::InvalidToken);
        }
        let hash = hash_token(token);
        let (cached, epoch) = self.inner.cache.get(&hash, Instant::now());
        if let Some(tenant) = cached {
            return Ok(tenant);
        }
        let row = match self.store.find_token_by_hash(&hash).await? {
            Some(row) if row.revoked_at.is_none() => row,
            _ => return Err(CoreError::InvalidToken),
        };
        let tenant = Tenant {
            token_id: row.id.clone(),
            name: row.name.clone(),
            max_instances: match row.max_instances {
                Some(limit) => Some(stored_limit(limit)),
                None => self.limits.default_max_instances,
            },
        };
        // Once per cache lifetime, not on every request. Best effort: a busy database must not
        // turn a valid token away.
        if let Err(e) = self.store.touch_token(&row.id, now_ms()).await {
            tracing::warn!(token_id = %row.id, error = %e, "could not record token use");
        }
        self.inner
            .cache
            .insert(hash, tenant.clone(), epoch, Instant::now());
        Ok(tenant)
    }
}

/// Positive token lookups, by hash, for a short time.
pub(super) struct TokenCache {
    ttl: Duration,
    state: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    entries: HashMap<String, (Tenant, Instant)>,
    /// Bumped by every revocation through this process. A lookup that read the store before a
    /// revocation and caches after it would otherwise re-cache the revoked token.
    epoch: u64,
}

impl TokenCache {
    pub(super) fn new(ttl: Duration) -> Self {
        TokenCache {
            ttl,
            state: Mutex::new(CacheState::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        // The critical sections cannot panic half-way; a poisoned lock still holds a usable map.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The cached tenant if fresh, and the epoch to hand back to [`TokenCache::insert`].
    pub(super) fn get(&self, hash: &str, now: Instant) -> (Option<Tenant>, u64) {
        let state = self.lock();
        let fresh = state
            .entries
            .get(hash)
            .filter(|(_, at)| now.saturating_duration_since(*at) < self.ttl)
            .map(|(tenant, _)| tenant.clone());
        (fresh, state.epoch)
    }

    /// Caches a lookup made at `epoch`, unless a revocation happened since.
    pub(super) fn insert(&self, hash: String, tenant: Tenant, epoch: u64, now: Instant) {
        if self.ttl.is_zero() {
            return;
        }
        let mut state = self.lock();
        if state.epoch != epoch {
            return;
        }
        if state.entries.len() >= AUTH_CACHE_CAPACITY {
            let ttl = self.ttl;
            state
                .entries
                .retain(|_, (_, at)| now.saturating_duration_since(*at) < ttl);
            if state.entries.len() >= AUTH_CACHE_CAPACITY {
                state.entries.clear();
            }
        }
        state.entries.insert(hash, (tenant, now));
    }

    pub(super) fn forget_token(&self, token_id: &str) {
        let mut state = self.lock();
        state.epoch += 1;
        state
            .entries
            .retain(|_, (tenant, _)| tenant.token_id != token_id);
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(id: &str) -> Tenant {
        Tenant {
            token_id: id.into(),
            name: "n".into(),
            max_instances: None,
        }
    }

    #[test]
    fn tokens_are_prefixed_random_and_hash_to_hex_sha256() {
        let (a, b) = (generate_token(), generate_token());
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(
            a.len(),
            TOKEN_PREFIX.len() + 43,
            "32 bytes in unpadded base64url"
        );
        assert!(
            a[TOKEN_PREFIX.len()..]
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        let hash = hash_token(&a);
        assert_eq!(hash.len(), 64);
        assert!(hash.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(hash, hash_token(&a));
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "SHA-256 test vector"
        );
        let id = generate_token_id();
        assert!(id.starts_with("tok_") && id.len() == 14, "{id}");
    }

    #[test]
    fn cache_entries_expire_after_the_ttl() {
        let cache = TokenCache::new(Duration::from_secs(5));
        let t0 = Instant::now();
        let (hit, epoch) = cache.get("h", t0);
        assert_eq!(hit, None);
        cache.insert("h".into(), tenant("tok_a"), epoch, t0);
        assert_eq!(
            cache.get("h", t0 + Duration::from_secs(4)).0,
            Some(tenant("tok_a"))
        );
        assert_eq!(cache.get("h", t0 + Duration::from_secs(5)).0, None);
    }

    #[test]
    fn forgetting_a_token_drops_it_and_refuses_lookups_started_before() {
        let cache = TokenCache::new(Duration::from_secs(5));
        let now = Instant::now();
        let (_, epoch) = cache.get("h1", now);
        cache.insert("h1".into(), tenant("tok_a"), epoch, now);
        cache.insert("h2".into(), tenant("tok_b"), epoch, now);

        // A lookup of tok_a's hash began (epoch read) before the revocation…
        let (_, in_flight) = cache.get("h3", now);
        cache.forget_token("tok_a");
        assert_eq!(cache.get("h1", now).0, None);
        assert_eq!(
            cache.get("h2", now).0,
            Some(tenant("tok_b")),
            "other tokens stay"
        );
        // …and finishes after it: not cached.
        cache.insert("h3".into(), tenant("tok_a"), in_flight, now);
        assert_eq!(cache.get("h3", now).0, None);
    }

    #[test]
    fn a_zero_ttl_caches_nothing_and_the_cache_is_bounded() {
        let off = TokenCache::new(Duration::ZERO);
        off.insert("h".into(), tenant("tok_a"), 0, Instant::now());
        assert_eq!(off.len(), 0);

        let cache = TokenCache::new(Duration::from_secs(5));
        let now = Instant::now();
        for i in 0..AUTH_CACHE_CAPACITY + 10 {
            cache.insert(format!("h{i}"), tenant("tok_a"), 0, now);
        }
        assert!(cache.len() <= AUTH_CACHE_CAPACITY);
    }
}
