//! The message secret of a poll or event (`messages.secret`, hex): it opens the votes and answers
//! to that message. Kept beside the payload, never inside it, so no API answer can leak it.

use crate::{Store, StoreError, with_pool};

impl Store {
    /// Sets the secret of one stored message. Returns false when the instance has no such message.
    pub async fn set_message_secret(
        &self,
        instance_id: &str,
        id: &str,
        secret_hex: &str,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE messages SET secret = $1 WHERE instance_id = $2 AND id = $3";
        let done = with_pool!(self, pool => sqlx::query(sql)
            .bind(secret_hex)
            .bind(instance_id)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(done > 0)
    }

    /// The secret of one stored message; `None` when the message is unknown or has none.
    pub async fn message_secret(
        &self,
        instance_id: &str,
        id: &str,
    ) -> Result<Option<String>, StoreError> {
        let sql = "SELECT secret FROM messages WHERE instance_id = $1 AND id = $2";
        let found: Option<(Option<String>,)> = with_pool!(self, pool => sqlx::query_as(sql)
            .bind(instance_id)
            .bind(id)
            .fetch_optional(pool)
            .await?);
        Ok(found.and_then(|(s,)| s))
    }
}
