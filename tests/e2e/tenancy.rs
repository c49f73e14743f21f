//! Tokens, quotas and isolation between tenants, over HTTP.

use crate::support::TestEnv;

#[tokio::test]
async fn another_token_cannot_see_start_or_delete_an_instance() {
    let env = TestEnv::start().await;
    let id = env.create_instance().await;
    let other = env.wawp.create_token("intruder", None).await;

    for (method, path) in [
        ("POST", "/v2/session/info"),
        ("POST", "/v2/session/start"),
        ("POST", "/v2/session/stop"),
        ("POST", "/v2/session/logout"),
        ("GET", "/v2/session/me"),
        ("GET", "/v2/auth/qr"),
        ("DELETE", "/v2/session/delete"),
    ] {
        let res = env
            .call_as(&other, method, path, &[("instance_id", &id)])
            .await;
        res.assert_error(404, "invalid_session");
    }
    // Still there for its owner.
    env.call("POST", "/v2/session/info", &[("instance_id", &id)])
        .await
        .assert_status(200);
}

#[tokio::test]
async fn a_token_cannot_exceed_its_instance_quota() {
    let env = TestEnv::start().await;
    let limited = env.wawp.create_token("limited", Some(1)).await;
    env.call_as(&limited, "POST", "/v2/session/create", &[])
        .await
        .assert_status(201);
    let res = env
        .call_as(&limited, "POST", "/v2/session/create", &[])
        .await;
    res.assert_error(403, "quota_reached");
}

#[tokio::test]
async fn unknown_tokens_and_instances_are_refused() {
    let env = TestEnv::start().await;
    env.call_as("wawp_not-a-token", "POST", "/v2/session/create", &[])
        .await
        .assert_error(401, "invalid_access_token");
    let res = env
        .call(
            "POST",
            "/v2/session/info",
            &[("instance_id", "AAAAAAAAAAAA")],
        )
        .await;
    res.assert_error(404, "invalid_session");
    let res = env.call("POST", "/v2/session/info", &[]).await;
    res.assert_error(400, "missing_param");
    assert_eq!(res.json["details"]["missing"][0], "instance_id");
}
