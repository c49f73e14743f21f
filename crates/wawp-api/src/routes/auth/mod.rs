//! Authentication - Login (`/v2/auth/*`): QR codes and pairing codes for a session waiting to be
//! linked (`SCAN_QR_CODE`; otherwise `422 session_unexpected_status` from the core).

mod qr;
mod qr_image;
mod request_code;

pub use qr::*;
pub use qr_image::*;
pub use request_code::*;

use axum::http::header::{CACHE_CONTROL, EXPIRES, HeaderValue, PRAGMA};
use axum::http::{HeaderMap, Method};

use crate::routes::Table;

pub(crate) fn table() -> Table {
    use Method as M;
    Table::new()
        .route(&[M::POST, M::GET], "/v2/auth/qr", None, get_qr_raw)
        .route(&[M::POST, M::GET], "/v2/auth/qr-image", None, get_qr_image)
        .route(
            &[M::POST],
            "/v2/auth/request-code",
            None,
            request_code_phone_login,
        )
}

/// QR codes rotate every 20–60 s: never let anything cache them.
pub(crate) fn no_cache() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache, must-revalidate, max-age=0"),
    );
    h.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(EXPIRES, HeaderValue::from_static("0"));
    h
}
