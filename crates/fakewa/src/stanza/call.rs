//! Call signaling relay (`<call>`), as WhatsApp routes it. fakewa carries no media: it relays the
//! signaling stanzas and never reads the Signal-encrypted call key.
//!
//! - `<offer>` from the caller goes to every device of the callee (or the one device named in `to`;
//!   with a `<destination>`, to each listed device with only its own `<enc>`), with `from` = the
//!   caller's device in the namespace of `to` and `notify` = the caller's push name. The call is
//!   remembered by `call-id`.
//! - `<accept>` / `<reject>` from a callee device go back to the caller and to the callee's other
//!   offered devices (how a companion learns that the call was answered elsewhere); `<preaccept>`
//!   and the media-setup actions go to the caller only.
//! - `<terminate>` from the caller goes to every offered device of the callee; from the callee, to
//!   the caller.
//! - Every `<call>` is acked (`<ack class="call" type=<action>>`); the callee's
//!   `<receipt><offer/></receipt>` (it rang) goes to the caller's device.

use std::collections::HashMap;

use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;
use wacore_binary::node::NodeContent;

use super::util::{self, attr, children};
use crate::conn::Ctx;
use crate::state::{DevKey, State};

/// A call fakewa relayed an offer for.
#[derive(Clone, Debug)]
pub(crate) struct CallRec {
    /// The device that placed the call.
    pub caller: DevKey,
    /// The callee's account (its phone number).
    pub callee: String,
    /// Whether the caller addressed the callee by LID: relayed `from`s use that namespace.
    pub lid: bool,
    /// The callee devices that were offered the call.
    pub offered: Vec<u16>,
}

/// Calls by `call-id`, until rejected or terminated.
pub(crate) type Calls = HashMap<String, CallRec>;

/// Whether a `<receipt>` is a callee's "it rang" for an offer (handled here, not as a message receipt).
pub(crate) fn is_offer_receipt(node: &Node) -> bool {
    node.get_optional_child("offer").is_some()
}

pub(crate) fn handle(ctx: &mut Ctx, node: &Node) {
    let Some(sender) = ctx.device.clone() else {
        return;
    };
    let Some(action) = children(node).first() else {
        return;
    };
    let id = attr(node, "id").unwrap_or_default();
    let to = attr(node, "to").unwrap_or_default();
    ctx.send(
        util::ack("call", &id, &to)
            .attr("type", action.tag.to_string())
            .build(),
    );
    let Some(call_id) = attr(action, "call-id") else {
        return;
    };
    let mut st = ctx.shared.state();
    if action.tag == "offer" {
        offer(&mut st, &sender, &id, &to, action, &call_id);
    } else {
        answer(&mut st, &sender, &id, &to, action, &call_id);
    }
}

/// The callee's `<receipt to=caller id><offer call-id call-creator/></receipt>`: acked, and relayed
/// to the caller's device.
pub(crate) fn offer_receipt(ctx: &mut Ctx, node: &Node) {
    let Some(sender) = ctx.device.clone() else {
        return;
    };
    let id = attr(node, "id").unwrap_or_default();
    let to = attr(node, "to").unwrap_or_default();
    ctx.send(util::ack("receipt", &id, &to).build());
    let call_id = node
        .get_optional_child("offer")
        .and_then(|o| attr(o, "call-id"))
        .unwrap_or_default();
    let st = ctx.shared.state();
    let Some(rec) = st.calls.get(&call_id).cloned() else {
        return;
    };
    let mut relay = NodeBuilder::new("receipt")
        .attr("from", st.device_jid(&sender.0, sender.1, rec.lid))
        .attr("id", id.clone())
        .attr("t", util::now().to_string())
        .build();
    relay.content = node.content.clone();
    st.deliver(&rec.caller, "receipt", id, relay);
}

fn offer(st: &mut State, caller: &DevKey, id: &str, to: &str, action: &Node, call_id: &str) {
    let Some(addr) = util::parse_jid(to) else {
        tracing::debug!(%to, "call offer to an unsupported address dropped");
        return;
    };
    let Some(callee) = st.pn_of(&addr.user, addr.lid) else {
        tracing::debug!(%to, "call offer to an unknown account dropped");
        return;
    };
    // Per device: the `<enc>` it gets (from `<destination><to jid>`), if the offer addressed it.
    let mut encs: HashMap<u16, Vec<Node>> = HashMap::new();
    if let Some(dest) = action.get_optional_child("destination") {
        for t in children(dest) {
            let dev = attr(t, "jid")
                .and_then(|j| util::parse_jid(&j))
                .filter(|a| st.pn_of(&a.user, a.lid).as_deref() == Some(callee.as_str()));
            if let Some(a) = dev {
                encs.insert(a.device, children(t).to_vec());
            }
        }
    }
    let devices: Vec<u16> = if !encs.is_empty() {
        encs.keys().copied().collect()
    } else if addr.device != 0 {
        vec![addr.device]
    } else {
        st.devices_of(&callee)
    };
    let devices: Vec<u16> = devices
        .into_iter()
        .filter(|d| (callee.as_str(), *d) != (caller.0.as_str(), caller.1))
        .filter(|d| st.devices.contains_key(&(callee.clone(), *d)))
        .collect();
    let notify = st
        .accounts
        .get(&caller.0)
        .map(|a| a.push_name.clone())
        .unwrap_or_default();
    let wrapper = NodeBuilder::new("call")
        .attr("from", st.device_jid(&caller.0, caller.1, addr.lid))
        .attr("id", id.to_string())
        .attr("t", util::now().to_string())
        .attr("notify", notify)
        .build();
    let shared_kids: Vec<Node> = children(action)
        .iter()
        .filter(|c| c.tag != "destination")
        .cloned()
        .collect();
    for dev in &devices {
        let mut kids = shared_kids.clone();
        if let Some(own) = encs.get(dev) {
            // The device's `<enc>` sits where `<destination>` was: before `<encopt>`.
            let at = kids
                .iter()
                .position(|c| c.tag == "encopt")
                .unwrap_or(kids.len());
            kids.splice(at..at, own.iter().cloned());
        }
        let mut offer = action.clone();
        if addr.lid {
            offer
                .attrs
                .insert("caller_pn", st.device_jid(&caller.0, 0, false));
        }
        offer.content = Some(NodeContent::Nodes(kids));
        let mut call = wrapper.clone();
        call.content = Some(NodeContent::Nodes(vec![offer]));
        tracing::debug!(%call_id, to = %callee, device = dev, "relay call offer");
        st.deliver(&(callee.clone(), *dev), "call", id.to_string(), call);
    }
    st.calls.insert(
        call_id.to_string(),
        CallRec {
            caller: caller.clone(),
            callee,
            lid: addr.lid,
            offered: devices,
        },
    );
}

fn answer(st: &mut State, sender: &DevKey, id: &str, to: &str, action: &Node, call_id: &str) {
    let tag = action.tag.as_ref();
    let rec = st.calls.get(call_id).cloned();
    let targets: Vec<DevKey> = match &rec {
        // From the callee: the caller, and for a final answer the callee's other offered devices.
        Some(rec) if sender.0 == rec.callee => {
            let mut t = vec![rec.caller.clone()];
            if matches!(tag, "accept" | "reject") {
                t.extend(
                    rec.offered
                        .iter()
                        .filter(|d| **d != sender.1)
                        .map(|d| (rec.callee.clone(), *d)),
                );
            }
            t
        }
        // From the caller: every offered device of the callee (or the one named in `to`).
        Some(rec) if *sender == rec.caller => match util::parse_jid(to) {
            Some(a) if a.device != 0 => vec![(rec.callee.clone(), a.device)],
            _ => rec
                .offered
                .iter()
                .map(|d| (rec.callee.clone(), *d))
                .collect(),
        },
        // A call fakewa did not see offered: to the device (or account) in `to`.
        _ => match util::parse_jid(to).and_then(|a| st.pn_of(&a.user, a.lid).map(|pn| (pn, a))) {
            Some((pn, a)) if a.device != 0 => vec![(pn, a.device)],
            Some((pn, _)) => st
                .devices_of(&pn)
                .into_iter()
                .map(|d| (pn.clone(), d))
                .collect(),
            None => Vec::new(),
        },
    };
    let lid = rec
        .as_ref()
        .map(|r| r.lid)
        .or_else(|| util::parse_jid(to).map(|a| a.lid))
        .unwrap_or(false);
    let mut relay = NodeBuilder::new("call")
        .attr("from", st.device_jid(&sender.0, sender.1, lid))
        .attr("id", id.to_string())
        .attr("t", util::now().to_string())
        .build();
    relay.content = Some(NodeContent::Nodes(vec![action.clone()]));
    for dev in targets {
        if dev == *sender || !st.devices.contains_key(&dev) {
            continue;
        }
        tracing::debug!(%call_id, action = tag, to = %dev.0, device = dev.1, "relay call");
        st.deliver(&dev, "call", id.to_string(), relay.clone());
    }
    // A `busy` reject is one device that cannot take the call: the others keep ringing.
    let busy = attr(action, "reason").as_deref() == Some("busy");
    if tag == "terminate" || (tag == "reject" && !busy) {
        st.calls.remove(call_id);
    }
}
