//! Health, readiness, docs and the pending list.

use axum::http::StatusCode;

use crate::support::TestApp;

#[tokio::test]
async fn health_is_ok_and_ready_follows_the_flag() {
    let app = TestApp::new().await;
    let health = app.get("/health").await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.json(), serde_json::json!({"status": "ok"}));
    assert_eq!(
        app.get("/ready").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    app.state.mark_ready();
    assert_eq!(app.get("/ready").await.status, StatusCode::OK);
}

#[tokio::test]
async fn openapi_is_3_1_documents_every_route_and_lists_pending() {
    let app = TestApp::new().await;
    let res = app.get("/openapi.json").await;
    assert_eq!(res.status, StatusCode::OK);
    let doc = res.json();
    assert_eq!(doc["openapi"], "3.1.0");
    for (method, path) in wawp_api::routed_operations() {
        let op = &doc["paths"][path][method.as_str().to_ascii_lowercase()];
        assert!(op.is_object(), "{method} {path} missing from /openapi.json");
        assert!(
            op["operationId"].is_string(),
            "{method} {path} has no operationId"
        );
    }
    let description = doc["info"]["description"].as_str().unwrap_or_default();
    assert!(
        description.contains("/v2/groups/create"),
        "pending routes not listed"
    );
    let docs = app.get("/docs/").await;
    assert!(docs.status.is_success(), "{}", docs.status);
    assert!(docs.header("x-request-id").is_some());
    let bare = app.get("/docs").await.status;
    assert!(bare.is_success() || bare.is_redirection(), "{bare}");
}

#[tokio::test]
async fn pending_routes_are_served_as_json() {
    let app = TestApp::new().await;
    let res = app.get("/v2/pending-routes").await;
    assert_eq!(res.status, StatusCode::OK);
    let list = res.json();
    assert_eq!(
        list.as_array().map(Vec::len),
        Some(wawp_api::pending_operations().len())
    );
    assert!(
        list.as_array()
            .into_iter()
            .flatten()
            .any(|r| r["path"] == "/v2/groups/create")
    );
}
