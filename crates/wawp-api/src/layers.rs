//! Every tower layer of the server, in one place and one order (outermost first):
//! request id → sensitive `Authorization` → trace (matched path only) → negotiation (renders
//! replies and errors, logs 5xx causes) → catch-panic → timeout → body limit → routes.
//!
//! Why this order: the request id must exist before anything logs; the trace span must never see
//! a token, so `Authorization` is marked sensitive first and the span records the matched route,
//! not the URI (tokens may sit in `?access_token=`); a panic or a timeout must still be rendered
//! in the client's format, so both sit inside the negotiation layer.

use std::any::Any;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::reply;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request (incoming `X-Request-Id` when sane, else a fresh ULID).
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Wraps `router` in every layer. `body_limit` is in bytes.
pub(crate) fn apply(router: Router, body_limit: usize, timeout: Duration) -> Router {
    router
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            timeout,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn(reply::negotiate))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let path = req
                .extensions()
                .get::<MatchedPath>()
                .map(MatchedPath::as_str)
                .unwrap_or("<unmatched>");
            let id = req
                .extensions()
                .get::<RequestId>()
                .map(|r| r.0.as_str())
                .unwrap_or("-");
            tracing::info_span!("http", method = %req.method(), path, request_id = id)
        }))
        .layer(SetSensitiveRequestHeadersLayer::new([AUTHORIZATION]))
        .layer(middleware::from_fn(request_id))
}

/// Reuses a sane incoming `X-Request-Id` (1–128 of `[A-Za-z0-9._:-]`), otherwise makes a ULID;
/// puts it in the request's extensions and on every answer.
async fn request_id(mut req: Request, next: Next) -> Response {
    let incoming = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_sane_id(v));
    let id = match incoming {
        Some(id) => id.to_string(),
        None => ulid::Ulid::generate().to_string(),
    };
    if let Ok(value) = HeaderValue::from_str(&id) {
        req.headers_mut().insert(X_REQUEST_ID, value);
    }
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut res = next.run(req).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(X_REQUEST_ID, value);
    }
    res
}

fn is_sane_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

fn panic_response(_panic: Box<dyn Any + Send + 'static>) -> Response {
    // The panic message may hold request data; the panic hook has already printed it.
    ApiError::internal("handler panicked").into_response()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;
    use wawp_core::CoreError;

    use super::*;

    #[test]
    fn request_ids_are_checked_before_reuse() {
        assert!(is_sane_id("01JABCDEF-req.1"));
        assert!(!is_sane_id(""));
        assert!(!is_sane_id("has space"));
        assert!(!is_sane_id(&"x".repeat(129)));
        assert!(!is_sane_id("line\nbreak"));
    }

    async fn call(
        router: Router,
        uri: &str,
        accept: &str,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let app = apply(router, 1024, Duration::from_millis(200));
        let req = Request::get(uri)
            .header("accept", accept)
            .body(Body::empty())
            .expect("request");
        let res = app.oneshot(req).await.expect("infallible");
        let (status, headers) = (res.status(), res.headers().clone());
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .expect("body");
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn a_panic_is_a_server_error_with_the_request_id_and_no_internals() {
        async fn boom() -> &'static str {
            panic!("secret internals")
        }
        let router = Router::new().route("/boom", get(boom));
        let (status, headers, body) = call(router, "/boom", "application/json").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let body: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(body["code"], "server_error");
        let id = headers
            .get(X_REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .expect("request id");
        assert_eq!(body["details"]["requestId"], id);
        assert!(!body.to_string().contains("secret"));
    }

    #[tokio::test]
    async fn rate_limits_answer_429_with_retry_after_in_every_format() {
        let router = Router::new().route(
            "/limited",
            get(|| async { ApiError::from(CoreError::RateLimited { retry_after: 7 }) }),
        );
        let (status, headers, body) = call(router.clone(), "/limited", "application/json").await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            headers.get("retry-after").and_then(|v| v.to_str().ok()),
            Some("7")
        );
        let body: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(body["code"], "rate_limit_exceeded");
        assert_eq!(body["details"]["retryAfter"], 7);
        let (_, headers, body) = call(router, "/limited", "text/plain").await;
        assert_eq!(
            headers.get("retry-after").and_then(|v| v.to_str().ok()),
            Some("7")
        );
        assert!(
            body.starts_with("Error: rate_limit_exceeded. Too many requests."),
            "{body}"
        );
    }

    #[tokio::test]
    async fn a_slow_handler_times_out_in_our_format() {
        let router = Router::new().route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        );
        let (status, headers, body) = call(router, "/slow", "application/xml").await;
        assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
        assert!(headers.contains_key(X_REQUEST_ID));
        assert!(body.contains("<code>upstream_timeout</code>"), "{body}");
    }
}
