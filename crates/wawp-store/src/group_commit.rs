//! Group commit for SQLite: the hot writes share write transactions. Those are message saves
//! ([`Store::save_messages`](crate::Store::save_messages): every message in and out, before WhatsApp
//! is acknowledged), recorded events ([`Store::record_events`](crate::Store::record_events)) and the
//! webhook dispatcher's claims and settlements
//! ([`Store::claim_due_chains`](crate::Store::claim_due_chains),
//! [`Store::settle_deliveries`](crate::Store::settle_deliveries)).
//!
//! SQLite has one writer. Separate transactions from separate pooled connections fight for its
//! lock, and the loser sleeps in SQLite's busy handler (1, 2, 5, 10 ms…): with the dispatcher
//! settling a delivery per event beside the inbound commits, an inbound message waited ~10 ms for
//! its commit at 600 msg/s while the disk and the CPU had room. Here every hot write queues for
//! one task, which runs what is queued in one transaction: under load one commit carries many
//! calls; alone, a call commits at once (nothing waits for a batch to fill). Each caller hears of
//! its own result only once it is committed. If a shared transaction fails, each call is run again
//! on its own, so one bad call fails alone.
//!
//! This task also runs the dispatcher's fast lane ([`Store::fast_lane`](crate::Store::fast_lane)):
//! a save that gives a chain its first pending delivery leases the chain in the same transaction
//! and, once committed, hands it to the dispatcher, which then needs no claim of its own.

use std::sync::{Arc, Mutex};

use sqlx::{SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use crate::StoreError;
use crate::messages::{
    MessageRow, NewMessage, RAISE_ACK_SELECT, events_of_fresh, raise_ack_in_tx, save_in_tx,
};
use crate::now_ms;
use crate::outbox::{
    ChainKey, ClaimedDelivery, LeasedChain, NewEvent, Outcome, Settled, claim_in_tx,
    insert_events_in_tx, reevaluate_chain_in_tx, settle_chain_in_tx, settle_one_in_tx,
};
use crate::wal_checkpoint::Checkpointer;

/// Most calls one transaction carries.
const MAX_BATCH: usize = 128;

/// The queue in front of the SQLite writer. Dropping every handle ends its task.
#[derive(Clone)]
pub(crate) struct GroupCommit {
    jobs: mpsc::UnboundedSender<Job>,
    lane: Lane,
    /// The WAL checkpoints' connection (see `wal_checkpoint.rs`).
    checkpoints: SqlitePool,
}

/// Where the chains that saves create go, leased, once committed (the dispatcher's fast lane);
/// `None` while no dispatcher listens.
type Lane = Arc<Mutex<Option<FastLane>>>;

struct FastLane {
    chains: mpsc::UnboundedSender<LeasedChain>,
    lease_ms: i64,
}

/// One call's work.
enum Work {
    /// Messages with their events; the events of messages already stored are skipped.
    Save {
        messages: Vec<NewMessage>,
        events: Vec<NewEvent>,
    },
    /// Events on their own.
    Record { events: Vec<NewEvent> },
    Claim {
        now: i64,
        lease_ms: i64,
        chains: i64,
        per_chain: i64,
    },
    Settle {
        chain: ChainKey,
        settled: Vec<Settled>,
        now: i64,
    },
    RaiseAck {
        instance_id: String,
        wa_ids: Vec<String>,
        ack: i64,
        payload_of: PayloadOf,
    },
}

/// How a raised ack rewrites a message's payload.
pub(crate) type PayloadOf = Box<dyn Fn(&MessageRow) -> String + Send + Sync>;

/// What one call's work gave.
enum Done {
    /// How many messages (Save) or events (Record) were new.
    Count(usize),
    Claimed(Vec<Vec<ClaimedDelivery>>),
    /// Whether the chain still has pending deliveries.
    Settled(bool),
    Raised(Vec<MessageRow>),
}

struct Job {
    work: Work,
    reply: oneshot::Sender<Result<Done, StoreError>>,
}

impl GroupCommit {
    /// Starts the writer task (needs a tokio runtime).
    pub(crate) fn start(pool: SqlitePool, checkpointer: Checkpointer) -> GroupCommit {
        let (jobs, rx) = mpsc::unbounded_channel();
        let lane = Lane::default();
        let checkpoints = checkpointer.pool().clone();
        tokio::spawn(run(pool, rx, checkpointer, lane.clone()));
        GroupCommit {
            jobs,
            lane,
            checkpoints,
        }
    }

    /// Closes the checkpoints' connection (with the store's pool: SQLite checkpoints and removes
    /// the WAL when its last connection closes).
    pub(crate) async fn close(&self) {
        self.checkpoints.close().await;
    }

    /// From now on, the chains that saves and recorded events create are leased for `lease_ms`
    /// in their commit and sent here (replacing any earlier receiver).
    pub(crate) fn fast_lane(&self, lease_ms: i64) -> mpsc::UnboundedReceiver<LeasedChain> {
        let (chains, rx) = mpsc::unbounded_channel();
        if let Ok(mut lane) = self.lane.lock() {
            *lane = Some(FastLane { chains, lease_ms });
        }
        rx
    }

    /// Queues `work` and waits for its commit; `pick` takes the result of its kind.
    async fn call<T>(&self, work: Work, pick: fn(Done) -> Option<T>) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { work, reply })
            .map_err(|_| StoreError::Closed)?;
        let done = answer.await.map_err(|_| StoreError::Closed)??;
        pick(done).ok_or(StoreError::Internal("group commit answered another call"))
    }

    /// Saves the messages and records the events (see `Store::save_messages`), committed when
    /// this returns `Ok`.
    pub(crate) async fn save(
        &self,
        messages: &[NewMessage],
        events: &[NewEvent],
    ) -> Result<usize, StoreError> {
        let work = Work::Save {
            messages: messages.to_vec(),
            events: events.to_vec(),
        };
        self.call(work, |done| match done {
            Done::Count(n) => Some(n),
            _ => None,
        })
        .await
    }

    /// See `Store::record_events`.
    pub(crate) async fn record(&self, events: &[NewEvent]) -> Result<usize, StoreError> {
        let work = Work::Record {
            events: events.to_vec(),
        };
        self.call(work, |done| match done {
            Done::Count(n) => Some(n),
            _ => None,
        })
        .await
    }

    /// See `Store::claim_due_chains`.
    pub(crate) async fn claim(
        &self,
        now: i64,
        lease_ms: i64,
        chains: i64,
        per_chain: i64,
    ) -> Result<Vec<Vec<ClaimedDelivery>>, StoreError> {
        let work = Work::Claim {
            now,
            lease_ms,
            chains,
            per_chain,
        };
        self.call(work, |done| match done {
            Done::Claimed(claimed) => Some(claimed),
            _ => None,
        })
        .await
    }

    /// See `Store::settle_deliveries`.
    pub(crate) async fn settle(
        &self,
        chain: &ChainKey,
        settled: &[Settled],
        now: i64,
    ) -> Result<bool, StoreError> {
        let work = Work::Settle {
            chain: chain.clone(),
            settled: settled.to_vec(),
            now,
        };
        self.call(work, |done| match done {
            Done::Settled(pending) => Some(pending),
            _ => None,
        })
        .await
    }

    /// See `Store::raise_message_ack`.
    pub(crate) async fn raise_ack(
        &self,
        instance_id: &str,
        wa_ids: &[String],
        ack: i64,
        payload_of: PayloadOf,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let work = Work::RaiseAck {
            instance_id: instance_id.to_string(),
            wa_ids: wa_ids.to_vec(),
            ack,
            payload_of,
        };
        self.call(work, |done| match done {
            Done::Raised(rows) => Some(rows),
            _ => None,
        })
        .await
    }
}

async fn run(
    pool: SqlitePool,
    mut rx: mpsc::UnboundedReceiver<Job>,
    mut checkpointer: Checkpointer,
    lane: Lane,
) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        take_queued(&mut rx, &mut jobs);
        run_round(&pool, jobs, &lane).await;
        checkpointer.committed();
    }
}

/// Adds what is queued to `jobs`, up to [`MAX_BATCH`].
fn take_queued(rx: &mut mpsc::UnboundedReceiver<Job>, jobs: &mut Vec<Job>) {
    while jobs.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(job) => jobs.push(job),
            Err(_) => break,
        }
    }
}

/// One round: `jobs` together, or each alone if together fails.
async fn run_round(pool: &SqlitePool, jobs: Vec<Job>, lane: &Lane) {
    // The lane, and the lease its chains get in this round.
    let lane = match lane.lock() {
        Ok(lane) => lane
            .as_ref()
            .map(|l| (l.chains.clone(), now_ms(), l.lease_ms)),
        Err(_) => None,
    };
    let lease = lane.as_ref().map(|(_, now, ms)| now.saturating_add(*ms));
    let hand_over = |leased: Vec<Vec<ClaimedDelivery>>| {
        if let Some((chains, now, _)) = &lane {
            for deliveries in leased {
                // A closed lane only delays them: their lease runs out and they are claimed.
                let _ = chains.send(LeasedChain {
                    leased_at: *now,
                    deliveries,
                });
            }
        }
    };
    if jobs.len() > 1 {
        match run_together(pool, &jobs, lease).await {
            Ok((results, leased)) => {
                hand_over(leased);
                for (job, done) in jobs.into_iter().zip(results) {
                    let _ = job.reply.send(Ok(done));
                }
                return;
            }
            Err(e) => {
                tracing::debug!(calls = jobs.len(), error = %e, "group commit failed; committing each call alone");
            }
        }
    }
    for job in jobs {
        let result = run_together(pool, std::slice::from_ref(&job), lease)
            .await
            .and_then(|(mut results, leased)| {
                hand_over(leased);
                results
                    .pop()
                    .ok_or(StoreError::Internal("group commit lost a result"))
            });
        let _ = job.reply.send(result);
    }
}

/// Every job in one transaction; what each gave, and the chains its saves created, leased until
/// `lease` (when given). The saves and recorded events of all jobs go in first, together (a
/// handful of multi-row statements however many jobs there are, in the order the jobs came), then
/// the dispatcher's claims and settlements in order.
async fn run_together(
    pool: &SqlitePool,
    jobs: &[Job],
    lease: Option<i64>,
) -> Result<(Vec<Done>, Vec<Vec<ClaimedDelivery>>), StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let conn: &mut SqliteConnection = &mut tx;
    let (counts, leased) = save_all(conn, jobs, lease).await?;
    let mut results = Vec::with_capacity(jobs.len());
    for (job, count) in jobs.iter().zip(counts) {
        results.push(match (&job.work, count) {
            (_, Some(n)) => Done::Count(n),
            (
                Work::Claim {
                    now,
                    lease_ms,
                    chains,
                    per_chain,
                },
                None,
            ) => Done::Claimed(claim_in_tx!(conn, *now, *lease_ms, *chains, *per_chain)),
            (
                Work::Settle {
                    chain,
                    settled,
                    now,
                },
                None,
            ) => {
                // SQLite's write transaction already excludes every other writer: no chain lock.
                Done::Settled(settle_chain_in_tx!(conn, chain, settled, *now, ""))
            }
            (
                Work::RaiseAck {
                    instance_id,
                    wa_ids,
                    ack,
                    payload_of,
                },
                None,
            ) => {
                let sql = RAISE_ACK_SELECT.0;
                Done::Raised(raise_ack_in_tx!(
                    conn,
                    sql,
                    instance_id,
                    wa_ids,
                    *ack,
                    payload_of
                ))
            }
            (Work::Save { .. } | Work::Record { .. }, None) => {
                return Err(StoreError::Internal("a save was not counted"));
            }
        });
    }
    tx.commit().await?;
    Ok((results, leased))
}

/// The `Save` and `Record` jobs: their messages, then their events (those of messages that were not
/// new left out). Per job, how many of its messages (Save) or events (Record) were new (`None`
/// for the other jobs), and the chains created, leased until `lease` (when given).
async fn save_all(
    conn: &mut SqliteConnection,
    jobs: &[Job],
    lease: Option<i64>,
) -> Result<(Vec<Option<usize>>, Vec<Vec<ClaimedDelivery>>), StoreError> {
    let messages: Vec<&NewMessage> = jobs
        .iter()
        .filter_map(|job| match &job.work {
            Work::Save { messages, .. } => Some(messages.iter()),
            _ => None,
        })
        .flatten()
        .collect();
    let mut fresh = if messages.is_empty() {
        Vec::new()
    } else {
        save_in_tx!(conn, &messages)
    }
    .into_iter();
    let mut events: Vec<&NewEvent> = Vec::new();
    // Per job: its count so far, or where its events start in `events` (Record).
    let mut counts: Vec<Option<usize>> = Vec::with_capacity(jobs.len());
    let mut recorded: Vec<(usize, std::ops::Range<usize>)> = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        match &job.work {
            Work::Save {
                messages,
                events: evs,
            } => {
                let flags: Vec<bool> = fresh.by_ref().take(messages.len()).collect();
                events.extend(events_of_fresh(messages, &flags, evs));
                counts.push(Some(flags.iter().filter(|new| **new).count()));
            }
            Work::Record { events: evs } => {
                recorded.push((i, events.len()..events.len() + evs.len()));
                events.extend(evs.iter());
                counts.push(Some(0));
            }
            _ => counts.push(None),
        }
    }
    let mut leased = Vec::new();
    if !events.is_empty() {
        let (new, created) = insert_events_in_tx!(conn, &events, lease);
        for (i, range) in recorded {
            counts[i] = Some(new[range].iter().filter(|new| **new).count());
        }
        leased = created;
    }
    Ok((counts, leased))
}
