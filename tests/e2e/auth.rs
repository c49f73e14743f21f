//! Login routes: error cases that need no linked phone.

use crate::support::TestEnv;

#[tokio::test]
async fn qr_routes_refuse_a_stopped_session() {
    let env = TestEnv::start().await;
    let id = env.create_instance().await;
    env.wait_status(&id, "SCAN_QR_CODE").await;
    env.call("POST", "/v2/session/stop", &[("instance_id", &id)])
        .await
        .assert_status(200);

    for path in ["/v2/auth/qr", "/v2/auth/qr-image"] {
        let res = env.call("GET", path, &[("instance_id", &id)]).await;
        res.assert_error(422, "session_unexpected_status");
        assert_eq!(res.json["details"]["status"], "STOPPED", "{path}");
    }
    let res = env
        .call(
            "POST",
            "/v2/auth/request-code",
            &[("instance_id", &id), ("phone_number", "12015550111")],
        )
        .await;
    res.assert_error(422, "session_unexpected_status");
}

#[tokio::test]
async fn qr_answers_are_not_cached_and_request_code_validates_the_number() {
    let env = TestEnv::start().await;
    let id = env.create_instance().await;
    env.wait_status(&id, "SCAN_QR_CODE").await;

    let res = env
        .call("GET", "/v2/auth/qr", &[("instance_id", &id)])
        .await;
    res.assert_status(200);
    let cache = res
        .headers
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        cache.contains("no-store") || cache.contains("no-cache"),
        "cache-control: {cache}"
    );

    let res = env
        .call("POST", "/v2/auth/request-code", &[("instance_id", &id)])
        .await;
    res.assert_error(400, "missing_param");
    let res = env
        .call(
            "POST",
            "/v2/auth/request-code",
            &[("instance_id", &id), ("phone_number", "12")],
        )
        .await;
    assert_eq!(res.status, 400, "{}", res.text);
}
