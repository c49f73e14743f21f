//! Privacy settings (`xmlns="privacy"`). fakewa answers `all` for every category except `profile`, which it
//! keeps per account because it decides who may see the account's picture (`stanza::picture`); a set
//! answers the category as stored.

use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use super::util::{self, attr};
use crate::conn::Ctx;
use crate::pictures::Visibility;

const CATEGORIES: [&str; 8] = [
    "last",
    "online",
    "profile",
    "status",
    "groupadd",
    "readreceipts",
    "calladd",
    "messages",
];

/// `<privacy><category name value/>…</privacy>` for the asking account.
pub(crate) fn get(ctx: &mut Ctx, id: &str) {
    let profile = match &ctx.device {
        Some((pn, _)) => ctx.shared.state().pictures.visibility(pn),
        None => Visibility::All,
    };
    let cats = CATEGORIES.iter().map(|name| {
        let value = if *name == "profile" {
            profile.as_str()
        } else {
            "all"
        };
        category(name, value)
    });
    let privacy = NodeBuilder::new("privacy").children(cats).build();
    ctx.send(util::iq_result(id, vec![privacy]));
}

/// `<privacy><category name value/></privacy>`: stores `profile`, echoes every category.
pub(crate) fn set(ctx: &mut Ctx, node: &Node, id: &str) {
    let cat = node
        .get_optional_child("privacy")
        .and_then(|p| p.get_optional_child("category"));
    let (Some(name), Some(value)) = (
        cat.and_then(|c| attr(c, "name")),
        cat.and_then(|c| attr(c, "value")),
    ) else {
        ctx.send(util::iq_error(id, 400, "bad-request"));
        return;
    };
    if name == "profile" {
        let (Some(v), Some((pn, _))) = (Visibility::parse(&value), ctx.device.clone()) else {
            ctx.send(util::iq_error(id, 400, "bad-request"));
            return;
        };
        ctx.shared.state().pictures.set_visibility(&pn, v);
    }
    let privacy = NodeBuilder::new("privacy")
        .children([category(&name, &value)])
        .build();
    ctx.send(util::iq_result(id, vec![privacy]));
}

fn category(name: &str, value: &str) -> Node {
    NodeBuilder::new("category")
        .attr("name", name)
        .attr("value", value)
        .build()
}
