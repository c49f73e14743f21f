//! Messages (`/v2/messages/*`): reading, editing and deleting single messages.

mod get;
pub mod view;

pub use get::*;

use axum::http::Method;

use crate::routes::Table;

pub(crate) fn table() -> Table {
    Table::new().route(&[Method::POST], "/v2/messages/get", None, get_message_by_id)
}
