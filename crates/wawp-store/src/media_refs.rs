//! The private media reference of a message (`messages.media_ref`): how to download and decrypt
//! its file again. Kept beside the payload, never inside it, so no API answer can leak it.

use crate::messages::Column;
use crate::{Store, StoreError};

impl Store {
    /// Sets the media reference (JSON owned by the engine) of one message. Returns false when the
    /// instance has no such message.
    pub async fn set_media_ref(
        &self,
        instance_id: &str,
        id: &str,
        media_ref: &str,
    ) -> Result<bool, StoreError> {
        self.set_message_column(Column::MediaRef, instance_id, id, media_ref)
            .await
    }

    /// The media reference of one message; `None` when the message is unknown or has no media.
    pub async fn media_ref(
        &self,
        instance_id: &str,
        id: &str,
    ) -> Result<Option<String>, StoreError> {
        self.message_column(Column::MediaRef, instance_id, id).await
    }
}
