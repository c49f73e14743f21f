//! Sending media (upload, then the message) and reaching media again: the private download
//! reference of each media message is kept beside it (`messages.media_ref`), never in its payload.

use wawp_engine::{Content, IncomingMessage, LinkPreview, MediaInfo, MediaRef, OutgoingMedia};
use wawp_store::Store;

use super::SessionManager;
use super::messaging::engine_error;
use crate::error::CoreError;
use crate::model::{InstanceId, Message};

impl SessionManager {
    /// Uploads and sends `media` to `chat` (as a reply when `reply_to` is given), stores the sent
    /// message with its download reference, and answers it.
    pub async fn send_media(
        &self,
        id: &InstanceId,
        chat: &str,
        media: OutgoingMedia,
        reply_to: Option<&str>,
    ) -> Result<Message, CoreError> {
        let out = self.outbound(id, chat, reply_to).await?;
        let (sent, reference) = out
            .sender
            .send_media(chat, &media, out.quoted.as_ref())
            .await
            .map_err(engine_error)?;
        let content = Content {
            kind: crate::model::media::type_name(media.kind, media.ptt).to_string(),
            body: media.caption.clone(),
            has_media: true,
            media: Some(MediaInfo {
                kind: media.kind,
                mimetype: Some(media.mimetype.clone()),
                filename: media.filename.clone(),
                file_length: media.data.len() as u64,
                seconds: media.seconds,
                reference: None,
            }),
            ..Content::default()
        };
        let message = self.record_sent(id, chat, &out, &sent, &content).await?;
        save_refs(&self.store, id.as_str(), &[(message.id.clone(), reference)]).await?;
        Ok(message)
    }

    /// Sends a text with a custom link preview and stores it.
    pub async fn send_link_preview(
        &self,
        id: &InstanceId,
        chat: &str,
        preview: LinkPreview,
        reply_to: Option<&str>,
    ) -> Result<Message, CoreError> {
        let out = self.outbound(id, chat, reply_to).await?;
        let sent = out
            .sender
            .send_link_preview(chat, &preview, out.quoted.as_ref())
            .await
            .map_err(engine_error)?;
        let content = Content {
            kind: "chat".to_string(),
            body: Some(preview.text.clone()),
            ..Content::default()
        };
        self.record_sent(id, chat, &out, &sent, &content).await
    }

    /// Downloads and decrypts the file of the stored message `message_id` (serialized id);
    /// `None` when it has no media reference.
    pub async fn media_bytes(
        &self,
        id: &InstanceId,
        message_id: &str,
    ) -> Result<Option<Vec<u8>>, CoreError> {
        let Some(raw) = self.store.media_ref(id.as_str(), message_id).await? else {
            return Ok(None);
        };
        let reference: MediaRef = serde_json::from_str(&raw)
            .map_err(|e| CoreError::Internal(format!("stored media reference: {e}")))?;
        let (sender, _) = self.working_sender(id).await?;
        let bytes = sender
            .download_media(&reference)
            .await
            .map_err(engine_error)?;
        Ok(Some(bytes))
    }
}

/// The download references of the received media messages, by serialized message id.
pub(super) fn refs_of(messages: &[IncomingMessage], me: Option<&str>) -> Vec<(String, MediaRef)> {
    messages
        .iter()
        .filter_map(|m| {
            let reference = m.content.media.as_ref()?.reference.clone()?;
            Some((Message::from_incoming(m, me).id, reference))
        })
        .collect()
}

/// Keeps each message's download reference beside it.
pub(super) async fn save_refs(
    store: &Store,
    instance: &str,
    refs: &[(String, MediaRef)],
) -> Result<(), CoreError> {
    for (message_id, reference) in refs {
        let json =
            serde_json::to_string(reference).map_err(|e| CoreError::Internal(e.to_string()))?;
        store.set_media_ref(instance, message_id, &json).await?;
    }
    Ok(())
}
