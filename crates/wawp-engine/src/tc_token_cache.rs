//! The trusted-contact tokens of a session's key store, cached in memory.
//!
//! whatsapp-rust reads the recipient's tc token (`get_tc_token`) before every message it sends: a
//! SQLite read on a blocking thread, about a fifth of the key store's work when sending
//! (benches/README.md, session 5). The tokens change rarely (a new token from a contact, our own
//! token issued to them, expiry), and every change goes through the same store wrapper, which
//! makes the cache coherent: [`BufferedInbound`](crate::buffered_store::BufferedInbound) calls
//! [`TcTokenCache::forget`] after each write of a jid's token and [`TcTokenCache::clear`] after
//! the expiry sweep.
//!
//! A read that raced a write must not put the old value back after the write's `forget`: each
//! change bumps a generation, and [`TcTokenCache::fill`] keeps a value only if no change happened
//! since the read began ([`TcTokenCache::generation`]).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use wacore::store::traits::TcTokenEntry;

/// Most jids remembered; the cache starts over past this.
const MAX_ENTRIES: usize = 4096;

#[derive(Default)]
pub(crate) struct TcTokenCache {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// jid → its token (`None`: known to have none).
    entries: HashMap<String, Option<TcTokenEntry>>,
    generation: u64,
}

impl TcTokenCache {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached answer for `jid`, if there is one.
    pub(crate) fn get(&self, jid: &str) -> Option<Option<TcTokenEntry>> {
        self.state().entries.get(jid).cloned()
    }

    /// Take before reading the store; give to [`TcTokenCache::fill`] with what was read.
    pub(crate) fn generation(&self) -> u64 {
        self.state().generation
    }

    /// Remembers what the store answered for `jid`, unless a token changed since `generation`.
    pub(crate) fn fill(&self, jid: &str, value: Option<TcTokenEntry>, generation: u64) {
        let mut state = self.state();
        if state.generation != generation {
            return;
        }
        if state.entries.len() >= MAX_ENTRIES {
            state.entries.clear();
        }
        state.entries.insert(jid.to_owned(), value);
    }

    /// After a write of `jid`'s token (whether or not it succeeded).
    pub(crate) fn forget(&self, jid: &str) {
        let mut state = self.state();
        state.generation += 1;
        state.entries.remove(jid);
    }

    /// After a write that may change any token.
    pub(crate) fn clear(&self) {
        let mut state = self.state();
        state.generation += 1;
        state.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(ts: i64) -> TcTokenEntry {
        TcTokenEntry {
            token: vec![1, 2, 3],
            token_timestamp: ts,
            sender_timestamp: None,
        }
    }

    #[test]
    fn a_read_that_raced_a_write_is_not_kept() {
        let cache = TcTokenCache::default();
        let before = cache.generation();
        // A write of another jid's token lands between the read and its fill.
        cache.forget("other@s.whatsapp.net");
        cache.fill("a@s.whatsapp.net", Some(entry(1)), before);
        assert!(cache.get("a@s.whatsapp.net").is_none());

        let now = cache.generation();
        cache.fill("a@s.whatsapp.net", Some(entry(2)), now);
        let cached = cache.get("a@s.whatsapp.net").flatten().expect("cached");
        assert_eq!(cached.token_timestamp, 2);
        // "Has none" is an answer too.
        cache.fill("b@s.whatsapp.net", None, now);
        assert!(matches!(cache.get("b@s.whatsapp.net"), Some(None)));

        cache.forget("a@s.whatsapp.net");
        assert!(cache.get("a@s.whatsapp.net").is_none());
        assert!(cache.get("b@s.whatsapp.net").is_some());
        cache.clear();
        assert!(cache.get("b@s.whatsapp.net").is_none());
    }

    #[test]
    fn the_cache_starts_over_when_full() {
        let cache = TcTokenCache::default();
        let g = cache.generation();
        for i in 0..MAX_ENTRIES {
            cache.fill(&format!("{i}@s.whatsapp.net"), None, g);
        }
        assert!(cache.get("0@s.whatsapp.net").is_some());
        cache.fill("new@s.whatsapp.net", None, g);
        assert!(cache.get("0@s.whatsapp.net").is_none());
        assert!(cache.get("new@s.whatsapp.net").is_some());
    }
}
