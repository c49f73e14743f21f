//! The media routes.
//!
//! - `POST /mms/{kind}/{token}?auth=…&token=…` (also `/product/{kind}/{token}`): stores the exact body.
//!   `auth` must be a token fakewa issued in `<media_conn>` (else 401: whatsapp-rust refreshes the media
//!   connection and retries once); `token` must be the base64url SHA-256 of the body (else 400);
//!   `&resume=1` (the resumable-upload check) is answered 404, "nothing uploaded yet". Bodies above
//!   [`MAX_UPLOAD_BYTES`] get 413. Answer: `{"url","direct_path"}`, `direct_path` = `/v/t62.…/<hex>.enc`.
//! - `GET <any path>?…`: the blob named by the path's last segment (`<hex sha256>[.enc|.jpg]`, or the
//!   base64url hash as in `/mms/{kind}/{token}`), else by the `token` query parameter; 404 when unknown.
//!   No auth needed, as on WhatsApp's CDN (whatsapp-rust may download with hosts only).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde_json::json;

use super::Media;
use super::store::{blob_id, is_blob_id};

/// Largest accepted upload.
pub(crate) const MAX_UPLOAD_BYTES: usize = 100 * 1024 * 1024;

type Q = Query<HashMap<String, String>>;

pub(crate) fn app(media: Arc<Media>) -> Router {
    Router::new()
        .route("/", get(ready))
        .route("/mms/{kind}/{token}", post(upload).get(download))
        .route("/product/{kind}/{token}", post(upload).get(download))
        .fallback(download)
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
        .with_state(media)
}

async fn ready() -> &'static str {
    "fakewa media ready\n"
}

fn error(status: StatusCode, msg: &str) -> Response {
    (status, axum::Json(json!({ "error": msg }))).into_response()
}

/// The `t62.*` class WhatsApp's CDN puts in a direct path for this kind of media.
fn path_class(kind: &str) -> &'static str {
    match kind {
        "image" => "t62.7118-24",
        "video" => "t62.7161-24",
        "audio" => "t62.7114-24",
        "document" => "t62.7119-24",
        "sticker" | "sticker-pack" => "t62.15575-24",
        "md-app-state" => "t62.2271-24",
        "md-msg-hist" => "t62.7117-24",
        _ => "t62.7120-24",
    }
}

async fn upload(
    State(media): State<Arc<Media>>,
    Path((kind, token)): Path<(String, String)>,
    Query(q): Q,
    body: Bytes,
) -> Response {
    if q.get("resume").is_some_and(|v| v == "1") {
        return error(StatusCode::NOT_FOUND, "no upload to resume");
    }
    if !q.get("auth").is_some_and(|a| media.auth_ok(a)) {
        return error(StatusCode::UNAUTHORIZED, "unknown or expired media auth");
    }
    let id = blob_id(&body);
    let named = B64URL.decode(token.as_bytes()).ok().map(hex::encode);
    if named.as_deref() != Some(id.as_str()) {
        return error(
            StatusCode::BAD_REQUEST,
            "token is not the base64url SHA-256 of the body",
        );
    }
    let len = body.len();
    if let Err(e) = media.store.put(body).await {
        tracing::warn!("storing a media blob: {e}");
        return error(StatusCode::INTERNAL_SERVER_ERROR, "storage failed");
    }
    let direct_path = format!("/v/{}/{id}.enc", path_class(&kind));
    let url = format!(
        "https://{}{direct_path}?ccb=11-4&oh=fakewa&oe=0",
        media.host()
    );
    tracing::debug!(%kind, len, %direct_path, "media uploaded");
    axum::Json(json!({ "url": url, "direct_path": direct_path })).into_response()
}

/// The blob id a download names: the last path segment (hex or base64url), else the `token` parameter.
fn requested_id(uri: &Uri, q: &HashMap<String, String>) -> Option<String> {
    let from_b64 = |s: &str| {
        B64URL
            .decode(s.as_bytes())
            .ok()
            .filter(|h| h.len() == 32)
            .map(hex::encode)
    };
    let last = uri.path().rsplit('/').next().unwrap_or_default();
    let stem = last
        .strip_suffix(".enc")
        .or_else(|| last.strip_suffix(".jpg"))
        .unwrap_or(last);
    if is_blob_id(stem) {
        return Some(stem.to_string());
    }
    from_b64(stem).or_else(|| q.get("token").and_then(|t| from_b64(t)))
}

async fn download(
    State(media): State<Arc<Media>>,
    method: Method,
    uri: Uri,
    Query(q): Q,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return error(StatusCode::METHOD_NOT_ALLOWED, "only GET downloads");
    }
    let Some(id) = requested_id(&uri, &q) else {
        return error(StatusCode::NOT_FOUND, "no such media");
    };
    // Profile pictures (`stanza::picture`) are plain JPEGs; everything else is encrypted media.
    let kind = if uri.path().ends_with(".jpg") {
        "image/jpeg"
    } else {
        "application/octet-stream"
    };
    match media.store.get(&id).await {
        Some(bytes) => ([(header::CONTENT_TYPE, kind)], bytes).into_response(),
        None => error(StatusCode::NOT_FOUND, "no such media"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_of(uri: &str) -> Option<String> {
        let uri: Uri = uri.parse().expect("uri");
        let q: HashMap<String, String> = uri.query().map(query_pairs).unwrap_or_default();
        requested_id(&uri, &q)
    }

    fn query_pairs(q: &str) -> HashMap<String, String> {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_download_path_form_names_the_blob() {
        let hash = [7u8; 32];
        let hex_id = hex::encode(hash);
        let token = B64URL.encode(hash);
        let want = Some(hex_id.clone());
        assert_eq!(
            id_of(&format!("/v/t62.7118-24/{hex_id}.enc?auth=a&token={token}")),
            want
        );
        assert_eq!(id_of(&format!("/mms/image/{token}?token={token}")), want);
        assert_eq!(id_of(&format!("/mms/md-app-state/{token}")), want);
        assert_eq!(
            id_of(&format!("/o1/v/t62.2271-24/whatever?token={token}")),
            want
        );
        assert_eq!(id_of(&format!("/v/t61.24694-24/{hex_id}.jpg?oe=0")), want);
        assert_eq!(id_of("/v/t62.7118-24/whatever"), None);
        assert_eq!(id_of("/v/../../etc/passwd"), None);
    }
}
