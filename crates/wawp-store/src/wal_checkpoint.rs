//! SQLite's WAL is checkpointed beside the writer, not by it.
//!
//! By default SQLite checkpoints inside the commit that takes the WAL past 1,000 pages: that commit
//! copies the pages into the database file and syncs it while every message queued behind it
//! waits (a twentieth of the writer's time at 1,000 msg/s, in one stall every few tenths of a
//! second). Here the writer's own threshold is only a safety net ([`SAFETY_NET_PAGES`]), and after
//! a commit the writer asks for a `PASSIVE` checkpoint on a connection of its own at most every
//! [`EVERY`]: it copies what no reader still needs while the writer goes on appending (WAL lets
//! both run at once), and the writer starts the WAL over once a checkpoint has copied all of it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sqlx::SqlitePool;

/// How often the writer's commits ask for a checkpoint.
const EVERY: Duration = Duration::from_millis(100);
/// `wal_autocheckpoint` of wawp's connections: a checkpoint in the committing connection only if
/// the WAL grew this long anyway (4 KiB pages: 64 MiB).
pub(crate) const SAFETY_NET_PAGES: u32 = 16_384;

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
