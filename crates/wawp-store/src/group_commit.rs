//! Group commit for SQLite: concurrent [`Store::save_messages`](crate::Store::save_messages) calls
//! (every message in and out, before WhatsApp is acknowledged) share one write transaction.
//!
//! SQLite has one writer, and each commit writes every page it dirtied to the WAL (the messages,
//! chats, events and deliveries tables and their indexes: a dozen pages for one message). Calls
//! that arrive while a commit is in progress queue here and the next transaction takes them all:
//! under load one commit carries many messages; alone, a call commits at once (nothing waits for
//! a batch to fill). Each caller still hears of its own rows only once they are committed. If a
//! shared transaction fails, each call is run again on its own, so one bad call fails alone.

use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use crate::StoreError;
use crate::messages::{NewMessage, save_in_tx};
use crate::outbox::{NewEvent, insert_events_in_tx};

/// Most calls one transaction carries.
const MAX_BATCH: usize = 128;

/// The queue in front of the SQLite writer. Dropping every handle ends its task.
#[derive(Clone)]
pub(crate) struct GroupCommit {
    jobs: mpsc::UnboundedSender<Job>,
}

struct Job {
    messages: Vec<NewMessage>,
    events: Vec<NewEvent>,
    reply: oneshot::Sender<Result<usize, StoreError>>,
}

impl GroupCommit {
    /// Starts the writer task (needs a tokio runtime).
    pub(crate) fn start(pool: SqlitePool) -> GroupCommit {
        let (jobs, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(pool, rx));
        GroupCommit { jobs }
    }

    /// Saves the messages and records the events (see `Store::save_messages`), committed when
    /// this returns `Ok`.
    pub(crate) async fn save(
        &self,
        messages: &[NewMessage],
        events: &[NewEvent],
    ) -> Result<usize, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            messages: messages.to_vec(),
            events: events.to_vec(),
            reply,
        };
        self.jobs.send(job).map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

async fn run(pool: SqlitePool, mut rx: mpsc::UnboundedReceiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        if jobs.len() > 1 {
            match save_together(&pool, &jobs).await {
                Ok(counts) => {
                    for (job, n) in jobs.into_iter().zip(counts) {
                        let _ = job.reply.send(Ok(n));
                    }
                    continue;
                }
                Err(e) => {
                    tracing::debug!(calls = jobs.len(), error = %e, "group commit failed; committing each call alone");
                }
            }
        }
        for job in jobs {
            let result = save_together(&pool, std::slice::from_ref(&job))
                .await
                .map(|counts| counts.first().copied().unwrap_or(0));
            let _ = job.reply.send(result);
        }
    }
}

/// Every job in one transaction; how many messages each stored.
async fn save_together(pool: &SqlitePool, jobs: &[Job]) -> Result<Vec<usize>, StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut counts = Vec::with_capacity(jobs.len());
    for job in jobs {
        let (n, known) = save_in_tx!(tx, &job.messages);
        insert_events_in_tx!(tx, &job.events, known);
        counts.push(n);
    }
    tx.commit().await?;
    Ok(counts)
}
