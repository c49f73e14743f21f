//! `/v2/session/*` and `/v2/auth/*` over a real core (sessions cannot reach WhatsApp here).

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;
use wawp_core::config::LimitsConfig;

use crate::support::{TestApp, post_form};

#[tokio::test]
async fn create_answers_201_with_the_documented_shape() {
    let app = TestApp::new().await;
    let token = app.token(None).await;
    let res = app.call("POST", "/v2/session/create", &token, "").await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let body = res.json();
    let id = body["instance_id"].as_str().unwrap_or_default();
    assert!(
        id.len() == 12
            && id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
        "{body}"
    );
    let name = body["session_name"].as_str().unwrap_or_default();
    assert!(name.starts_with("wawp-") && name.len() == 13, "{body}");
    assert!(body["status"].is_string(), "{body}");
    assert_eq!(body["server_name"], "wawp");
    assert!(body["config"].is_object(), "{body}");
}

#[tokio::test]
async fn create_reads_config_from_json_and_from_a_form_field() {
    let app = TestApp::new().await;
    let token = app.token(None).await;
    let res = app
        .call(
            "POST",
            "/v2/session/create",
            &token,
            r#"{"config":{"metadata":{"crm":"42"}}}"#,
        )
        .await;
    assert_eq!(res.json()["config"]["metadata"], json!({"crm": "42"}));
    let form =
        format!("access_token={token}&config=%7B%22metadata%22%3A%7B%22crm%22%3A%2243%22%7D%7D");
    let res = app.send(post_form("/v2/session/create", &form)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    assert_eq!(res.json()["config"]["metadata"], json!({"crm": "43"}));
    let res = app
        .call(
            "POST",
            "/v2/session/create",
            &token,
            r#"{"config":"not an object"}"#,
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(res.json()["code"], "invalid_param");
}

#[tokio::test]
async fn quota_reached_at_the_tokens_instance_limit() {
    let app = TestApp::new().await;
    let token = app.token(Some(1)).await;
    app.instance(&token).await;
    let res = app.call("POST", "/v2/session/create", &token, "{}").await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.json()["code"], "quota_reached");
    assert_eq!(
        res.json()["message"],
        "You have reached your maximum instances limit."
    );
}

#[tokio::test]
async fn another_tokens_instance_is_indistinguishable_from_an_unknown_one() {
    let app = TestApp::new().await;
    let (alice, bob) = (app.token(None).await, app.token(None).await);
    let id = app.instance(&alice).await;
    let unknown = app
        .call(
            "POST",
            "/v2/session/info?instance_id=ZZZZZZZZZZZZ",
            &bob,
            "",
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.json()["code"], "invalid_session");
    for (method, path) in [
        ("POST", "/v2/session/info"),
        ("POST", "/v2/session/start"),
        ("GET", "/v2/session/stop"),
        ("POST", "/v2/session/restart"),
        ("POST", "/v2/session/logout"),
        ("DELETE", "/v2/session/delete"),
        ("GET", "/v2/session/me"),
        ("GET", "/v2/auth/qr"),
        ("POST", "/v2/auth/qr-image"),
    ] {
        let res = app
            .call(method, &format!("{path}?instance_id={id}"), &bob, "")
            .await;
        assert_eq!(
            res.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            res.text()
        );
        assert_eq!(res.json(), unknown.json(), "{method} {path}");
    }
    // Still there for its owner.
    let res = app
        .call(
            "POST",
            &format!("/v2/session/info?instance_id={id}"),
            &alice,
            "",
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
}

#[tokio::test]
async fn info_stop_qr_delete_follow_the_documents() {
    let app = TestApp::new().await;
    let token = app.token(None).await;
    let id = app.instance(&token).await;
    let q = format!("?instance_id={id}");

    let info = app
        .call("POST", &format!("/v2/session/info{q}"), &token, "")
        .await;
    assert_eq!(info.status, StatusCode::OK, "{}", info.text());
    let body = info.json();
    assert!(
        body["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("wawp-")),
        "{body}"
    );
    assert!(body.get("me").is_some(), "{body}");

    let stop = app
        .call(
            "POST",
            "/v2/session/stop",
            &token,
            &format!(r#"{{"instance_id":"{id}"}}"#),
        )
        .await;
    assert_eq!(stop.status, StatusCode::OK, "{}", stop.text());
    assert_eq!(stop.json()["status"], "STOPPED");

    let qr = app
        .call("GET", &format!("/v2/auth/qr{q}"), &token, "")
        .await;
    assert_eq!(qr.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", qr.text());
    let body = qr.json();
    assert_eq!(body["code"], "session_unexpected_status");
    assert_eq!(body["details"]["status"], "STOPPED");
    assert!(
        body["details"]["expected"]
            .as_array()
            .is_some_and(|e| e.contains(&json!("SCAN_QR_CODE"))),
        "{body}"
    );

    let code = app
        .call(
            "POST",
            "/v2/auth/request-code",
            &token,
            &format!(r#"{{"instance_id":"{id}","phone_number":"201145202826"}}"#),
        )
        .await;
    assert_eq!(
        code.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        code.text()
    );

    let deleted = app
        .call("DELETE", &format!("/v2/session/delete{q}"), &token, "")
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text());
    assert_eq!(deleted.json()["status"], "DELETED");
    assert_eq!(deleted.json()["instance_id"], id.as_str());
    let gone = app
        .call("POST", &format!("/v2/session/info{q}"), &token, "")
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn request_code_checks_the_phone_number() {
    let app = TestApp::new().await;
    let token = app.token(None).await;
    let id = app.instance(&token).await;
    for (phone, country) in [("01145202826", "Unknown"), ("96655555", "SA")] {
        let body = format!(r#"{{"instance_id":"{id}","phone_number":"{phone}"}}"#);
        let res = app
            .call("POST", "/v2/auth/request-code", &token, &body)
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
        let body = res.json();
        assert_eq!(body["code"], "invalid_param");
        assert_eq!(body["details"]["param"], "phone_number");
        assert_eq!(body["details"]["info"]["country"], country);
    }
    let res = app
        .call(
            "POST",
            "/v2/auth/request-code",
            &token,
            &format!(r#"{{"instance_id":"{id}","phone_number":"call me"}}"#),
        )
        .await;
    assert_eq!(res.json()["code"], "invalid_param");
}

#[tokio::test]
async fn a_second_start_within_the_cooldown_is_429_with_retry_after() {
    let app = TestApp::new().await;
    let token = app.token(None).await;
    let id = app.instance(&token).await;
    let uri = format!("/v2/session/start?instance_id={id}");
    let first = app.call("POST", &uri, &token, "").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    let second = app.call("GET", &uri, &token, "").await;
    assert_eq!(
        second.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        second.text()
    );
    assert_eq!(second.json()["code"], "rate_limit_exceeded");
    let retry = second
        .header("retry-after")
        .and_then(|v| v.parse::<u64>().ok())
        .expect("Retry-After");
    assert_eq!(second.json()["details"]["retryAfter"], retry);
}

#[tokio::test]
async fn the_token_rate_limit_answers_429_with_retry_after() {
    let limits = LimitsConfig {
        token_rps: 1,
        token_burst: 2,
        start_cooldown: Duration::from_secs(5),
        ..Default::default()
    };
    let app = TestApp::with_limits(limits).await;
    let token = app.token(None).await;
    let uri = "/v2/session/info?instance_id=ZZZZZZZZZZZZ";
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(app.call("POST", uri, &token, "").await);
    }
    assert_eq!(statuses[0].status, StatusCode::NOT_FOUND);
    let limited = statuses
        .iter()
        .find(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .expect("a 429");
    assert_eq!(limited.json()["code"], "rate_limit_exceeded");
    assert!(
        limited
            .header("retry-after")
            .is_some_and(|v| v.parse::<u64>().is_ok_and(|s| s >= 1))
    );
}
