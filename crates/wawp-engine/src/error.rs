use thiserror::Error;

#[derive(Debug, Error)]
pub enum EngineError {
    /// The configured WhatsApp URL is not allowed by this build (see `certs`).
    #[error("{0}")]
    UrlRefused(String),
    /// The session's key store could not be opened, read or erased.
    #[error("key store: {0}")]
    Store(String),
    /// The client could not be built.
    #[error("client: {0}")]
    Client(String),
    /// WhatsApp refused or failed a request (pairing code, logout…).
    #[error("{0}")]
    Upstream(String),
    /// The phone number cannot be used for a pairing code.
    #[error("{0}")]
    InvalidPhone(String),
    /// The chat id cannot be addressed.
    #[error("{0}")]
    InvalidChat(String),
    /// WhatsApp did not answer in time.
    #[error("whatsapp did not answer in time")]
    Timeout,
    /// No call with this id (from this caller) rings on this device.
    #[error("no ringing call {0}")]
    UnknownCall(String),
    /// The session task is gone.
    #[error("session is not running")]
    NotRunning,
    /// A poll vote or event answer did not open with the stored secret.
    #[error("cannot decrypt: {0}")]
    Crypto(String),
}
