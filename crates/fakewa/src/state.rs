//! The shared state of one fakewa instance: accounts, devices with their prekeys, the routing table
//! (device → live connection) and the per-device delivery queues.
//!
//! One `std::sync::Mutex` guards it all; sections are short and never held across an `.await`.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};
use wacore::libsignal::protocol::KeyPair;
use wacore_binary::Node;

use crate::stanza::util;

/// A device: (phone number, device id). The phone is device 0; companions are 1, 2, …
pub(crate) type DevKey = (String, u16);

/// What a connection task is asked to do.
#[derive(Debug)]
pub(crate) enum Out {
    Node(Node),
    /// Send the node (if any), then close the socket.
    Close(Option<Node>),
}

pub(crate) type OutTx = mpsc::UnboundedSender<Out>;

/// A live, logged-in connection of a device.
pub(crate) struct ConnRef {
    pub id: u64,
    pub tx: OutTx,
    /// Set after the client's `<active/>`: from then on stanzas go out live.
    pub active: bool,
}

/// Signal keys of one device, as uploaded (or from its registration payload).
#[derive(Default, Clone)]
pub(crate) struct DeviceRec {
    pub noise_pub: Option<[u8; 32]>,
    pub reg_id: Vec<u8>,
    pub identity: Vec<u8>,
    pub skey_id: Vec<u8>,
    pub skey_val: Vec<u8>,
    pub skey_sig: Vec<u8>,
    pub prekeys: VecDeque<(Vec<u8>, Vec<u8>)>,
    /// The ADVSignedDeviceIdentity the companion returned in `<pair-device-sign>`.
    pub adv: Option<Vec<u8>>,
}

/// The app-state sync key every companion of an account gets from the phone.
#[derive(Clone)]
pub(crate) struct SyncKey {
    pub id: Vec<u8>,
    pub data: Vec<u8>,
    pub timestamp_ms: i64,
}

pub(crate) struct Account {
    pub pn: String,
    pub lid: String,
    pub push_name: String,
    /// The phone's identity key: signs every companion's ADV identity and the key-index list.
    pub key: KeyPair,
    pub raw_id: u32,
    pub next_device: u16,
    pub next_key_index: u32,
    /// Companion device id → key index.
    pub companions: BTreeMap<u16, u32>,
    /// The app-state sync key the phone shares with every companion.
    pub sync_key: SyncKey,
    /// App-state collection name → stored patches (version = index + 1).
    pub appstate: HashMap<String, Vec<Vec<u8>>>,
    pub available: bool,
    pub last_seen: i64,
    /// The "about" text.
    pub about: String,
}

/// One stanza waiting for (or already sent to and not yet acknowledged by) a device.
pub(crate) struct Queued {
    pub class: &'static str,
    pub id: String,
    pub node: Node,
    /// Chat states expire; everything else waits until acknowledged.
    pub expires: Option<Instant>,
}

/// A registration connection (a client showing a QR code) waiting for a phone.
pub(crate) struct PendingReg {
    pub conn_id: u64,
    pub tx: OutTx,
    pub push_name: Option<String>,
    pub keys: DeviceRec,
    /// Set while a pair-success is out: (iq id, what to finish when `<pair-device-sign>` comes back).
    pub signing: Option<(String, SignWait)>,
}

pub(crate) struct SignWait {
    pub pn: String,
    pub device: u16,
    pub key_index: u32,
    pub done: oneshot::Sender<Result<u16, String>>,
}

/// A companion that asked to pair by code with phone `pn` (stage companion_hello done).
pub(crate) struct LinkCode {
    pub noise_pub: [u8; 32],
    pub wrapped_companion_eph: Vec<u8>,
    pub pairing_ref: String,
    pub finish: Option<oneshot::Sender<(Vec<u8>, Vec<u8>)>>,
}

#[derive(Default)]
pub(crate) struct State {
    pub accounts: HashMap<String, Account>,
    pub lid_to_pn: HashMap<String, String>,
    /// Registration push name → account (the suite's `mock-phone/scan-qr`).
    pub names: HashMap<String, String>,
    pub devices: HashMap<DevKey, DeviceRec>,
    pub conns: HashMap<DevKey, ConnRef>,
    pub pending: HashMap<[u8; 32], PendingReg>,
    pub link_codes: HashMap<String, LinkCode>,
    pub queues: HashMap<DevKey, VecDeque<Queued>>,
    /// Target account → (subscriber device, the jid as it subscribed).
    pub subscribers: HashMap<String, Vec<(DevKey, String)>>,
    /// Noise keys of unlinked companions: their next login gets `<failure reason="401"/>`.
    pub removed: HashSet<[u8; 32]>,
    /// Digest requests waiting for the device's first prekey upload: (iq id, connection).
    pub pending_digests: HashMap<DevKey, Vec<(String, OutTx)>>,
    /// Companions that got a message from their own phone (the app-state key share is confirmed by it).
    pub phone_copies: HashSet<DevKey>,
    /// Devices that queried their own account's device list (a phone is ready for pairings after that).
    pub own_usync: HashSet<DevKey>,
    /// Profile pictures and who may see them.
    pub pictures: crate::pictures::Pictures,
    pub next_generated: u64,
    /// Calls being relayed, by `call-id` (`stanza::call`).
    pub calls: crate::stanza::call::Calls,
}

impl State {
    /// The phone number behind a user part that may be a PN or a LID.
    pub fn pn_of(&self, user: &str, is_lid: bool) -> Option<String> {
        if is_lid {
            self.lid_to_pn.get(user).cloned()
        } else if self.accounts.contains_key(user) {
            Some(user.to_string())
        } else {
            None
        }
    }

    /// Every device of an account: the phone (0) and its companions.
    pub fn devices_of(&self, pn: &str) -> Vec<u16> {
        let mut out = Vec::new();
        if let Some(acc) = self.accounts.get(pn) {
            if self.devices.contains_key(&(pn.to_string(), 0)) {
                out.push(0);
            }
            out.extend(acc.companions.keys().copied());
        }
        out
    }

    /// Queues `node` for a device and sends it at once if the device is online and active.
    pub fn deliver(&mut self, dev: &DevKey, class: &'static str, id: String, node: Node) {
        if let Some(conn) = self.conns.get(dev)
            && conn.active
        {
            let _ = conn.tx.send(Out::Node(node.clone()));
        }
        self.queues
            .entry(dev.clone())
            .or_default()
            .push_back(Queued {
                class,
                id,
                node,
                expires: None,
            });
    }

    /// As [`State::deliver`], with the copy for the live connection made by the caller before it
    /// took the lock (deep node clones are the longest part of a relay; the one mutex should not
    /// wait for them).
    pub fn deliver_prepared(
        &mut self,
        dev: &DevKey,
        class: &'static str,
        id: String,
        node: Node,
        live: Node,
    ) {
        if let Some(conn) = self.conns.get(dev)
            && conn.active
        {
            let _ = conn.tx.send(Out::Node(live));
        }
        self.queues
            .entry(dev.clone())
            .or_default()
            .push_back(Queued {
                class,
                id,
                node,
                expires: None,
            });
    }

    /// Sends a chat state now, or keeps it until `expires` for an offline device.
    pub fn deliver_ephemeral(&mut self, dev: &DevKey, node: Node, expires: Instant) {
        if let Some(conn) = self.conns.get(dev)
            && conn.active
        {
            let _ = conn.tx.send(Out::Node(node));
            return;
        }
        self.queues
            .entry(dev.clone())
            .or_default()
            .push_back(Queued {
                class: "chatstate",
                id: String::new(),
                node,
                expires: Some(expires),
            });
    }

    /// Sends a node to a device only if it is connected (no queueing).
    pub fn send_live(&self, dev: &DevKey, node: Node) -> bool {
        match self.conns.get(dev) {
            Some(conn) => conn.tx.send(Out::Node(node)).is_ok(),
            None => false,
        }
    }

    /// Forgets what the device acknowledged (an `<ack>` or its receipt for a message).
    pub fn acked(&mut self, dev: &DevKey, class: &str, id: &str) {
        if let Some(q) = self.queues.get_mut(dev) {
            q.retain(|e| !(e.id == id && (e.class == class || class == "*")));
        }
    }

    /// Sends everything queued for a device (FIFO), drops expired chat states, marks the device active.
    /// Returns how many stanzas went out.
    pub fn flush(&mut self, dev: &DevKey) -> usize {
        let Some(conn) = self.conns.get_mut(dev) else {
            return 0;
        };
        conn.active = true;
        let tx = conn.tx.clone();
        let now = Instant::now();
        let mut sent = 0;
        if let Some(q) = self.queues.get_mut(dev) {
            q.retain(|e| e.expires.is_none_or(|t| t > now));
            for e in q.iter() {
                let mut node = e.node.clone();
                if e.expires.is_none() {
                    node.attrs.insert("offline", "1");
                }
                if tx.send(Out::Node(node)).is_ok() {
                    sent += 1;
                }
            }
            q.retain(|e| e.expires.is_none());
        }
        sent
    }

    pub fn next_id(&mut self, prefix: &str) -> String {
        self.next_generated += 1;
        format!("{prefix}{}", self.next_generated)
    }

    /// `user[:device]@server` of a device in the PN or the LID namespace.
    pub fn device_jid(&self, pn: &str, device: u16, lid: bool) -> String {
        if lid {
            let lid_user = self.accounts.get(pn).map(|a| a.lid.as_str()).unwrap_or(pn);
            util::jid(lid_user, device, "lid")
        } else {
            util::jid(pn, device, "s.whatsapp.net")
        }
    }
}
