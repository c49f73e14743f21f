//! Domain errors. The HTTP layer maps each arm to one API error code, in one place
//! (`wawp-api/src/error.rs`).

use crate::model::SessionStatus;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// Missing, unknown or revoked access token.
    #[error("invalid access token")]
    InvalidToken,
    /// Unknown instance, or an instance of another token (never say which).
    #[error("no such session")]
    NoSuchSession,
    /// The token may not create more instances.
    #[error("instance quota reached ({limit})")]
    Quota { limit: u32 },
    /// Too many requests; retry after the given number of seconds.
    #[error("rate limited, retry after {retry_after}s")]
    RateLimited { retry_after: u64 },
    /// The session is not in a state that allows the call.
    #[error("session is {status}, expected {expected:?}")]
    WrongState {
        status: SessionStatus,
        expected: Vec<SessionStatus>,
    },
    /// A parameter was well-formed but not acceptable (message for the client).
    #[error("{0}")]
    Invalid(String),
    /// Something asked for does not exist (kind, id).
    #[error("{kind} not found: {id}")]
    NotFound { kind: &'static str, id: String },
    /// WhatsApp rejected the request or failed (message for the client, no internals).
    #[error("whatsapp: {0}")]
    Upstream(String),
    /// WhatsApp did not answer in time.
    #[error("whatsapp did not answer in time")]
    Timeout,
    #[error(transparent)]
    Store(#[from] wawp_store::StoreError),
    #[error(transparent)]
    Engine(#[from] wawp_engine::EngineError),
    /// A `file` parameter could not become a file to send, or a stored file is gone.
    #[error(transparent)]
    Media(#[from] crate::media::MediaError),
    /// Anything else that is our fault; logged, answered as `server_error`.
    #[error("internal: {0}")]
    Internal(String),
}
