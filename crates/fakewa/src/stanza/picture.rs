//! Profile pictures (`xmlns="w:profile:picture"`), as WhatsApp serves them:
//!
//! - **Set** `<iq type="set"><picture type="image">jpeg</picture></iq>` (own picture; `target` = own
//!   account or absent): the bytes go to the media blob store, the answer is `<picture id/>` with a new id,
//!   and every device of the account (queued) and every connected device of other accounts (live; fakewa
//!   has no address books, so everyone is a contact) gets
//!   `<notification type="picture" from=<bare pn>><set jid=<bare pn> id/></notification>`.
//! - **Remove**: the same IQ without `<picture>`: an empty result, then the notification with
//!   `<delete jid/>`.
//! - **Get** `<iq type="get" target=<jid>><picture type="image|preview" query="url" [id]/></iq>`:
//!   `<picture id url direct_path type/>` with a URL on the TLS media listener that serves the bytes
//!   (`image/jpeg`); `<picture id/>` alone when the asker already has that id; IQ error 404
//!   `item-not-found` without a picture, 401 `not-authorized` when the owner's `profile` privacy is `none`.
//!   Preview and full answer the same id and bytes (fakewa does not scale images).
//! - Group targets answer 404 until fakewa has groups (the store is keyed by owner, ready for them).

use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use super::util::{self, SERVER, attr};
use crate::conn::Ctx;
use crate::pictures::{Lookup, Picture};
use crate::state::State;

pub(crate) fn handle(ctx: &mut Ctx, node: &Node, id: &str, kind: &str) {
    let Some((pn, _)) = ctx.device.clone() else {
        ctx.send(util::iq_error(id, 401, "not-authorized"));
        return;
    };
    match kind {
        "get" => get(ctx, node, id, &pn),
        "set" => set(ctx, node, id, &pn),
        _ => ctx.send(util::iq_error(id, 400, "bad-request")),
    }
}

/// Whose picture a `target` names: `Ok(account pn)`, or the IQ error to answer.
fn owner_of(st: &State, target: &str) -> Result<String, (u16, &'static str)> {
    if target.ends_with("@g.us") {
        // No groups in fakewa yet (tier 4): every group is unknown.
        return Err((404, "item-not-found"));
    }
    util::parse_jid(target)
        .and_then(|a| st.pn_of(&a.user, a.lid))
        .ok_or((404, "item-not-found"))
}

fn get(ctx: &mut Ctx, node: &Node, id: &str, viewer: &str) {
    let req = node.get_optional_child("picture");
    let kind = req
        .and_then(|p| attr(p, "type"))
        .unwrap_or_else(|| "image".into());
    let known_id = req.and_then(|p| attr(p, "id"));
    let host = ctx.shared.media.host();
    let st = ctx.shared.state();
    let owner = match attr(node, "target") {
        Some(t) => owner_of(&st, &t),
        None => Ok(viewer.to_string()),
    };
    let answer = match owner {
        Err((code, text)) => util::iq_error(id, code, text),
        Ok(owner) => match st.pictures.lookup(&owner, viewer) {
            Lookup::Found(pic) if known_id.as_deref() == Some(pic.id.as_str()) => {
                let unchanged = NodeBuilder::new("picture").attr("id", pic.id.clone());
                util::iq_result(id, vec![unchanged.build()])
            }
            Lookup::Found(pic) => util::iq_result(id, vec![picture_node(pic, &kind, &host)]),
            Lookup::Missing => util::iq_error(id, 404, "item-not-found"),
            Lookup::Hidden => util::iq_error(id, 401, "not-authorized"),
        },
    };
    drop(st);
    ctx.send(answer);
}

fn picture_node(pic: &Picture, kind: &str, host: &str) -> Node {
    NodeBuilder::new("picture")
        .attr("id", pic.id.clone())
        .attr("type", kind)
        .attr("url", pic.url(host))
        .attr("direct_path", pic.direct_path())
        .build()
}

fn set(ctx: &mut Ctx, node: &Node, id: &str, pn: &str) {
    if let Some(target) = attr(node, "target") {
        let own = owner_of(&ctx.shared.state(), &target);
        match own {
            Ok(owner) if owner == pn => {}
            Ok(_) => return ctx.send(util::iq_error(id, 401, "not-authorized")),
            Err((code, text)) => return ctx.send(util::iq_error(id, code, text)),
        }
    }
    let bytes = node
        .get_optional_child("picture")
        .and_then(util::content)
        .filter(|b| !b.is_empty())
        .map(<[u8]>::to_vec);
    match bytes {
        Some(bytes) => {
            let pic = store_picture(ctx, pn, bytes);
            let answer = NodeBuilder::new("picture").attr("id", pic.id.clone());
            ctx.send(util::iq_result(id, vec![answer.build()]));
            announce(&mut ctx.shared.state(), pn, Some(&pic.id));
        }
        None => {
            let removed = ctx.shared.state().pictures.remove(pn);
            ctx.send(util::iq_result(id, vec![]));
            if removed {
                announce(&mut ctx.shared.state(), pn, None);
            }
        }
    }
}

/// Keeps the bytes (in memory now, on disk in the background) and makes them `pn`'s picture.
fn store_picture(ctx: &Ctx, pn: &str, bytes: Vec<u8>) -> Picture {
    let bytes = bytes::Bytes::from(bytes);
    let media = ctx.shared.media.clone();
    let blob = media.store.insert(bytes.clone());
    let file = blob.clone();
    ctx.shared.tracker.spawn(async move {
        if let Err(e) = media.store.write_file(&file, &bytes).await {
            tracing::warn!("profile picture not saved: {e}");
        }
    });
    ctx.shared.state().pictures.set(pn, blob, util::now_ms())
}

/// The picture notification, for `pn`'s own devices (queued) and every other connected device (live).
/// `pic_id`: the new picture, or `None` for a removal.
pub(crate) fn announce(st: &mut State, pn: &str, pic_id: Option<&str>) {
    let bare = util::jid(pn, 0, SERVER);
    let own: Vec<u16> = st.devices_of(pn);
    for device in own {
        let nid = st.next_id("pic-");
        let n = notification(&bare, &nid, pic_id);
        st.deliver(&(pn.to_string(), device), "notification", nid, n);
    }
    let others: Vec<_> = st
        .mail
        .connected()
        .into_iter()
        .filter(|(p, _)| p != pn)
        .collect();
    for dev in others {
        let nid = st.next_id("pic-");
        st.send_live(&dev, notification(&bare, &nid, pic_id));
    }
}

fn notification(bare: &str, nid: &str, pic_id: Option<&str>) -> Node {
    let change = match pic_id {
        // No `author`: WhatsApp names one only for group pictures (the admin who changed it).
        Some(pic) => NodeBuilder::new("set").attr("jid", bare).attr("id", pic),
        None => NodeBuilder::new("delete").attr("jid", bare),
    };
    NodeBuilder::new("notification")
        .attr("from", bare)
        .attr("type", "picture")
        .attr("id", nid)
        .attr("t", util::now().to_string())
        .children([change.build()])
        .build()
}
