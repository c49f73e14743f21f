//! The shared contract: auth errors, missing_param, malformed bodies, limits, request ids.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;
use wawp_api::ApiConfig;

use crate::support::{TestApp, post_form, post_json};

#[tokio::test]
async fn missing_token_on_create_is_missing_param_access_token() {
    let app = TestApp::new().await;
    let res = app.send(post_json("/v2/session/create", "{}")).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let body = res.json();
    assert_eq!(body["code"], "missing_param");
    assert_eq!(body["message"], "Missing required parameter: access_token");
    assert_eq!(body["details"]["missing"], json!(["access_token"]));
    assert_eq!(
        body["details"]["recommendation"],
        "Ensure you are sending the 'access_token' in your request."
    );
}

#[tokio::test]
async fn unknown_token_is_401_invalid_access_token_from_header_query_or_body() {
    let app = TestApp::new().await;
    let by_header = Request::post("/v2/session/create")
        .header("authorization", "Bearer nope")
        .body(Body::empty())
        .expect("request");
    for res in [
        app.send(by_header).await,
        app.send(post_json("/v2/session/create?access_token=nope", ""))
            .await,
        app.send(post_form(
            "/v2/session/start",
            "instance_id=3EB0BCB2E3D4&access_token=nope",
        ))
        .await,
        app.get("/v2/session/me?instance_id=3EB0BCB2E3D4&access_token=nope")
            .await,
    ] {
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());
        let body = res.json();
        assert_eq!(body["code"], "invalid_access_token");
        assert_eq!(
            body["message"],
            "Invalid or expired access token. Please check your credentials."
        );
    }
}

#[tokio::test]
async fn missing_param_lists_every_missing_name() {
    let app = TestApp::new().await;
    let res = app.send(post_json("/v2/session/start", "{}")).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let body = res.json();
    assert_eq!(body["code"], "missing_param");
    assert_eq!(
        body["details"]["missing"],
        json!(["instance_id", "access_token"])
    );
    assert_eq!(
        body["message"],
        "Missing required parameters: instance_id, access_token"
    );

    let res = app
        .send(post_form("/v2/auth/request-code", "phone_number="))
        .await;
    assert_eq!(
        res.json()["details"]["missing"],
        json!(["instance_id", "access_token", "phone_number"])
    );

    // A Bearer header satisfies access_token.
    let req = Request::post("/v2/auth/request-code")
        .header("authorization", "Bearer t")
        .body(Body::empty())
        .expect("request");
    assert_eq!(
        app.send(req).await.json()["details"]["missing"],
        json!(["instance_id", "phone_number"])
    );
}

#[tokio::test]
async fn malformed_json_is_invalid_param_with_line_and_column() {
    let app = TestApp::new().await;
    let res = app
        .send(post_json(
            "/v2/session/create",
            "{\n  \"access_token\": \"x\",\n  oops\n}",
        ))
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let body = res.json();
    assert_eq!(body["code"], "invalid_param");
    assert_eq!(body["details"]["line"], 3);
    assert_eq!(body["details"]["column"], 3);
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("line 3, column 3")),
        "{body}"
    );
}

#[tokio::test]
async fn unsupported_body_type_is_415() {
    let app = TestApp::new().await;
    let req = Request::post("/v2/session/create")
        .header("content-type", "application/octet-stream")
        .body(Body::from("xx"))
        .expect("request");
    let res = app.send(req).await;
    assert_eq!(res.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(res.json()["code"], "unsupported_media_type");
}

#[tokio::test]
async fn body_over_the_limit_is_413_payload_too_large() {
    let app = TestApp::with_config(ApiConfig {
        body_limit: 1024,
        ..Default::default()
    })
    .await;
    let big = format!("{{\"access_token\":\"{}\"}}", "x".repeat(4096));
    // With a Content-Length (refused before reading) …
    let res = app.send(post_json("/v2/session/create", &big)).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(res.json()["code"], "payload_too_large");
    assert!(res.header("x-request-id").is_some());
    // … and streamed without one (refused while reading).
    let stream = futures::stream::iter(vec![Ok::<_, std::io::Error>(big.into_bytes())]);
    let req = Request::post("/v2/session/create")
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .expect("request");
    let res = app.send(req).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(res.json()["code"], "payload_too_large");
}

#[tokio::test]
async fn every_answer_has_a_request_id_and_sane_ones_are_reused() {
    let app = TestApp::new().await;
    let ok = app.get("/health").await;
    let err = app.send(post_json("/v2/session/create", "{}")).await;
    let missing = app.get("/no/such/route").await;
    for res in [&ok, &err, &missing] {
        let id = res.header("x-request-id").expect("x-request-id");
        assert_eq!(id.len(), 26, "a ULID: {id}");
    }
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json()["code"], "not_found");

    let req = Request::get("/health")
        .header("x-request-id", "client-abc.123")
        .body(Body::empty())
        .expect("request");
    assert_eq!(
        app.send(req).await.header("x-request-id"),
        Some("client-abc.123")
    );
    let req = Request::get("/health")
        .header("x-request-id", "bad id!")
        .body(Body::empty())
        .expect("request");
    assert_ne!(app.send(req).await.header("x-request-id"), Some("bad id!"));
}

#[tokio::test]
async fn wrong_method_is_405_in_our_format() {
    let app = TestApp::new().await;
    let res = app
        .get("/v2/session/info?instance_id=3EB0BCB2E3D4&access_token=x")
        .await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.json()["code"], "method_not_allowed");
    assert!(res.header("x-request-id").is_some());
}

#[tokio::test]
async fn pending_routes_are_not_routed() {
    let app = TestApp::new().await;
    let res = app
        .send(post_form(
            "/v2/groups/create",
            "instance_id=3EB0BCB2E3D4&access_token=x",
        ))
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.json()["code"], "not_found");
}

#[tokio::test]
async fn admin_api_is_absent_without_a_key() {
    let app = TestApp::new().await;
    let res = app.get("/admin/tokens").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}
