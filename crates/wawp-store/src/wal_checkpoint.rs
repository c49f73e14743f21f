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

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;

/// How often the writer's commits ask for a checkpoint.
const EVERY: Duration = Duration::from_millis(100);
/// `wal_autocheckpoint` of wawp's connections: a checkpoint in the committing connection once the
/// WAL is this long (4 KiB pages: 16 MiB), which starts it over.
pub(crate) const SAFETY_NET_PAGES: u32 = 4_096;

/// Asks for the checkpoints; owned by the writer thread. The checkpoints run on a thread and a
/// connection of their own, opened on the first one.
pub(crate) struct Checkpointer {
    /// A checkpoint to run; holds one request, so a request made while one is queued is dropped.
    requests: Option<mpsc::SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
    last: Instant,
}

impl Checkpointer {
    /// Starts the checkpoints' thread for the SQLite file at `path` (none if the thread cannot
    /// be started: the writer's own threshold still checkpoints).
    pub(crate) fn start(path: PathBuf) -> Checkpointer {
        let (requests, rx) = mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("wawp-store-checkpoints".into())
            .spawn(move || checkpoints(&path, &rx));
        let (requests, thread) = match thread {
            Ok(thread) => (Some(requests), Some(thread)),
            Err(e) => {
                tracing::warn!(error = %e, "could not start the WAL checkpoints' thread");
                (None, None)
            }
        };
        Checkpointer {
            requests,
            thread,
            last: Instant::now(),
        }
    }

    /// Call after a commit: asks for a checkpoint when the last request is [`EVERY`] old (and
    /// none is waiting).
    pub(crate) fn committed(&mut self) {
        if self.last.elapsed() < EVERY {
            return;
        }
        self.last = Instant::now();
        if let Some(requests) = &self.requests {
            let _ = requests.try_send(());
        }
    }

    /// Ends the thread, once its checkpoint (if one runs) is done, and closes its connection.
    pub(crate) fn close(&mut self) {
        self.requests = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The checkpoints' thread: a `PASSIVE` checkpoint per request, until the writer goes.
fn checkpoints(path: &std::path::Path, requests: &mpsc::Receiver<()>) {
    let mut conn: Option<Connection> = None;
    while requests.recv().is_ok() {
        if conn.is_none() {
            conn = Connection::open(path)
                .inspect_err(
                    |e| tracing::warn!(error = %e, "WAL checkpoint: could not open the database"),
                )
                .ok();
        }
        let Some(conn) = &conn else { continue };
        // (busy, frames in the WAL, frames copied)
        match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
        }) {
            Ok((frames, copied)) => tracing::trace!(frames, copied, "WAL checkpoint"),
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
        }
    }
}
