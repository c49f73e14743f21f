//! Contacts (`/v2/contacts*`).

mod profile_picture;

pub use profile_picture::*;

use axum::http::Method;

use crate::routes::Table;

pub(crate) fn table() -> Table {
    use Method as M;
    Table::new().route(
        &[M::GET],
        "/v2/contacts/profile-picture",
        None,
        get_contact_profile_picture,
    )
}
