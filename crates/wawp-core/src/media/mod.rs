//! The media pipeline: what a send route's `file` becomes before the engine uploads it, and the
//! files wawp serves back (`/v2/media/convert` results, downloaded received media).
//!
//! # Layout
//! - `fetch.rs`: `file[url]` through the SSRF-guarded client, with a size cap, a timeout and
//!   limited redirects.
//! - `sniff.rs`: the MIME type read from the bytes, checked against what the route sends.
//! - `ffmpeg.rs`: conversions (OGG/Opus voice notes, MP4/H.264 video) with the `ffmpeg` program.
//! - `files.rs`: the file store under `<data_dir>/files`, unguessable names with an expiry.
//! - `download.rs`: received media downloaded on demand (`downloadMedia=true`) into the store.

mod download;
mod error;
mod fetch;
mod ffmpeg;
mod files;
mod sniff;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use error::MediaError;
pub use ffmpeg::Ffmpeg;
pub use files::{FileStore, StoredFile};
pub use sniff::Expect;
/// What the engine sends (re-exported for the HTTP layer, which never imports the engine).
pub use wawp_engine::{LinkPreview, MediaKind, OutgoingMedia};

use crate::ssrf::AllowList;

/// The media section of the configuration. Defaults are written once, here.
#[derive(Clone, Debug)]
pub struct MediaConfig {
    /// Largest file accepted from `file[url]` or an upload (413 above it).
    pub max_bytes: u64,
    /// Longest time one `file[url]` download may take.
    pub fetch_timeout: Duration,
    /// How long converted and downloaded files stay at `/v2/files/…`.
    pub file_ttl: Duration,
    /// The ffmpeg program (a name on `PATH`, or a path).
    pub ffmpeg: String,
    /// Longest time one conversion may take.
    pub convert_timeout: Duration,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            max_bytes: 64 * 1024 * 1024,
            fetch_timeout: Duration::from_secs(60),
            file_ttl: Duration::from_secs(24 * 3600),
            ffmpeg: "ffmpeg".to_string(),
            convert_timeout: Duration::from_secs(300),
        }
    }
}

/// A `file` parameter: a URL to fetch or an uploaded part, with the names the client gave.
#[derive(Clone, Debug)]
pub struct FileInput {
    pub source: FileSource,
    pub filename: Option<String>,
    pub mimetype: Option<String>,
}

#[derive(Clone, Debug)]
pub enum FileSource {
    Url(String),
    Upload(Vec<u8>),
}

/// A file ready to send: its bytes, the MIME type it really has, and a file name.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedFile {
    pub bytes: Vec<u8>,
    pub mimetype: String,
    pub filename: String,
    /// Duration, when known (converted audio and video).
    pub seconds: Option<u32>,
}

/// The media services of one server. Cheap to clone.
#[derive(Clone)]
pub struct Media {
    inner: Arc<MediaInner>,
}

struct MediaInner {
    config: MediaConfig,
    allow: AllowList,
    client: reqwest::Client,
    ffmpeg: Ffmpeg,
    files: FileStore,
}

impl Media {
    /// Builds the pipeline; looks for ffmpeg once and warns when it is missing (conversions then
    /// fail with [`MediaError::FfmpegMissing`], nothing else does).
    pub async fn open(
        config: MediaConfig,
        data_dir: &Path,
        allow: AllowList,
    ) -> Result<Media, MediaError> {
        let client = crate::ssrf::guarded_client(
            Arc::new(allow.clone()),
            config.fetch_timeout,
            concat!("wawp/", env!("CARGO_PKG_VERSION")),
        )
        .map_err(|e| MediaError::Internal(format!("media HTTP client: {e}")))?;
        let work_dir = data_dir.join("tmp");
        let ffmpeg = Ffmpeg::detect(&config.ffmpeg, work_dir, config.convert_timeout).await;
        if !ffmpeg.available() {
            tracing::warn!(
                program = %config.ffmpeg,
                "ffmpeg not found: voice and video conversion (convert=true, /v2/media/convert) \
                 will answer an error until it is installed"
            );
        }
        let files = FileStore::open(data_dir.join("files"), config.file_ttl)?;
        Ok(Media {
            inner: Arc::new(MediaInner {
                config,
                allow,
                client,
                ffmpeg,
                files,
            }),
        })
    }

    pub fn config(&self) -> &MediaConfig {
        &self.inner.config
    }

    pub fn files(&self) -> &FileStore {
        &self.inner.files
    }

    pub fn ffmpeg(&self) -> &Ffmpeg {
        &self.inner.ffmpeg
    }

    /// Fetches or takes the file, caps its size and checks its type against `expect`.
    pub async fn load(&self, input: FileInput, expect: Expect) -> Result<LoadedFile, MediaError> {
        let cap = self.inner.config.max_bytes;
        let (bytes, url) = match input.source {
            FileSource::Url(url) => (
                fetch::fetch(&self.inner.client, &self.inner.allow, &url, cap).await?,
                Some(url),
            ),
            FileSource::Upload(bytes) => {
                if bytes.len() as u64 > cap {
                    return Err(MediaError::TooLarge { limit: cap });
                }
                (bytes, None)
            }
        };
        if bytes.is_empty() {
            return Err(MediaError::Empty);
        }
        let mimetype = sniff::check(&bytes, expect, input.mimetype.as_deref())?;
        let filename = input
            .filename
            .filter(|f| !f.trim().is_empty())
            .or_else(|| url.as_deref().and_then(fetch::file_name_of))
            .unwrap_or_else(|| format!("file.{}", sniff::extension(&mimetype)));
        Ok(LoadedFile {
            bytes,
            mimetype,
            filename,
            seconds: None,
        })
    }

    /// Converts to an OGG/Opus voice note.
    /// A loaded audio file made a voice note: transcoded to OGG/Opus when `convert`, else an OGG
    /// file declared with its codec (WhatsApp plays voice notes declared so).
    pub async fn voice_note(
        &self,
        mut file: LoadedFile,
        convert: bool,
    ) -> Result<LoadedFile, MediaError> {
        if convert {
            return self.to_voice(file).await;
        }
        if file.mimetype == "audio/ogg" {
            file.mimetype = VOICE_MIMETYPE.to_string();
        }
        Ok(file)
    }

    pub async fn to_voice(&self, file: LoadedFile) -> Result<LoadedFile, MediaError> {
        let (bytes, seconds) = self
            .inner
            .ffmpeg
            .convert(&file.bytes, ffmpeg::Target::Voice)
            .await?;
        Ok(LoadedFile {
            bytes,
            mimetype: VOICE_MIMETYPE.to_string(),
            filename: with_extension(&file.filename, "ogg"),
            seconds,
        })
    }

    /// Converts to MP4 (H.264 + AAC); `square` crops to a square (round video notes).
    pub async fn to_mp4(&self, file: LoadedFile, square: bool) -> Result<LoadedFile, MediaError> {
        let target = if square {
            ffmpeg::Target::SquareMp4
        } else {
            ffmpeg::Target::Mp4
        };
        let (bytes, seconds) = self.inner.ffmpeg.convert(&file.bytes, target).await?;
        Ok(LoadedFile {
            bytes,
            mimetype: "video/mp4".to_string(),
            filename: with_extension(&file.filename, "mp4"),
            seconds,
        })
    }
}

/// How a voice note's type is declared.
const VOICE_MIMETYPE: &str = "audio/ogg; codecs=opus";

/// `name.ext` with its extension replaced (or added).
fn with_extension(name: &str, ext: &str) -> String {
    let stem = match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => name,
    };
    format!("{stem}.{ext}")
}

/// Reads the extra CA (PEM) trusted for WhatsApp media, when one is configured.
pub fn read_ca(path: Option<&Path>) -> Result<Option<String>, crate::CoreError> {
    let Some(path) = path else { return Ok(None) };
    std::fs::read_to_string(path).map(Some).map_err(|e| {
        crate::CoreError::Internal(format!(
            "cannot read the WhatsApp media CA {}: {e}",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_are_replaced() {
        assert_eq!(with_extension("song.mp3", "ogg"), "song.ogg");
        assert_eq!(with_extension("clip", "mp4"), "clip.mp4");
        assert_eq!(with_extension(".hidden", "ogg"), ".hidden.ogg");
    }
}
