//! The store's error type. `NotFound`, `LimitReached` and `Conflict` are facts the domain maps on
//! purpose; the other arms are faults (answered as `server_error` above, never shown to clients).

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row to update does not exist.
    #[error("not found")]
    NotFound,
    /// The token already owns as many instances as it may (see `Store::insert_instance`).
    #[error("instance limit reached")]
    LimitReached,
    /// A unique or foreign-key constraint refused the write (a duplicate id or name, or an
    /// instance for a token that does not exist). The text names the constraint, never a value.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The URL's scheme is neither `sqlite:` nor `postgres://` (only the scheme is kept: the rest
    /// of a URL may hold a password).
    #[error("unsupported database URL scheme {0:?} (expected sqlite: or postgres://)")]
    UnsupportedUrl(String),
    /// Creating the data directory failed.
    #[error("data directory: {0}")]
    Io(#[from] std::io::Error),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A fault of SQLite's writer thread (`group_commit.rs`).
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// `sqlite::memory:` and `mode=memory`: wawp keeps messages and events durably, and its
    /// SQLite writer opens the file on a connection of its own.
    #[error("an in-memory SQLite database is not supported: give a file (or a data directory)")]
    InMemory,
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The store's writer task is gone (the server is shutting down).
    #[error("the store is closed")]
    Closed,
    /// The store's writer answered a call with another call's kind of result (a bug).
    #[error("internal store error: {0}")]
    Internal(&'static str),
}

impl StoreError {
    /// Turns constraint violations of a write into [`StoreError::Conflict`]; other errors stay
    /// database faults.
    pub(crate) fn from_write(err: sqlx::Error) -> StoreError {
        if let Some(db) = err.as_database_error()
            && (db.is_unique_violation() || db.is_foreign_key_violation())
        {
            let what = if db.is_unique_violation() {
                "already exists"
            } else {
                "unknown reference"
            };
            return StoreError::Conflict(match db.constraint() {
                Some(constraint) => format!("{what} ({constraint})"),
                None => format!("{what} ({})", db.message()),
            });
        }
        StoreError::Database(err)
    }

    /// [`StoreError::from_write`] for SQLite's writer thread.
    pub(crate) fn from_sqlite_write(err: rusqlite::Error) -> StoreError {
        use rusqlite::ffi;
        if let rusqlite::Error::SqliteFailure(e, message) = &err {
            let what = match e.extended_code {
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    Some("already exists")
                }
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY => Some("unknown reference"),
                _ => None,
            };
            if let Some(what) = what {
                // SQLite's message names the constraint's columns, never a value.
                let detail = message.clone().unwrap_or_else(|| e.to_string());
                return StoreError::Conflict(format!("{what} ({detail})"));
            }
        }
        StoreError::Sqlite(err)
    }
}
