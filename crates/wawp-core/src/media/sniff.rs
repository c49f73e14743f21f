//! The MIME type of a file, read from its bytes (`infer`), and whether a route may send it. A
//! declared `file[mimetype]` is only believed where the bytes say nothing (plain documents).

use super::MediaError;

/// What a route sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// JPEG, PNG, WebP or GIF.
    Image,
    /// Any file (`/v2/send/pdf` sends documents of every kind).
    Document,
    /// Audio; with `convertible`, also video containers ffmpeg can take the sound from.
    Audio { convertible: bool },
    /// Video.
    Video,
    /// Audio or video, to convert.
    AudioOrVideo,
}

impl Expect {
    fn describe(self) -> &'static str {
        match self {
            Expect::Image => "an image (JPEG, PNG, WebP or GIF)",
            Expect::Document => "a document",
            Expect::Audio { .. } => "an audio file",
            Expect::Video => "a video",
            Expect::AudioOrVideo => "an audio or video file",
        }
    }

    fn accepts(self, mime: &str) -> bool {
        let audio = mime.starts_with("audio/");
        let video = mime.starts_with("video/");
        match self {
            Expect::Image => matches!(
                mime,
                "image/jpeg" | "image/png" | "image/webp" | "image/gif"
            ),
            Expect::Document => true,
            Expect::Audio { convertible } => audio || (convertible && video),
            Expect::Video => video,
            Expect::AudioOrVideo => audio || video,
        }
    }
}

/// The file's MIME type, checked against `expect`. For documents the bytes win when they are
/// recognised, then the declared type, then `application/octet-stream`.
pub(super) fn check(
    bytes: &[u8],
    expect: Expect,
    declared: Option<&str>,
) -> Result<String, MediaError> {
    let sniffed = sniff(bytes);
    if expect == Expect::Document {
        let declared = declared
            .map(str::trim)
            .filter(|d| d.contains('/') && !d.contains(['\r', '\n']));
        return Ok(sniffed
            .map(str::to_string)
            .or(declared.map(str::to_string))
            .unwrap_or_else(|| "application/octet-stream".to_string()));
    }
    match sniffed {
        Some(mime) if expect.accepts(mime) => Ok(mime.to_string()),
        other => Err(MediaError::WrongType {
            expected: expect.describe(),
            found: other.unwrap_or("not a recognised media file").to_string(),
        }),
    }
}

/// What the bytes are, when `infer` knows them.
pub(super) fn sniff(bytes: &[u8]) -> Option<&'static str> {
    infer::get(bytes).map(|t| t.mime_type())
}

/// A usual file extension for a MIME type (for file names nobody gave).
pub(super) fn extension(mime: &str) -> &'static str {
    let essence = mime.split(';').next().unwrap_or(mime).trim();
    match essence {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "application/pdf" => "pdf",
        "audio/ogg" | "audio/opus" => "ogg",
        "audio/mpeg" => "mp3",
        "audio/x-wav" | "audio/wav" => "wav",
        "audio/m4a" | "audio/mp4" => "m4a",
        "video/mp4" => "mp4",
        "video/webm" => "webm",
        "video/quicktime" => "mov",
        _ => "bin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const PDF: &[u8] = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n";

    #[test]
    fn images_must_be_images() {
        assert_eq!(
            check(PNG, Expect::Image, None).ok().as_deref(),
            Some("image/png")
        );
        assert!(matches!(
            check(PDF, Expect::Image, Some("image/png")),
            Err(MediaError::WrongType { .. })
        ));
        assert!(matches!(
            check(b"hello", Expect::Video, None),
            Err(MediaError::WrongType { .. })
        ));
    }

    #[test]
    fn documents_take_the_bytes_then_the_declared_type() {
        assert_eq!(
            check(PDF, Expect::Document, Some("text/plain"))
                .ok()
                .as_deref(),
            Some("application/pdf")
        );
        assert_eq!(
            check(b"a,b\n", Expect::Document, Some("text/csv"))
                .ok()
                .as_deref(),
            Some("text/csv")
        );
        assert_eq!(
            check(b"a,b\n", Expect::Document, None).ok().as_deref(),
            Some("application/octet-stream")
        );
        assert_eq!(extension("audio/ogg; codecs=opus"), "ogg");
    }
}
