//! `downloadMedia=true`: the files of received (or sent) media messages, downloaded from
//! WhatsApp, decrypted, put in the file store, and their `media.url` set to where wawp serves them.

use crate::Core;
use crate::error::CoreError;
use crate::model::{InstanceId, Message};

impl Core {
    /// Downloads the media of every message in `messages` that has some, and sets its
    /// `media.url` to `url_for(<stored name>)`. A file that cannot be downloaded leaves
    /// `media.url` empty and says why in `media.error`; the messages are answered anyway.
    pub async fn download_media(
        &self,
        id: &InstanceId,
        messages: &mut [Message],
        url_for: impl Fn(&str) -> String,
    ) -> Result<(), CoreError> {
        for message in messages.iter_mut().filter(|m| m.has_media) {
            let stored = match self.sessions().media_bytes(id, &message.id).await {
                Ok(Some(bytes)) => {
                    let (filename, mimetype) = crate::model::media::names(message);
                    self.media()
                        .files()
                        .put(&bytes, &filename, &mimetype)
                        .await
                        .map(Some)
                        .map_err(CoreError::from)
                }
                Ok(None) => Ok(None),
                Err(e) => Err(e),
            };
            match stored {
                Ok(Some(file)) => crate::model::media::set_url(message, &url_for(&file.name)),
                Ok(None) => {}
                Err(e @ (CoreError::WrongState { .. } | CoreError::NoSuchSession)) => {
                    return Err(e);
                }
                Err(e) => {
                    tracing::warn!(%id, message = %message.id, error = %e, "media download failed");
                    crate::model::media::set_error(message, "the file could not be downloaded");
                }
            }
        }
        Ok(())
    }
}
