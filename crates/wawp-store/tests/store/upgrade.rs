//! Upgrades: a SQLite file written by an older wawp opens with everything it held. The file is
//! built with the migrations up to a given one (copied from this crate), filled with raw SQL as
//! that version wrote it, then opened with [`Store::open_in_dir`], which runs the rest.

use std::path::Path;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use wawp_store::Store;

/// A SQLite file at `dir/wawp.db` with the migrations numbered up to `last`.
async fn database_at(dir: &Path, last: u32) -> sqlx::SqlitePool {
    let migrations = dir.join("migrations");
    std::fs::create_dir_all(&migrations).expect("migrations dir");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    for entry in std::fs::read_dir(&source).expect("read migrations") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let number: u32 = name[..4].parse().expect("NNNN_ prefix");
        if number <= last {
            std::fs::copy(&path, migrations.join(&name)).expect("copy migration");
        }
    }
    let options = SqliteConnectOptions::new()
        .filename(dir.join("wawp.db"))
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .expect("open");
    sqlx::migrate::Migrator::new(migrations.as_path())
        .await
        .expect("load migrations")
        .run(&pool)
        .await
        .expect("run migrations");
    pool
}

async fn exec(pool: &sqlx::SqlitePool, sql: &str) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}: {sql}"));
}

#[tokio::test]
async fn pending_deliveries_and_their_chains_survive_migration_0007() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pool = database_at(dir.path(), 6).await;
    // As 0006 left them: one chat with a delivered event and two pending ones behind it (its
    // chain due at the first), and a chain of another webhook leased by a dispatcher that died.
    exec(
        &pool,
        "INSERT INTO tokens (id, name, hash, created_at) VALUES ('t', 't', 'h', 1);
         INSERT INTO instances (id, name, token_id, config, desired_state, created_at, updated_at)
             VALUES ('I', 'i', 't', '{}', 'running', 1, 1);
         INSERT INTO events (seq, event_id, instance_id, name, chat_key, envelope, created_at) VALUES
             (1, 'evt_1', 'I', 'message', 'a@c.us', '{\"id\":\"evt_1\"}', 10),
             (2, 'evt_2', 'I', 'message', 'a@c.us', '{\"id\":\"evt_2\"}', 20),
             (3, 'evt_3', 'I', 'message', 'a@c.us', '{\"id\":\"evt_3\"}', 30);
         INSERT INTO deliveries (event_seq, instance_id, webhook_id, url, chat_key, status, attempts,
             next_attempt_at, locked_until, created_at, updated_at) VALUES
             (1, 'I', 'h1', 'http://127.0.0.1:9/', 'a@c.us', 'delivered', 1, 10, 0, 10, 11),
             (2, 'I', 'h1', 'http://127.0.0.1:9/', 'a@c.us', 'pending', 0, 20, 0, 20, 20),
             (3, 'I', 'h1', 'http://127.0.0.1:9/', 'a@c.us', 'pending', 0, 30, 0, 30, 30),
             (3, 'I', 'h2', 'http://127.0.0.1:9/', 'a@c.us', 'pending', 2, 40, 0, 30, 30);
         INSERT INTO delivery_chains (instance_id, webhook_id, chat_key, due_at, locked_until) VALUES
             ('I', 'h1', 'a@c.us', 20, 0),
             ('I', 'h2', 'a@c.us', 40, 50);",
    )
    .await;
    pool.close().await;

    let store = Store::open_in_dir(dir.path())
        .await
        .expect("open and upgrade");
    // Before the dead dispatcher's lease runs out, only h1's chain is due, in order.
    let claimed = store
        .claim_due_chains(45, 60_000, 10, 10)
        .await
        .expect("claim");
    let ids = |chains: &[Vec<wawp_store::ClaimedDelivery>]| -> Vec<Vec<(String, String)>> {
        chains
            .iter()
            .map(|c| {
                c.iter()
                    .map(|d| (d.webhook_id.clone(), d.event_id.clone()))
                    .collect()
            })
            .collect()
    };
    assert_eq!(
        ids(&claimed),
        vec![vec![
            ("h1".to_string(), "evt_2".to_string()),
            ("h1".to_string(), "evt_3".to_string())
        ]]
    );
    // Once it has, h2's chain is claimed with its attempts so far.
    let claimed = store
        .claim_due_chains(60, 60_000, 10, 10)
        .await
        .expect("claim");
    assert_eq!(
        ids(&claimed),
        vec![vec![("h2".to_string(), "evt_3".to_string())]]
    );
    assert_eq!(claimed[0][0].attempts, 2);
    store.close().await;
}
