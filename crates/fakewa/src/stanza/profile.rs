//! Profile: the "about" text (`xmlns="status"`), announced to every connected device as a
//! `<notification type="status"><set>text</set></notification>` (fakewa has no address books, so every
//! account counts as a contact).

use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use super::util::{self, SERVER};
use crate::conn::Ctx;

pub(crate) fn set_status(ctx: &mut Ctx, node: &Node, id: &str) {
    ctx.send(util::iq_result(id, vec![]));
    let Some((pn, device)) = ctx.device.clone() else {
        return;
    };
    let text = node
        .get_optional_child("status")
        .and_then(util::content)
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    let mut st = ctx.shared.state();
    let Some(acc) = st.accounts.get_mut(&pn) else {
        return;
    };
    acc.about = text.clone();
    let notify = acc.push_name.clone();
    let targets: Vec<_> = st
        .mail
        .connected()
        .into_iter()
        .filter(|d| *d != (pn.clone(), device))
        .collect();
    for target in targets {
        let nid = st.next_id("st-");
        let n = NodeBuilder::new("notification")
            .attr("from", util::jid(&pn, 0, SERVER))
            .attr("type", "status")
            .attr("id", nid)
            .attr("t", util::now().to_string())
            .attr("notify", notify.clone())
            .children([NodeBuilder::new("set").string_content(text.clone()).build()])
            .build();
        st.send_live(&target, n);
    }
}
