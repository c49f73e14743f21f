//! `xmlns="encrypt"`: prekey upload, signed-prekey rotation, count, bundle fetch (one-time prekeys are
//! handed out once) and digest.

use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use super::util::{self, attr, child_bytes, children};
use crate::conn::Ctx;
use crate::state::{DeviceRec, State};

pub(crate) fn handle(ctx: &mut Ctx, node: &Node, id: &str, kind: &str) {
    if kind == "set" {
        if let Some(dev) = &ctx.device {
            let mut st = ctx.shared.state();
            if let Some(rec) = st.devices.get_mut(dev) {
                if node.get_optional_child("registration").is_some() {
                    upload(rec, node);
                } else if let Some(rotate) = node.get_optional_child("rotate") {
                    set_skey(rec, rotate);
                }
            }
        }
        ctx.send(util::iq_result(id, vec![]));
        return;
    }
    if node.get_optional_child("count").is_some() {
        let count = ctx
            .device
            .as_ref()
            .and_then(|d| ctx.shared.state().devices.get(d).map(|r| r.prekeys.len()))
            .unwrap_or(0);
        ctx.send(util::iq_result(
            id,
            vec![
                NodeBuilder::new("count")
                    .attr("value", count.to_string())
                    .build(),
            ],
        ));
        return;
    }
    if let Some(key) = node.get_optional_child("key") {
        let users = {
            let mut st = ctx.shared.state();
            children(key)
                .iter()
                .filter_map(|u| attr(u, "jid"))
                .map(|jid| bundle(&mut st, &jid))
                .collect::<Vec<_>>()
        };
        ctx.send(util::iq_result(
            id,
            vec![NodeBuilder::new("list").children(users).build()],
        ));
        return;
    }
    // `<digest/>`: an empty answer makes the client skip validation (a 404 would make it re-upload).
    ctx.send(util::iq_result(id, vec![]));
}

fn upload(rec: &mut DeviceRec, node: &Node) {
    rec.reg_id = child_bytes(node, "registration");
    rec.identity = child_bytes(node, "identity");
    if let Some(list) = node.get_optional_child("list") {
        for key in children(list) {
            let kid = child_bytes(key, "id");
            if !rec.prekeys.iter().any(|(id, _)| *id == kid) {
                rec.prekeys.push_back((kid, child_bytes(key, "value")));
            }
        }
    }
    set_skey(rec, node);
}

fn set_skey(rec: &mut DeviceRec, node: &Node) {
    if let Some(skey) = node.get_optional_child("skey") {
        rec.skey_id = child_bytes(skey, "id");
        rec.skey_val = child_bytes(skey, "value");
        rec.skey_sig = child_bytes(skey, "signature");
    }
}

/// `<user jid=<as asked>>` with the device's bundle, consuming one one-time prekey.
fn bundle(st: &mut State, jid: &str) -> Node {
    let user = NodeBuilder::new("user").attr("jid", jid);
    let dev = util::parse_jid(jid).and_then(|a| st.pn_of(&a.user, a.lid).map(|pn| (pn, a.device)));
    let Some(rec) = dev.and_then(|d| st.devices.get_mut(&d)) else {
        return user
            .children([NodeBuilder::new("error")
                .attr("code", "404")
                .attr("text", "item-not-found")
                .build()])
            .build();
    };
    let mut nodes = vec![
        NodeBuilder::new("registration")
            .bytes(rec.reg_id.clone())
            .build(),
        NodeBuilder::new("type").bytes(vec![5u8]).build(),
        NodeBuilder::new("identity")
            .bytes(rec.identity.clone())
            .build(),
    ];
    if let Some((kid, value)) = rec.prekeys.pop_front() {
        nodes.push(
            NodeBuilder::new("key")
                .children([
                    NodeBuilder::new("id").bytes(kid).build(),
                    NodeBuilder::new("value").bytes(value).build(),
                ])
                .build(),
        );
    }
    nodes.push(
        NodeBuilder::new("skey")
            .children([
                NodeBuilder::new("id").bytes(rec.skey_id.clone()).build(),
                NodeBuilder::new("value")
                    .bytes(rec.skey_val.clone())
                    .build(),
                NodeBuilder::new("signature")
                    .bytes(rec.skey_sig.clone())
                    .build(),
            ])
            .build(),
    );
    if let Some(adv) = &rec.adv {
        nodes.push(
            NodeBuilder::new("device-identity")
                .bytes(adv.clone())
                .build(),
        );
    }
    user.children(nodes).build()
}
