//! fakewa's error type.

/// Everything that can go wrong in fakewa's public API.
#[derive(Debug, thiserror::Error)]
pub enum FakeWaError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("unknown phone {0}")]
    UnknownPhone(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("no pending registration matches this QR code (is the client still showing it?)")]
    NoPendingQr,
    #[error("no pending pairing-code request for phone {0}")]
    NoPendingCode(String),
    #[error("timed out: {0}")]
    Timeout(&'static str),
    #[error("pairing failed: {0}")]
    Pairing(String),
    #[error("crypto: {0}")]
    Crypto(String),
    #[error("the virtual phone failed: {0}")]
    Phone(String),
    #[error("key store: {0}")]
    Keys(String),
    #[error("tls: {0}")]
    Tls(String),
    #[error("media: {0}")]
    Media(String),
    #[error("no media for message {0}")]
    UnknownMedia(String),
    #[error("fakewa is shutting down")]
    Shutdown,
}

impl FakeWaError {
    /// The HTTP status the admin API answers for this error.
    pub fn status(&self) -> u16 {
        match self {
            Self::UnknownPhone(_)
            | Self::UnknownMedia(_)
            | Self::NoPendingQr
            | Self::NoPendingCode(_) => 404,
            Self::BadRequest(_) => 400,
            Self::Timeout(_) => 504,
            Self::Shutdown => 503,
            _ => 500,
        }
    }
}
