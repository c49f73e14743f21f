//! The private media reference of a message (`messages.media_ref`): how to download and decrypt
//! its file again. Kept beside the payload, never inside it, so no API answer can leak it.

use crate::{Store, StoreError, with_pool};

impl Store {
    /// Sets the media reference (JSON owned by the engine) of one message. Returns false when the
    /// instance has no such message.
    pub async fn set_media_ref(
        &self,
        instance_id: &str,
        id: &str,
        media_ref: &str,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE messages SET media_ref = $1 WHERE instance_id = $2 AND id = $3";
        let done = with_pool!(self, pool => sqlx::query(sql)
            .bind(media_ref)
            .bind(instance_id)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(done > 0)
    }

    /// The media reference of one message; `None` when the message is unknown or has no media.
    pub async fn media_ref(
        &self,
        instance_id: &str,
        id: &str,
    ) -> Result<Option<String>, StoreError> {
        let sql = "SELECT media_ref FROM messages WHERE instance_id = $1 AND id = $2";
        let found: Option<(Option<String>,)> = with_pool!(self, pool => sqlx::query_as(sql)
            .bind(instance_id)
            .bind(id)
            .fetch_optional(pool)
            .await?);
        Ok(found.and_then(|(r,)| r))
    }
}
