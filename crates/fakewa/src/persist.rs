//! With a data directory, fakewa keeps its accounts (keys, LIDs, companions and their Signal keys,
//! app-state patches, profile pictures) in `<data-dir>/fakewa-state.json`, written at most once a
//! second and at shutdown;
//! each virtual phone keeps its whatsapp-rust store in `<data-dir>/phone-<number>.db`. After a restart,
//! linked companions log in again (IK) and the phones come back online. Delivery queues are not kept.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::certs::key_from_b64;
use crate::state::{Account, DeviceRec, State, SyncKey};
use crate::{FakeWaError, Shared};

const STATE_FILE: &str = "fakewa-state.json";

#[derive(Serialize, Deserialize, Default)]
struct Snapshot {
    accounts: Vec<AccountSnap>,
    devices: Vec<DeviceSnap>,
    names: HashMap<String, String>,
    removed: Vec<String>,
    next_generated: u64,
    /// Profile pictures (ids and blob ids; the bytes are in `media/`) and their privacy.
    #[serde(default)]
    pictures: crate::pictures::Pictures,
}

#[derive(Serialize, Deserialize)]
struct AccountSnap {
    pn: String,
    lid: String,
    push_name: String,
    key: String,
    raw_id: u32,
    next_device: u16,
    next_key_index: u32,
    companions: BTreeMap<u16, u32>,
    sync_key_id: String,
    sync_key_data: String,
    sync_key_ts: i64,
    appstate: HashMap<String, Vec<String>>,
    about: String,
}

#[derive(Serialize, Deserialize)]
struct DeviceSnap {
    pn: String,
    device: u16,
    noise_pub: Option<String>,
    reg_id: String,
    identity: String,
    skey_id: String,
    skey_val: String,
    skey_sig: String,
    prekeys: Vec<(String, String)>,
    adv: Option<String>,
}

fn enc(b: &[u8]) -> String {
    B64.encode(b)
}

fn dec(s: &str) -> Result<Vec<u8>, FakeWaError> {
    B64.decode(s)
        .map_err(|e| FakeWaError::Keys(format!("{STATE_FILE}: {e}")))
}

fn snapshot(st: &State) -> Snapshot {
    let accounts = st
        .accounts
        .values()
        .map(|a| AccountSnap {
            pn: a.pn.clone(),
            lid: a.lid.clone(),
            push_name: a.push_name.clone(),
            key: enc(a.key.private_key.serialize()),
            raw_id: a.raw_id,
            next_device: a.next_device,
            next_key_index: a.next_key_index,
            companions: a.companions.clone(),
            sync_key_id: enc(&a.sync_key.id),
            sync_key_data: enc(&a.sync_key.data),
            sync_key_ts: a.sync_key.timestamp_ms,
            appstate: a
                .appstate
                .iter()
                .map(|(k, v)| (k.clone(), v.iter().map(|p| enc(p)).collect()))
                .collect(),
            about: a.about.clone(),
        })
        .collect();
    let devices = st
        .devices
        .iter()
        .map(|((pn, device), r)| DeviceSnap {
            pn: pn.clone(),
            device: *device,
            noise_pub: r.noise_pub.map(|k| enc(&k)),
            reg_id: enc(&r.reg_id),
            identity: enc(&r.identity),
            skey_id: enc(&r.skey_id),
            skey_val: enc(&r.skey_val),
            skey_sig: enc(&r.skey_sig),
            prekeys: r.prekeys.iter().map(|(i, v)| (enc(i), enc(v))).collect(),
            adv: r.adv.as_deref().map(enc),
        })
        .collect();
    Snapshot {
        accounts,
        devices,
        names: st.names.clone(),
        removed: st.removed.iter().map(|k| enc(k)).collect(),
        next_generated: st.next_generated,
        pictures: st.pictures.clone(),
    }
}

fn key32(s: &str) -> Result<[u8; 32], FakeWaError> {
    dec(s)?
        .try_into()
        .map_err(|_| FakeWaError::Keys(format!("{STATE_FILE}: a key is not 32 bytes")))
}

/// Loads the saved state into `st`; returns the phones to start again.
pub(crate) fn load(dir: &Path, st: &mut State) -> Result<Vec<(String, SyncKey, u32)>, FakeWaError> {
    let path = dir.join(STATE_FILE);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let snap: Snapshot = serde_json::from_str(&std::fs::read_to_string(&path)?)
        .map_err(|e| FakeWaError::Keys(format!("{}: {e}", path.display())))?;
    let mut phones = Vec::new();
    for a in snap.accounts {
        let sync_key = SyncKey {
            id: dec(&a.sync_key_id)?,
            data: dec(&a.sync_key_data)?,
            timestamp_ms: a.sync_key_ts,
        };
        let mut appstate = HashMap::new();
        for (name, patches) in a.appstate {
            appstate.insert(
                name,
                patches.iter().map(|p| dec(p)).collect::<Result<_, _>>()?,
            );
        }
        phones.push((a.pn.clone(), sync_key.clone(), a.raw_id));
        st.lid_to_pn.insert(a.lid.clone(), a.pn.clone());
        st.accounts.insert(
            a.pn.clone(),
            Account {
                pn: a.pn,
                lid: a.lid,
                push_name: a.push_name,
                key: key_from_b64(&a.key)?,
                raw_id: a.raw_id,
                next_device: a.next_device,
                next_key_index: a.next_key_index,
                companions: a.companions,
                sync_key,
                appstate,
                available: false,
                last_seen: crate::stanza::util::now(),
                about: a.about,
            },
        );
    }
    for d in snap.devices {
        let mut prekeys = VecDeque::new();
        for (i, v) in &d.prekeys {
            prekeys.push_back((dec(i)?, dec(v)?));
        }
        let rec = DeviceRec {
            noise_pub: d.noise_pub.as_deref().map(key32).transpose()?,
            reg_id: dec(&d.reg_id)?,
            identity: dec(&d.identity)?,
            skey_id: dec(&d.skey_id)?,
            skey_val: dec(&d.skey_val)?,
            skey_sig: dec(&d.skey_sig)?,
            prekeys,
            adv: d.adv.as_deref().map(dec).transpose()?,
        };
        st.devices.insert((d.pn, d.device), rec);
    }
    st.names = snap.names;
    for k in &snap.removed {
        st.removed.insert(key32(k)?);
    }
    st.next_generated = snap.next_generated;
    st.pictures = snap.pictures;
    tracing::info!(
        accounts = phones.len(),
        "state loaded from {}",
        path.display()
    );
    Ok(phones)
}

/// Writes the state whenever it changed (checked every second) and once more at shutdown.
pub(crate) fn spawn_saver(shared: Arc<Shared>, dir: PathBuf) {
    let tracker = shared.tracker.clone();
    tracker.spawn(async move {
        let mut last = String::new();
        loop {
            let stop = tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => false,
                _ = shared.token.cancelled() => true,
            };
            let text = match serde_json::to_string(&snapshot(&shared.state())) {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!("state not saved: {e}");
                    continue;
                }
            };
            if text != last {
                let tmp = dir.join(format!("{STATE_FILE}.tmp"));
                let saved = std::fs::write(&tmp, &text)
                    .and_then(|()| std::fs::rename(&tmp, dir.join(STATE_FILE)));
                match saved {
                    Ok(()) => last = text,
                    Err(e) => tracing::warn!("state not saved: {e}"),
                }
            }
            if stop {
                break;
            }
        }
    });
}
