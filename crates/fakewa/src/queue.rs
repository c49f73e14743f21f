//! A device's delivery queue: stanzas waiting for the device (offline) or sent and not yet
//! acknowledged, in arrival order, indexed by stanza id so that an `<ack>` or a receipt removes its
//! stanza without walking the queue (a busy relay acknowledges thousands of stanzas a second while
//! a slow device's queue grows; a scan per ack made the relay collapse past its ceiling).

use std::collections::{BTreeMap, HashMap};

use smallvec::SmallVec;
use std::time::Instant;

use wacore_binary::Node;

/// One stanza waiting for (or already sent to and not yet acknowledged by) a device.
pub(crate) struct Queued {
    pub class: &'static str,
    pub id: String,
    /// Shared with the live send (`Out::Shared`).
    pub node: std::sync::Arc<Node>,
    /// Chat states expire; everything else waits until acknowledged.
    pub expires: Option<Instant>,
}

#[derive(Default)]
pub(crate) struct DeviceQueue {
    next: u64,
    /// Arrival sequence → stanza.
    items: BTreeMap<u64, Queued>,
    /// Stanza id → the sequences holding it (a stanza class and id may repeat: a message and its
    /// receipts share the id). Hashed with foldhash: a relay indexes every stanza it sends.
    by_id: HashMap<String, SmallVec<[u64; 2]>, foldhash::fast::RandomState>,
}

impl DeviceQueue {
    pub fn push(&mut self, item: Queued) {
        let seq = self.next;
        self.next += 1;
        self.by_id.entry(item.id.clone()).or_default().push(seq);
        self.items.insert(seq, item);
    }

    /// Removes the stanzas with this id and class (`"*"`: any class).
    pub fn remove_acked(&mut self, class: &str, id: &str) {
        let Some(seqs) = self.by_id.get_mut(id) else {
            return;
        };
        seqs.retain(|seq| {
            let hit = self
                .items
                .get(seq)
                .is_some_and(|e| e.class == class || class == "*");
            if hit {
                self.items.remove(seq);
            }
            !hit
        });
        if seqs.is_empty() {
            self.by_id.remove(id);
        }
    }

    /// Keeps only the stanzas for which `keep` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(&Queued) -> bool) {
        let gone: Vec<u64> = self
            .items
            .iter()
            .filter(|(_, e)| !keep(e))
            .map(|(seq, _)| *seq)
            .collect();
        for seq in gone {
            if let Some(e) = self.items.remove(&seq)
                && let Some(seqs) = self.by_id.get_mut(&e.id)
            {
                seqs.retain(|s| *s != seq);
                if seqs.is_empty() {
                    self.by_id.remove(&e.id);
                }
            }
        }
    }

    /// The stanzas in arrival order.
    pub fn iter(&self) -> impl Iterator<Item = &Queued> {
        self.items.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(class: &'static str, id: &str) -> Queued {
        Queued {
            class,
            id: id.to_string(),
            node: std::sync::Arc::new(Node::default()),
            expires: None,
        }
    }

    fn ids(q: &DeviceQueue) -> Vec<String> {
        q.iter().map(|e| format!("{}:{}", e.class, e.id)).collect()
    }

    #[test]
    fn acks_remove_their_stanza_by_class_and_keep_the_order() {
        let mut q = DeviceQueue::default();
        for (class, id) in [
            ("message", "a"),
            ("receipt", "a"),
            ("message", "b"),
            ("message", "c"),
        ] {
            q.push(item(class, id));
        }
        q.remove_acked("message", "b");
        assert_eq!(ids(&q), ["message:a", "receipt:a", "message:c"]);
        q.remove_acked("message", "a");
        assert_eq!(ids(&q), ["receipt:a", "message:c"]);
        q.remove_acked("*", "a");
        q.remove_acked("message", "unknown");
        assert_eq!(ids(&q), ["message:c"]);
        assert_eq!(q.iter().count(), 1);
        q.push(item("message", "a"));
        assert_eq!(ids(&q), ["message:c", "message:a"]);
    }

    #[test]
    fn retain_drops_and_unindexes() {
        let mut q = DeviceQueue::default();
        q.push(item("chatstate", ""));
        q.push(item("message", "x"));
        q.push(item("chatstate", ""));
        q.retain(|e| e.class != "chatstate");
        assert_eq!(ids(&q), ["message:x"]);
        q.remove_acked("message", "x");
        assert_eq!(q.iter().count(), 0);
        assert!(q.by_id.is_empty());
    }
}
