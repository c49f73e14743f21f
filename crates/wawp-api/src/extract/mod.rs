//! The one parameter pipeline shared by every route (STYLE.md §2.2c): `raw` buffers and merges
//! query and body once; `auth` finds the caller; `session` the caller's instance; `params` the
//! typed, checked parameters; `ids` the identifier newtypes (chat ids, phone numbers).

pub mod auth;
pub mod coerce;
pub mod file;
pub mod ids;
pub mod params;
pub mod raw;
pub mod session;

pub use auth::Auth;
pub use file::{FileFields, WithFile};
pub use ids::{ChatId, PhoneProblem};
pub use params::{Params, Required};
pub use raw::{FilePart, RawParams};
pub use session::SessionRef;
