//! The statements of SQLite's group commit (`group_commit.rs`), run on its writer thread's own
//! rusqlite connection: message saves, recorded events, the webhook dispatcher's claims and
//! settlements, and receipts' ack raises.
//!
//! They do what the sqlx macros do on PostgreSQL (`messages.rs`, `outbox.rs`), with the same SQL
//! text, but one row at a time through cached prepared statements: on this thread a statement
//! costs a call into SQLite, where through sqlx it cost a hand-off to sqlx's worker thread and a
//! wake-up of the caller, which is why the sqlx path packs rows into multi-row statements.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::messages::{
    CHAT_READ, CHAT_UNREAD, ChatChange, INSERT_MESSAGE_HEAD, INSERT_MESSAGE_TAIL, MessageRow,
    NewMessage, RAISE_ACK_SELECT, RAISE_ACK_UPDATE, UPSERT_CHAT_CONFLICT, UPSERT_CHAT_HEAD,
};
use crate::outbox::{
    ChainKey, ClaimedDelivery, DELETE_EMPTY_CHAIN, INSERT_CHAIN_HEAD, INSERT_DELIVERY_HEAD,
    INSERT_EVENT_HEAD, INSERT_EVENT_TAIL, NewEvent, Outcome, REPOINT_CHAIN, SETTLE_DELIVERED,
    SETTLE_FAILED, Settled, after_failure, claim_chains_sql, next_deliveries_sql,
};

/// The one-row forms of the shared multi-row statements, built once per writer.
pub(crate) struct Statements {
    insert_message: String,
    upsert_chat_read: String,
    upsert_chat_unread: String,
    insert_event: String,
    insert_delivery: String,
    /// Creates a chain (answering its key) or leaves an existing one as it is.
    insert_chain: String,
}

impl Statements {
    pub(crate) fn new() -> Statements {
        let chat = |tail: &str| {
            format!(
                "{UPSERT_CHAT_HEAD}{}{UPSERT_CHAT_CONFLICT}{tail}",
                one_row(6)
            )
        };
        Statements {
            insert_message: format!("{INSERT_MESSAGE_HEAD}{}{INSERT_MESSAGE_TAIL}", one_row(8)),
            upsert_chat_read: chat(CHAT_READ),
            upsert_chat_unread: chat(CHAT_UNREAD),
            insert_event: format!("{INSERT_EVENT_HEAD}{}{INSERT_EVENT_TAIL}", one_row(6)),
            insert_delivery: format!("{INSERT_DELIVERY_HEAD}{}", one_row(11)),
            insert_chain: format!(
                "{INSERT_CHAIN_HEAD}{} ON CONFLICT (instance_id, webhook_id, chat_key) DO NOTHING \
                 RETURNING chat_key",
                one_row(5)
            ),
        }
    }

    /// Every statement this writer prepares (for the test that checks their parameters).
    #[cfg(test)]
    fn all(&self) -> Vec<String> {
        vec![
            self.insert_message.clone(),
            self.upsert_chat_read.clone(),
            self.upsert_chat_unread.clone(),
            self.insert_event.clone(),
            self.insert_delivery.clone(),
            self.insert_chain.clone(),
            RAISE_ACK_SELECT.0.to_string(),
            RAISE_ACK_UPDATE.to_string(),
            SETTLE_DELIVERED.to_string(),
            SETTLE_FAILED.to_string(),
            DELETE_EMPTY_CHAIN.to_string(),
            REPOINT_CHAIN.to_string(),
            claim_chains_sql(8),
            next_deliveries_sql(8),
        ]
    }
}

/// `VALUES ($1, …, $n)`.
fn one_row(columns: usize) -> String {
    let params: Vec<String> = (1..=columns).map(|i| format!("${i}")).collect();
    format!("VALUES ({})", params.join(", "))
}

/// What one transaction's recorded events lease for the dispatcher's fast lane.
pub(crate) struct Round {
    /// Chains created in this transaction are leased until then; `None` while no dispatcher
    /// listens (they are then left to be claimed).
    lease: Option<i64>,
    /// Chains created in this transaction: where their deliveries are in `leased`. Later
    /// deliveries of such a chain in the same transaction join it (nothing has it yet).
    created: HashMap<(String, String, String), usize>,
    /// The created chains' deliveries, in order, as a claim would answer them.
    pub(crate) leased: Vec<Vec<ClaimedDelivery>>,
}

impl Round {
    pub(crate) fn new(lease: Option<i64>) -> Round {
        Round {
            lease,
            created: HashMap::new(),
            leased: Vec::new(),
        }
    }
}

/// Inserts `messages` in order and updates their chats. Per message, whether it was new: one
/// already stored (same instance and id), or earlier in the same call, is not, and changes
/// nothing.
pub(crate) fn save_messages(
    conn: &Connection,
    sql: &Statements,
    messages: &[NewMessage],
) -> rusqlite::Result<Vec<bool>> {
    let mut insert = conn.prepare_cached(&sql.insert_message)?;
    let mut fresh = Vec::with_capacity(messages.len());
    for m in messages {
        let r = &m.row;
        fresh.push(insert.exists(params![
            r.instance_id,
            r.id,
            r.wa_id,
            r.chat_id,
            r.from_me,
            r.timestamp,
            r.ack,
            r.payload
        ])?);
    }
    let changes = ChatChange::of(
        messages
            .iter()
            .zip(&fresh)
            .filter(|(_, new)| **new)
            .map(|(m, _)| m),
    );
    for c in changes {
        let upsert = if c.read {
            &sql.upsert_chat_read
        } else {
            &sql.upsert_chat_unread
        };
        conn.prepare_cached(upsert)?.execute(params![
            c.instance_id,
            c.chat_id,
            c.name,
            c.last_message_id,
            c.last_timestamp,
            c.unread
        ])?;
    }
    Ok(fresh)
}

/// Records `events` in order with their deliveries, and makes sure each delivery's chain exists.
/// A chain this creates is leased in `round` when it has a lease. Per event, whether it was new
/// (a known event id is skipped).
pub(crate) fn insert_events(
    conn: &Connection,
    sql: &Statements,
    events: &[&NewEvent],
    round: &mut Round,
) -> rusqlite::Result<Vec<bool>> {
    let mut insert_event = conn.prepare_cached(&sql.insert_event)?;
    let mut insert_delivery = conn.prepare_cached(&sql.insert_delivery)?;
    let mut insert_chain = conn.prepare_cached(&sql.insert_chain)?;
    let mut fresh = Vec::with_capacity(events.len());
    for ev in events {
        let seq: Option<i64> = insert_event
            .query_row(
                params![
                    ev.event_id,
                    ev.instance_id,
                    ev.name,
                    ev.chat_key,
                    ev.envelope,
                    ev.created_at
                ],
                |row| row.get(1),
            )
            .optional()?;
        fresh.push(seq.is_some());
        let Some(seq) = seq else { continue };
        let chat = ev.chat_key.as_deref().unwrap_or("");
        for d in &ev.deliveries {
            insert_delivery.execute(params![
                seq,
                ev.instance_id,
                d.webhook_id,
                d.url,
                chat,
                "pending",
                0i64,
                ev.created_at,
                0i64,
                ev.created_at,
                ev.created_at
            ])?;
            let id = conn.last_insert_rowid();
            // A chain exists while it has pending deliveries: due at its first one.
            let Some(lease) = round.lease else {
                insert_chain.exists(params![
                    ev.instance_id,
                    d.webhook_id,
                    chat,
                    ev.created_at,
                    0i64
                ])?;
                continue;
            };
            let key = (
                ev.instance_id.clone(),
                d.webhook_id.clone(),
                chat.to_string(),
            );
            let at = match round.created.get(&key) {
                Some(&at) => at,
                None => {
                    let created = insert_chain.exists(params![
                        ev.instance_id,
                        d.webhook_id,
                        chat,
                        ev.created_at,
                        lease
                    ])?;
                    if !created {
                        // It already had pending deliveries: this one waits behind them.
                        continue;
                    }
                    round.leased.push(Vec::new());
                    round.created.insert(key, round.leased.len() - 1);
                    round.leased.len() - 1
                }
            };
            round.leased[at].push(ClaimedDelivery {
                id,
                event_seq: seq,
                event_id: ev.event_id.clone(),
                instance_id: ev.instance_id.clone(),
                webhook_id: d.webhook_id.clone(),
                url: d.url.clone(),
                chat_key: chat.to_string(),
                attempts: 0,
                next_attempt_at: ev.created_at,
                envelope: ev.envelope.clone(),
            });
        }
    }
    Ok(fresh)
}

/// See `Store::claim_due_chains`.
pub(crate) fn claim(
    conn: &Connection,
    now: i64,
    lease_ms: i64,
    chains: i64,
    per_chain: i64,
) -> rusqlite::Result<Vec<Vec<ClaimedDelivery>>> {
    let mut won: Vec<(String, String, String, i64)> = conn
        .prepare_cached(&claim_chains_sql(chains))?
        .query_map(params![now.saturating_add(lease_ms), now], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    // Longest due first.
    won.sort_by_key(|chain| chain.3);
    let mut next = conn.prepare_cached(&next_deliveries_sql(per_chain))?;
    let mut claimed = Vec::with_capacity(won.len());
    for (instance_id, webhook_id, chat_key, _) in won {
        let batch: Vec<ClaimedDelivery> = next
            .query_map(params![instance_id, webhook_id, chat_key], claimed_delivery)?
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .take_while(|d| d.next_attempt_at <= now)
            .collect();
        if batch.is_empty() {
            // The chain's time was stale (or it has nothing pending): put it right.
            reevaluate_chain(conn, &instance_id, &webhook_id, &chat_key)?;
            continue;
        }
        claimed.push(batch);
    }
    Ok(claimed)
}

/// See `Store::settle_deliveries`: whether the chain still has pending deliveries.
pub(crate) fn settle_chain(
    conn: &Connection,
    chain: &ChainKey,
    settled: &[Settled],
    now: i64,
) -> rusqlite::Result<bool> {
    for s in settled {
        match &s.outcome {
            Outcome::Delivered {
                status_code,
                latency_ms,
            } => {
                conn.prepare_cached(SETTLE_DELIVERED)?.execute(params![
                    status_code,
                    latency_ms,
                    now,
                    s.id
                ])?;
            }
            Outcome::Failed {
                status_code,
                error,
                latency_ms,
                retry_at,
            } => {
                let (status, next) = after_failure(*retry_at, now);
                conn.prepare_cached(SETTLE_FAILED)?.execute(params![
                    status,
                    next,
                    status_code,
                    error,
                    latency_ms,
                    now,
                    s.id
                ])?;
            }
        }
    }
    reevaluate_chain(conn, &chain.instance_id, &chain.webhook_id, &chain.chat_key)
}

/// Points the chain at its first pending delivery (unlocked), or deletes it when nothing is
/// pending. Whether it still has pending deliveries.
fn reevaluate_chain(
    conn: &Connection,
    instance_id: &str,
    webhook_id: &str,
    chat_key: &str,
) -> rusqlite::Result<bool> {
    // Most chains are empty once settled (one statement).
    let gone = conn.prepare_cached(DELETE_EMPTY_CHAIN)?.execute(params![
        instance_id,
        webhook_id,
        chat_key
    ])?;
    if gone == 0 {
        conn.prepare_cached(REPOINT_CHAIN)?
            .execute(params![instance_id, webhook_id, chat_key])?;
    }
    Ok(gone == 0)
}

/// See `Store::raise_message_ack`: the rows that changed.
pub(crate) fn raise_ack(
    conn: &Connection,
    instance_id: &str,
    wa_ids: &[String],
    ack: i64,
    payload_of: &(dyn Fn(&MessageRow) -> String + Send + Sync),
) -> rusqlite::Result<Vec<MessageRow>> {
    let mut select = conn.prepare_cached(RAISE_ACK_SELECT.0)?;
    let mut update = conn.prepare_cached(RAISE_ACK_UPDATE)?;
    let mut changed = Vec::new();
    for wa_id in wa_ids {
        let rows = select
            .query_map(params![instance_id, wa_id, ack], message_row)?
            .collect::<Result<Vec<_>, _>>()?;
        for mut row in rows {
            row.ack = ack;
            row.payload = payload_of(&row);
            update.execute(params![ack, row.payload, instance_id, row.id])?;
            changed.push(row);
        }
    }
    Ok(changed)
}

/// A row of [`next_deliveries_sql`].
fn claimed_delivery(row: &Row<'_>) -> rusqlite::Result<ClaimedDelivery> {
    Ok(ClaimedDelivery {
        id: row.get(0)?,
        event_seq: row.get(1)?,
        event_id: row.get(2)?,
        instance_id: row.get(3)?,
        webhook_id: row.get(4)?,
        url: row.get(5)?,
        chat_key: row.get(6)?,
        attempts: row.get(7)?,
        next_attempt_at: row.get(8)?,
        envelope: row.get(9)?,
    })
}

/// A row of `select_messages!`.
fn message_row(row: &Row<'_>) -> rusqlite::Result<MessageRow> {
    Ok(MessageRow {
        instance_id: row.get(0)?,
        id: row.get(1)?,
        wa_id: row.get(2)?,
        chat_id: row.get(3)?,
        from_me: row.get(4)?,
        timestamp: row.get(5)?,
        ack: row.get(6)?,
        payload: row.get(7)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rusqlite binds `$1`, `$2`… by position, and SQLite numbers named parameters in the order
    /// they first appear: every statement must name them in that order.
    #[tokio::test]
    async fn every_statement_names_its_parameters_in_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = crate::Store::open_in_dir(dir.path()).await.expect("open");
        let conn = Connection::open(dir.path().join(crate::SQLITE_FILE)).expect("rusqlite");
        for sql in Statements::new().all() {
            let stmt = conn.prepare(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
            for i in 1..=stmt.parameter_count() {
                assert_eq!(
                    stmt.parameter_name(i),
                    Some(format!("${i}").as_str()),
                    "{sql}"
                );
            }
        }
        drop(conn);
        store.close().await;
    }

    #[test]
    fn one_row_numbers_its_parameters() {
        assert_eq!(one_row(3), "VALUES ($1, $2, $3)");
    }
}
