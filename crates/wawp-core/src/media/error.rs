//! What can go wrong between a `file` parameter and bytes ready to send. The HTTP layer maps each
//! arm to one documented code (`wawp-api/src/error.rs`).

use crate::ssrf::SsrfError;

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// `file[url]` is not a URL wawp may fetch (scheme, private address…).
    #[error("file[url] is refused: {0}")]
    Refused(SsrfError),
    /// `file[url]` is not a URL at all.
    #[error("file[url] is not a valid URL")]
    BadUrl,
    /// `file[url]` could not be fetched (no answer, connection refused, timeout…).
    #[error("file[url] could not be fetched: {0}")]
    Unreachable(String),
    /// `file[url]` answered with an HTTP error.
    #[error("file[url] answered HTTP {0}")]
    Status(u16),
    /// The file is larger than the configured cap (bytes).
    #[error("the file is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    /// The file is empty.
    #[error("the file is empty")]
    Empty,
    /// The bytes are not what the route sends (`expected`), or could not be recognised.
    #[error("the file is {found}, expected {expected}")]
    WrongType {
        expected: &'static str,
        found: String,
    },
    /// A conversion was asked for and ffmpeg is not installed.
    #[error("ffmpeg is not installed on this server")]
    FfmpegMissing,
    /// ffmpeg could not convert the file (not a media file it can read).
    #[error("the file could not be converted: {0}")]
    Convert(String),
    /// No stored file has this name (or it expired).
    #[error("no such file")]
    NoSuchFile,
    /// Our own fault (disk, spawning a process); logged, answered as `server_error`.
    #[error("media: {0}")]
    Internal(String),
}

impl From<std::io::Error> for MediaError {
    fn from(e: std::io::Error) -> Self {
        MediaError::Internal(e.to_string())
    }
}
