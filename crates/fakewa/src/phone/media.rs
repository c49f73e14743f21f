//! The phone and media: what it records of a received message (media downloaded and decrypted at once,
//! other content kept as JSON) and how it sends media (whatsapp-rust's own upload API, then a message).

use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use wacore::download::{Downloadable, MediaType};
use wacore::proto_helpers::MessageExt as _;
use waproto::buffa::MessageField;
use waproto::whatsapp as wa;
use whatsapp_rust::Client;
use whatsapp_rust::upload::{UploadOptions, UploadResponse};

use crate::{FakeWaError, InboxMedia, PhoneMedia};

/// What the phone keeps of one received message besides its text.
#[derive(Default)]
pub(crate) struct Received {
    /// `text`, the media kind, or another content kind (see `content::kind_of`).
    pub kind: String,
    pub media: Option<InboxMedia>,
    /// The decrypted bytes, when the download worked.
    pub bytes: Option<Vec<u8>>,
    pub extra: Option<serde_json::Value>,
}

/// The media part of a message, if any, with its description.
fn media_of(base: &wa::Message) -> Option<(&dyn Downloadable, InboxMedia)> {
    if let Some(m) = base.image_message.as_option() {
        let info = InboxMedia {
            kind: "image".into(),
            mimetype: m.mimetype.clone(),
            caption: m.caption.clone(),
            file_length: m.file_length,
            ..Default::default()
        };
        return Some((m as &dyn Downloadable, info));
    }
    if let Some(m) = base.video_message.as_option() {
        let info = InboxMedia {
            kind: "video".into(),
            mimetype: m.mimetype.clone(),
            caption: m.caption.clone(),
            file_length: m.file_length,
            seconds: m.seconds,
            gif_playback: m.gif_playback,
            ..Default::default()
        };
        return Some((m as &dyn Downloadable, info));
    }
    if let Some(m) = base.audio_message.as_option() {
        let info = InboxMedia {
            kind: "audio".into(),
            mimetype: m.mimetype.clone(),
            file_length: m.file_length,
            seconds: m.seconds,
            ptt: m.ptt,
            ..Default::default()
        };
        return Some((m as &dyn Downloadable, info));
    }
    if let Some(m) = base.document_message.as_option() {
        let info = InboxMedia {
            kind: "document".into(),
            mimetype: m.mimetype.clone(),
            caption: m.caption.clone(),
            file_name: m.file_name.clone(),
            file_length: m.file_length,
            ..Default::default()
        };
        return Some((m as &dyn Downloadable, info));
    }
    if let Some(m) = base.sticker_message.as_option() {
        let info = InboxMedia {
            kind: "sticker".into(),
            mimetype: m.mimetype.clone(),
            file_length: m.file_length,
            ..Default::default()
        };
        return Some((m as &dyn Downloadable, info));
    }
    None
}

/// Downloads and decrypts the media of a received message, or describes its other content.
/// `stanza_type` names the kind when the message has no content field.
pub(crate) async fn inspect(client: &Client, message: &wa::Message, stanza_type: &str) -> Received {
    let base = message.get_base_message();
    if let Some((downloadable, mut info)) = media_of(base) {
        let bytes = match client.download(downloadable).await {
            Ok(bytes) => {
                info.sha256 = Some(hex::encode(Sha256::digest(&bytes)));
                Some(bytes)
            }
            Err(e) => {
                tracing::warn!(kind = %info.kind, "the phone could not download media: {e:#}");
                info.error = Some(format!("{e:#}"));
                None
            }
        };
        return Received {
            kind: info.kind.clone(),
            media: Some(info),
            bytes,
            extra: None,
        };
    }
    if base.text_content().is_some() {
        return Received {
            kind: "text".into(),
            ..Default::default()
        };
    }
    let extra = super::content::extra_of(base);
    Received {
        kind: super::content::kind_of(extra.as_ref(), stanza_type),
        extra,
        ..Default::default()
    }
}

fn media_type(kind: &str) -> Result<MediaType, FakeWaError> {
    Ok(match kind {
        "image" => MediaType::Image,
        "video" => MediaType::Video,
        "audio" => MediaType::Audio,
        "document" => MediaType::Document,
        "sticker" => MediaType::Sticker,
        other => {
            return Err(FakeWaError::BadRequest(format!(
                "media kind {other:?} (image, video, audio, document or sticker)"
            )));
        }
    })
}

/// Uploads the media with the phone's client and builds the message that carries it.
pub(crate) async fn upload(client: &Client, media: PhoneMedia) -> Result<wa::Message, FakeWaError> {
    let kind = media_type(&media.kind)?;
    let up = client
        .upload(media.data, kind, UploadOptions::default())
        .await
        .map_err(|e| FakeWaError::Media(format!("upload: {e:#}")))?;
    Ok(message(
        &media.kind,
        up,
        media.mimetype,
        media.caption,
        media.file_name,
        media.ptt,
    ))
}

fn message(
    kind: &str,
    up: UploadResponse,
    mimetype: String,
    caption: Option<String>,
    file_name: Option<String>,
    ptt: bool,
) -> wa::Message {
    let mimetype = Some(mimetype);
    let (url, direct_path) = (Some(up.url), Some(up.direct_path));
    let media_key = Some(up.media_key.to_vec());
    let file_sha256 = Some(up.file_sha256.to_vec());
    let file_enc_sha256 = Some(up.file_enc_sha256.to_vec());
    let file_length = Some(up.file_length);
    let media_key_timestamp = Some(up.media_key_timestamp);
    match kind {
        "image" => wa::Message {
            image_message: MessageField::some(wa::message::ImageMessage {
                url,
                direct_path,
                media_key,
                file_sha256,
                file_enc_sha256,
                file_length,
                media_key_timestamp,
                mimetype,
                caption,
                ..Default::default()
            }),
            ..Default::default()
        },
        "video" => wa::Message {
            video_message: MessageField::some(wa::message::VideoMessage {
                url,
                direct_path,
                media_key,
                file_sha256,
                file_enc_sha256,
                file_length,
                media_key_timestamp,
                mimetype,
                caption,
                ..Default::default()
            }),
            ..Default::default()
        },
        "audio" => wa::Message {
            audio_message: MessageField::some(wa::message::AudioMessage {
                url,
                direct_path,
                media_key,
                file_sha256,
                file_enc_sha256,
                file_length,
                media_key_timestamp,
                mimetype,
                ptt: Some(ptt),
                ..Default::default()
            }),
            ..Default::default()
        },
        "sticker" => wa::Message {
            sticker_message: MessageField::some(wa::message::StickerMessage {
                url,
                direct_path,
                media_key,
                file_sha256,
                file_enc_sha256,
                file_length,
                media_key_timestamp,
                mimetype,
                ..Default::default()
            }),
            ..Default::default()
        },
        _ => wa::Message {
            document_message: MessageField::some(wa::message::DocumentMessage {
                url,
                direct_path,
                media_key,
                file_sha256,
                file_enc_sha256,
                file_length,
                media_key_timestamp,
                mimetype,
                title: file_name.clone(),
                file_name,
                caption,
                ..Default::default()
            }),
            ..Default::default()
        },
    }
}

/// Decodes the admin API's base64 media data (standard or URL-safe alphabet, padding optional).
pub(crate) fn decode_base64(data: &str) -> Result<Vec<u8>, FakeWaError> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let data = data.trim();
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|e| e.decode(data).ok())
        .ok_or_else(|| FakeWaError::BadRequest("media.data is not base64".into()))
}
