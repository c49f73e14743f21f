//! Identifiers and views shared by the domain and the HTTP layer.

mod ids;
mod session;

pub use ids::{InstanceId, SessionName};
pub use session::{Me, QrCode, SessionConfig, SessionStatus, SessionView};
