use axum::extract::State;
use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::no_cache;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Params, Required, SessionRef};
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::Reply;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct QrRawParams {
    /// Output format; only `raw` (the default).
    pub format: Option<String>,
}

impl Required for QrRawParams {
    const REQUIRED: &'static [&'static str] = &["instance_id", "access_token"];
}

/// The QR code, raw: `data` is base64 of `{"value": "<string to encode>", "expiry": <unix s>}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"mimetype": "application/json; charset=utf-8",
    "data": "eyJ2YWx1ZSI6IjJAR0JoWWtpTkV1U0tpeXpIeVVOYy9RQi9lTnhpSkJWSE96bGhOQ1daRERvRUZyOEhDWEhxTENKdEVpZHh6WWoxWkpqRzZ4K2NOaFVlVGlZeUJHWExJQzU1Z2ppKzRHQ2VyakRvPSIsImV4cGlyeSI6MTIzNDU2Nzg5MH0="}))]
pub struct QrRaw {
    pub mimetype: String,
    pub data: String,
}

#[derive(Serialize)]
struct QrPayload<'a> {
    value: &'a str,
    expiry: u64,
}

/// GET QR raw
///
/// The current QR code string and its expiry, for rendering a QR yourself. Never cached.
#[utoipa::path(method(post, get), path = "/v2/auth/qr", tag = "Authentication - Login", operation_id = "get_qr_raw",
    params(InstanceQuery, ("format" = Option<String>, Query, description = "Output format (default: raw)")),
    responses((status = 200, description = "QR raw data", body = QrRaw), CommonErrors))]
pub async fn get_qr_raw(
    State(state): State<AppState>,
    Params(p): Params<QrRawParams>,
    session: SessionRef,
) -> ApiResult<(HeaderMap, Reply<QrRaw>)> {
    if let Some(format) = p
        .format
        .as_deref()
        .filter(|f| !f.eq_ignore_ascii_case("raw"))
    {
        return Err(
            ApiError::invalid("format", format!("Unsupported format '{format}'."))
                .recommend("Use format=raw, or /v2/auth/qr-image for a PNG."),
        );
    }
    let qr = state.core.sessions().qr(&session.id).await?;
    let json = serde_json::to_vec(&QrPayload {
        value: &qr.value,
        expiry: qr.expiry,
    })
    .map_err(ApiError::internal)?;
    let raw = QrRaw {
        mimetype: "application/json; charset=utf-8".into(),
        data: STANDARD.encode(json),
    };
    Ok((no_cache(), Reply(raw)))
}
