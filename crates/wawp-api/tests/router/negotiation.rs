//! JSON / XML / text renderings of successes and errors.

use axum::body::Body;
use axum::http::{Request, StatusCode};

use crate::support::TestApp;

fn get_with_accept(uri: &str, accept: &str) -> Request<Body> {
    Request::get(uri)
        .header("accept", accept)
        .body(Body::empty())
        .expect("request")
}

#[tokio::test]
async fn success_as_xml_and_text() {
    let app = TestApp::new().await;
    let xml = app
        .send(get_with_accept("/health", "application/xml"))
        .await;
    assert_eq!(xml.status, StatusCode::OK);
    assert!(
        xml.header("content-type")
            .is_some_and(|c| c.starts_with("application/xml"))
    );
    let body = xml.text();
    assert!(
        body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
        "{body}"
    );
    assert!(
        body.contains("<response>") && body.contains("<status>ok</status>"),
        "{body}"
    );

    let text = app.send(get_with_accept("/health", "text/plain")).await;
    assert!(
        text.header("content-type")
            .is_some_and(|c| c.starts_with("text/plain"))
    );
    assert!(
        text.text()
            .starts_with("Success: Operation completed successfully."),
        "{}",
        text.text()
    );

    let xml_alt = app.send(get_with_accept("/health", "text/xml")).await;
    assert!(xml_alt.text().contains("<response>"));
}

#[tokio::test]
async fn errors_as_xml_and_text() {
    let app = TestApp::new().await;
    let req = |accept: &str| {
        Request::post("/v2/session/start")
            .header("accept", accept)
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .expect("request")
    };
    let xml = app.send(req("application/xml")).await;
    assert_eq!(xml.status, StatusCode::BAD_REQUEST);
    let body = xml.text();
    assert!(body.contains("<error>"), "{body}");
    assert!(body.contains("<code>missing_param</code>"), "{body}");
    assert!(
        body.contains("<item>instance_id</item>") && body.contains("<item>access_token</item>"),
        "{body}"
    );

    let text = app.send(req("text/plain")).await;
    assert_eq!(text.status, StatusCode::BAD_REQUEST);
    assert!(
        text.text().starts_with(
            "Error: missing_param. Missing required parameters: instance_id, access_token."
        ),
        "{}",
        text.text()
    );
    let json = app.send(req("*/*")).await;
    assert_eq!(json.json()["code"], "missing_param");
}
