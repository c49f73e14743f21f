use std::io::Cursor;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use utoipa::ToSchema;

use super::no_cache;
use crate::error::{ApiError, ApiResult};
use crate::extract::SessionRef;
use crate::openapi::{CommonErrors, InstanceQuery};
use crate::reply::{self, Reply};
use crate::state::AppState;

/// The QR code as a PNG data URL, ready for `<img src>`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"qr": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgA..."}))]
pub struct QrImage {
    pub qr: String,
}

/// Get QR Image
///
/// The current QR code as a PNG: a data URL in JSON, or the PNG itself when `Accept` prefers
/// `image/png`. Never cached.
#[utoipa::path(method(post, get), path = "/v2/auth/qr-image", tag = "Authentication - Login", operation_id = "get_qr_image",
    params(InstanceQuery),
    responses((status = 200, description = "QR image", content(
        (QrImage = "application/json"),
        (Vec<u8> = "image/png"))), CommonErrors))]
pub async fn get_qr_image(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: SessionRef,
) -> ApiResult<Response> {
    let qr = state.core.sessions().qr(&session.id).await?;
    let png = render_png(&qr.value)?;
    if reply::prefers(&headers, "image/png") {
        return Ok((no_cache(), reply::raw("image/png", png)).into_response());
    }
    let image = QrImage {
        qr: format!("data:image/png;base64,{}", STANDARD.encode(png)),
    };
    Ok((no_cache(), Reply(image)).into_response())
}

/// Renders `value` as a QR code PNG (at least 256×256, with the quiet zone).
pub(crate) fn render_png(value: &str) -> ApiResult<Vec<u8>> {
    let code = qrcode::QrCode::new(value.as_bytes())
        .map_err(|e| ApiError::internal(format!("qr encode: {e}")))?;
    let img = code
        .render::<image::Luma<u8>>()
        .min_dimensions(256, 256)
        .build();
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(ApiError::internal)?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    #[test]
    fn qr_png_is_a_png() {
        let png = super::render_png("2@abc,def,ghi,jkl").expect("renders");
        assert!(png.starts_with(&[0x89, b'P', b'N', b'G']));
    }
}
