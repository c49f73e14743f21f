//! Group commit for SQLite: the hot writes share write transactions. Those are message saves
//! ([`Store::save_messages`](crate::Store::save_messages): every message in and out, before WhatsApp
//! is acknowledged), recorded events ([`Store::record_events`](crate::Store::record_events)), the
//! webhook dispatcher's claims and settlements
//! ([`Store::claim_due_chains`](crate::Store::claim_due_chains),
//! [`Store::settle_deliveries`](crate::Store::settle_deliveries)) and receipts' ack raises.
//!
//! SQLite has one writer. Separate transactions from separate pooled connections fight for its
//! lock, and the loser sleeps in SQLite's busy handler (1, 2, 5, 10 ms…): with the dispatcher
//! settling a delivery per event beside the inbound commits, an inbound message waited ~10 ms for
//! its commit at 600 msg/s while the disk and the CPU had room. Here every hot write queues for
//! one writer, which runs what is queued in one transaction: under load one commit carries many
//! calls; alone, a call commits at once (nothing waits for a batch to fill). Each caller hears of
//! its own result only once it is committed. If a shared transaction fails, each call is run again
//! on its own, so one bad call fails alone.
//!
//! The writer is a thread of its own with its own connection (rusqlite, the statements in
//! `hot_writes.rs`): a round is one wake-up of that thread, however many statements it runs.
//! Through sqlx, each statement was a hand-off to sqlx's worker thread and back, a dozen or more
//! per round, and a quarter of wawp's CPU went to switching threads (`benches/README.md`,
//! sessions 6 and 7). The rest of the store (reads, and the rare writes of the API and the CLI) stays on
//! sqlx's connection; such a write meets this writer's lock in SQLite's busy handler, and this
//! writer waits for theirs in [`wait_for_lock`], in steps of a tenth of a millisecond.
//!
//! This writer also runs the dispatcher's fast lane ([`Store::fast_lane`](crate::Store::fast_lane)):
//! a save that gives a chain its first pending delivery leases the chain in the same transaction
//! and, once committed, hands it to the dispatcher, which then needs no claim of its own.

use std::path::Path;
use std::sync::{Arc, Mutex, mpsc as std_mpsc};
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use crate::StoreError;
use crate::hot_writes::{self, Round, Statements};
use crate::messages::{MessageRow, NewMessage, events_of_fresh};
use crate::now_ms;
use crate::outbox::{ChainKey, ClaimedDelivery, LeasedChain, NewEvent, Settled};
use crate::wal_checkpoint::{self, Checkpointer};

/// Most calls one transaction carries.
const MAX_BATCH: usize = 128;

/// How long the writer waits for SQLite's lock held by another connection (the API's rare
/// writes on sqlx's connection, the token CLI in another process) before it fails.
const LOCK_TIMEOUT: Duration = Duration::from_secs(5);
/// The writer's step while it waits for that lock.
const LOCK_STEP: Duration = Duration::from_micros(100);

/// The queue in front of the SQLite writer thread. Dropping every handle ends the thread.
#[derive(Clone)]
pub(crate) struct GroupCommit {
    queue: std_mpsc::Sender<Message>,
    lane: Lane,
}

/// What the writer thread receives.
enum Message {
    Job(Job),
    /// Finish: close the connections (SQLite checkpoints and removes the WAL when the last one
    /// closes), then answer.
    Close(oneshot::Sender<()>),
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
    /// Opens the writer's connection to the SQLite file at `path` (already migrated) and starts
    /// its thread.
    pub(crate) async fn start(path: &Path) -> Result<GroupCommit, StoreError> {
        let (queue, rx) = std_mpsc::channel();
        let lane = Lane::default();
        let (ready, opened) = oneshot::channel();
        let path = path.to_path_buf();
        let thread_lane = lane.clone();
        std::thread::Builder::new()
            .name("wawp-store-writer".into())
            .spawn(move || match open_writer(&path) {
                Ok(conn) => {
                    let _ = ready.send(Ok(()));
                    run(conn, rx, Checkpointer::start(path), thread_lane);
                }
                Err(e) => {
                    let _ = ready.send(Err(e));
                }
            })?;
        opened.await.map_err(|_| StoreError::Closed)??;
        Ok(GroupCommit { queue, lane })
    }

    /// Finishes what is queued, then closes the writer's and the checkpoints' connections.
    pub(crate) async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.queue.send(Message::Close(done)).is_ok() {
            let _ = closed.await;
        }
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
        self.queue
            .send(Message::Job(Job { work, reply }))
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

/// The writer's connection: the pragmas sqlx gives its own connections (`Store::open_sqlite`),
/// and a busy handler that waits in small steps.
fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "wal_autocheckpoint", wal_checkpoint::SAFETY_NET_PAGES)?;
    conn.busy_handler(Some(wait_for_lock))?;
    Ok(conn)
}

/// SQLite's busy handler for the writer: sleeps [`LOCK_STEP`] and tries again, up to
/// [`LOCK_TIMEOUT`]. (SQLite's own handler sleeps 1, 2, 5, 10 ms… between tries: far longer
/// than the other connections' writes last.)
fn wait_for_lock(attempts: i32) -> bool {
    let waited = LOCK_STEP.saturating_mul(u32::try_from(attempts).unwrap_or(u32::MAX));
    if waited >= LOCK_TIMEOUT {
        return false;
    }
    std::thread::sleep(LOCK_STEP);
    true
}

/// The writer thread: a round per wake-up, until every handle is dropped or [`Message::Close`].
fn run(
    mut conn: Connection,
    rx: std_mpsc::Receiver<Message>,
    mut checkpointer: Checkpointer,
    lane: Lane,
) {
    let sql = Statements::new();
    let mut closing = None;
    while let Ok(first) = rx.recv() {
        let mut jobs = Vec::new();
        match first {
            Message::Job(job) => jobs.push(job),
            Message::Close(done) => closing = Some(done),
        }
        // What is queued, up to MAX_BATCH.
        while closing.is_none() && jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(Message::Job(job)) => jobs.push(job),
                Ok(Message::Close(done)) => closing = Some(done),
                Err(_) => break,
            }
        }
        if !jobs.is_empty() {
            // A panic (a bug, or in a caller's `payload_of`) rolls the round back and fails its
            // calls (their answers are dropped: `StoreError::Closed`), not the writer.
            let round = std::panic::AssertUnwindSafe(|| run_round(&mut conn, &sql, jobs, &lane));
            if std::panic::catch_unwind(round).is_err() {
                tracing::error!("the store's writer panicked in a round; its calls failed");
            }
            checkpointer.committed();
        }
        if closing.is_some() {
            break;
        }
    }
    drop(conn);
    checkpointer.close();
    if let Some(done) = closing {
        let _ = done.send(());
    }
}

/// One round: `jobs` together, or each alone if together fails.
fn run_round(conn: &mut Connection, sql: &Statements, jobs: Vec<Job>, lane: &Lane) {
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
        match run_together(conn, sql, &jobs, lease) {
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
        let result = run_together(conn, sql, std::slice::from_ref(&job), lease).and_then(
            |(mut results, leased)| {
                hand_over(leased);
                results
                    .pop()
                    .ok_or(StoreError::Internal("group commit lost a result"))
            },
        );
        let _ = job.reply.send(result);
    }
}

/// Every job in one transaction, in order; what each gave, and the chains its saves created,
/// leased until `lease` (when given).
fn run_together(
    conn: &mut Connection,
    sql: &Statements,
    jobs: &[Job],
    lease: Option<i64>,
) -> Result<(Vec<Done>, Vec<Vec<ClaimedDelivery>>), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(StoreError::from_sqlite_write)?;
    let mut round = Round::new(lease);
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        let done =
            run_job(&tx, sql, &job.work, &mut round).map_err(StoreError::from_sqlite_write)?;
        results.push(done);
    }
    tx.commit().map_err(StoreError::from_sqlite_write)?;
    Ok((results, round.leased))
}

/// One job's statements, inside the round's transaction.
fn run_job(
    conn: &Connection,
    sql: &Statements,
    work: &Work,
    round: &mut Round,
) -> rusqlite::Result<Done> {
    Ok(match work {
        Work::Save { messages, events } => {
            let fresh = hot_writes::save_messages(conn, sql, messages)?;
            let events = events_of_fresh(messages, &fresh, events);
            hot_writes::insert_events(conn, sql, &events, round)?;
            Done::Count(fresh.iter().filter(|new| **new).count())
        }
        Work::Record { events } => {
            let events: Vec<&NewEvent> = events.iter().collect();
            let fresh = hot_writes::insert_events(conn, sql, &events, round)?;
            Done::Count(fresh.iter().filter(|new| **new).count())
        }
        Work::Claim {
            now,
            lease_ms,
            chains,
            per_chain,
        } => Done::Claimed(hot_writes::claim(
            conn, *now, *lease_ms, *chains, *per_chain,
        )?),
        Work::Settle {
            chain,
            settled,
            now,
        } => Done::Settled(hot_writes::settle_chain(conn, chain, settled, *now)?),
        Work::RaiseAck {
            instance_id,
            wa_ids,
            ack,
            payload_of,
        } => Done::Raised(hot_writes::raise_ack(
            conn,
            instance_id,
            wa_ids,
            *ack,
            payload_of.as_ref(),
        )?),
    })
}
