//! wawp-store: wawp's own persistence (tokens, instances; later webhooks, outbox, chats…) with sqlx
//! 0.9 on SQLite (the default, `<data-dir>/wawp.db`) or PostgreSQL (a `postgres://` URL). Both
//! backends are always compiled in; the URL picks one at run time.
//!
//! It owns the SQL and the migrations, and nothing else: no domain rules beyond what a query must
//! make atomic (the per-token instance quota), no HTTP, no WhatsApp. WhatsApp key material is *not*
//! here: whatsapp-rust keeps it in its own file (`whatsapp.db`), never opened by this pool.
//!
//! # Layout
//! - [`Store`]: the cloneable handle, opened from a URL ([`Store::open`]) or a data directory
//!   ([`Store::open_in_dir`]); runs the embedded migrations of its backend on open. SQLite needs a
//!   file: an in-memory database is refused ([`StoreError::InMemory`]).
//! - `tokens.rs` ([`TokenRow`]), `instances.rs` ([`InstanceRow`]): one module per aggregate.
//! - `error.rs` ([`StoreError`]): `NotFound`, `LimitReached`, `Conflict` are facts the layers above
//!   map on purpose; everything else is a database fault.
//! - `wal_checkpoint.rs`: SQLite's WAL is checkpointed on a thread and a connection of its own,
//!   beside the writer, instead of inside the commit that fills it.
//! - `group_commit.rs`: on SQLite, the hot writes (message saves, recorded events, the webhook
//!   dispatcher's claims and settlements, receipts' ack raises) queue for one writer thread with
//!   its own connection, which runs whatever is queued in one transaction; on PostgreSQL each call
//!   is its own transaction (multi-row statements, sqlx).
//! - `hot_writes.rs`: that writer's statements, through rusqlite (the same SQL text as the
//!   PostgreSQL path, one row at a time with cached prepared statements). Everything else,
//!   reads included, goes through sqlx on both backends.
//! - `migrations/{sqlite,postgres}/NNNN_name.sql`: one set per backend, same schema (checked by the
//!   `schema_parity` test). SQL in the modules is written once: `$1` placeholders (SQLite accepts
//!   them), TEXT ids, INTEGER/BIGINT epoch-ms times.
//!
//! # Decision: an enum of pools, not `sqlx::Any`
//! Spiked by reading sqlx 0.9's `any` driver against what this crate needs:
//! - `AnyConnectOptions` is built from a URL only, and the SQLite URL parser knows `mode`, `cache`,
//!   `immutable` and `vfs`, not WAL, `busy_timeout`, `synchronous` or `foreign_keys`; with `Any` they
//!   would have to be re-issued as `PRAGMA`s in an `after_connect` hook, on every connection.
//! - `Any` needs `sqlx::any::install_default_drivers()`, process-global state (STYLE.md §4.1), and
//!   the `any` cargo feature on top of the workspace's sqlx features.
//! - `Any` narrows column types to bool/int/float/text/blob and hides the backend, while some queries
//!   must differ anyway: `BEGIN IMMEDIATE` for SQLite writers here, `FOR UPDATE` (and later
//!   `SKIP LOCKED` leases) on PostgreSQL.
//!
//! So [`Store`] holds `Pool::Sqlite(SqlitePool) | Pool::Postgres(PgPool)`. Portable SQL is written
//! once and expanded for both arms by the crate-internal `with_pool!` macro; rows derive
//! `sqlx::FromRow`, which is generic over the row type. The cost is that each query is compiled
//! twice, which is cheap next to the rest of the workspace.

mod error;
mod group_commit;
mod hot_writes;
mod instances;
mod media_refs;
mod messages;
mod outbox;
mod secrets;
mod tokens;
mod wal_checkpoint;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use error::StoreError;
pub use instances::InstanceRow;
pub use messages::{ChatOrder, ChatRow, MessageRow, NewMessage};
pub use outbox::{
    ChainKey, ClaimedDelivery, DeliveryRow, EventRow, FailedAttempt, LeasedChain, NewDelivery,
    NewEvent, Outcome, Settled,
};
pub use tokens::TokenRow;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// File name of wawp's own database inside the data directory.
pub const SQLITE_FILE: &str = "wawp.db";

/// How long a SQLite writer waits for the write lock before failing with "database is locked".
/// The token CLI writes to the same file while the server runs; WAL lets readers through and this
/// makes the (rare) concurrent writers queue instead of failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// sqlx's SQLite connections: one. SQLite has a single writer; with several connections,
/// concurrent writers wait in SQLite's busy handler, which sleeps 1, 2, 5 … 100 ms between tries
/// and once capped the message path near 200 msg/s (`benches/README.md`). The hot writes have a
/// connection of their own (`group_commit.rs`); this one serves reads and the API's rare writes,
/// queued in the pool in arrival order. No query holds a connection while it waits for another
/// (transactions only use their own), so this cannot deadlock.
const SQLITE_MAX_CONNECTIONS: u32 = 1;
const POSTGRES_MAX_CONNECTIONS: u32 = 16;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// Extra attempts at opening a SQLite file that another process is creating at the same moment.
const FIRST_OPEN_RETRIES: u32 = 5;

/// wawp's database handle. Cheap to clone (the pools are reference-counted).
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    /// SQLite only: the queue that lets concurrent message saves share one commit.
    group: Option<group_commit::GroupCommit>,
}

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool of either backend. The body is expanded
/// once per backend, so it must be portable SQL with portable Rust types.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite($pool) => $body,
            $crate::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// Runs `$body` (which uses the open transaction `$tx`) in one write transaction on either
/// backend and evaluates to its value, committed. SQLite takes its single write lock up front
/// (`BEGIN IMMEDIATE`: a deferred transaction could fail when it upgrades to write).
macro_rules! write_tx {
    ($store:expr, $tx:ident => $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite(pool) => {
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            $crate::Pool::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}
pub(crate) use write_tx;

impl Store {
    /// Opens (creating if missing) the database at `url` and runs its migrations.
    ///
    /// `sqlite:///abs/path/wawp.db`, `sqlite://relative.db`, `sqlite:file.db`, or
    /// `postgres://user:pass@host/db` (also `postgresql://`). An in-memory SQLite database
    /// (`sqlite::memory:`, `mode=memory`) is refused: the group commit's writer opens the file on
    /// a connection of its own.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::open_postgres(url).await
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?;
            if is_in_memory(url) {
                return Err(StoreError::InMemory);
            }
            Self::open_sqlite(options).await
        } else {
            // Only the scheme: the rest of a URL may hold a password.
            let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
            Err(StoreError::UnsupportedUrl(scheme.to_string()))
        }
    }

    /// Opens `<data_dir>/wawp.db` (SQLite), creating the directory and the file if missing.
    pub async fn open_in_dir(data_dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir)?;
        let options = SqliteConnectOptions::new().filename(data_dir.join(SQLITE_FILE));
        Self::open_sqlite(options).await
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// Closes every pooled connection (SQLite checkpoints its WAL on the last close).
    pub async fn close(&self) {
        if let Some(group) = &self.group {
            group.close().await;
        }
        with_pool!(self, pool => pool.close().await)
    }

    async fn open_sqlite(options: SqliteConnectOptions) -> Result<Store, StoreError> {
        let options = options
            .create_if_missing(true)
            // WAL is persistent in the file: readers never block the writer and vice versa, so the
            // token CLI can use the file while the server runs. Setting it again on a file already in
            // WAL is a no-op and takes no exclusive lock.
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL is durable across application crashes in WAL mode (not across power loss of
            // the last commits), and saves an fsync per commit.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .foreign_keys(true)
            // Checkpoints run beside the writer (`wal_checkpoint.rs`); at this length the writer
            // checkpoints the rest itself and starts the WAL over.
            .pragma(
                "wal_autocheckpoint",
                wal_checkpoint::SAFETY_NET_PAGES.to_string(),
            );
        // Two processes (the server and the CLI) can open a brand-new file at the same moment.
        // The loser can then fail in two ways: switching the new file to WAL needs an exclusive
        // lock that the busy timeout does not wait for ("database is locked"), and sqlx takes no
        // lock around SQLite migrations ("table … already exists"). Both are transient and each
        // migration is one transaction with its bookkeeping row, so opening again is safe and
        // finds the winner's work done.
        let mut attempt = 0;
        loop {
            match Self::try_open_sqlite(&options).await {
                Err(e) if attempt < FIRST_OPEN_RETRIES && is_first_open_race(&e) => {
                    attempt += 1;
                    tracing::debug!(error = %e, attempt, "SQLite open raced another process; retrying");
                    tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
                }
                result => return result,
            }
        }
    }

    async fn try_open_sqlite(options: &SqliteConnectOptions) -> Result<Store, StoreError> {
        let pool = SqlitePoolOptions::new()
            .max_connections(SQLITE_MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await?;
        if let Err(e) = SQLITE_MIGRATIONS.run(&pool).await {
            pool.close().await;
            return Err(e.into());
        }
        let group = match group_commit::GroupCommit::start(options.get_filename()).await {
            Ok(group) => group,
            Err(e) => {
                pool.close().await;
                return Err(e);
            }
        };
        Ok(Store {
            group: Some(group),
            pool: Pool::Sqlite(pool),
        })
    }

    async fn open_postgres(url: &str) -> Result<Store, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(POSTGRES_MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await?;
        // sqlx takes an advisory lock around PostgreSQL migrations, so nodes may start together.
        POSTGRES_MIGRATIONS.run(&pool).await?;
        Ok(Store {
            pool: Pool::Postgres(pool),
            group: None,
        })
    }
}

/// Whether a `sqlite:` URL names an in-memory database (`sqlite::memory:`, `mode=memory`).
fn is_in_memory(url: &str) -> bool {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    path == ":memory:" || query.split('&').any(|pair| pair == "mode=memory")
}

/// A failure that another process opening the same new SQLite file at the same moment can cause.
fn is_first_open_race(err: &StoreError) -> bool {
    match err {
        StoreError::Migrate(_) => true,
        StoreError::Database(e) => e
            .as_database_error()
            .and_then(|db| db.code())
            // SQLITE_BUSY and its extended codes (5, 261, 517, …) all end in the low byte 5.
            .and_then(|code| code.parse::<i32>().ok())
            .is_some_and(|code| code & 0xff == 5),
        _ => false,
    }
}

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
