//! Chat Actions (`/v2/chats*`): the chat list and each chat's messages, answered from the store,
//! and chat pictures, asked of WhatsApp.

mod index;
mod messages;
mod overview;
mod picture;
mod read;
mod unread;

pub use index::*;
pub use messages::*;
pub use overview::*;
pub use picture::*;
pub use read::*;
pub use unread::*;

use axum::http::Method;

use crate::routes::Table;

pub(crate) fn table() -> Table {
    use Method as M;
    Table::new()
        .route(&[M::GET, M::POST], "/v2/chats", None, chats_list_overview)
        .route(&[M::GET], "/v2/chats/messages", None, get_messages_in_chat)
        .route(&[M::POST], "/v2/chats/read", None, mark_as_read)
        .route(&[M::GET], "/v2/chats/overview", None, get_chats_overview)
        .route(&[M::GET], "/v2/chats/picture", None, get_chat_picture)
        .route(&[M::POST], "/v2/chats/unread", None, mark_chat_as_unread)
}
