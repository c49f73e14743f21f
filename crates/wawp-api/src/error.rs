//! The one API error type. Every failure a client sees is an [`ApiError`]: a [`Code`] (wire string
//! and status, in one `match`), a message, `details` and, for our own faults, a `source` that is
//! logged once by the negotiation layer and never sent.
//!
//! `From<CoreError>` below is the only place where domain errors become HTTP errors.

use std::fmt;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use wawp_core::CoreError;
use wawp_core::media::MediaError;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type ApiResult<T> = Result<T, ApiError>;

/// Every error code of API-CONVENTIONS.md, plus `method_not_allowed` for a known path called
/// with a method it does not serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    MissingParam,
    InvalidParam,
    InvalidChatId,
    InvalidAccessToken,
    QuotaReached,
    InvalidSession,
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
    SessionUnexpectedStatus,
    RateLimitExceeded,
    ServerError,
    ProxyError,
    UpstreamTimeout,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        self.wire().0
    }

    pub fn status(self) -> StatusCode {
        self.wire().1
    }

    fn wire(self) -> (&'static str, StatusCode) {
        match self {
            Code::MissingParam => ("missing_param", StatusCode::BAD_REQUEST),
            Code::InvalidParam => ("invalid_param", StatusCode::BAD_REQUEST),
            Code::InvalidChatId => ("invalid_chat_id", StatusCode::BAD_REQUEST),
            Code::InvalidAccessToken => ("invalid_access_token", StatusCode::UNAUTHORIZED),
            Code::QuotaReached => ("quota_reached", StatusCode::FORBIDDEN),
            Code::InvalidSession => ("invalid_session", StatusCode::NOT_FOUND),
            Code::NotFound => ("not_found", StatusCode::NOT_FOUND),
            Code::MethodNotAllowed => ("method_not_allowed", StatusCode::METHOD_NOT_ALLOWED),
            Code::PayloadTooLarge => ("payload_too_large", StatusCode::PAYLOAD_TOO_LARGE),
            Code::UnsupportedMediaType => {
                ("unsupported_media_type", StatusCode::UNSUPPORTED_MEDIA_TYPE)
            }
            Code::SessionUnexpectedStatus => (
                "session_unexpected_status",
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            Code::RateLimitExceeded => ("rate_limit_exceeded", StatusCode::TOO_MANY_REQUESTS),
            Code::ServerError => ("server_error", StatusCode::INTERNAL_SERVER_ERROR),
            Code::ProxyError => ("proxy_error", StatusCode::BAD_GATEWAY),
            Code::UpstreamTimeout => ("upstream_timeout", StatusCode::GATEWAY_TIMEOUT),
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error as the client sees it (`{code, message, details}`), plus the hidden cause.
#[derive(Debug)]
pub struct ApiError {
    pub code: Code,
    pub message: String,
    pub details: Map<String, Value>,
    pub source: Option<BoxError>,
}

// Wawp: the documents' messages and recommendations, word for word where they give them.
const SERVER_ERROR_MSG: &str = "An internal server error occurred. Please try again later.";
const SERVER_ERROR_REC: &str = "This is likely a temporary issue on our side. Please retry your request in a few seconds or contact support if it persists.";

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            details: Map::new(),
            source: None,
        }
    }

    /// Adds (or replaces) one `details` entry.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_string(), value.into());
        self
    }

    pub fn recommend(self, text: &str) -> Self {
        self.with("recommendation", text)
    }

    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// `400 missing_param` naming every missing parameter.
    pub fn missing(names: &[String]) -> Self {
        let message = match names {
            [one] => format!("Missing required parameter: {one}"),
            _ => format!("Missing required parameters: {}", names.join(", ")),
        };
        let rec = if names.len() == 1 && names[0] == "access_token" {
            "Ensure you are sending the 'access_token' in your request."
        } else {
            "Check if the parameter is spelled correctly and present in the request body/query."
        };
        ApiError::new(Code::MissingParam, message)
            .with("missing", names.to_vec())
            .recommend(rec)
    }

    /// `400 invalid_param` for one named parameter.
    pub fn invalid(param: &str, message: impl Into<String>) -> Self {
        ApiError::new(Code::InvalidParam, message)
            .with("param", param)
            .recommend(
                "Refer to the documentation for the allowed format and length of this parameter.",
            )
    }

    pub fn invalid_token() -> Self {
        ApiError::new(Code::InvalidAccessToken, "Invalid or expired access token. Please check your credentials.")
            .recommend("Ensure you are sending a valid 'access_token' in the request. You can find your token in the dashboard.")
    }

    pub fn invalid_session() -> Self {
        ApiError::new(Code::InvalidSession, "Session not found. Please verify your instance_id or session_name.")
            .recommend("Check if the instance exists and is currently active. You might need to start it first.")
    }

    pub fn not_found(kind: &str, id: &str) -> Self {
        ApiError::new(
            Code::NotFound,
            format!("The requested {kind} was not found."),
        )
        .with("kind", kind)
        .with("id", id)
        .recommend("Check the identifier; it may have been deleted or never existed.")
    }

    pub fn route_not_found() -> Self {
        ApiError::new(Code::NotFound, "No route matches this path.")
            .recommend("Check the URL against the API documentation (/docs).")
    }

    pub fn method_not_allowed() -> Self {
        ApiError::new(
            Code::MethodNotAllowed,
            "This route does not accept this HTTP method.",
        )
        .recommend("Check the allowed methods in the API documentation (/docs).")
    }

    pub fn payload_too_large(limit: usize) -> Self {
        ApiError::new(Code::PayloadTooLarge, "The request body is too large.")
            .with("limit", limit)
            .recommend("Send a smaller body, or a file by URL instead of an upload.")
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        ApiError::new(
            Code::UnsupportedMediaType,
            "Unsupported Content-Type for the request body.",
        )
        .with("contentType", content_type)
        .recommend(
            "Send application/json, application/x-www-form-urlencoded or multipart/form-data.",
        )
    }

    pub fn rate_limited(retry_after: u64) -> Self {
        ApiError::new(Code::RateLimitExceeded, "Too many requests. Please slow down.")
            .with("retryAfter", retry_after)
            .recommend("Implement a retry strategy with exponential backoff or reduce the frequency of your requests.")
    }

    pub fn upstream_timeout() -> Self {
        ApiError::new(Code::UpstreamTimeout, "WhatsApp did not answer in time.")
            .recommend("Retry in a few seconds; if it persists, check the instance's connection.")
    }

    /// `500 server_error`: a generic message; the cause goes to the log only.
    pub fn internal(source: impl Into<BoxError>) -> Self {
        ApiError::new(Code::ServerError, SERVER_ERROR_MSG)
            .recommend(SERVER_ERROR_REC)
            .with_source(source)
    }

    /// `Retry-After` seconds, for 429.
    pub fn retry_after(&self) -> Option<u64> {
        (self.code == Code::RateLimitExceeded)
            .then(|| self.details.get("retryAfter").and_then(Value::as_u64))
            .flatten()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl From<CoreError> for ApiError {
    fn from(err: CoreError) -> Self {
        match err {
            CoreError::InvalidToken => ApiError::invalid_token(),
            CoreError::NoSuchSession => ApiError::invalid_session(),
            CoreError::Quota { limit } => {
                ApiError::new(Code::QuotaReached, "You have reached your maximum instances limit.")
                    .with("limit", limit)
                    .recommend("Upgrade your plan or delete unused instances to create new ones.")
            }
            CoreError::RateLimited { retry_after } => ApiError::rate_limited(retry_after),
            CoreError::WrongState { status, expected } => {
                let expected: Vec<&str> = expected.iter().map(|s| s.as_str()).collect();
                ApiError::new(Code::SessionUnexpectedStatus, "Session status is not as expected for this operation.")
                    .with("status", status.as_str())
                    .with("expected", json!(expected))
                    // Wawp: the documents name these `current_status` / `expected_status`; both are sent.
                    .with("current_status", status.as_str())
                    .with("expected_status", json!(expected))
                    .recommend("Check the session status with /v2/session/info and wait for the expected state.")
            }
            CoreError::Invalid(message) => ApiError::new(Code::InvalidParam, message)
                .recommend("Refer to the documentation for the allowed format and length of this parameter."),
            CoreError::NotFound { kind, id } => ApiError::not_found(kind, &id),
            CoreError::Upstream(reason) => ApiError::new(Code::ProxyError, "Failed to connect to WhatsApp server.")
                .with("upstream", reason)
                .recommend("Ensure the instance is online and connected to WhatsApp. If the issue persists, the upstream server might be experiencing downtime."),
            CoreError::Timeout => ApiError::upstream_timeout(),
            CoreError::Media(e) => media_error(e),
            err @ (CoreError::Store(_) | CoreError::Engine(_) | CoreError::Internal(_)) => ApiError::internal(err),
        }
    }
}

impl From<MediaError> for ApiError {
    fn from(err: MediaError) -> Self {
        media_error(err)
    }
}

/// The media pipeline's failures: the file parameter's fault is a 4xx naming `file[url]`, ours a
/// 500 (a missing ffmpeg says so: it is the operator's to fix, and no secret).
fn media_error(e: MediaError) -> ApiError {
    const FILE: &str = "file[url]";
    match e {
        MediaError::Refused(reason) => ApiError::invalid(FILE, "The file URL is not allowed.")
            .with("reason", reason.to_string())
            .recommend("Use a public http(s) URL; private, loopback and link-local addresses are refused unless the server allows them (WAWP_ALLOW_PRIVATE_URLS)."),
        MediaError::BadUrl => ApiError::invalid(FILE, "The file URL is not a valid URL.")
            .recommend("Send an absolute http(s) URL, or upload the file as multipart/form-data."),
        e @ (MediaError::Unreachable(_) | MediaError::Status(_)) => {
            ApiError::invalid(FILE, "The file could not be downloaded from its URL.")
                .with("reason", e.to_string())
                .recommend("Check that the URL is reachable from the server and answers 200 with the file.")
        }
        MediaError::Empty => ApiError::invalid(FILE, "The file is empty.")
            .recommend("Send a file with content."),
        MediaError::TooLarge { limit } => ApiError::new(Code::PayloadTooLarge, "The file is too large.")
            .with("limit", limit)
            .recommend("Send a smaller file; the server's limit is in details.limit (bytes)."),
        MediaError::WrongType { expected, found } => ApiError::new(
            Code::UnsupportedMediaType,
            format!("The file is not {expected}."),
        )
        .with("expected", expected)
        .with("detected", found)
        .recommend("Send a file of the kind this route sends (the type is read from the file's bytes)."),
        MediaError::Convert(reason) => ApiError::new(
            Code::UnsupportedMediaType,
            "The file could not be converted.",
        )
        .with("reason", reason)
        .recommend("Send an audio or video file ffmpeg can read, or set convert=false to send it as is."),
        MediaError::FfmpegMissing => ApiError::new(
            Code::ServerError,
            "Media conversion is not available: ffmpeg is not installed on this server.",
        )
        .recommend("Send the file already in the target format with convert=false, or ask the operator to install ffmpeg."),
        MediaError::NoSuchFile => ApiError::not_found("file", "")
            .recommend("Files are kept for a limited time; convert or download the media again."),
        err @ MediaError::Internal(_) => ApiError::internal(err),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        crate::reply::error_response(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wawp_core::model::SessionStatus;

    #[test]
    fn core_errors_map_to_documented_codes() {
        let cases = [
            (CoreError::InvalidToken, "invalid_access_token", 401),
            (CoreError::NoSuchSession, "invalid_session", 404),
            (CoreError::Quota { limit: 1 }, "quota_reached", 403),
            (
                CoreError::RateLimited { retry_after: 7 },
                "rate_limit_exceeded",
                429,
            ),
            (
                CoreError::WrongState {
                    status: SessionStatus::Working,
                    expected: vec![SessionStatus::ScanQrCode],
                },
                "session_unexpected_status",
                422,
            ),
            (CoreError::Invalid("x".into()), "invalid_param", 400),
            (
                CoreError::NotFound {
                    kind: "chat",
                    id: "1".into(),
                },
                "not_found",
                404,
            ),
            (CoreError::Upstream("nope".into()), "proxy_error", 502),
            (CoreError::Timeout, "upstream_timeout", 504),
            (
                CoreError::Internal("db on fire".into()),
                "server_error",
                500,
            ),
        ];
        for (core, code, status) in cases {
            let api = ApiError::from(core);
            assert_eq!(api.code.as_str(), code);
            assert_eq!(api.code.status().as_u16(), status);
        }
    }

    #[test]
    fn internal_errors_never_carry_the_cause_in_the_message() {
        let api = ApiError::from(CoreError::Internal("secret path /var/db".into()));
        assert!(!api.message.contains("secret"));
        assert!(
            !serde_json::to_string(&api.details)
                .unwrap_or_default()
                .contains("secret")
        );
        assert!(api.source.is_some());
    }

    #[test]
    fn wrong_state_details_carry_status_and_expected() {
        let api = ApiError::from(CoreError::WrongState {
            status: SessionStatus::Working,
            expected: vec![SessionStatus::ScanQrCode],
        });
        assert_eq!(api.details["status"], "WORKING");
        assert_eq!(api.details["expected"], json!(["SCAN_QR_CODE"]));
    }

    #[test]
    fn missing_lists_every_name() {
        let api = ApiError::missing(&["instance_id".into(), "access_token".into()]);
        assert_eq!(
            api.message,
            "Missing required parameters: instance_id, access_token"
        );
        assert_eq!(
            api.details["missing"],
            json!(["instance_id", "access_token"])
        );
        let one = ApiError::missing(&["access_token".into()]);
        assert_eq!(one.message, "Missing required parameter: access_token");
        assert_eq!(
            one.details["recommendation"],
            "Ensure you are sending the 'access_token' in your request."
        );
    }
}
