//! Identifiers and views shared by the domain and the HTTP layer.

mod chat;
mod ids;
pub mod interactive;
pub mod media;
pub mod message;
mod session;

pub use chat::ChatSummary;
pub use ids::{InstanceId, SessionName};
pub use message::Message;
pub use session::{Me, QrCode, SessionConfig, SessionStatus, SessionView};
/// Plain values the engine defines and the API fills in.
pub use wawp_engine::{EventInfo, List, ListRow, ListSection, Location, Poll};
