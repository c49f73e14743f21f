//! `xmlns="w:sync:app:state"`: per-account collections of opaque, client-encrypted patches. A pull answers
//! every requested collection (empty ones as `<collection name version="0"/>`) with the patches after the
//! asked version; a push stores the patch as the next version and sends `server_sync` to sibling companions.

use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;
use waproto::buffa::{Message as _, MessageField};
use waproto::whatsapp as wa;

use super::util::{self, SERVER, attr, children};
use crate::conn::Ctx;

pub(crate) fn handle(ctx: &mut Ctx, node: &Node, id: &str) {
    let Some((pn, device)) = ctx.device.clone() else {
        ctx.send(util::iq_error(id, 401, "not-authorized"));
        return;
    };
    let Some(sync) = node.get_optional_child("sync") else {
        ctx.send(util::iq_result(id, vec![]));
        return;
    };
    let mut answers = Vec::new();
    let mut pushed = Vec::new();
    {
        let mut st = ctx.shared.state();
        let Some(acc) = st.accounts.get_mut(&pn) else {
            drop(st);
            ctx.send(util::iq_error(id, 404, "item-not-found"));
            return;
        };
        for col in children(sync).iter().filter(|c| c.tag == "collection") {
            let name = attr(col, "name").unwrap_or_default();
            let asked: usize = attr(col, "version")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let patches = acc.appstate.entry(name.clone()).or_default();
            let mut new_patches = Vec::new();
            for p in children(col).iter().filter(|p| p.tag == "patch") {
                if let Some(bytes) = util::content(p) {
                    new_patches.push(bytes.to_vec());
                }
            }
            if !new_patches.is_empty() && asked < patches.len() {
                // Built on a stale base: refuse with 409 and the patches the client lacks.
                let list: Vec<Node> = patches[asked..]
                    .iter()
                    .map(|p| NodeBuilder::new("patch").bytes(p.clone()).build())
                    .collect();
                answers.push(
                    NodeBuilder::new("collection")
                        .attr("name", name)
                        .attr("version", patches.len().to_string())
                        .attr("type", "error")
                        .children([
                            NodeBuilder::new("error")
                                .attr("code", "409")
                                .attr("text", "conflict")
                                .build(),
                            NodeBuilder::new("patches").children(list).build(),
                        ])
                        .build(),
                );
                continue;
            }
            if !new_patches.is_empty() {
                for p in new_patches {
                    let version = patches.len() as u64 + 1;
                    patches.push(stamp_version(&p, version));
                }
                pushed.push((name.clone(), patches.len()));
                answers.push(
                    NodeBuilder::new("collection")
                        .attr("name", name)
                        .attr("version", patches.len().to_string())
                        .build(),
                );
                continue;
            }
            let mut c = NodeBuilder::new("collection")
                .attr("name", name)
                .attr("version", patches.len().to_string());
            if asked < patches.len() {
                let list: Vec<Node> = patches[asked..]
                    .iter()
                    .map(|p| NodeBuilder::new("patch").bytes(p.clone()).build())
                    .collect();
                c = c.children([NodeBuilder::new("patches").children(list).build()]);
            }
            answers.push(c.build());
        }
        let siblings: Vec<u16> = acc
            .companions
            .keys()
            .copied()
            .filter(|d| *d != device)
            .collect();
        for (name, version) in pushed {
            for sib in &siblings {
                let nid = st.next_id("ss-");
                let n = NodeBuilder::new("notification")
                    .attr("from", SERVER)
                    .attr("type", "server_sync")
                    .attr("id", nid.clone())
                    .attr("t", util::now().to_string())
                    .children([NodeBuilder::new("collection")
                        .attr("name", name.clone())
                        .attr("version", version.to_string())
                        .build()])
                    .build();
                st.deliver(&(pn.clone(), *sib), "notification", nid, n);
            }
        }
    }
    ctx.send(util::iq_result(
        id,
        vec![NodeBuilder::new("sync").children(answers).build()],
    ));
}

/// The server assigns the version of a pushed patch (clients send it without one).
fn stamp_version(patch: &[u8], version: u64) -> Vec<u8> {
    match wa::SyncdPatch::decode_from_slice(patch) {
        Ok(mut p) => {
            p.version = MessageField::some(wa::SyncdVersion {
                version: Some(version),
            });
            p.encode_to_vec()
        }
        Err(e) => {
            tracing::debug!("undecodable app-state patch stored as is: {e}");
            patch.to_vec()
        }
    }
}
