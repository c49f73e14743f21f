//! Tenancy over a real (temp SQLite) store: tokens shown once and stored hashed, revocation, the
//! cache, the limits handed to the store, and the rate-limit wiring. Timing-dependent behaviour is
//! tested on governor's fake clock in `rate_limit.rs`; nothing here sleeps.

use std::time::Duration;

use wawp_store::{InstanceRow, Store};

use super::tokens::hash_token;
use super::*;
use crate::error::CoreError;

async fn tenancy_with(limits: LimitsConfig, ttl: Duration) -> (Tenancy, Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open_in_dir(dir.path()).await.expect("store");
    (
        Tenancy::with_auth_cache_ttl(store.clone(), limits, ttl),
        store,
        dir,
    )
}

async fn tenancy() -> (Tenancy, Store, tempfile::TempDir) {
    tenancy_with(LimitsConfig::default(), AUTH_CACHE_TTL).await
}

fn is_invalid(result: Result<Tenant, CoreError>) -> bool {
    matches!(result, Err(CoreError::InvalidToken))
}

#[tokio::test]
async fn a_token_is_shown_once_and_only_its_hash_is_stored() {
    let (tenancy, store, _dir) = tenancy().await;
    let (info, token) = tenancy
        .create_token("  ci bot  ", Some(3))
        .await
        .expect("create");
    assert!(token.starts_with(TOKEN_PREFIX));
    assert!(info.id.starts_with("tok_"));
    assert_eq!(info.name, "ci bot");
    assert_eq!(info.max_instances, Some(3));
    assert_eq!(info.revoked_at, None);

    let row = store.get_token(&info.id).await.expect("read").expect("row");
    assert_eq!(row.hash, hash_token(&token));
    assert_ne!(row.hash, token);
    for value in [&row.id, &row.name, &row.hash] {
        assert!(
            !value.contains(&token[TOKEN_PREFIX.len()..]),
            "the token is not stored"
        );
    }
    let listed = tenancy.list_tokens().await.expect("list");
    assert_eq!(listed, vec![info.clone()]);
    let json = serde_json::to_string(&listed).expect("serialize");
    assert!(
        !json.contains(&token) && !json.contains(&row.hash),
        "{json}"
    );
    assert!(json.contains(r#""max_instances":3"#), "{json}");

    let tenant = tenancy.authenticate(&token).await.expect("valid token");
    assert_eq!(
        tenant,
        Tenant {
            token_id: info.id.clone(),
            name: "ci bot".into(),
            max_instances: Some(3)
        }
    );
    let used = store.get_token(&info.id).await.expect("read").expect("row");
    assert!(used.last_used_at.is_some(), "first use is recorded");

    let (other, second) = tenancy.create_token("other", None).await.expect("create");
    assert_ne!(other.id, info.id);
    assert_ne!(second, token);
}

#[tokio::test]
async fn unknown_empty_malformed_and_revoked_tokens_are_refused() {
    let (tenancy, _store, _dir) = tenancy().await;
    assert!(is_invalid(tenancy.authenticate("").await));
    assert!(is_invalid(
        tenancy.authenticate("wawp_not-a-real-token").await
    ));
    assert!(is_invalid(tenancy.authenticate(&"x".repeat(10_000)).await));

    let (info, token) = tenancy.create_token("t", None).await.expect("create");
    tenancy
        .authenticate(&token)
        .await
        .expect("valid (and now cached)");
    tenancy.revoke_token(&info.id).await.expect("revoke");
    assert!(
        is_invalid(tenancy.authenticate(&token).await),
        "refused at once, cache or not"
    );
    tenancy
        .revoke_token(&info.id)
        .await
        .expect("revoking twice is fine");
    let listed = tenancy.list_tokens().await.expect("list");
    assert!(listed[0].revoked_at.is_some());

    let err = tenancy.revoke_token("tok_nope").await.expect_err("unknown");
    assert!(
        matches!(err, CoreError::NotFound { kind: "token", ref id } if id == "tok_nope"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_revocation_by_another_process_shows_once_the_cache_entry_expires() {
    // Long TTL: the cached tenant keeps being served after the CLI (here: the store directly)
    // revoked the token…
    let (cached, store, _dir) =
        tenancy_with(LimitsConfig::default(), Duration::from_secs(3600)).await;
    let (info, token) = cached.create_token("t", None).await.expect("create");
    cached.authenticate(&token).await.expect("valid");
    assert!(store.revoke_token(&info.id, 1).await.expect("cli revokes"));
    cached
        .authenticate(&token)
        .await
        .expect("still cached: bounded staleness, by design");

    // …while without caching (what happens once the entry is older than the TTL) it is refused.
    let uncached =
        Tenancy::with_auth_cache_ttl(store.clone(), LimitsConfig::default(), Duration::ZERO);
    assert!(is_invalid(uncached.authenticate(&token).await));
}

#[tokio::test]
async fn the_tenant_limit_is_the_tokens_else_the_default_and_the_store_enforces_it() {
    let limits = LimitsConfig {
        default_max_instances: Some(1),
        ..LimitsConfig::default()
    };
    let (tenancy, store, _dir) = tenancy_with(limits, AUTH_CACHE_TTL).await;
    let (_, own) = tenancy
        .create_token("own limit", Some(2))
        .await
        .expect("create");
    let (_, default) = tenancy
        .create_token("default limit", None)
        .await
        .expect("create");
    let own = tenancy.authenticate(&own).await.expect("auth");
    let default = tenancy.authenticate(&default).await.expect("auth");
    assert_eq!(own.max_instances, Some(2));
    assert_eq!(default.max_instances, Some(1));

    let row = |n: u32, tenant: &Tenant| InstanceRow {
        id: format!("INSTANCE{n:04}"),
        name: format!("wawp-{n:08}"),
        token_id: tenant.token_id.clone(),
        config: "{}".into(),
        desired_state: "stopped".into(),
        me: None,
        created_at: 0,
        updated_at: 0,
    };
    store
        .insert_instance(&row(1, &default), default.max_instances)
        .await
        .expect("1 of 1");
    let err = store
        .insert_instance(&row(2, &default), default.max_instances)
        .await;
    assert!(
        matches!(err, Err(wawp_store::StoreError::LimitReached)),
        "{err:?}"
    );
    store
        .insert_instance(&row(3, &own), own.max_instances)
        .await
        .expect("1 of 2");
}

#[tokio::test]
async fn names_must_be_given() {
    let (tenancy, _store, _dir) = tenancy().await;
    for name in ["", "   ", &"n".repeat(201)] {
        let err = tenancy.create_token(name, None).await.expect_err("refused");
        assert!(matches!(err, CoreError::Invalid(_)), "{err:?}");
    }
}

#[tokio::test]
async fn rate_limits_are_wired_per_tenant_per_instance_and_per_start() {
    let limits = LimitsConfig {
        token_rps: 1,
        token_burst: 2,
        instance_rps: 1,
        instance_burst: 1,
        start_cooldown: Duration::from_secs(3600),
        default_max_instances: None,
    };
    let (tenancy, _store, _dir) = tenancy_with(limits, AUTH_CACHE_TTL).await;
    let alice = Tenant {
        token_id: "tok_alice".into(),
        name: "a".into(),
        max_instances: None,
    };
    let bob = Tenant {
        token_id: "tok_bob".into(),
        name: "b".into(),
        max_instances: None,
    };

    tenancy.check_token(&alice).expect("1 of burst 2");
    tenancy.check_token(&alice).expect("2 of burst 2");
    let err = tenancy.check_token(&alice).expect_err("bucket empty");
    assert!(
        matches!(err, CoreError::RateLimited { retry_after } if retry_after >= 1),
        "{err:?}"
    );
    tenancy
        .check_token(&bob)
        .expect("another token has its own bucket");
    tenancy
        .clone()
        .check_token(&alice)
        .expect_err("clones share the state");

    tenancy.check_instance("INST1").expect("first");
    assert!(matches!(
        tenancy.check_instance("INST1"),
        Err(CoreError::RateLimited { .. })
    ));

    tenancy.check_start("INST1").expect("first start");
    let err = tenancy
        .check_start("INST1")
        .expect_err("second start within the cool-down");
    assert!(
        matches!(err, CoreError::RateLimited { retry_after } if retry_after > 3500),
        "{err:?}"
    );
    tenancy.check_start("INST2").expect("other instance");
}
