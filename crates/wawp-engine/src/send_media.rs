//! Media through whatsapp-rust: uploads (encrypt, then POST to a media host) and the image,
//! document, audio (voice note), video (round video note) and link-preview messages that point at
//! them; and downloads of received media from the private reference kept with each message.

use serde::{Deserialize, Serialize};
use wacore::download::MediaType;
use whatsapp_rust::buffa::MessageField;
use whatsapp_rust::download::DownloadParams;
use whatsapp_rust::prelude::wa;
use whatsapp_rust::upload::{UploadOptions, UploadResponse};

use crate::EngineError;
use crate::messages::{self, Quoted};
use crate::session::{EngineSender, SentMessage};

/// What kind of media a message carries (decides the encryption keys and the upload path).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Image,
    Video,
    Audio,
    Document,
    Sticker,
}

impl MediaKind {
    fn media_type(self) -> MediaType {
        match self {
            MediaKind::Image => MediaType::Image,
            MediaKind::Video => MediaType::Video,
            MediaKind::Audio => MediaType::Audio,
            MediaKind::Document => MediaType::Document,
            MediaKind::Sticker => MediaType::Sticker,
        }
    }
}

/// Where received (or sent) media lives on the media hosts and how to decrypt it. Private: kept
/// beside the message, never in an API answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaRef {
    pub kind: MediaKind,
    pub direct_path: String,
    pub media_key: Vec<u8>,
    pub file_sha256: Vec<u8>,
    pub file_enc_sha256: Vec<u8>,
    pub file_length: u64,
}

/// The media of a message, as the message object shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct MediaInfo {
    pub kind: MediaKind,
    pub mimetype: Option<String>,
    pub filename: Option<String>,
    pub file_length: u64,
    /// Duration of audio and video.
    pub seconds: Option<u32>,
    /// How to download it again (absent when the message lacks the fields).
    pub reference: Option<MediaRef>,
}

/// A file to send.
#[derive(Clone, Debug, PartialEq)]
pub struct OutgoingMedia {
    pub kind: MediaKind,
    pub data: Vec<u8>,
    pub mimetype: String,
    pub filename: Option<String>,
    pub caption: Option<String>,
    /// Audio: a voice note (push-to-talk) rather than an audio file.
    pub ptt: bool,
    /// Video: a round video note (PTV) rather than a video.
    pub video_note: bool,
    pub seconds: Option<u32>,
}

/// A text whose link shows a preview card with our own title, description and thumbnail.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkPreview {
    /// The full text; it contains `url`.
    pub text: String,
    pub url: String,
    pub title: Option<String>,
    pub description: Option<String>,
    /// A JPEG/PNG thumbnail, shown inline.
    pub thumbnail: Option<Vec<u8>>,
    /// Also upload the thumbnail as a full-size preview image.
    pub high_quality: bool,
}

impl EngineSender {
    /// Uploads `media` and sends it to `chat`; answers with the sent message and where the
    /// uploaded file lives.
    pub async fn send_media(
        &self,
        chat: &str,
        media: &OutgoingMedia,
        quoted: Option<&Quoted>,
    ) -> Result<(SentMessage, MediaRef), EngineError> {
        let up = Uploaded::from(
            self.upload(media.data.clone(), media.kind.media_type())
                .await?,
        );
        let reference = MediaRef {
            kind: media.kind,
            direct_path: up.direct_path.clone(),
            media_key: up.media_key.to_vec(),
            file_sha256: up.file_sha256.to_vec(),
            file_enc_sha256: up.file_enc_sha256.to_vec(),
            file_length: up.file_length,
        };
        let message = messages::with_quote(media_message(media, &up), quoted);
        let sent = self.send(chat, message).await?;
        Ok((sent, reference))
    }

    /// Sends a text with a custom link preview (see [`LinkPreview`]).
    pub async fn send_link_preview(
        &self,
        chat: &str,
        preview: &LinkPreview,
        quoted: Option<&Quoted>,
    ) -> Result<SentMessage, EngineError> {
        let mut text = wa::message::ExtendedTextMessage {
            text: Some(preview.text.clone()),
            matched_text: Some(preview.url.clone()),
            title: preview.title.clone(),
            description: preview.description.clone(),
            jpeg_thumbnail: preview.thumbnail.clone(),
            preview_type: Some(wa::message::extended_text_message::PreviewType::NONE),
            ..Default::default()
        };
        if preview.high_quality
            && let Some(thumb) = &preview.thumbnail
        {
            let up = self.upload(thumb.clone(), MediaType::LinkThumbnail).await?;
            text.thumbnail_direct_path = Some(up.direct_path);
            text.thumbnail_sha256 = Some(up.file_sha256.to_vec());
            text.thumbnail_enc_sha256 = Some(up.file_enc_sha256.to_vec());
            text.media_key = Some(up.media_key.to_vec());
            text.media_key_timestamp = Some(up.media_key_timestamp);
        }
        let message = wa::Message {
            extended_text_message: MessageField::some(text),
            ..Default::default()
        };
        self.send(chat, messages::with_quote(message, quoted)).await
    }

    /// Downloads and decrypts the media `reference` points at (hashes checked).
    pub async fn download_media(&self, reference: &MediaRef) -> Result<Vec<u8>, EngineError> {
        let params = DownloadParams::encrypted(
            reference.direct_path.clone(),
            &reference.media_key,
            &reference.file_sha256,
            &reference.file_enc_sha256,
            reference.file_length,
            reference.kind.media_type(),
        );
        self.client
            .download_from_params(&params)
            .await
            .map_err(|e| EngineError::Upstream(format!("media download failed: {e}")))
    }

    async fn upload(&self, data: Vec<u8>, kind: MediaType) -> Result<UploadResponse, EngineError> {
        self.client
            .upload(data, kind, UploadOptions::new())
            .await
            .map_err(|e| EngineError::Upstream(format!("media upload failed: {e}")))
    }
}

/// What an upload gave back (whatsapp-rust's `UploadResponse` cannot be built outside it).
struct Uploaded {
    url: String,
    direct_path: String,
    media_key: [u8; 32],
    file_sha256: [u8; 32],
    file_enc_sha256: [u8; 32],
    file_length: u64,
    media_key_timestamp: i64,
    streaming_sidecar: Option<Vec<u8>>,
}

impl From<UploadResponse> for Uploaded {
    fn from(r: UploadResponse) -> Self {
        Uploaded {
            url: r.url,
            direct_path: r.direct_path,
            media_key: r.media_key,
            file_sha256: r.file_sha256,
            file_enc_sha256: r.file_enc_sha256,
            file_length: r.file_length,
            media_key_timestamp: r.media_key_timestamp,
            streaming_sidecar: r.streaming_sidecar,
        }
    }
}

/// The protobuf of a media message pointing at the uploaded file.
fn media_message(media: &OutgoingMedia, up: &Uploaded) -> wa::Message {
    let mimetype = Some(media.mimetype.clone());
    let url = Some(up.url.clone());
    let direct_path = Some(up.direct_path.clone());
    let media_key = Some(up.media_key.to_vec());
    let file_sha256 = Some(up.file_sha256.to_vec());
    let file_enc_sha256 = Some(up.file_enc_sha256.to_vec());
    let file_length = Some(up.file_length);
    let media_key_timestamp = Some(up.media_key_timestamp);
    match media.kind {
        MediaKind::Image => wa::Message {
            image_message: MessageField::some(wa::message::ImageMessage {
                url,
                mimetype,
                caption: media.caption.clone(),
                file_sha256,
                file_length,
                media_key,
                file_enc_sha256,
                direct_path,
                media_key_timestamp,
                ..Default::default()
            }),
            ..Default::default()
        },
        MediaKind::Video => {
            let video = wa::message::VideoMessage {
                url,
                mimetype,
                caption: media.caption.clone().filter(|_| !media.video_note),
                file_sha256,
                file_length,
                seconds: media.seconds,
                media_key,
                file_enc_sha256,
                direct_path,
                media_key_timestamp,
                streaming_sidecar: up.streaming_sidecar.clone(),
                ..Default::default()
            };
            if media.video_note {
                wa::Message {
                    ptv_message: MessageField::some(video),
                    ..Default::default()
                }
            } else {
                wa::Message {
                    video_message: MessageField::some(video),
                    ..Default::default()
                }
            }
        }
        MediaKind::Audio => wa::Message {
            audio_message: MessageField::some(wa::message::AudioMessage {
                url,
                mimetype,
                file_sha256,
                file_length,
                seconds: media.seconds,
                ptt: Some(media.ptt),
                media_key,
                file_enc_sha256,
                direct_path,
                media_key_timestamp,
                streaming_sidecar: up.streaming_sidecar.clone(),
                ..Default::default()
            }),
            ..Default::default()
        },
        MediaKind::Document => wa::Message {
            document_message: MessageField::some(wa::message::DocumentMessage {
                url,
                mimetype,
                title: media.filename.clone(),
                file_sha256,
                file_length,
                media_key,
                file_name: media.filename.clone(),
                file_enc_sha256,
                direct_path,
                media_key_timestamp,
                caption: media.caption.clone(),
                ..Default::default()
            }),
            ..Default::default()
        },
        MediaKind::Sticker => wa::Message {
            sticker_message: MessageField::some(wa::message::StickerMessage {
                url,
                file_sha256,
                file_enc_sha256,
                media_key,
                mimetype,
                direct_path,
                file_length,
                media_key_timestamp,
                ..Default::default()
            }),
            ..Default::default()
        },
    }
}

/// The media of a received message, if it carries any.
pub(crate) fn media_of(m: &wa::Message) -> Option<MediaInfo> {
    macro_rules! info {
        ($kind:expr, $msg:expr, $filename:expr, $seconds:expr) => {{
            let msg = $msg;
            let reference = match (
                &msg.direct_path,
                &msg.media_key,
                &msg.file_sha256,
                &msg.file_enc_sha256,
            ) {
                (Some(path), Some(key), Some(sha), Some(enc)) => Some(MediaRef {
                    kind: $kind,
                    direct_path: path.clone(),
                    media_key: key.clone(),
                    file_sha256: sha.clone(),
                    file_enc_sha256: enc.clone(),
                    file_length: msg.file_length.unwrap_or_default(),
                }),
                _ => None,
            };
            Some(MediaInfo {
                kind: $kind,
                mimetype: msg.mimetype.clone(),
                filename: $filename,
                file_length: msg.file_length.unwrap_or_default(),
                seconds: $seconds,
                reference,
            })
        }};
    }
    if let Some(i) = m.image_message.as_option() {
        return info!(MediaKind::Image, i, None, None);
    }
    if let Some(v) = m.video_message.as_option().or(m.ptv_message.as_option()) {
        return info!(MediaKind::Video, v, None, v.seconds);
    }
    if let Some(a) = m.audio_message.as_option() {
        return info!(MediaKind::Audio, a, None, a.seconds);
    }
    if let Some(d) = m.document_message.as_option() {
        return info!(MediaKind::Document, d, d.file_name.clone(), None);
    }
    if let Some(s) = m.sticker_message.as_option() {
        return info!(MediaKind::Sticker, s, None, None);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uploaded() -> Uploaded {
        Uploaded {
            url: "https://mmg.example/v/t62/x".into(),
            direct_path: "/v/t62/x".into(),
            media_key: [1; 32],
            file_sha256: [2; 32],
            file_enc_sha256: [3; 32],
            file_length: 42,
            media_key_timestamp: 1_700_000_000,
            streaming_sidecar: None,
        }
    }

    #[test]
    fn sent_media_reads_back_with_its_reference() {
        let media = OutgoingMedia {
            kind: MediaKind::Document,
            data: vec![],
            mimetype: "application/pdf".into(),
            filename: Some("a.pdf".into()),
            caption: Some("doc".into()),
            ptt: false,
            video_note: false,
            seconds: None,
        };
        let msg = media_message(&media, &uploaded());
        let info = media_of(&msg).expect("media");
        assert_eq!(info.kind, MediaKind::Document);
        assert_eq!(info.filename.as_deref(), Some("a.pdf"));
        let r = info.reference.expect("reference");
        assert_eq!((r.direct_path.as_str(), r.file_length), ("/v/t62/x", 42));
    }

    #[test]
    fn a_video_note_is_a_ptv_message_and_a_voice_note_is_ptt() {
        let mut media = OutgoingMedia {
            kind: MediaKind::Video,
            data: vec![],
            mimetype: "video/mp4".into(),
            filename: None,
            caption: Some("not on notes".into()),
            ptt: false,
            video_note: true,
            seconds: Some(3),
        };
        let msg = media_message(&media, &uploaded());
        assert!(msg.ptv_message.is_set() && !msg.video_message.is_set());
        let info = media_of(&msg).expect("media");
        assert_eq!((info.kind, info.seconds), (MediaKind::Video, Some(3)));
        media.kind = MediaKind::Audio;
        media.ptt = true;
        let msg = media_message(&media, &uploaded());
        assert_eq!(
            msg.audio_message.as_option().and_then(|a| a.ptt),
            Some(true)
        );
    }
}
