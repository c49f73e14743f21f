//! `/v2/calls/reject` without WhatsApp: its parameters and a session that is not WORKING.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn reject_lists_every_missing_parameter_and_needs_a_working_session() {
    let app = TestApp::new().await;
    let token = app.token(None).await;
    let id = app.instance(&token).await;
    let stop = app
        .call(
            "POST",
            "/v2/session/stop",
            &token,
            &json!({"instance_id": id}).to_string(),
        )
        .await;
    assert_eq!(stop.status, StatusCode::OK, "{}", stop.text());

    let missing = app
        .call(
            "POST",
            "/v2/calls/reject",
            &token,
            &json!({"instance_id": id}).to_string(),
        )
        .await;
    assert_eq!(
        missing.status,
        StatusCode::BAD_REQUEST,
        "{}",
        missing.text()
    );
    assert_eq!(missing.json()["code"], "missing_param");
    assert_eq!(
        missing.json()["details"]["missing"],
        json!(["callId", "from"])
    );

    let body = json!({"instance_id": id, "callId": "ABC", "from": "not a jid"}).to_string();
    let bad = app.call("POST", "/v2/calls/reject", &token, &body).await;
    assert_eq!(bad.json()["code"], "invalid_chat_id", "{}", bad.text());

    let body = json!({"instance_id": id, "callId": "ABC", "from": "12015550101@c.us"}).to_string();
    let stopped = app.call("POST", "/v2/calls/reject", &token, &body).await;
    assert_eq!(
        stopped.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        stopped.text()
    );
    assert_eq!(stopped.json()["code"], "session_unexpected_status");
    assert_eq!(stopped.json()["details"]["expected"], json!(["WORKING"]));
}
