//! Events (`/v2/events`): the instance's events as a Server-Sent Events stream, for clients that
//! cannot expose a webhook URL.
//!
//! Wawp: a wawp extension; the documents deliver events by webhook only.

mod stream;

pub use stream::*;

use axum::http::Method;

use crate::routes::Table;

pub(crate) fn table() -> Table {
    Table::new().route(&[Method::GET], "/v2/events", None, event_stream)
}
