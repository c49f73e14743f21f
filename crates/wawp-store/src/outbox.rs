//! The event outbox: every event an instance emits (`events`, in commit order) and one delivery
//! row per subscribed webhook (`deliveries`), worked off by wawp-core's dispatcher.
//!
//! Events are written inside the transaction of what caused them (`Store::save_messages`) or on
//! their own ([`Store::record_events`]); either way an event and its deliveries commit together.
//! Ordering: a delivery is due only when no earlier delivery of the same (instance, webhook,
//! chat) is still pending, so a webhook never sees event N+1 of a chat before event N was
//! delivered or died.

use std::collections::HashSet;

use crate::{Pool, Store, StoreError, now_ms, with_pool};

/// An event to record, with the webhooks it goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    /// `evt_<ulid>`; unique (recording a known id again is a no-op).
    pub event_id: String,
    pub instance_id: String,
    /// `message`, `session.status`, …
    pub name: String,
    /// The chat the event belongs to, when it has one: deliveries of one chat keep their order.
    pub chat_key: Option<String>,
    /// The JSON envelope sent as is.
    pub envelope: String,
    /// Epoch milliseconds.
    pub created_at: i64,
    /// For events about one message (`message`, `message.any`): its serialized id.
    /// `save_messages` skips the event when that message was already stored (a replay of an
    /// inbound message after a crash), so the receiver sees the first event id, not a new one.
    pub message_id: Option<String>,
    pub deliveries: Vec<NewDelivery>,
}

/// One webhook an event goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDelivery {
    /// A stable id of the webhook within its instance (see wawp-core's webhook config).
    pub webhook_id: String,
    pub url: String,
}

/// A stored event.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct EventRow {
    pub seq: i64,
    pub event_id: String,
    pub instance_id: String,
    pub name: String,
    pub chat_key: Option<String>,
    pub envelope: String,
    pub created_at: i64,
}

/// A delivery as listed (`GET /v2/webhooks/deliveries`), with its event's id and name.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub event_seq: i64,
    pub event_id: String,
    pub event_name: String,
    pub instance_id: String,
    pub webhook_id: String,
    pub url: String,
    pub chat_key: String,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub last_latency_ms: Option<i64>,
    pub delivered_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A delivery claimed by a dispatcher, with the body to send.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub event_seq: i64,
    pub event_id: String,
    pub instance_id: String,
    pub webhook_id: String,
    pub url: String,
    pub chat_key: String,
    /// Attempts made before this one.
    pub attempts: i64,
    pub envelope: String,
}

/// The outcome of one failed attempt.
#[derive(Clone, Debug)]
pub struct FailedAttempt<'a> {
    pub status_code: Option<i64>,
    pub error: &'a str,
    pub latency_ms: i64,
    /// When to try again; `None` marks the delivery dead.
    pub retry_at: Option<i64>,
}

const SELECT_DELIVERIES: &str = "SELECT d.id, d.event_seq, e.event_id, e.name AS event_name, d.instance_id, \
     d.webhook_id, d.url, d.chat_key, d.status, d.attempts, d.next_attempt_at, d.last_status_code, \
     d.last_error, d.last_latency_ms, d.delivered_at, d.created_at, d.updated_at \
     FROM deliveries d JOIN events e ON e.seq = d.event_seq ";

/// Inside an open transaction `$tx`: inserts every event of `$events` (except those whose
/// `message_id` is in `$skip`, a `&HashSet<String>`) with its deliveries; evaluates to how many
/// events were new. Expanded once per backend; used by `record_events` and `save_messages`.
macro_rules! insert_events_in_tx {
    ($tx:ident, $events:expr, $skip:expr) => {{
        let mut inserted = 0usize;
        for ev in $events {
            if ev.message_id.as_ref().is_some_and(|m| $skip.contains(m)) {
                continue;
            }
            let seq: Option<(i64,)> = sqlx::query_as(
                "INSERT INTO events (event_id, instance_id, name, chat_key, envelope, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING RETURNING seq",
            )
            .bind(&ev.event_id)
            .bind(&ev.instance_id)
            .bind(&ev.name)
            .bind(&ev.chat_key)
            .bind(&ev.envelope)
            .bind(ev.created_at)
            .fetch_optional(&mut *$tx)
            .await
            .map_err(StoreError::from_write)?;
            let Some((seq,)) = seq else { continue };
            inserted += 1;
            for d in &ev.deliveries {
                sqlx::query(
                    "INSERT INTO deliveries (event_seq, instance_id, webhook_id, url, chat_key, status, \
                     attempts, next_attempt_at, locked_until, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, 0, $6, $6)",
                )
                .bind(seq)
                .bind(&ev.instance_id)
                .bind(&d.webhook_id)
                .bind(&d.url)
                .bind(ev.chat_key.as_deref().unwrap_or(""))
                .bind(ev.created_at)
                .execute(&mut *$tx)
                .await
                .map_err(StoreError::from_write)?;
            }
        }
        inserted
    }};
}
pub(crate) use insert_events_in_tx;

/// Inside an open transaction `$tx`: selects the due heads of line and leases each (a row another
/// claimer leased meanwhile is skipped); evaluates to the claimed deliveries.
macro_rules! claim_in_tx {
    ($tx:ident, $now:expr, $lease_ms:expr, $limit:expr) => {{
        let candidates = sqlx::query_as::<_, ClaimedDelivery>(
            "SELECT d.id, d.event_seq, e.event_id, d.instance_id, d.webhook_id, d.url, d.chat_key, \
             d.attempts, e.envelope FROM deliveries d JOIN events e ON e.seq = d.event_seq \
             WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND d.locked_until <= $1 \
             AND NOT EXISTS (SELECT 1 FROM deliveries p WHERE p.instance_id = d.instance_id \
               AND p.webhook_id = d.webhook_id AND p.chat_key = d.chat_key \
               AND p.status = 'pending' AND p.event_seq < d.event_seq) \
             ORDER BY d.next_attempt_at, d.event_seq LIMIT $2",
        )
        .bind($now)
        .bind($limit)
        .fetch_all(&mut *$tx)
        .await?;
        let mut claimed = Vec::with_capacity(candidates.len());
        for c in candidates {
            // Only one claimer wins a row (another node on PostgreSQL).
            let done = sqlx::query(
                "UPDATE deliveries SET locked_until = $1 \
                 WHERE id = $2 AND status = 'pending' AND locked_until <= $3",
            )
            .bind($now + $lease_ms)
            .bind(c.id)
            .bind($now)
            .execute(&mut *$tx)
            .await?
            .rows_affected();
            if done == 1 {
                claimed.push(c);
            }
        }
        claimed
    }};
}

impl Store {
    /// Records events and their deliveries in one transaction. Idempotent per event id.
    /// Returns how many events were new.
    pub async fn record_events(&self, events: &[NewEvent]) -> Result<usize, StoreError> {
        if events.is_empty() {
            return Ok(0);
        }
        let skip = HashSet::<String>::new();
        let n = match &self.pool {
            Pool::Sqlite(pool) => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let n = insert_events_in_tx!(tx, events, skip);
                tx.commit().await?;
                n
            }
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let n = insert_events_in_tx!(tx, events, skip);
                tx.commit().await?;
                n
            }
        };
        Ok(n)
    }

    /// Claims up to `limit` due deliveries (pending, `next_attempt_at <= now`, not claimed, and
    /// first in line for their (instance, webhook, chat)) for `lease_ms`, in one transaction. A
    /// claim that is not settled by then (a crashed dispatcher) becomes claimable again.
    pub async fn claim_due_deliveries(
        &self,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let claimed = match &self.pool {
            Pool::Sqlite(pool) => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let claimed = claim_in_tx!(tx, now, lease_ms, limit);
                tx.commit().await?;
                claimed
            }
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let claimed = claim_in_tx!(tx, now, lease_ms, limit);
                tx.commit().await?;
                claimed
            }
        };
        Ok(claimed)
    }

    /// Drops every claim, so that deliveries a crashed process had in flight are due at once.
    /// Only for a dispatcher that knows it is alone (SQLite: one server per file).
    pub async fn release_delivery_leases(&self) -> Result<u64, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query(
            "UPDATE deliveries SET locked_until = 0 WHERE status = 'pending' AND locked_until > 0",
        )
        .execute(pool)
        .await?
        .rows_affected()))
    }

    /// Settles a claimed delivery as delivered.
    pub async fn mark_delivered(
        &self,
        id: i64,
        status_code: i64,
        latency_ms: i64,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        with_pool!(self, pool => sqlx::query(
            "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, locked_until = 0, \
             last_status_code = $1, last_error = NULL, last_latency_ms = $2, delivered_at = $3, \
             updated_at = $3 WHERE id = $4",
        )
        .bind(status_code)
        .bind(latency_ms)
        .bind(now)
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ())?);
        Ok(())
    }

    /// Settles a claimed delivery after a failed attempt: pending again at `retry_at`, or dead.
    pub async fn mark_failed(&self, id: i64, failed: &FailedAttempt<'_>) -> Result<(), StoreError> {
        let now = now_ms();
        let (status, next) = match failed.retry_at {
            Some(at) => ("pending", at),
            None => ("dead", now),
        };
        with_pool!(self, pool => sqlx::query(
            "UPDATE deliveries SET status = $1, attempts = attempts + 1, next_attempt_at = $2, \
             locked_until = 0, last_status_code = $3, last_error = $4, last_latency_ms = $5, \
             updated_at = $6 WHERE id = $7",
        )
        .bind(status)
        .bind(next)
        .bind(failed.status_code)
        .bind(failed.error)
        .bind(failed.latency_ms)
        .bind(now)
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ())?);
        Ok(())
    }

    /// The instance's deliveries, newest first, optionally of one status.
    pub async fn list_deliveries(
        &self,
        instance_id: &str,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        let sql = format!(
            "{SELECT_DELIVERIES} WHERE d.instance_id = $1 AND ($2 = '' OR d.status = $2) \
             ORDER BY d.id DESC LIMIT $3"
        );
        // Safe: only the constant column list is formatted in, never input.
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, DeliveryRow>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(instance_id)
            .bind(status.unwrap_or(""))
            .bind(limit)
            .fetch_all(pool)
            .await?),
        )
    }

    /// Puts every dead delivery of the instance back in line (attempts start over). Returns how
    /// many.
    pub async fn requeue_dead_deliveries(&self, instance_id: &str) -> Result<u64, StoreError> {
        let now = now_ms();
        Ok(with_pool!(self, pool => sqlx::query(
            "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1, \
             locked_until = 0, updated_at = $1 WHERE instance_id = $2 AND status = 'dead'",
        )
        .bind(now)
        .bind(instance_id)
        .execute(pool)
        .await?
        .rows_affected()))
    }

    /// Sends these events of the instance again: each of their deliveries (delivered or dead; a
    /// pending one is left as is) goes back in line. Returns how many deliveries.
    pub async fn requeue_events(
        &self,
        instance_id: &str,
        event_ids: &[String],
    ) -> Result<u64, StoreError> {
        let now = now_ms();
        let mut total = 0;
        for event_id in event_ids {
            total += with_pool!(self, pool => sqlx::query(
                "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1, \
                 locked_until = 0, updated_at = $1 WHERE instance_id = $2 AND status <> 'pending' \
                 AND event_seq IN (SELECT seq FROM events WHERE event_id = $3 AND instance_id = $2)",
            )
            .bind(now)
            .bind(instance_id)
            .bind(event_id)
            .execute(pool)
            .await?
            .rows_affected());
        }
        Ok(total)
    }

    /// The instance's events after `after_seq` (exclusive), oldest first.
    pub async fn events_after(
        &self,
        instance_id: &str,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<EventRow>, StoreError> {
        let sql = "SELECT seq, event_id, instance_id, name, chat_key, envelope, created_at FROM events \
                   WHERE instance_id = $1 AND seq > $2 ORDER BY seq LIMIT $3";
        Ok(with_pool!(self, pool => sqlx::query_as::<_, EventRow>(sql)
            .bind(instance_id)
            .bind(after_seq)
            .bind(limit)
            .fetch_all(pool)
            .await?))
    }

    /// The sequence number of one of the instance's events.
    pub async fn event_seq(
        &self,
        instance_id: &str,
        event_id: &str,
    ) -> Result<Option<i64>, StoreError> {
        let sql = "SELECT seq FROM events WHERE instance_id = $1 AND event_id = $2";
        let row: Option<(i64,)> = with_pool!(self, pool => sqlx::query_as(sql)
            .bind(instance_id)
            .bind(event_id)
            .fetch_optional(pool)
            .await?);
        Ok(row.map(|(seq,)| seq))
    }

    /// The highest event sequence number of the instance (0 when it has none).
    pub async fn last_event_seq(&self, instance_id: &str) -> Result<i64, StoreError> {
        let sql = "SELECT COALESCE(MAX(seq), 0) FROM events WHERE instance_id = $1";
        let (seq,): (i64,) = with_pool!(self, pool => sqlx::query_as(sql)
            .bind(instance_id)
            .fetch_one(pool)
            .await?);
        Ok(seq)
    }

    /// Retention: deletes events created before `cutoff` (epoch ms) that have no pending delivery,
    /// with their deliveries. Returns how many events.
    pub async fn purge_events(&self, cutoff: i64) -> Result<u64, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query(
            "DELETE FROM events WHERE created_at < $1 AND NOT EXISTS \
             (SELECT 1 FROM deliveries d WHERE d.event_seq = events.seq AND d.status = 'pending')",
        )
        .bind(cutoff)
        .execute(pool)
        .await?
        .rows_affected()))
    }
}
