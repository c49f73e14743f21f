//! Messages (`/v2/messages/*`): reading, editing and deleting single messages.

mod delete;
mod edit;
mod get;
pub mod view;

pub use delete::*;
pub use edit::*;
pub use get::*;

use axum::http::Method;

use crate::routes::Table;

pub(crate) fn table() -> Table {
    Table::new()
        .route(&[Method::POST], "/v2/messages/get", None, get_message_by_id)
        .route(
            &[Method::DELETE],
            "/v2/messages/delete",
            None,
            delete_a_message,
        )
        .route(
            &[Method::PUT],
            "/v2/messages/edit",
            None,
            edit_a_text_message,
        )
}
