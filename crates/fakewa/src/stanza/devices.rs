//! Device lists: the account-signed key-index list, `type="devices"` notifications to the other devices of
//! an account when a companion is added or removed, and unlinking.

use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;
use waproto::buffa::Message as _;
use waproto::whatsapp as wa;

use super::util::{self, SERVER};
use crate::state::{Account, Out, State};
use crate::{FakeWaError, Shared};

/// `ADVSignedKeyIndexList` bytes for the account's current companions, signed by the account key.
pub(crate) fn key_index_list(acc: &Account) -> Vec<u8> {
    let valid: Vec<u32> = acc.companions.values().copied().collect();
    let details = wa::ADVKeyIndexList {
        raw_id: Some(acc.raw_id),
        timestamp: Some(util::now() as u64),
        current_index: Some(valid.iter().copied().max().unwrap_or(0)),
        valid_indexes: valid,
        ..Default::default()
    }
    .encode_to_vec();
    let mut msg = vec![6u8, 2];
    msg.extend_from_slice(&details);
    let signature = acc
        .key
        .private_key
        .calculate_signature(&msg, &mut rand::rng())
        .map(|s| s.to_vec())
        .unwrap_or_default();
    wa::ADVSignedKeyIndexList {
        details: Some(details),
        account_signature: Some(signature),
        ..Default::default()
    }
    .encode_to_vec()
}

/// `<device-list>` + `<key-index-list>` for a usync answer.
pub(crate) fn devices_node(st: &State, pn: &str) -> Node {
    let mut list = Vec::new();
    if let Some(acc) = st.accounts.get(pn) {
        if st.devices.contains_key(&(pn.to_string(), 0)) {
            list.push(NodeBuilder::new("device").attr("id", "0").build());
        }
        for (dev, ki) in &acc.companions {
            list.push(
                NodeBuilder::new("device")
                    .attr("id", dev.to_string())
                    .attr("key-index", ki.to_string())
                    .build(),
            );
        }
        let mut children = vec![NodeBuilder::new("device-list").children(list).build()];
        if !acc.companions.is_empty() {
            children.push(
                NodeBuilder::new("key-index-list")
                    .attr("ts", util::now().to_string())
                    .bytes(key_index_list(acc))
                    .build(),
            );
        }
        return NodeBuilder::new("devices").children(children).build();
    }
    NodeBuilder::new("devices")
        .children([NodeBuilder::new("device-list").build()])
        .build()
}

/// Tells every other device of the account that `device` was added (`op = "add"`) or removed.
pub(crate) fn notify_change(
    st: &mut State,
    pn: &str,
    device: u16,
    key_index: u32,
    op: &'static str,
) {
    let Some(acc) = st.accounts.get(pn) else {
        return;
    };
    let lid = acc.lid.clone();
    let kil = key_index_list(acc);
    let targets: Vec<u16> = st
        .devices_of(pn)
        .into_iter()
        .filter(|d| *d != device)
        .collect();
    // Once per namespace: a whatsapp-rust client keys its device registry by PN or by LID depending on
    // what it learnt first, and only patches the entry named by the notification's `from`.
    for target in targets {
        for lid_form in [false, true] {
            let id = st.next_id("dn-");
            let (user, server) = if lid_form {
                (lid.as_str(), "lid")
            } else {
                (pn, SERVER)
            };
            let mut n = NodeBuilder::new("notification")
                .attr("from", util::jid(user, 0, server))
                .attr("type", "devices")
                .attr("id", id.clone())
                .attr("t", util::now().to_string());
            if !lid_form {
                n = n.attr("lid", util::jid(&lid, 0, "lid"));
            }
            let node = n
                .children([NodeBuilder::new(op)
                    .attr("device_hash", format!("2:{}", util::random_hex(4)))
                    .children([
                        NodeBuilder::new("device")
                            .attr("jid", util::jid(user, device, server))
                            .attr("key-index", key_index.to_string())
                            .build(),
                        NodeBuilder::new("key-index-list")
                            .attr("ts", util::now().to_string())
                            .bytes(kil.clone())
                            .build(),
                    ])
                    .build()])
                .build();
            st.deliver(&(pn.to_string(), target), "notification", id, node);
        }
    }
}

/// Logs out every companion of the phone `number`: connected ones get the stream error real WhatsApp
/// sends for a removed device (`<conflict type="device_removed"/>`), and any later login with their keys is
/// refused with `<failure reason="401"/>`. Both make whatsapp-rust emit `Event::LoggedOut`.
pub(crate) fn unlink(shared: &Shared, number: &str) -> Result<(), FakeWaError> {
    let mut st = shared.state();
    let companions: Vec<(u16, u32)> = match st.accounts.get_mut(number) {
        Some(acc) => std::mem::take(&mut acc.companions).into_iter().collect(),
        None => return Err(FakeWaError::UnknownPhone(number.to_string())),
    };
    for (device, key_index) in companions {
        remove_device(&mut st, number, device, key_index);
    }
    Ok(())
}

/// Forgets one companion (already taken out of the account's list) and closes its socket.
pub(crate) fn remove_device(st: &mut State, pn: &str, device: u16, key_index: u32) {
    let dev = (pn.to_string(), device);
    if let Some(acc) = st.accounts.get_mut(pn) {
        acc.companions.remove(&device);
    }
    if let Some(rec) = st.devices.remove(&dev)
        && let Some(k) = rec.noise_pub
    {
        st.removed.insert(k);
    }
    if let Some(conn) = st.mail.forget(&dev) {
        let err = NodeBuilder::new("stream:error")
            .children([NodeBuilder::new("conflict")
                .attr("type", "device_removed")
                .build()])
            .build();
        let _ = conn.tx.send(Out::Close(Some(err)));
    }
    notify_change(st, pn, device, key_index, "remove");
    tracing::info!(%pn, device, "companion unlinked");
}
