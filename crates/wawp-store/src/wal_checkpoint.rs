//! SQLite's WAL is checkpointed beside the writer, not by it.
//!
//! By default SQLite checkpoints inside the commit that takes the WAL past 1,000 pages: that commit
//! copies the pages into the database file and syncs it while every message queued behind it
//! waits. Here, after a commit, the writer asks for a `PASSIVE` checkpoint on a connection of its
//! own at most every [`EVERY`]: it copies what no reader still needs while the writer goes on
//! appending (WAL lets both run at once).
//!
//! A busy writer appends while such a checkpoint runs, so the WAL is rarely all copied when the
//! writer starts its next transaction, which is when SQLite would start the WAL over. The writer's
//! own threshold ([`SAFETY_NET_PAGES`]) does that: when it fires, the checkpoint it runs in the
//! commit finds all but the last tenth of a second already copied, and the WAL starts over.
//! Measured (`benches/README.md`, session 5): inbound messages sustained at 2,000/s instead of
//! 1,824–1,886 with SQLite's default, for the same CPU per message.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sqlx::SqlitePool;

/// How often the writer's commits ask for a checkpoint.
const EVERY: Duration = Duration::from_millis(100);
/// `wal_autocheckpoint` of wawp's connections: a checkpoint in the committing connection once the
/// WAL is this long (4 KiB pages: 16 MiB), which starts it over.
pub(crate) const SAFETY_NET_PAGES: u32 = 4_096;

/// Runs the checkpoints; owned by the writer task.
pub(crate) struct Checkpointer {
    /// One connection, used for nothing else.
    pool: SqlitePool,
    last: Instant,
    running: Arc<AtomicBool>,
}

impl Checkpointer {
    pub(crate) fn new(pool: SqlitePool) -> Checkpointer {
        Checkpointer {
            pool,
            last: Instant::now(),
            running: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The checkpoints' connection, to close it with the store.
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Call after a commit: starts a checkpoint when the last one is [`EVERY`] old and done.
    pub(crate) fn committed(&mut self) {
        if self.pool.is_closed()
            || self.last.elapsed() < EVERY
            || self.running.swap(true, Ordering::AcqRel)
        {
            return;
        }
        self.last = Instant::now();
        let pool = self.pool.clone();
        let running = self.running.clone();
        tokio::spawn(async move {
            // (busy, frames in the WAL, frames copied)
            match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(&pool)
                .await
            {
                Ok((_, frames, copied)) => {
                    tracing::trace!(frames, copied, "WAL checkpoint");
                }
                Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
            }
            running.store(false, Ordering::Release);
        });
    }
}
