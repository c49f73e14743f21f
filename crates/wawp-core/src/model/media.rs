//! The `media` object of a message, shaped like the documents' `message` webhook example:
//! `{url, mimetype, filename, error}` (plus `size` and, for audio and video, `seconds`). `url` is
//! empty until the file is downloaded (`downloadMedia=true`) into wawp's file store.

use serde_json::{Value, json};
use wawp_engine::{MediaInfo, MediaKind};

use super::Message;

/// The `media` object of a message carrying `info`.
pub fn view(info: &MediaInfo) -> Value {
    let mut v = json!({
        "url": null,
        "mimetype": info.mimetype,
        "filename": info.filename,
        "size": info.file_length,
        "error": null,
    });
    if let Some(s) = info.seconds {
        v["seconds"] = json!(s);
    }
    v
}

/// The file name and MIME type to store a message's file under (made up where WhatsApp gave none).
pub fn names(message: &Message) -> (String, String) {
    let field = |k: &str| {
        message
            .media
            .as_ref()
            .and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let mimetype = field("mimetype").unwrap_or_else(|| "application/octet-stream".to_string());
    let filename = field("filename").unwrap_or_else(|| {
        let ext = match mimetype.split(';').next().unwrap_or("").trim() {
            "image/jpeg" => "jpg",
            "image/png" => "png",
            "image/webp" => "webp",
            "audio/ogg" => "ogg",
            "audio/mpeg" => "mp3",
            "video/mp4" => "mp4",
            "application/pdf" => "pdf",
            _ => "bin",
        };
        format!("{}.{ext}", message.data.id.id)
    });
    (filename, mimetype)
}

/// Sets `media.url` (the file is downloaded).
pub fn set_url(message: &mut Message, url: &str) {
    if let Some(Value::Object(m)) = message.media.as_mut() {
        m.insert("url".into(), json!(url));
        m.insert("error".into(), Value::Null);
    }
}

/// Sets `media.error` (the file could not be downloaded).
pub fn set_error(message: &mut Message, error: &str) {
    if let Some(Value::Object(m)) = message.media.as_mut() {
        m.insert("error".into(), json!(error));
    }
}

/// The documents' message `type` for a media kind (`ptt` for voice notes).
pub fn type_name(kind: MediaKind, ptt: bool) -> &'static str {
    match kind {
        MediaKind::Image => "image",
        MediaKind::Video => "video",
        MediaKind::Audio if ptt => "ptt",
        MediaKind::Audio => "audio",
        MediaKind::Document => "document",
        MediaKind::Sticker => "sticker",
    }
}
