//! Profile pictures of chats (users and groups): the URL WhatsApp serves, cached per session and chat.
//!
//! Wawp: `/v2/chats/picture` and `/v2/contacts/profile-picture` document a 24-hour cache that
//! `refresh=true` bypasses. A picture is kept 24 hours; "no picture" (none, or hidden by privacy) only
//! [`ABSENT_TTL`], so that a contact who sets one shows up the same day without a refresh.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use wawp_engine::EngineError;

use super::SessionManager;
use super::messaging::engine_error;
use crate::error::CoreError;
use crate::model::InstanceId;

/// How long a picture URL is served from the cache.
pub const PICTURE_TTL: Duration = Duration::from_secs(24 * 3600);
/// How long "no picture" is served from the cache.
pub const ABSENT_TTL: Duration = Duration::from_secs(10 * 60);
/// Above this many entries, expired ones are dropped (and all of them if none has expired).
const MAX_ENTRIES: usize = 10_000;

/// What the cache remembers for one chat: the URL (`None`: no visible picture) and when it expires.
type Entry = (Option<String>, Instant);

/// Picture URLs by (session, chat). Short std-mutex sections, never held across an `.await`.
#[derive(Default)]
pub(crate) struct PictureCache {
    entries: Mutex<HashMap<(InstanceId, String), Entry>>,
}

impl PictureCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(InstanceId, String), Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached answer for `chat`, when there is one that has not expired at `now`.
    pub fn get(&self, id: &InstanceId, chat: &str, now: Instant) -> Option<Option<String>> {
        let key = (id.clone(), chat.to_string());
        let entries = self.lock();
        let (url, expires) = entries.get(&key)?;
        (*expires > now).then(|| url.clone())
    }

    /// Remembers `url` for `chat`, fetched at `now`.
    pub fn put(&self, id: &InstanceId, chat: &str, url: Option<String>, now: Instant) {
        let ttl = if url.is_some() {
            PICTURE_TTL
        } else {
            ABSENT_TTL
        };
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (_, expires)| *expires > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert((id.clone(), chat.to_string()), (url, now + ttl));
    }
}

impl SessionManager {
    /// The URL of `chat`'s full-size profile picture, `None` when it has none or its privacy hides it.
    /// Served from the cache unless `refresh`; a fresh answer needs the session `WORKING`.
    pub async fn chat_picture(
        &self,
        id: &InstanceId,
        chat: &str,
        refresh: bool,
    ) -> Result<Option<String>, CoreError> {
        if !refresh && let Some(hit) = self.pictures.get(id, chat, Instant::now()) {
            return Ok(hit);
        }
        let (sender, _me) = self.working_sender(id).await?;
        let url = match sender.picture(chat).await {
            Ok(pic) => pic.map(|p| p.url),
            Err(EngineError::Timeout) => return Err(CoreError::Timeout),
            Err(e) => return Err(engine_error(e)),
        };
        self.pictures.put(id, chat, url.clone(), Instant::now());
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst() -> InstanceId {
        InstanceId::from_stored("ABCDEFGHIJKL".to_string())
    }

    #[test]
    fn a_picture_is_kept_a_day_and_no_picture_ten_minutes() {
        let cache = PictureCache::default();
        let t0 = Instant::now();
        let url = Some("https://pps.example/a.jpg".to_string());
        cache.put(&inst(), "1@c.us", url.clone(), t0);
        cache.put(&inst(), "2@c.us", None, t0);
        assert_eq!(cache.get(&inst(), "1@c.us", t0), Some(url.clone()));
        assert_eq!(cache.get(&inst(), "2@c.us", t0), Some(None));
        let later = t0 + ABSENT_TTL + Duration::from_secs(1);
        assert_eq!(cache.get(&inst(), "1@c.us", later), Some(url));
        assert_eq!(cache.get(&inst(), "2@c.us", later), None, "absent expired");
        let next_day = t0 + PICTURE_TTL + Duration::from_secs(1);
        assert_eq!(cache.get(&inst(), "1@c.us", next_day), None);
        assert_eq!(cache.get(&inst(), "3@c.us", t0), None, "never asked");
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = PictureCache::default();
        let t0 = Instant::now();
        for n in 0..=MAX_ENTRIES {
            cache.put(&inst(), &format!("{n}@c.us"), None, t0);
        }
        assert!(cache.lock().len() <= MAX_ENTRIES);
        assert_eq!(
            cache.get(&inst(), &format!("{MAX_ENTRIES}@c.us"), t0),
            Some(None)
        );
    }
}
