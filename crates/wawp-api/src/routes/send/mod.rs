//! Send Messages (`/v2/send/*`): one file per kind of message.

mod text;

pub use text::*;

use axum::http::Method;

use crate::routes::Table;

pub(crate) fn table() -> Table {
    use Method as M;
    Table::new().route(&[M::POST, M::GET], "/v2/send/text", None, send_text_message)
}
