use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, HeaderValue};
use axum::response::{IntoResponse, Response};

use crate::error::ApiResult;
use crate::state::AppState;

/// Get file
///
/// A converted or downloaded media file, by the name wawp answered with. No token: the name is
/// the secret (128 random bits); files expire.
#[utoipa::path(get, path = "/v2/files/{name}", tag = "Media", operation_id = "get_file",
    params(("name" = String, Path, description = "The file's name, as in the URL wawp answered")),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 404, description = "`not_found`: unknown or expired", body = crate::openapi::ErrorBody)),
    security(()))]
pub async fn get_file(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    let (entry, bytes) = state.core.media().files().get(&name).await?;
    let mut res = bytes.into_response();
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&entry.mimetype) {
        headers.insert(CONTENT_TYPE, v);
    }
    let safe: String = entry
        .filename
        .chars()
        .filter(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\\' | ';'))
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{safe}\"")) {
        headers.insert(CONTENT_DISPOSITION, v);
    }
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    Ok(res)
}
