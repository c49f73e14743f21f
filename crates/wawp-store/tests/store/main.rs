//! The store test suite. Every `both_backends` test runs on a temp SQLite file, and again on
//! PostgreSQL when `WAWP_TEST_DATABASE_URL` is set (skipped, with a note on stderr, otherwise).
//! Rows get per-run unique ids, so the PostgreSQL leg can reuse one database across runs.

mod messages;
mod outbox;
mod schema_parity;
mod upgrade;

use std::sync::atomic::{AtomicU64, Ordering};

use wawp_store::{InstanceRow, Store, StoreError, TokenRow};

const PG_ENV: &str = "WAWP_TEST_DATABASE_URL";

/// A store to test on, and what keeps it alive.
struct Backend {
    store: Store,
    _dir: Option<tempfile::TempDir>,
}

/// SQLite on a fresh temp dir, plus PostgreSQL if configured.
/// Claims are global (the dispatcher serves every instance) and the PostgreSQL leg shares one
/// database between tests: tests that claim run one at a time and delete their instance (and so
/// its events and deliveries) when done.
static CLAIMS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn backends(test: &str) -> Vec<Backend> {
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = Store::open_in_dir(dir.path()).await.expect("open sqlite");
    assert_eq!(sqlite.backend(), "sqlite");
    let mut all = vec![Backend {
        store: sqlite,
        _dir: Some(dir),
    }];
    match std::env::var(PG_ENV) {
        Ok(url) if !url.is_empty() => {
            let pg = Store::open(&url)
                .await
                .expect("open postgres from WAWP_TEST_DATABASE_URL");
            assert_eq!(pg.backend(), "postgres");
            all.push(Backend {
                store: pg,
                _dir: None,
            });
        }
        _ => eprintln!("{test}: PostgreSQL leg skipped ({PG_ENV} is not set)"),
    }
    all
}

/// A prefix unique to this process and call, so rows never clash across tests and runs.
fn unique(prefix: &str) -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{prefix}_{}_{nanos:x}_{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

fn token(max_instances: Option<i64>) -> TokenRow {
    let id = unique("tok");
    TokenRow {
        hash: format!("hash-of-{id}"),
        name: format!("name {id}"),
        id,
        max_instances,
        created_at: 1_700_000_000_000,
        revoked_at: None,
        last_used_at: None,
    }
}

/// A new instance (and its owner token) in `store`; answers its id.
async fn an_instance(store: &Store) -> String {
    let owner = token(None);
    store.insert_token(&owner).await.expect("token");
    let inst = instance(&owner.id);
    store.insert_instance(&inst, None).await.expect("instance");
    inst.id
}

fn instance(token_id: &str) -> InstanceRow {
    let id = unique("INST");
    InstanceRow {
        name: format!("wawp-{id}"),
        id,
        token_id: token_id.to_string(),
        config: r#"{"webhooks":[],"proxy":null}"#.to_string(),
        desired_state: "stopped".to_string(),
        me: None,
        created_at: 1_700_000_000_000,
        updated_at: 1_700_000_000_000,
    }
}

#[tokio::test]
async fn tokens_round_trip() {
    for Backend { store, .. } in backends("tokens_round_trip").await {
        let b = store.backend();
        let row = token(Some(3));
        store.insert_token(&row).await.expect("insert");

        assert_eq!(
            store.find_token_by_hash(&row.hash).await.expect("find"),
            Some(row.clone()),
            "{b}"
        );
        assert_eq!(
            store.get_token(&row.id).await.expect("get"),
            Some(row.clone()),
            "{b}"
        );
        assert_eq!(
            store
                .find_token_by_hash("no-such-hash")
                .await
                .expect("find"),
            None,
            "{b}"
        );
        assert_eq!(store.get_token("tok_nope").await.expect("get"), None, "{b}");
        assert!(
            store.list_tokens().await.expect("list").contains(&row),
            "{b}"
        );

        store
            .touch_token(&row.id, 1_700_000_000_500)
            .await
            .expect("touch");
        store
            .touch_token("tok_nope", 1)
            .await
            .expect("touching an unknown token is not an error");
        let touched = store.get_token(&row.id).await.expect("get").expect("row");
        assert_eq!(touched.last_used_at, Some(1_700_000_000_500), "{b}");

        assert!(
            store
                .revoke_token(&row.id, 1_700_000_001_000)
                .await
                .expect("revoke"),
            "{b}"
        );
        assert!(
            store
                .revoke_token(&row.id, 1_700_000_009_000)
                .await
                .expect("revoke again"),
            "{b}"
        );
        assert!(
            !store
                .revoke_token("tok_nope", 1)
                .await
                .expect("revoke unknown"),
            "{b}"
        );
        // Revoked tokens are still found (the caller refuses them), with the first revocation time.
        let revoked = store
            .find_token_by_hash(&row.hash)
            .await
            .expect("find")
            .expect("row");
        assert_eq!(revoked.revoked_at, Some(1_700_000_001_000), "{b}");

        let mut same_hash = token(None);
        same_hash.hash = row.hash.clone();
        let err = store
            .insert_token(&same_hash)
            .await
            .expect_err("duplicate hash");
        assert!(matches!(err, StoreError::Conflict(_)), "{b}: {err:?}");
        let err = store.insert_token(&row).await.expect_err("duplicate id");
        assert!(matches!(err, StoreError::Conflict(_)), "{b}: {err:?}");
    }
}

#[tokio::test]
async fn instances_round_trip() {
    for Backend { store, .. } in backends("instances_round_trip").await {
        let b = store.backend();
        let owner = token(None);
        store.insert_token(&owner).await.expect("insert token");
        let first = instance(&owner.id);
        let second = instance(&owner.id);
        store
            .insert_instance(&first, None)
            .await
            .expect("insert first");
        store
            .insert_instance(&second, None)
            .await
            .expect("insert second");

        assert_eq!(
            store.get_instance(&first.id).await.expect("get"),
            Some(first.clone()),
            "{b}"
        );
        assert_eq!(store.get_instance("NOPE").await.expect("get"), None, "{b}");
        let listed = store.list_instances(&owner.id).await.expect("list");
        assert_eq!(listed.len(), 2, "{b}");
        assert!(listed.contains(&first) && listed.contains(&second), "{b}");
        assert_eq!(
            store.count_instances(&owner.id).await.expect("count"),
            2,
            "{b}"
        );
        assert_eq!(
            store.count_instances("tok_nobody").await.expect("count"),
            0,
            "{b}"
        );

        store
            .set_instance_desired_state(&first.id, "running")
            .await
            .expect("desired");
        let restore = store.list_instances_to_restore().await.expect("restore");
        assert!(restore.iter().any(|r| r.id == first.id), "{b}");
        assert!(!restore.iter().any(|r| r.id == second.id), "{b}");

        store
            .set_instance_me(&first.id, Some(r#"{"id":"447441429009@c.us"}"#))
            .await
            .expect("me");
        store
            .set_instance_config(&first.id, r#"{"webhooks":[1]}"#)
            .await
            .expect("config");
        let updated = store
            .get_instance(&first.id)
            .await
            .expect("get")
            .expect("row");
        assert_eq!(updated.desired_state, "running", "{b}");
        assert_eq!(
            updated.me.as_deref(),
            Some(r#"{"id":"447441429009@c.us"}"#),
            "{b}"
        );
        assert_eq!(updated.config, r#"{"webhooks":[1]}"#, "{b}");
        assert!(
            updated.updated_at > first.updated_at,
            "{b}: updated_at moves"
        );
        assert_eq!(updated.created_at, first.created_at, "{b}");
        store
            .set_instance_me(&first.id, None)
            .await
            .expect("clear me");
        let cleared = store
            .get_instance(&first.id)
            .await
            .expect("get")
            .expect("row");
        assert_eq!(cleared.me, None, "{b}");

        for err in [
            store.set_instance_desired_state("NOPE", "running").await,
            store.set_instance_me("NOPE", None).await,
            store.set_instance_config("NOPE", "{}").await,
        ] {
            assert!(matches!(err, Err(StoreError::NotFound)), "{b}: {err:?}");
        }
        let err = store.set_instance_desired_state(&first.id, "dancing").await;
        assert!(err.is_err(), "{b}: the schema refuses unknown states");

        let err = store
            .insert_instance(&first, None)
            .await
            .expect_err("duplicate id");
        assert!(matches!(err, StoreError::Conflict(_)), "{b}: {err:?}");
        let mut same_name = instance(&owner.id);
        same_name.name = first.name.clone();
        let err = store
            .insert_instance(&same_name, None)
            .await
            .expect_err("duplicate name");
        assert!(matches!(err, StoreError::Conflict(_)), "{b}: {err:?}");
        let orphan = instance("tok_that_does_not_exist");
        let err = store
            .insert_instance(&orphan, Some(5))
            .await
            .expect_err("unknown token");
        assert!(matches!(err, StoreError::Conflict(_)), "{b}: {err:?}");

        assert!(
            store.delete_instance(&first.id).await.expect("delete"),
            "{b}"
        );
        assert!(
            !store
                .delete_instance(&first.id)
                .await
                .expect("delete again"),
            "{b}"
        );
        assert_eq!(
            store.get_instance(&first.id).await.expect("get"),
            None,
            "{b}"
        );
        assert_eq!(
            store.count_instances(&owner.id).await.expect("count"),
            1,
            "{b}"
        );
    }
}

#[tokio::test]
async fn insert_instance_enforces_the_quota() {
    for Backend { store, .. } in backends("insert_instance_enforces_the_quota").await {
        let b = store.backend();
        let owner = token(Some(2));
        store.insert_token(&owner).await.expect("insert token");
        store
            .insert_instance(&instance(&owner.id), Some(2))
            .await
            .expect("1 of 2");
        store
            .insert_instance(&instance(&owner.id), Some(2))
            .await
            .expect("2 of 2");
        let err = store
            .insert_instance(&instance(&owner.id), Some(2))
            .await
            .expect_err("3 of 2");
        assert!(matches!(err, StoreError::LimitReached), "{b}: {err:?}");
        assert_eq!(
            store.count_instances(&owner.id).await.expect("count"),
            2,
            "{b}"
        );

        // The limit is per token, and `None` is unlimited.
        let other = token(None);
        store.insert_token(&other).await.expect("insert token");
        store
            .insert_instance(&instance(&other.id), Some(2))
            .await
            .expect("other token");
        for _ in 0..3 {
            store
                .insert_instance(&instance(&owner.id), None)
                .await
                .expect("no limit");
        }
        let err = store
            .insert_instance(&instance(&owner.id), Some(0))
            .await
            .expect_err("zero");
        assert!(matches!(err, StoreError::LimitReached), "{b}: {err:?}");
    }
}

/// Many creates at once for one token: exactly `limit` succeed.
async fn race_creates(
    stores: &[Store],
    owner: &str,
    limit: u32,
    attempts: usize,
) -> (usize, usize) {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..attempts {
        let store = stores[i % stores.len()].clone();
        let row = instance(owner);
        tasks.spawn(async move { store.insert_instance(&row, Some(limit)).await });
    }
    let (mut ok, mut limited) = (0, 0);
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("task") {
            Ok(()) => ok += 1,
            Err(StoreError::LimitReached) => limited += 1,
            Err(other) => panic!("unexpected error under contention: {other:?}"),
        }
    }
    (ok, limited)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_inserts_never_exceed_the_quota() {
    for Backend { store, .. } in backends("concurrent_inserts_never_exceed_the_quota").await {
        let b = store.backend();
        let owner = token(Some(3));
        store.insert_token(&owner).await.expect("insert token");
        let (ok, limited) = race_creates(std::slice::from_ref(&store), &owner.id, 3, 24).await;
        assert_eq!((ok, limited), (3, 21), "{b}");
        assert_eq!(
            store.count_instances(&owner.id).await.expect("count"),
            3,
            "{b}"
        );
    }
}

/// The token CLI opens the server's SQLite file while the server runs: two pools on one file
/// (the same locking as two processes) can both read and write, and the quota holds across them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_handles_share_one_sqlite_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Store::open_in_dir(dir.path()).await.expect("server opens");
    let owner = token(Some(4));
    server.insert_token(&owner).await.expect("server writes");

    // The "CLI" opens the same file (migrations already applied: a no-op) and writes.
    let cli = Store::open_in_dir(dir.path())
        .await
        .expect("cli opens while the server is open");
    let cli_token = token(None);
    cli.insert_token(&cli_token).await.expect("cli writes");
    assert!(
        server
            .get_token(&cli_token.id)
            .await
            .expect("read")
            .is_some(),
        "server sees it"
    );
    assert!(cli.revoke_token(&owner.id, 1).await.expect("cli revokes"));
    let seen = server
        .get_token(&owner.id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(seen.revoked_at, Some(1), "server sees the CLI's revocation");

    let (ok, _) = race_creates(&[server.clone(), cli.clone()], &owner.id, 4, 20).await;
    assert_eq!(ok, 4);
    assert_eq!(cli.count_instances(&owner.id).await.expect("count"), 4);

    // The file is in WAL mode (what lets the CLI read while the server writes).
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut plain_connection(dir.path()).await)
        .await
        .expect("journal mode");
    assert_eq!(mode, "wal");
    server.close().await;
    cli.close().await;
}

/// The data dir's database through a plain sqlx connection (no pool, no migrations).
async fn plain_connection(dir: &std::path::Path) -> sqlx::SqliteConnection {
    use sqlx::ConnectOptions;
    sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.join(wawp_store::SQLITE_FILE))
        .connect()
        .await
        .expect("plain connection")
}

#[tokio::test]
async fn open_accepts_sqlite_urls_and_refuses_others_without_echoing_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nested = dir.path().join("nested");
    let store = Store::open_in_dir(&nested)
        .await
        .expect("open_in_dir creates the directory");
    assert!(nested.join("wawp.db").is_file());
    store.close().await;

    let path = dir.path().join("by-url.db");
    let url = format!("sqlite://{}", path.display()); // an absolute path: sqlite:///tmp/…
    let store = Store::open(&url).await.expect("sqlite:// URL");
    assert_eq!(store.backend(), "sqlite");
    store.insert_token(&token(None)).await.expect("usable");
    store.close().await;
    // Re-opening runs no migration twice.
    let again = Store::open(&url).await.expect("reopen");
    assert_eq!(again.list_tokens().await.expect("list").len(), 1);
    again.close().await;
    assert!(path.is_file());

    let err = Store::open("mysql://root:hunter2@db/wawp")
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(&err, StoreError::UnsupportedUrl(s) if s == "mysql"),
        "{err:?}"
    );
    assert!(!err.to_string().contains("hunter2"));

    // Nothing durable: refused, with a message that says what to give instead.
    for url in [
        "sqlite::memory:",
        "sqlite://:memory:",
        "sqlite://wawp.db?mode=memory",
    ] {
        let err = Store::open(url).await.err().expect("refused");
        assert!(matches!(err, StoreError::InMemory), "{url}: {err:?}");
    }
}

/// The server and the CLI may open a brand-new data dir at the same moment: both must succeed
/// (sqlx takes no lock around SQLite migrations).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_opens_of_one_sqlite_file_all_succeed() {
    for _ in 0..10 {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut opens = tokio::task::JoinSet::new();
        for _ in 0..4 {
            let path = dir.path().to_path_buf();
            opens.spawn(async move { Store::open_in_dir(&path).await });
        }
        while let Some(opened) = opens.join_next().await {
            let store = opened
                .expect("task")
                .expect("every concurrent first open succeeds");
            assert!(store.list_tokens().await.expect("migrated").is_empty());
            store.close().await;
        }
    }
}
