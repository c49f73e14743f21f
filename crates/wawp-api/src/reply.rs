//! Responses, negotiated in one place. Handlers return [`Reply<T>`] (or an [`ApiError`]); both put
//! their value into the response's extensions, and the [`negotiate`] middleware renders it as
//! JSON (default), XML (`Accept: application/xml|text/xml`) or plain text (`Accept: text/plain`),
//! for successes and errors alike. Handlers never see the format.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{ALLOW, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{ApiError, Code};
use crate::layers::RequestId;

mod xml;

/// A successful answer: `T` rendered in the format the client asked for. Status 200; wrap it as
/// `(StatusCode::CREATED, Reply(v))` for another status.
#[derive(Debug)]
pub struct Reply<T>(pub T);

/// What a handler answered, waiting in the response extensions for [`negotiate`].
#[derive(Clone)]
pub(crate) enum Payload {
    Success(Arc<Value>),
    Error(Arc<ApiError>),
}

impl<T: Serialize> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        match serde_json::to_value(&self.0) {
            Ok(value) => {
                let mut res = render(Format::Json, StatusCode::OK, &value, false);
                res.extensions_mut()
                    .insert(Payload::Success(Arc::new(value)));
                res
            }
            Err(err) => ApiError::internal(err).into_response(),
        }
    }
}

/// Builds the response of an error (JSON until [`negotiate`] re-renders it).
pub(crate) fn error_response(err: ApiError) -> Response {
    let status = err.code.status();
    let mut res = render(Format::Json, status, &error_body(&err, None), true);
    if let Some(secs) = err.retry_after() {
        res.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    res.extensions_mut().insert(Payload::Error(Arc::new(err)));
    res
}

fn error_body(err: &ApiError, request_id: Option<&RequestId>) -> Value {
    let mut details = err.details.clone();
    if let (Some(id), true) = (request_id, err.code.status().is_server_error()) {
        details.insert("requestId".into(), Value::String(id.0.clone()));
    }
    let mut body = Map::new();
    body.insert("code".into(), Value::String(err.code.as_str().into()));
    body.insert("message".into(), Value::String(err.message.clone()));
    body.insert("details".into(), Value::Object(details));
    Value::Object(body)
}

/// The formats a client can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
    Text,
}

impl Format {
    /// The single content-negotiation function: JSON unless `Accept` prefers XML or plain text.
    pub fn from_headers(headers: &HeaderMap) -> Format {
        let accept = accept_header(headers);
        let candidates = [
            (Format::Json, "application/json"),
            (Format::Xml, "application/xml"),
            (Format::Xml, "text/xml"),
            (Format::Text, "text/plain"),
        ];
        let mut best = (Format::Json, quality(accept, "application/json"));
        for (format, mime) in candidates {
            let q = quality(accept, mime);
            if q > best.1 {
                best = (format, q);
            }
        }
        if best.1.0 <= 0.0 {
            Format::Json
        } else {
            best.0
        }
    }
}

fn accept_header(headers: &HeaderMap) -> &str {
    headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// True when `Accept` ranks `mime` strictly above JSON (e.g. `image/png` for a QR image).
pub fn prefers(headers: &HeaderMap, mime: &str) -> bool {
    let accept = accept_header(headers);
    quality(accept, mime) > quality(accept, "application/json")
}

/// `(q, specificity)` of the most specific `Accept` range matching `mime`; an empty `Accept`
/// accepts everything at `q=1` with no specificity.
fn quality(accept: &str, mime: &str) -> (f32, u8) {
    if accept.trim().is_empty() {
        return (1.0, 0);
    }
    let (ty, sub) = mime.split_once('/').unwrap_or((mime, ""));
    let mut best: Option<(f32, u8)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
            })
            .next()
            .unwrap_or(1.0);
        let (rty, rsub) = media.split_once('/').unwrap_or((media.as_str(), ""));
        let spec = match (rty, rsub) {
            ("*", "*") => 1,
            (t, "*") if t == ty => 2,
            (t, s) if t == ty && s == sub => 3,
            _ => continue,
        };
        if best.is_none_or(|(_, s)| spec > s) {
            best = Some((q, spec));
        }
    }
    best.unwrap_or((0.0, 0))
}

/// Renders a value in `format`. `is_error` picks the XML root (`<error>`) and the text form.
pub(crate) fn render(
    format: Format,
    status: StatusCode,
    value: &Value,
    is_error: bool,
) -> Response {
    let (body, content_type) = match format {
        Format::Json => (
            serde_json::to_vec(value).unwrap_or_default(),
            "application/json",
        ),
        Format::Xml => (
            xml::to_xml(if is_error { "error" } else { "response" }, value).into_bytes(),
            "application/xml; charset=utf-8",
        ),
        Format::Text => (
            text(value, is_error).into_bytes(),
            "text/plain; charset=utf-8",
        ),
    };
    let mut res = (status, body).into_response();
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

/// `Success: …` / `Error: <code>. <message>` as in the documents' text/plain examples; a
/// success lists its top-level fields after the first line.
fn text(value: &Value, is_error: bool) -> String {
    if is_error {
        let field = |k: &str| value.get(k).and_then(Value::as_str).unwrap_or("");
        let mut out = format!("Error: {}. {}", field("code"), field("message"));
        if !out.ends_with('.') {
            out.push('.');
        }
        if let Some(rec) = value
            .pointer("/details/recommendation")
            .and_then(Value::as_str)
        {
            out.push(' ');
            out.push_str(rec);
        }
        out.push('\n');
        return out;
    }
    let mut out = String::from("Success: Operation completed successfully.\n");
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let v = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                out.push_str(&format!("{k}: {v}\n"));
            }
        }
        Value::Null => {}
        other => out.push_str(&format!("{other}\n")),
    }
    out
}

/// The negotiation middleware: renders [`Payload`]s by `Accept`, turns the framework's own bare
/// error responses (405, 413, timeouts) into our error format, and logs the cause of every 5xx
/// once, with its request id.
pub(crate) async fn negotiate(req: Request, next: Next) -> Response {
    let format = Format::from_headers(req.headers());
    let request_id = req.extensions().get::<RequestId>().cloned();
    let mut res = next.run(req).await;
    let payload = match res.extensions_mut().remove::<Payload>() {
        // Already rendered as JSON by `Reply` / `error_response`; only a 5xx needs the request id
        // added (and its cause logged).
        Some(Payload::Success(_)) if format == Format::Json => return res,
        Some(Payload::Error(err))
            if format == Format::Json && !err.code.status().is_server_error() =>
        {
            return res;
        }
        Some(payload) => payload,
        None => match adopt_bare_error(&res) {
            Some(err) => Payload::Error(Arc::new(err)),
            None => return res,
        },
    };
    let (status, value, is_error) = match &payload {
        Payload::Success(value) => (res.status(), (**value).clone(), false),
        Payload::Error(err) => {
            if err.code.status().is_server_error() {
                let id = request_id.as_ref().map(|r| r.0.as_str()).unwrap_or("-");
                match &err.source {
                    Some(source) => {
                        tracing::error!(request_id = id, code = %err.code, error = %source, "request failed")
                    }
                    None => tracing::warn!(request_id = id, code = %err.code, "request failed"),
                }
            }
            (
                err.code.status(),
                error_body(err, request_id.as_ref()),
                true,
            )
        }
    };
    let mut out = render(format, status, &value, is_error);
    let (parts, _) = res.into_parts();
    for (name, v) in parts.headers.iter() {
        if name != CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            out.headers_mut().append(name, v.clone());
        }
    }
    if let Payload::Error(err) = &payload
        && let Some(secs) = err.retry_after()
    {
        out.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    out
}

/// Bare framework answers that must still look like ours.
fn adopt_bare_error(res: &Response) -> Option<ApiError> {
    match res.status() {
        StatusCode::METHOD_NOT_ALLOWED if res.headers().contains_key(ALLOW) || is_bare(res) => {
            Some(ApiError::method_not_allowed())
        }
        StatusCode::PAYLOAD_TOO_LARGE => Some(
            ApiError::new(Code::PayloadTooLarge, "The request body is too large.")
                .recommend("Send a smaller body, or a file by URL instead of an upload."),
        ),
        StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT if is_bare(res) => Some(
            ApiError::new(
                Code::UpstreamTimeout,
                "The request took too long to complete.",
            )
            .recommend("Retry in a few seconds; if it persists, check the instance's connection."),
        ),
        _ => None,
    }
}

fn is_bare(res: &Response) -> bool {
    !res.headers().contains_key(CONTENT_TYPE)
        || res
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/plain"))
}

/// A raw body (e.g. `image/png`) that skips negotiation.
pub fn raw(content_type: &'static str, bytes: Vec<u8>) -> Response {
    let mut res = Response::new(Body::from(bytes));
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(accept: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(accept) {
            h.insert(axum::http::header::ACCEPT, v);
        }
        h
    }

    #[test]
    fn negotiation_picks_the_documented_formats() {
        assert_eq!(Format::from_headers(&HeaderMap::new()), Format::Json);
        assert_eq!(Format::from_headers(&headers("*/*")), Format::Json);
        assert_eq!(
            Format::from_headers(&headers("application/xml")),
            Format::Xml
        );
        assert_eq!(Format::from_headers(&headers("text/xml")), Format::Xml);
        assert_eq!(Format::from_headers(&headers("text/plain")), Format::Text);
        assert_eq!(
            Format::from_headers(&headers("application/xml, */*;q=0.1")),
            Format::Xml
        );
        assert_eq!(
            Format::from_headers(&headers("text/plain;q=0.5, application/json")),
            Format::Json
        );
        assert_eq!(Format::from_headers(&headers("image/png")), Format::Json);
        assert!(prefers(&headers("image/png"), "image/png"));
        assert!(prefers(
            &headers("image/avif,image/webp,image/*,*/*;q=0.8"),
            "image/png"
        ));
        assert!(!prefers(
            &headers("application/json, image/png;q=0.5"),
            "image/png"
        ));
        assert!(!prefers(&HeaderMap::new(), "image/png"));
    }

    #[test]
    fn text_forms_match_the_documents() {
        let err = serde_json::json!({"code":"missing_param","message":"Missing required parameter: chatId","details":{}});
        assert_eq!(
            text(&err, true),
            "Error: missing_param. Missing required parameter: chatId.\n"
        );
        let ok = serde_json::json!({"status":"STARTING"});
        assert_eq!(
            text(&ok, false),
            "Success: Operation completed successfully.\nstatus: STARTING\n"
        );
    }
}

/// The documents' generic success answer, for actions that return nothing else.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(example = json!({"success": true, "message": "Operation completed successfully"}))]
pub struct Done {
    pub success: bool,
    pub message: String,
}

impl Done {
    pub fn ok() -> Reply<Done> {
        Reply(Done {
            success: true,
            message: "Operation completed successfully".to_string(),
        })
    }
}
