//! WhatsApp instances (sessions) and the per-token instance quota.

use crate::{Pool, Store, StoreError, now_ms, with_pool};

/// One instance. `config` and `me` are JSON documents owned by wawp-core.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct InstanceRow {
    /// `instance_id`: 12 characters `[A-Z0-9]`.
    pub id: String,
    /// `session_name`: `wawp-` + 8 digits; unique across the server (a clash is `Conflict`).
    pub name: String,
    pub token_id: String,
    /// JSON.
    pub config: String,
    /// `"running"` (restored on boot) or `"stopped"`.
    pub desired_state: String,
    /// JSON of the linked account, once there is one.
    pub me: Option<String>,
    /// Epoch milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
}

/// `SELECT <every column> FROM instances <rest>` as one string literal.
macro_rules! select_instances {
    ($rest:literal) => {
        concat!(
            "SELECT id, name, token_id, config, desired_state, me, created_at, updated_at ",
            "FROM instances ",
            $rest
        )
    };
}

/// Inside an open transaction `$tx`: refuse with `LimitReached` if the token already owns `$max`
/// instances, else insert `$row`. Expanded once per backend.
macro_rules! count_then_insert {
    ($tx:ident, $row:expr, $max:expr) => {{
        if let Some(max) = $max {
            let (owned,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM instances WHERE token_id = $1")
                    .bind(&$row.token_id)
                    .fetch_one(&mut *$tx)
                    .await?;
            if owned >= i64::from(max) {
                return Err(StoreError::LimitReached);
            }
        }
        sqlx::query(
            "INSERT INTO instances \
             (id, name, token_id, config, desired_state, me, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&$row.id)
        .bind(&$row.name)
        .bind(&$row.token_id)
        .bind(&$row.config)
        .bind(&$row.desired_state)
        .bind(&$row.me)
        .bind($row.created_at)
        .bind($row.updated_at)
        .execute(&mut *$tx)
        .await
        .map_err(StoreError::from_write)?;
    }};
}

impl Store {
    /// Inserts the row unless its token already owns `max_instances` instances
    /// ([`StoreError::LimitReached`]; `None` = no limit). The count and the insert are one
    /// transaction that concurrent creates cannot interleave with, whichever process they come
    /// from. A duplicate id or name, or an unknown token, is [`StoreError::Conflict`].
    pub async fn insert_instance(
        &self,
        row: &InstanceRow,
        max_instances: Option<u32>,
    ) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                // IMMEDIATE takes SQLite's single write lock up front (waiting up to the busy
                // timeout). A deferred transaction would count under a read snapshot and could
                // then fail with SQLITE_BUSY_SNAPSHOT when upgrading to write.
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                count_then_insert!(tx, row, max_instances);
                tx.commit().await?;
            }
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                if max_instances.is_some() {
                    // Under READ COMMITTED two creates could both count `limit - 1`; locking the
                    // owning token's row makes creates for one token take turns.
                    sqlx::query("SELECT id FROM tokens WHERE id = $1 FOR UPDATE")
                        .bind(&row.token_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                }
                count_then_insert!(tx, row, max_instances);
                tx.commit().await?;
            }
        }
        Ok(())
    }

    pub async fn get_instance(&self, id: &str) -> Result<Option<InstanceRow>, StoreError> {
        let sql = select_instances!("WHERE id = $1");
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, InstanceRow>(sql)
            .bind(id)
            .fetch_optional(pool)
            .await?),
        )
    }

    /// The token's instances, oldest first.
    pub async fn list_instances(&self, token_id: &str) -> Result<Vec<InstanceRow>, StoreError> {
        let sql = select_instances!("WHERE token_id = $1 ORDER BY created_at, id");
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, InstanceRow>(sql)
            .bind(token_id)
            .fetch_all(pool)
            .await?),
        )
    }

    pub async fn count_instances(&self, token_id: &str) -> Result<i64, StoreError> {
        let sql = "SELECT COUNT(*) FROM instances WHERE token_id = $1";
        Ok(with_pool!(self, pool => sqlx::query_scalar::<_, i64>(sql)
            .bind(token_id)
            .fetch_one(pool)
            .await?))
    }

    /// Instances to start again on boot (`desired_state = 'running'`), oldest first.
    pub async fn list_instances_to_restore(&self) -> Result<Vec<InstanceRow>, StoreError> {
        let sql = select_instances!("WHERE desired_state = 'running' ORDER BY created_at, id");
        Ok(with_pool!(self, pool => sqlx::query_as::<_, InstanceRow>(sql).fetch_all(pool).await?))
    }

    /// Sets `desired_state` (`"running"` or `"stopped"`; anything else is refused by the schema).
    /// [`StoreError::NotFound`] for an unknown id.
    pub async fn set_instance_desired_state(
        &self,
        id: &str,
        state: &str,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE instances SET desired_state = $2, updated_at = $3 WHERE id = $1";
        let done = with_pool!(self, pool => sqlx::query(sql)
            .bind(id)
            .bind(state)
            .bind(now_ms())
            .execute(pool)
            .await?
            .rows_affected());
        found(done)
    }

    /// Sets or clears the linked account (JSON). [`StoreError::NotFound`] for an unknown id.
    pub async fn set_instance_me(&self, id: &str, me: Option<&str>) -> Result<(), StoreError> {
        let sql = "UPDATE instances SET me = $2, updated_at = $3 WHERE id = $1";
        let done = with_pool!(self, pool => sqlx::query(sql)
            .bind(id)
            .bind(me)
            .bind(now_ms())
            .execute(pool)
            .await?
            .rows_affected());
        found(done)
    }

    /// Replaces the config (JSON). [`StoreError::NotFound`] for an unknown id.
    pub async fn set_instance_config(&self, id: &str, config: &str) -> Result<(), StoreError> {
        let sql = "UPDATE instances SET config = $2, updated_at = $3 WHERE id = $1";
        let done = with_pool!(self, pool => sqlx::query(sql)
            .bind(id)
            .bind(config)
            .bind(now_ms())
            .execute(pool)
            .await?
            .rows_affected());
        found(done)
    }

    /// Deletes the row; `false` if there was none.
    pub async fn delete_instance(&self, id: &str) -> Result<bool, StoreError> {
        let done = with_pool!(self, pool => sqlx::query("DELETE FROM instances WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(done > 0)
    }
}

fn found(rows_affected: u64) -> Result<(), StoreError> {
    if rows_affected == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}
