//! Calls (`/v2/calls/*`): acting on calls that ring on the session (`call.received`).

mod reject;

pub use reject::*;

use axum::http::Method;

use crate::routes::Table;

pub(crate) fn table() -> Table {
    Table::new().route(&[Method::POST], "/v2/calls/reject", None, reject_call)
}
