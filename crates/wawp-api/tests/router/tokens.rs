//! `/admin/tokens` and revocation as seen by the API.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use wawp_api::ApiConfig;

use crate::support::TestApp;

fn admin(method: &str, uri: &str, key: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request")
}

#[tokio::test]
async fn admin_creates_lists_and_revokes_tokens() {
    let app = TestApp::with_config(ApiConfig {
        admin_key: Some("adm1n".into()),
        ..Default::default()
    })
    .await;
    let wrong = app.send(admin("GET", "/admin/tokens", "nope", "")).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

    let created = app
        .send(admin(
            "POST",
            "/admin/tokens",
            "adm1n",
            r#"{"name":"crm","max_instances":"2"}"#,
        ))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let body = created.json();
    let (id, token) = (
        body["id"].as_str().unwrap_or_default(),
        body["token"].as_str().unwrap_or_default(),
    );
    assert_eq!(body["max_instances"], 2);
    assert!(!token.is_empty());

    let list = app.send(admin("GET", "/admin/tokens", "adm1n", "")).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        !list.text().contains(token),
        "the secret is shown once only"
    );
    assert!(
        list.json()
            .as_array()
            .is_some_and(|l| l.iter().any(|t| t["id"] == id))
    );

    // The token works, then stops working once revoked.
    assert_eq!(
        app.call("POST", "/v2/session/create", token, "{}")
            .await
            .status,
        StatusCode::CREATED
    );
    let revoked = app
        .send(admin("DELETE", &format!("/admin/tokens/{id}"), "adm1n", ""))
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let refused = app.call("POST", "/v2/session/create", token, "{}").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.json()["code"], "invalid_access_token");

    let missing = app
        .send(admin("POST", "/admin/tokens", "adm1n", "{}"))
        .await;
    assert_eq!(
        missing.json()["details"]["missing"],
        serde_json::json!(["name"])
    );
}
