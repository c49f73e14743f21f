//! The event outbox: every event an instance emits (`events`, in commit order) and one delivery
//! row per subscribed webhook (`deliveries`), worked off by wawp-core's dispatcher.
//!
//! Events are written inside the transaction of what caused them (`Store::save_messages`) or on
//! their own ([`Store::record_events`]); either way an event and its deliveries commit together.
//! Ordering: the deliveries of one (instance, webhook, chat) form a *chain* (`delivery_chains`, one
//! row per chain with pending deliveries): a dispatcher claims a whole chain, gets its next
//! deliveries in order and settles them before the chain can be claimed again, so a webhook never
//! sees event N+1 of a chat before event N was delivered or died. Finding what is due reads the
//! chains' `due_at` index, however long the backlog behind each chain is.

use crate::{Pool, Store, StoreError, now_ms, with_pool, write_tx};

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
    pub next_attempt_at: i64,
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

// The outbox's statements, shared by wawp's two writers: sqlx on PostgreSQL (the macros below,
// with multi-row `VALUES`) and SQLite's group commit (`hot_writes.rs`, rusqlite, one row at a
// time). Parameters are `$1`, `$2`… in the order they first appear, so both bind them by position
// (`hot_writes::tests` checks it against SQLite).

/// `INSERT INTO events`, before its rows.
pub(crate) const INSERT_EVENT_HEAD: &str =
    "INSERT INTO events (event_id, instance_id, name, chat_key, envelope, created_at) ";
/// After the rows of [`INSERT_EVENT_HEAD`]: a known event id is skipped; new rows answer their seq.
pub(crate) const INSERT_EVENT_TAIL: &str =
    " ON CONFLICT (event_id) DO NOTHING RETURNING event_id, seq";
/// `INSERT INTO deliveries`, before its rows.
pub(crate) const INSERT_DELIVERY_HEAD: &str = "INSERT INTO deliveries (event_seq, instance_id, webhook_id, url, chat_key, status, \
     attempts, next_attempt_at, locked_until, created_at, updated_at) ";
/// `INSERT INTO delivery_chains`, before its rows.
pub(crate) const INSERT_CHAIN_HEAD: &str =
    "INSERT INTO delivery_chains (instance_id, webhook_id, chat_key, due_at, locked_until) ";
/// Records a delivered attempt: `(status_code, latency_ms, now, id)`.
pub(crate) const SETTLE_DELIVERED: &str = "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, locked_until = 0, \
     last_status_code = $1, last_error = NULL, last_latency_ms = $2, delivered_at = $3, \
     updated_at = $3 WHERE id = $4";
/// Records a failed attempt: `(status, next_attempt_at, status_code, error, latency_ms, now, id)`.
pub(crate) const SETTLE_FAILED: &str = "UPDATE deliveries SET status = $1, attempts = attempts + 1, next_attempt_at = $2, \
     locked_until = 0, last_status_code = $3, last_error = $4, last_latency_ms = $5, \
     updated_at = $6 WHERE id = $7";
/// The status and next attempt time of a delivery whose attempt at `now` failed: pending again at
/// `retry_at`, or dead (at `now`) when there is none.
pub(crate) fn after_failure(retry_at: Option<i64>, now: i64) -> (&'static str, i64) {
    match retry_at {
        Some(at) => ("pending", at),
        None => ("dead", now),
    }
}

/// Deletes a chain `(instance, webhook, chat)` that has no pending delivery left.
pub(crate) const DELETE_EMPTY_CHAIN: &str = "DELETE FROM delivery_chains WHERE instance_id = $1 AND webhook_id = $2 AND chat_key = $3 \
     AND NOT EXISTS (SELECT 1 FROM deliveries WHERE instance_id = $1 AND webhook_id = $2 \
     AND chat_key = $3 AND status = 'pending')";
/// Unlocks a chain `(instance, webhook, chat)` and makes it due at its first pending delivery.
pub(crate) const REPOINT_CHAIN: &str = "UPDATE delivery_chains SET locked_until = 0, due_at = (SELECT next_attempt_at \
     FROM deliveries WHERE instance_id = $1 AND webhook_id = $2 AND chat_key = $3 \
     AND status = 'pending' ORDER BY event_seq LIMIT 1) \
     WHERE instance_id = $1 AND webhook_id = $2 AND chat_key = $3";

/// Leases up to `chains` due chains, oldest due first: `(lease end, now)`, answering each chain's
/// key and `due_at`. The lease re-checks `locked_until` on the row it updates, so only one
/// claimer wins a chain (another node on PostgreSQL).
///
/// The limits of this and [`next_deliveries_sql`] are written into the SQL (integers, never
/// input), not bound: SQLite re-prepares a statement whose LIMIT is a parameter every time that
/// parameter is bound (the query planner may use its value), which cost the writer an eighth of
/// its time.
pub(crate) fn claim_chains_sql(chains: i64) -> String {
    format!(
        "UPDATE delivery_chains SET locked_until = $1 \
         WHERE locked_until <= $2 AND (instance_id, webhook_id, chat_key) IN \
         (SELECT instance_id, webhook_id, chat_key FROM delivery_chains \
          WHERE due_at <= $2 AND locked_until <= $2 ORDER BY due_at LIMIT {chains}) \
         RETURNING instance_id, webhook_id, chat_key, due_at"
    )
}

/// The next `per_chain` pending deliveries of a chain `(instance, webhook, chat)`, in order, as
/// [`ClaimedDelivery`] columns.
pub(crate) fn next_deliveries_sql(per_chain: i64) -> String {
    format!(
        "SELECT d.id, d.event_seq, e.event_id, d.instance_id, d.webhook_id, d.url, d.chat_key, \
         d.attempts, d.next_attempt_at, e.envelope FROM deliveries d JOIN events e ON e.seq = d.event_seq \
         WHERE d.instance_id = $1 AND d.webhook_id = $2 AND d.chat_key = $3 AND d.status = 'pending' \
         ORDER BY d.event_seq LIMIT {per_chain}"
    )
}

/// Inside an open transaction `$tx` (PostgreSQL; SQLite's writer has `hot_writes.rs`): records
/// `$events` (`&[&NewEvent]`, in order) with their deliveries, and makes sure each delivery's
/// chain exists, in three multi-row statements per
/// [`ROWS_PER_STATEMENT`](crate::messages::ROWS_PER_STATEMENT) rows. Idempotent per event id;
/// evaluates to, per event, whether it was new. Expanded once per backend.
macro_rules! insert_events_in_tx {
    ($tx:ident, $events:expr) => {{
        let events: &[&NewEvent] = $events;
        let mut seqs = std::collections::HashMap::<String, i64>::new();
        for chunk in events.chunks($crate::messages::ROWS_PER_STATEMENT) {
            let mut insert = sqlx::QueryBuilder::new($crate::outbox::INSERT_EVENT_HEAD);
            // Rows get their `seq` in this order, the order the events happened in.
            insert.push_values(chunk, |mut row, ev| {
                row.push_bind(&ev.event_id)
                    .push_bind(&ev.instance_id)
                    .push_bind(&ev.name)
                    .push_bind(&ev.chat_key)
                    .push_bind(&ev.envelope)
                    .push_bind(ev.created_at);
            });
            insert.push($crate::outbox::INSERT_EVENT_TAIL);
            let rows: Vec<(String, i64)> = insert
                .build_query_as()
                .fetch_all(&mut *$tx)
                .await
                .map_err(StoreError::from_write)?;
            seqs.extend(rows);
        }
        // The first entry of a recorded id is the one that was new.
        let fresh: Vec<Option<i64>> = events.iter().map(|ev| seqs.remove(&ev.event_id)).collect();
        let deliveries: Vec<(i64, &NewEvent, &$crate::outbox::NewDelivery)> = events
            .iter()
            .zip(&fresh)
            .filter_map(|(ev, seq)| seq.map(|seq| (seq, *ev)))
            .flat_map(|(seq, ev)| ev.deliveries.iter().map(move |d| (seq, ev, d)))
            .collect();
        for chunk in deliveries.chunks($crate::messages::ROWS_PER_STATEMENT) {
            let mut insert = sqlx::QueryBuilder::new($crate::outbox::INSERT_DELIVERY_HEAD);
            insert.push_values(chunk, |mut row, (seq, ev, d)| {
                row.push_bind(*seq)
                    .push_bind(&ev.instance_id)
                    .push_bind(&d.webhook_id)
                    .push_bind(&d.url)
                    .push_bind(ev.chat_key.as_deref().unwrap_or(""))
                    .push_bind("pending")
                    .push_bind(0i64)
                    .push_bind(ev.created_at)
                    .push_bind(0i64)
                    .push_bind(ev.created_at)
                    .push_bind(ev.created_at);
            });
            insert
                .build()
                .execute(&mut *$tx)
                .await
                .map_err(StoreError::from_write)?;
        }
        // A chain exists while it has pending deliveries; once in the statement (a PostgreSQL
        // upsert may not touch a row twice), due at its first new delivery if it is new. The
        // no-op update takes the chain's row lock (PostgreSQL), so a dispatcher settling the chain
        // concurrently sees these deliveries before it decides the chain is empty.
        let mut seen = std::collections::HashSet::new();
        let mut chains: Vec<(&str, &str, &str, i64)> = Vec::new();
        for (_, ev, d) in &deliveries {
            let key = (
                ev.instance_id.as_str(),
                d.webhook_id.as_str(),
                ev.chat_key.as_deref().unwrap_or(""),
            );
            if seen.insert(key) {
                chains.push((key.0, key.1, key.2, ev.created_at));
            }
        }
        for chunk in chains.chunks($crate::messages::ROWS_PER_STATEMENT) {
            let mut upsert = sqlx::QueryBuilder::new($crate::outbox::INSERT_CHAIN_HEAD);
            upsert.push_values(chunk, |mut row, (instance, webhook, chat, due)| {
                row.push_bind(*instance)
                    .push_bind(*webhook)
                    .push_bind(*chat)
                    .push_bind(*due)
                    .push_bind(0i64);
            });
            upsert.push(
                " ON CONFLICT (instance_id, webhook_id, chat_key) DO UPDATE SET due_at = delivery_chains.due_at",
            );
            upsert
                .build()
                .execute(&mut *$tx)
                .await
                .map_err(StoreError::from_write)?;
        }
        fresh.iter().map(Option::is_some).collect::<Vec<bool>>()
    }};
}
pub(crate) use insert_events_in_tx;

/// Inside an open transaction `$tx`: leases up to `$chains` due chains (oldest due first) and
/// evaluates to the next deliveries of each (at most `$per_chain`, in order, as long as they are
/// due). A leased chain with nothing due is put right and not answered.
macro_rules! claim_in_tx {
    ($tx:ident, $now:expr, $lease_ms:expr, $chains:expr, $per_chain:expr) => {{
        // The limits are written into the SQL (see `claim_chains_sql`).
        let mut won: Vec<(String, String, String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(
            $crate::outbox::claim_chains_sql($chains),
        ))
        .bind($now + $lease_ms)
        .bind($now)
        .fetch_all(&mut *$tx)
        .await?;
        let next_sql = $crate::outbox::next_deliveries_sql($per_chain);
        // Longest due first.
        won.sort_by_key(|chain| chain.3);
        let mut claimed: Vec<Vec<ClaimedDelivery>> = Vec::with_capacity(won.len());
        for (instance_id, webhook_id, chat_key, _) in won {
            let next = sqlx::query_as::<_, ClaimedDelivery>(sqlx::AssertSqlSafe(next_sql.clone()))
                .bind(&instance_id)
                .bind(&webhook_id)
                .bind(&chat_key)
                .fetch_all(&mut *$tx)
                .await?;
            let batch: Vec<ClaimedDelivery> = next
                .into_iter()
                .take_while(|d| d.next_attempt_at <= $now)
                .collect();
            if batch.is_empty() {
                // The chain's time was stale (or it has nothing pending): put it right.
                let _pending =
                    reevaluate_chain_in_tx!($tx, &instance_id, &webhook_id, &chat_key, "");
                continue;
            }
            claimed.push(batch);
        }
        claimed
    }};
}

/// Inside an open transaction `$tx`: after deliveries of a chain were settled, points the chain at
/// its first pending delivery (unlocked), or deletes it when nothing is pending. `$lock` is a
/// statement run first to lock the chain row (PostgreSQL), or `""`. Evaluates to whether the
/// chain still has pending deliveries.
macro_rules! reevaluate_chain_in_tx {
    ($tx:ident, $instance:expr, $webhook:expr, $chat:expr, $lock:expr) => {{
        if !$lock.is_empty() {
            sqlx::query(sqlx::AssertSqlSafe($lock))
                .bind($instance)
                .bind($webhook)
                .bind($chat)
                .execute(&mut *$tx)
                .await?;
        }
        // Most chains are empty once settled (one statement); the others are due at their
        // first pending delivery and unlocked.
        let gone = sqlx::query($crate::outbox::DELETE_EMPTY_CHAIN)
            .bind($instance)
            .bind($webhook)
            .bind($chat)
            .execute(&mut *$tx)
            .await?
            .rows_affected();
        if gone == 0 {
            sqlx::query($crate::outbox::REPOINT_CHAIN)
                .bind($instance)
                .bind($webhook)
                .bind($chat)
                .execute(&mut *$tx)
                .await?;
        }
        gone == 0
    }};
}

/// PostgreSQL: locks a chain row for the rest of the transaction.
const PG_LOCK_CHAIN: &str = "SELECT 1 FROM delivery_chains WHERE instance_id = $1 AND webhook_id = $2 \
     AND chat_key = $3 FOR UPDATE";

/// Inside an open transaction `$tx`: records one settled attempt on its delivery.
macro_rules! settle_one_in_tx {
    ($tx:ident, $s:expr, $now:expr) => {{
        let s: &Settled = $s;
        match &s.outcome {
            Outcome::Delivered {
                status_code,
                latency_ms,
            } => {
                sqlx::query($crate::outbox::SETTLE_DELIVERED)
                    .bind(*status_code)
                    .bind(*latency_ms)
                    .bind($now)
                    .bind(s.id)
                    .execute(&mut *$tx)
                    .await?;
            }
            Outcome::Failed {
                status_code,
                error,
                latency_ms,
                retry_at,
            } => {
                let (status, next) = $crate::outbox::after_failure(*retry_at, $now);
                sqlx::query($crate::outbox::SETTLE_FAILED)
                    .bind(status)
                    .bind(next)
                    .bind(*status_code)
                    .bind(error.as_str())
                    .bind(*latency_ms)
                    .bind($now)
                    .bind(s.id)
                    .execute(&mut *$tx)
                    .await?;
            }
        }
    }};
}

/// Inside an open transaction `$tx`: records the attempts `$settled` (`&[Settled]`) made on
/// deliveries of the claimed `$chain` (`&ChainKey`) and hands the chain back (see
/// [`reevaluate_chain_in_tx!`]; `$lock` as there). Evaluates to whether the chain still has
/// pending deliveries. Expanded once per backend.
macro_rules! settle_chain_in_tx {
    ($tx:ident, $chain:expr, $settled:expr, $now:expr, $lock:expr) => {{
        let chain: &ChainKey = $chain;
        for s in $settled.iter() {
            settle_one_in_tx!($tx, s, $now);
        }
        let (i, w, c) = (&chain.instance_id, &chain.webhook_id, &chain.chat_key);
        reevaluate_chain_in_tx!($tx, i, w, c, $lock)
    }};
}

/// Inside an open transaction `$tx`: makes sure every chain with pending deliveries of
/// `$instance` (or of every instance when `$instance` is `None`) has its row, due no later than
/// its earliest pending delivery (after a replay put deliveries back in line).
macro_rules! repair_chains_in_tx {
    ($tx:ident, $instance:expr) => {{
        let instance: Option<&str> = $instance;
        sqlx::query(
            "INSERT INTO delivery_chains (instance_id, webhook_id, chat_key, due_at, locked_until) \
             SELECT instance_id, webhook_id, chat_key, MIN(next_attempt_at), 0 FROM deliveries \
             WHERE status = 'pending' AND ($1 = '' OR instance_id = $1) \
             GROUP BY instance_id, webhook_id, chat_key \
             ON CONFLICT (instance_id, webhook_id, chat_key) DO UPDATE SET due_at = \
             CASE WHEN excluded.due_at < delivery_chains.due_at THEN excluded.due_at ELSE delivery_chains.due_at END",
        )
        .bind(instance.unwrap_or(""))
        .execute(&mut *$tx)
        .await?;
    }};
}

/// One attempt at a claimed delivery, to record.
#[derive(Clone, Debug)]
pub struct Settled {
    /// The delivery's id.
    pub id: i64,
    pub outcome: Outcome,
}

/// How an attempt ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    Delivered {
        status_code: i64,
        latency_ms: i64,
    },
    /// Failed: pending again at `retry_at`, or dead when `None`.
    Failed {
        status_code: Option<i64>,
        error: String,
        latency_ms: i64,
        retry_at: Option<i64>,
    },
}

/// A chain leased in the commit that created it (the dispatcher's fast lane on SQLite: see
/// [`Store::fast_lane`]).
#[derive(Clone, Debug)]
pub struct LeasedChain {
    /// When the lease began (epoch ms): it lasts the `lease_ms` given to [`Store::fast_lane`].
    pub leased_at: i64,
    /// The chain's deliveries, in order.
    pub deliveries: Vec<ClaimedDelivery>,
}

/// The chain a claimed delivery belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainKey {
    pub instance_id: String,
    pub webhook_id: String,
    pub chat_key: String,
}

impl ClaimedDelivery {
    pub fn chain(&self) -> ChainKey {
        ChainKey {
            instance_id: self.instance_id.clone(),
            webhook_id: self.webhook_id.clone(),
            chat_key: self.chat_key.clone(),
        }
    }
}

impl Store {
    /// Records events and their deliveries in one transaction. Idempotent per event id.
    /// Returns how many events were new.
    pub async fn record_events(&self, events: &[NewEvent]) -> Result<usize, StoreError> {
        if events.is_empty() {
            return Ok(0);
        }
        if let Some(group) = &self.group {
            return group.record(events).await;
        }
        let events: Vec<&NewEvent> = events.iter().collect();
        Ok(write_tx!(self, tx => {
            let fresh = insert_events_in_tx!(tx, &events);
            fresh.iter().filter(|new| **new).count()
        }))
    }

    /// Claims up to `chains` due chains for `lease_ms` and answers, per chain, its next
    /// deliveries in order (at most `per_chain`, each due), in one transaction. The chain stays
    /// leased until [`Store::settle_deliveries`] (or the lease runs out: a crashed dispatcher's
    /// chains become claimable again).
    pub async fn claim_due_chains(
        &self,
        now: i64,
        lease_ms: i64,
        chains: i64,
        per_chain: i64,
    ) -> Result<Vec<Vec<ClaimedDelivery>>, StoreError> {
        if let Some(group) = &self.group {
            return group.claim(now, lease_ms, chains, per_chain).await;
        }
        Ok(write_tx!(self, tx => claim_in_tx!(tx, now, lease_ms, chains, per_chain)))
    }

    /// The dispatcher's fast lane, on SQLite (`None` on PostgreSQL): from now on, a commit that
    /// gives a chain its first pending delivery also leases the chain for `lease_ms` and, once
    /// committed, sends it here with its deliveries, so the dispatcher needs no claim (a
    /// transaction of its own) to start on them. Chains that already had pending deliveries are
    /// claimed as before. A chain sent to a receiver that is gone is claimed once its lease runs
    /// out. Calling this again replaces the receiver.
    pub fn fast_lane(
        &self,
        lease_ms: i64,
    ) -> Option<tokio::sync::mpsc::UnboundedReceiver<LeasedChain>> {
        self.group.as_ref().map(|group| group.fast_lane(lease_ms))
    }

    /// [`Store::claim_due_chains`] with one delivery per chain, flattened: the first in line of
    /// up to `limit` chains.
    pub async fn claim_due_deliveries(
        &self,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        Ok(self
            .claim_due_chains(now, lease_ms, limit, 1)
            .await?
            .into_iter()
            .flatten()
            .collect())
    }

    /// Drops every claim, so that chains a crashed process had in flight are due at once, and
    /// makes sure every pending delivery has its chain. Only for a dispatcher that knows it is
    /// alone (SQLite: one server per file). Returns how many claims were dropped.
    pub async fn release_delivery_leases(&self) -> Result<u64, StoreError> {
        Ok(write_tx!(self, tx => {
            let released =
                sqlx::query("UPDATE delivery_chains SET locked_until = 0 WHERE locked_until > 0")
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            repair_chains_in_tx!(tx, None);
            released
        }))
    }

    /// Records the attempts made on deliveries of one claimed chain and hands the chain back
    /// (due at its next pending delivery, or gone when none is left), in one transaction.
    /// Returns whether the chain still has pending deliveries.
    pub async fn settle_deliveries(
        &self,
        chain: &ChainKey,
        settled: &[Settled],
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        if let Some(group) = &self.group {
            return group.settle(chain, settled, now).await;
        }
        // SQLite's write transaction already excludes every other writer.
        let lock = match &self.pool {
            Pool::Sqlite(_) => "",
            Pool::Postgres(_) => PG_LOCK_CHAIN,
        };
        Ok(write_tx!(self, tx => settle_chain_in_tx!(tx, chain, settled, now, lock)))
    }

    /// The chain of a delivery.
    async fn chain_of(&self, id: i64) -> Result<Option<ChainKey>, StoreError> {
        let row: Option<(String, String, String)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT instance_id, webhook_id, chat_key FROM deliveries WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?);
        Ok(row.map(|(instance_id, webhook_id, chat_key)| ChainKey {
            instance_id,
            webhook_id,
            chat_key,
        }))
    }

    /// Settles one claimed delivery as delivered (see [`Store::settle_deliveries`]).
    pub async fn mark_delivered(
        &self,
        id: i64,
        status_code: i64,
        latency_ms: i64,
    ) -> Result<(), StoreError> {
        self.settle_one(
            id,
            Outcome::Delivered {
                status_code,
                latency_ms,
            },
        )
        .await
    }

    /// Settles one claimed delivery after a failed attempt: pending again at `retry_at`, or dead.
    pub async fn mark_failed(&self, id: i64, failed: &FailedAttempt<'_>) -> Result<(), StoreError> {
        self.settle_one(
            id,
            Outcome::Failed {
                status_code: failed.status_code,
                error: failed.error.to_string(),
                latency_ms: failed.latency_ms,
                retry_at: failed.retry_at,
            },
        )
        .await
    }

    async fn settle_one(&self, id: i64, outcome: Outcome) -> Result<(), StoreError> {
        let Some(chain) = self.chain_of(id).await? else {
            return Ok(());
        };
        self.settle_deliveries(&chain, &[Settled { id, outcome }])
            .await?;
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
        let sql = "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1, \
                   locked_until = 0, updated_at = $1 WHERE instance_id = $2 AND status = 'dead'";
        Ok(write_tx!(self, tx => {
            let n = sqlx::query(sql)
                .bind(now)
                .bind(instance_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            repair_chains_in_tx!(tx, Some(instance_id));
            n
        }))
    }

    /// Sends these events of the instance again: each of their deliveries (delivered or dead; a
    /// pending one is left as is) goes back in line. Returns how many deliveries.
    pub async fn requeue_events(
        &self,
        instance_id: &str,
        event_ids: &[String],
    ) -> Result<u64, StoreError> {
        let now = now_ms();
        let sql = "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1, \
                   locked_until = 0, updated_at = $1 WHERE instance_id = $2 AND status <> 'pending' \
                   AND event_seq IN (SELECT seq FROM events WHERE event_id = $3 AND instance_id = $2)";
        Ok(write_tx!(self, tx => {
            let mut total = 0;
            for event_id in event_ids {
                total += sqlx::query(sql)
                    .bind(now)
                    .bind(instance_id)
                    .bind(event_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
            repair_chains_in_tx!(tx, Some(instance_id));
            total
        }))
    }

    /// The instance's events after `after_seq` (exclusive), oldest first.
    pub async fn events_after(
        &self,
        instance_id: &str,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<EventRow>, StoreError> {
        // The limit is written in, not bound (see `claim_in_tx!`): live streams call this after
        // every commit.
        let sql = format!(
            "SELECT seq, event_id, instance_id, name, chat_key, envelope, created_at FROM events \
             WHERE instance_id = $1 AND seq > $2 ORDER BY seq LIMIT {limit}"
        );
        Ok(
            with_pool!(self, pool => sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(instance_id)
            .bind(after_seq)
            .fetch_all(pool)
            .await?),
        )
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
