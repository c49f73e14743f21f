//! The shared state of one fakewa instance: accounts, devices with their prekeys, and a handle on the
//! routing table (device → live connection) and the per-device delivery queues.
//!
//! One `std::sync::Mutex` guards it all except the routing table and the queues (`mailbox`, locked per
//! device); sections are short and never held across an `.await`.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use crate::mailbox::Mailboxes;

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
    /// A relayed stanza, shared with the device's queue (no copy per recipient).
    Shared(Arc<Node>),
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
    pub pending: HashMap<[u8; 32], PendingReg>,
    pub link_codes: HashMap<String, LinkCode>,
    /// Who is connected and what waits for each device (locked per device; see `mailbox`).
    pub mail: Arc<Mailboxes>,
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

    /// Queues `node` for a device and sends it at once if it is online ([`Mailboxes::deliver`]).
    pub fn deliver(&self, dev: &DevKey, class: &'static str, id: String, node: Node) {
        self.mail.deliver(dev, class, id, node);
    }

    /// Sends a chat state now, or keeps it until `expires` for an offline device.
    pub fn deliver_ephemeral(&self, dev: &DevKey, node: Node, expires: Instant) {
        self.mail.deliver_ephemeral(dev, node, expires);
    }

    /// Sends a node to a device only if it is connected (no queueing).
    pub fn send_live(&self, dev: &DevKey, node: Node) -> bool {
        self.mail.send_live(dev, node)
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
