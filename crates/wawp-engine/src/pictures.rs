//! Profile pictures: the URL WhatsApp serves for a user's or a group's picture (the `w:profile:picture`
//! get IQ). WhatsApp answers 404 when there is none and 401 when the owner's privacy hides it;
//! whatsapp-rust turns both into `None`, and so does this module.

use std::time::Duration;

use crate::EngineError;
use crate::session::{EngineSender, jid};

/// How long a picture query may take before it counts as unanswered.
const PICTURE_TIMEOUT: Duration = Duration::from_secs(20);

/// A profile picture as WhatsApp serves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picture {
    /// WhatsApp's picture id (changes with every new picture).
    pub id: String,
    /// The CDN URL of the full-size image (time-limited on WhatsApp's CDN).
    pub url: String,
}

impl EngineSender {
    /// The full-size profile picture of `chat` (an API chat id: a user or a group); `None` when it
    /// has none or its privacy hides it from us.
    pub async fn picture(&self, chat: &str) -> Result<Option<Picture>, EngineError> {
        let to = jid(chat)?;
        let pic = self
            .client
            .contacts()
            .get_profile_picture_with_timeout(&to, false, Some(PICTURE_TIMEOUT))
            .await
            .map_err(contact_error)?;
        Ok(pic.map(|p| Picture {
            id: p.id,
            url: p.url,
        }))
    }
}

fn contact_error(e: whatsapp_rust::ContactError) -> EngineError {
    use whatsapp_rust::ContactError;
    use whatsapp_rust::request::IqError;
    match e {
        ContactError::Iq(IqError::Timeout) => EngineError::Timeout,
        ContactError::Iq(IqError::NotConnected) => EngineError::NotRunning,
        other => EngineError::Upstream(other.to_string()),
    }
}
