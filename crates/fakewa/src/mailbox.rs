//! The routing table and the delivery queues, one mailbox per device, each behind its own lock:
//! relaying a stanza, acknowledging one and flushing a device's queue touch only the devices
//! concerned, so the connection tasks of a busy relay run on every core instead of queueing on the
//! one state mutex (accounts, keys and everything else stay there).
//!
//! Lock order: the state mutex may be held while a mailbox is locked, never the reverse; changes to
//! who is connected are made with the state mutex held (presence reads them under it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Instant;

use wacore_binary::Node;

use crate::queue::{DeviceQueue, Queued};
use crate::state::{ConnRef, DevKey, Out};

#[derive(Default)]
struct Mailbox {
    conn: Option<ConnRef>,
    queue: DeviceQueue,
}

impl Mailbox {
    /// The connection stanzas go out on live: logged in and `<active/>`.
    fn live(&self) -> Option<&ConnRef> {
        self.conn.as_ref().filter(|c| c.active)
    }
}

/// What [`Mailboxes::stats`] counts.
#[derive(Default)]
pub(crate) struct Stats {
    pub connections: usize,
    pub queued: std::collections::BTreeMap<&'static str, usize>,
    /// `number:device` → stanzas waiting, for the devices with any.
    pub devices: std::collections::BTreeMap<String, usize>,
}

#[derive(Default)]
pub(crate) struct Mailboxes {
    map: RwLock<HashMap<DevKey, Arc<Mutex<Mailbox>>>>,
}

fn lock(m: &Mutex<Mailbox>) -> MutexGuard<'_, Mailbox> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Mailboxes {
    fn get(&self, dev: &DevKey) -> Option<Arc<Mutex<Mailbox>>> {
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        map.get(dev).cloned()
    }

    fn get_or_create(&self, dev: &DevKey) -> Arc<Mutex<Mailbox>> {
        if let Some(m) = self.get(dev) {
            return m;
        }
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        map.entry(dev.clone()).or_default().clone()
    }

    /// Queues `node` for a device and sends it at once if the device is online and active (the
    /// queue and the connection share the one node).
    pub fn deliver(&self, dev: &DevKey, class: &'static str, id: String, node: Node) {
        let node = Arc::new(node);
        let m = self.get_or_create(dev);
        let mut m = lock(&m);
        if let Some(conn) = m.live() {
            let _ = conn.tx.send(Out::Shared(node.clone()));
        }
        m.queue.push(Queued {
            class,
            id,
            node,
            expires: None,
        });
    }

    /// Sends a chat state now, or keeps it until `expires` for an offline device.
    pub fn deliver_ephemeral(&self, dev: &DevKey, node: Node, expires: Instant) {
        let m = self.get_or_create(dev);
        let mut m = lock(&m);
        if let Some(conn) = m.live() {
            let _ = conn.tx.send(Out::Node(node));
            return;
        }
        m.queue.push(Queued {
            class: "chatstate",
            id: String::new(),
            node: Arc::new(node),
            expires: Some(expires),
        });
    }

    /// Sends a node to a device only if it is connected (no queueing).
    pub fn send_live(&self, dev: &DevKey, node: Node) -> bool {
        let Some(m) = self.get(dev) else {
            return false;
        };
        let m = lock(&m);
        m.conn
            .as_ref()
            .is_some_and(|c| c.tx.send(Out::Node(node)).is_ok())
    }

    /// Forgets what the device acknowledged (an `<ack>` or its receipt for a message).
    pub fn acked(&self, dev: &DevKey, class: &str, id: &str) {
        if let Some(m) = self.get(dev) {
            lock(&m).queue.remove_acked(class, id);
        }
    }

    /// Sends everything queued for a device (FIFO), drops expired chat states, marks the device
    /// active. Returns how many stanzas went out.
    pub fn flush(&self, dev: &DevKey) -> usize {
        let Some(m) = self.get(dev) else {
            return 0;
        };
        let mut guard = lock(&m);
        let m = &mut *guard;
        let Some(conn) = m.conn.as_mut() else {
            return 0;
        };
        conn.active = true;
        let now = Instant::now();
        let mut sent = 0;
        m.queue.retain(|e| e.expires.is_none_or(|t| t > now));
        for e in m.queue.iter() {
            let out = if e.expires.is_none() {
                let mut node = (*e.node).clone();
                node.attrs.insert("offline", "1");
                Out::Node(node)
            } else {
                Out::Shared(e.node.clone())
            };
            if conn.tx.send(out).is_ok() {
                sent += 1;
            }
        }
        m.queue.retain(|e| e.expires.is_none());
        sent
    }

    /// Routes the device to a new connection; answers the one it replaces.
    pub fn connect(&self, dev: &DevKey, conn: ConnRef) -> Option<ConnRef> {
        lock(&self.get_or_create(dev)).conn.replace(conn)
    }

    /// The device's connection sent `<passive/>`: stanzas wait in its queue.
    pub fn set_passive(&self, dev: &DevKey) {
        if let Some(m) = self.get(dev)
            && let Some(conn) = lock(&m).conn.as_mut()
        {
            conn.active = false;
        }
    }

    /// Unroutes the device, if its connection is `conn_id` (any connection when `None`); answers
    /// the connection removed.
    pub fn disconnect(&self, dev: &DevKey, conn_id: Option<u64>) -> Option<ConnRef> {
        let m = self.get(dev)?;
        let mut m = lock(&m);
        if conn_id.is_some_and(|id| m.conn.as_ref().is_none_or(|c| c.id != id)) {
            return None;
        }
        m.conn.take()
    }

    /// Drops the device's mailbox (an unlinked device): its queue and its route; answers the
    /// connection it had.
    pub fn forget(&self, dev: &DevKey) -> Option<ConnRef> {
        let m = self
            .map
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(dev)?;
        lock(&m).conn.take()
    }

    /// Every device with a connection.
    pub fn connected(&self) -> Vec<DevKey> {
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        map.iter()
            .filter(|(_, m)| lock(m).conn.is_some())
            .map(|(dev, _)| dev.clone())
            .collect()
    }

    /// How many devices are connected, and how many stanzas of each class wait in the queues.
    pub fn stats(&self) -> Stats {
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        let mut stats = Stats::default();
        for (dev, m) in map.iter() {
            let m = lock(m);
            stats.connections += usize::from(m.conn.is_some());
            let mut n = 0;
            for e in m.queue.iter() {
                *stats.queued.entry(e.class).or_default() += 1;
                n += 1;
            }
            if n > 0 {
                stats.devices.insert(format!("{}:{}", dev.0, dev.1), n);
            }
        }
        stats
    }

    /// Every stanza waiting, as `(number, device, class, id)`.
    pub fn queued(&self) -> Vec<(String, u16, String, String)> {
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for (dev, m) in map.iter() {
            for e in lock(m).queue.iter() {
                out.push((dev.0.clone(), dev.1, e.class.to_string(), e.id.clone()));
            }
        }
        out.sort();
        out
    }

    /// Whether a stanza of `class` waits in the device's queue.
    pub fn has_queued(&self, dev: &DevKey, class: &str) -> bool {
        self.get(dev)
            .is_some_and(|m| lock(&m).queue.iter().any(|e| e.class == class))
    }
}
