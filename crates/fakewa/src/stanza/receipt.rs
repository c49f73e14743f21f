//! Receipts: acked to the author, used as the delivery ack of the message they name (it leaves the author's
//! queue), then relayed to every device of the `to` account except the author, with `from` = the author's
//! device in the namespace of `to`.
//!
//! Receipts from virtual phones (device 0) are relayed like a real phone's, unless
//! `relay_phone_receipts` is off (`fakewa --no-phone-receipts`): the e2e suite's mock phone never
//! emits receipts, and its tests count the ones companions get.

use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use super::util::{self, attr, children};
use crate::conn::Ctx;

pub(crate) fn handle(ctx: &mut Ctx, node: &Node) {
    let Some(author) = ctx.device.clone() else {
        return;
    };
    let id = attr(node, "id").unwrap_or_default();
    let to = attr(node, "to").unwrap_or_default();
    let kind = attr(node, "type");
    let mut ack = util::ack("receipt", &id, &to);
    if let Some(k) = &kind {
        ack = ack.attr("type", k.clone());
    }
    ctx.send(ack.build());

    let mail = ctx.shared.mail();
    mail.acked(&author, "message", &id);
    if let Some(list) = node.get_optional_child("list") {
        for other in children(list).iter().filter_map(|i| attr(i, "id")) {
            mail.acked(&author, "message", &other);
        }
    }
    if author.1 == 0 && !ctx.shared.config.relay_phone_receipts {
        return;
    }
    let Some(to_addr) = util::parse_jid(&to) else {
        return;
    };
    let st = ctx.shared.state();
    let Some(to_pn) = st.pn_of(&to_addr.user, to_addr.lid) else {
        return;
    };
    let from = st.device_jid(&author.0, author.1, to_addr.lid);
    let targets: Vec<u16> = st
        .devices_of(&to_pn)
        .into_iter()
        .filter(|dev| (to_pn.as_str(), *dev) != (author.0.as_str(), author.1))
        .collect();
    // The relayed receipts are built without the lock: every stanza of every connection needs it.
    drop(st);
    let mut relay = NodeBuilder::new("receipt")
        .attr("from", from)
        .attr("id", id.clone())
        .attr(
            "t",
            attr(node, "t").unwrap_or_else(|| util::now().to_string()),
        );
    for key in ["type", "participant", "recipient"] {
        if let Some(v) = attr(node, key) {
            relay = relay.attr(key, v);
        }
    }
    let mut relay = relay.build();
    if let Some(kids) = node.children() {
        relay.content = Some(wacore_binary::node::NodeContent::Nodes(kids.to_vec()));
    }
    for dev in targets {
        mail.deliver(&(to_pn.clone(), dev), "receipt", id.clone(), relay.clone());
    }
}
