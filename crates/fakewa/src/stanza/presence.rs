//! Presence (last state per account, pushed to subscribers) and chat states (typing), which wait up to
//! `chatstate_ttl` for an offline device.

use std::time::Instant;

use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use super::util::{self, attr};
use crate::conn::Ctx;
use crate::state::State;

pub(crate) fn handle(ctx: &mut Ctx, node: &Node) {
    let Some((pn, device)) = ctx.device.clone() else {
        return;
    };
    let mut st = ctx.shared.state();
    if let Some(name) = attr(node, "name")
        && let Some(acc) = st.accounts.get_mut(&pn)
    {
        acc.push_name = name;
    }
    match attr(node, "type").as_deref() {
        Some("available") => set_available(&mut st, &pn, true),
        Some("unavailable") => set_available(&mut st, &pn, false),
        Some("subscribe") => {
            let Some(to) = attr(node, "to") else { return };
            let Some(target) = util::parse_jid(&to).and_then(|a| st.pn_of(&a.user, a.lid)) else {
                return;
            };
            let subs = st.subscribers.entry(target.clone()).or_default();
            if !subs
                .iter()
                .any(|(d, j)| *d == (pn.clone(), device) && *j == to)
            {
                subs.push(((pn.clone(), device), to.clone()));
            }
            if let Some(n) = presence_node(&st, &target, &to) {
                st.send_live(&(pn, device), n);
            }
        }
        Some("unsubscribe") => {
            let Some(to) = attr(node, "to") else { return };
            for subs in st.subscribers.values_mut() {
                subs.retain(|(d, j)| !(*d == (pn.clone(), device) && *j == to));
            }
        }
        _ => {}
    }
}

fn presence_node(st: &State, pn: &str, as_jid: &str) -> Option<Node> {
    let acc = st.accounts.get(pn)?;
    let b = NodeBuilder::new("presence").attr("from", as_jid);
    Some(if acc.available {
        b.build()
    } else {
        b.attr("type", "unavailable")
            .attr("last", acc.last_seen.to_string())
            .build()
    })
}

fn set_available(st: &mut State, pn: &str, available: bool) {
    let Some(acc) = st.accounts.get_mut(pn) else {
        return;
    };
    if acc.available == available {
        return;
    }
    acc.available = available;
    if !available {
        acc.last_seen = util::now();
    }
    let subs = st.subscribers.get(pn).cloned().unwrap_or_default();
    for (dev, jid) in subs {
        if let Some(n) = presence_node(st, pn, &jid) {
            st.send_live(&dev, n);
        }
    }
}

/// A device went away: the account is unavailable once none of its devices is connected.
pub(crate) fn device_gone(st: &mut State, pn: &str) {
    let online = st.mail.connected().iter().any(|(p, _)| p == pn);
    if !online {
        set_available(st, pn, false);
    }
}

/// `<chatstate to=X><composing/>|<paused/></chatstate>` → X's devices as `<chatstate from=<sender>>`.
pub(crate) fn chatstate(ctx: &mut Ctx, node: &Node) {
    let Some(sender) = ctx.device.clone() else {
        return;
    };
    let Some(to) = attr(node, "to").and_then(|t| util::parse_jid(&t)) else {
        return;
    };
    let expires = Instant::now() + ctx.shared.config.chatstate_ttl;
    let st = ctx.shared.state();
    let Some(target) = st.pn_of(&to.user, to.lid) else {
        return;
    };
    let mut out = NodeBuilder::new("chatstate")
        .attr("from", st.device_jid(&sender.0, 0, to.lid))
        .build();
    out.content = node.content.clone();
    for dev in st.devices_of(&target) {
        let key = (target.clone(), dev);
        if key != sender {
            st.deliver_ephemeral(&key, out.clone(), expires);
        }
    }
}
