//! 1:1 message relay. The server never decrypts: each recipient device gets a `<message>` holding only its
//! own `<enc>`, with `from` = the sender device in the namespace of the original `to` (plus `sender_lid` or
//! `sender_pn`), `notify` = the sender's push name, and `recipient` = the original `to` on copies to the
//! sender's own other devices. A `<message>` without `<participants>` (a peer message such as an app-state
//! key request) goes to the one device named in `to`.

use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use super::util::{self, attr, children};
use crate::conn::Ctx;
use crate::state::DevKey;

pub(crate) fn handle(ctx: &mut Ctx, node: &Node) {
    let Some(sender) = ctx.device.clone() else {
        return;
    };
    let id = attr(node, "id").unwrap_or_default();
    let to = attr(node, "to").unwrap_or_default();
    ctx.send(
        util::ack("message", &id, &to)
            .attr("t", util::now().to_string())
            .build(),
    );
    let Some(to_addr) = util::parse_jid(&to) else {
        tracing::debug!(%to, "message to an unsupported address dropped");
        return;
    };
    let st = ctx.shared.state();
    let Some(to_pn) = st.pn_of(&to_addr.user, to_addr.lid) else {
        tracing::debug!(%to, "message to an unknown account dropped");
        return;
    };
    let (s_pn, s_dev) = &sender;
    // Peer messages (app-state key requests and shares between one account's devices) come from the
    // sender's LID device, as on LID-migrated accounts; the answer then goes back to that LID device.
    let lid_ns = to_addr.lid || attr(node, "category").as_deref() == Some("peer");
    let notify = st
        .accounts
        .get(s_pn)
        .map(|a| a.push_name.clone())
        .unwrap_or_default();
    let mut base = NodeBuilder::new("message")
        .attr("from", st.device_jid(s_pn, *s_dev, lid_ns))
        .attr(
            if lid_ns { "sender_pn" } else { "sender_lid" },
            st.device_jid(s_pn, *s_dev, !lid_ns),
        )
        .attr("id", id.clone())
        .attr("t", util::now().to_string())
        .attr("type", attr(node, "type").unwrap_or_else(|| "text".into()))
        .attr("notify", notify);
    for key in ["edit", "category", "mediatype"] {
        if let Some(v) = attr(node, key) {
            base = base.attr(key, v);
        }
    }
    if to_pn == *s_pn {
        base = base.attr("recipient", to.clone());
    }
    let base = base.build();
    let identity = node.get_optional_child("device-identity").cloned();

    let mut targets: Vec<(DevKey, Vec<Node>)> = Vec::new();
    if let Some(parts) = node.get_optional_child("participants") {
        for p in children(parts) {
            let dev = attr(p, "jid")
                .and_then(|j| util::parse_jid(&j))
                .and_then(|a| st.pn_of(&a.user, a.lid).map(|pn| (pn, a.device)));
            if let Some(dev) = dev {
                targets.push((dev, children(p).to_vec()));
            }
        }
    } else {
        let encs: Vec<Node> = children(node)
            .iter()
            .filter(|c| c.tag == "enc")
            .cloned()
            .collect();
        if !encs.is_empty() {
            targets.push(((to_pn.clone(), to_addr.device), encs));
        }
    }
    targets.retain(|(dev, _)| *dev != sender && st.devices.contains_key(dev));
    // The copies are built without the lock: every stanza of every connection needs it.
    drop(st);
    let copies: Vec<(DevKey, Node)> = targets
        .into_iter()
        .map(|(dev, encs)| {
            let mut msg = base.clone();
            let mut kids = encs;
            if let Some(identity) = &identity {
                kids.push(identity.clone());
            }
            msg.content = Some(wacore_binary::node::NodeContent::Nodes(kids));
            (dev, msg)
        })
        .collect();
    if *s_dev == 0 {
        let mut st = ctx.shared.state();
        for (dev, _) in &copies {
            if dev.0 == *s_pn {
                st.phone_copies.insert(dev.clone());
            }
        }
    }
    let mail = ctx.shared.mail();
    for (dev, msg) in copies {
        tracing::debug!(%id, to = %dev.0, device = dev.1, "relay message");
        mail.deliver(&dev, "message", id.clone(), msg);
    }
}
