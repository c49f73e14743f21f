//! `xmlns="usync"`: device lists (with the account-signed key-index list), PN→LID, contact lookups.

use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use super::util::{self, SERVER, attr, children};
use crate::conn::Ctx;
use crate::state::State;

pub(crate) fn handle(ctx: &mut Ctx, node: &Node, id: &str) {
    let Some(usync) = node.get_optional_child("usync") else {
        ctx.send(util::iq_error(id, 400, "bad-request"));
        return;
    };
    let wants: Vec<String> = usync
        .get_optional_child("query")
        .map(|q| children(q).iter().map(|c| c.tag.to_string()).collect())
        .unwrap_or_default();
    let users: Vec<Node> = {
        let mut st = ctx.shared.state();
        if let Some(dev) = &ctx.device
            && wants.iter().any(|w| w == "devices")
        {
            st.own_usync.insert(dev.clone());
        }
        usync
            .get_optional_child("list")
            .map(|l| children(l).iter().map(|u| user(&st, u, &wants)).collect())
            .unwrap_or_default()
    };
    let mut answer = NodeBuilder::new("usync")
        .attr("index", "0")
        .attr("last", "true");
    for key in ["sid", "mode", "context"] {
        if let Some(v) = attr(usync, key) {
            answer = answer.attr(key, v);
        }
    }
    let answer = answer
        .children([NodeBuilder::new("list").children(users).build()])
        .build();
    ctx.send(util::iq_result(id, vec![answer]));
}

fn user(st: &State, req: &Node, wants: &[String]) -> Node {
    // A contact lookup names the user by phone number (`<contact>+1555…</contact>`) instead of a jid.
    let contact = req
        .get_optional_child("contact")
        .and_then(util::content)
        .map(|c| {
            String::from_utf8_lossy(c)
                .chars()
                .filter(char::is_ascii_digit)
                .collect::<String>()
        });
    let jid = attr(req, "jid").or_else(|| contact.as_ref().map(|n| util::jid(n, 0, SERVER)));
    let Some(jid) = jid else {
        return NodeBuilder::new("user").build();
    };
    let pn = util::parse_jid(&jid).and_then(|a| st.pn_of(&a.user, a.lid));
    let mut out = Vec::new();
    for want in wants {
        match (want.as_str(), &pn) {
            ("devices", Some(pn)) => out.push(super::devices::devices_node(st, pn)),
            ("devices", None) => out.push(
                NodeBuilder::new("devices")
                    .children([NodeBuilder::new("device-list").build()])
                    .build(),
            ),
            ("lid", Some(pn)) => {
                if let Some(acc) = st.accounts.get(pn) {
                    out.push(
                        NodeBuilder::new("lid")
                            .attr("val", util::jid(&acc.lid, 0, "lid"))
                            .build(),
                    );
                }
            }
            ("contact", _) => {
                let mut c = NodeBuilder::new("contact")
                    .attr("type", if pn.is_some() { "in" } else { "out" });
                if let Some(n) = &contact {
                    c = c.string_content(format!("+{n}"));
                }
                out.push(c.build());
            }
            _ => {}
        }
    }
    NodeBuilder::new("user")
        .attr("jid", jid)
        .children(out)
        .build()
}
