//! The message secret of a poll or event (`messages.secret`, hex): it opens the votes and answers
//! to that message. Kept beside the payload, never inside it, so no API answer can leak it.

use crate::messages::Column;
use crate::{Store, StoreError};

impl Store {
    /// Sets the secret of one stored message. Returns false when the instance has no such message.
    pub async fn set_message_secret(
        &self,
        instance_id: &str,
        id: &str,
        secret_hex: &str,
    ) -> Result<bool, StoreError> {
        self.set_message_column(Column::Secret, instance_id, id, secret_hex)
            .await
    }

    /// The secret of one stored message; `None` when the message is unknown or has none.
    pub async fn message_secret(
        &self,
        instance_id: &str,
        id: &str,
    ) -> Result<Option<String>, StoreError> {
        self.message_column(Column::Secret, instance_id, id).await
    }
}
