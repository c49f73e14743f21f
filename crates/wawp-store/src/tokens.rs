//! Access tokens: stored as a hash, never as the token (the domain hashes; this module only keeps
//! and finds rows). Tokens are revoked, not deleted, so their instances keep a valid owner.

use crate::{Store, StoreError, with_pool};

/// One access token. `hash` is the hex SHA-256 of the token (computed by wawp-core).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub hash: String,
    /// Instances this token may own; `None` = the server's default.
    pub max_instances: Option<i64>,
    /// Epoch milliseconds.
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

/// `SELECT <every column> FROM tokens <rest>`, as one string literal (sqlx 0.9 takes `&'static str`
/// SQL, its guard against SQL built from input).
macro_rules! select_tokens {
    ($rest:literal) => {
        concat!(
            "SELECT id, name, hash, max_instances, created_at, revoked_at, last_used_at FROM tokens ",
            $rest
        )
    };
}

impl Store {
    /// Inserts a new token. A duplicate id or hash is [`StoreError::Conflict`].
    pub async fn insert_token(&self, row: &TokenRow) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO tokens (id, name, hash, max_instances, created_at, revoked_at, last_used_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&row.id)
        .bind(&row.name)
        .bind(&row.hash)
        .bind(row.max_instances)
        .bind(row.created_at)
        .bind(row.revoked_at)
        .bind(row.last_used_at)
        .execute(pool)
        .await
        .map_err(StoreError::from_write)
        .map(drop)?);
        Ok(())
    }

    /// The token with this hash, revoked or not (the caller checks `revoked_at`).
    pub async fn find_token_by_hash(&self, hash: &str) -> Result<Option<TokenRow>, StoreError> {
        let sql = select_tokens!("WHERE hash = $1");
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, TokenRow>(sql).bind(hash).fetch_optional(pool).await?),
        )
    }

    pub async fn get_token(&self, id: &str) -> Result<Option<TokenRow>, StoreError> {
        let sql = select_tokens!("WHERE id = $1");
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, TokenRow>(sql).bind(id).fetch_optional(pool).await?),
        )
    }

    /// Every token, revoked ones included, oldest first.
    pub async fn list_tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        let sql = select_tokens!("ORDER BY created_at, id");
        Ok(with_pool!(self, pool => sqlx::query_as::<_, TokenRow>(sql).fetch_all(pool).await?))
    }

    /// Marks the token revoked at `at_ms` (keeping the first revocation time if already revoked).
    /// `false` if there is no such token.
    pub async fn revoke_token(&self, id: &str, at_ms: i64) -> Result<bool, StoreError> {
        let done = with_pool!(self, pool => sqlx::query(
            "UPDATE tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
        )
        .bind(id)
        .bind(at_ms)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(done > 0)
    }

    /// Records a use of the token. Best effort: an unknown id is not an error.
    pub async fn touch_token(&self, id: &str, at_ms: i64) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query("UPDATE tokens SET last_used_at = $2 WHERE id = $1")
            .bind(id)
            .bind(at_ms)
            .execute(pool)
            .await
            .map(drop)?);
        Ok(())
    }
}
