//! Media (`/v2/media/*`): conversions to WhatsApp's formats.

mod convert;

pub use convert::*;

use axum::http::Method;

use crate::routes::Table;

pub(crate) fn table() -> Table {
    Table::new().route(&[Method::POST], "/v2/media/convert", None, convert_media)
}
