//! `<iq>` dispatch by `xmlns`. Every client request gets a `result` (or an `error`) — the client waits
//! 75 s for an unanswered IQ.

use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use super::util::{self, attr};
use crate::conn::Ctx;

pub(crate) fn handle(ctx: &mut Ctx, node: &Node) {
    let id = attr(node, "id").unwrap_or_default();
    let kind = attr(node, "type").unwrap_or_default();
    if kind == "result" || kind == "error" {
        super::pair::on_iq_response(ctx, node);
        return;
    }
    let xmlns = attr(node, "xmlns").unwrap_or_default();
    match xmlns.as_str() {
        "w:p" => ctx.send(util::iq_result(&id, vec![])),
        "passive" => super::login::on_passive(ctx, node, &id),
        "encrypt" => super::prekeys::handle(ctx, node, &id, &kind),
        "usync" => super::usync::handle(ctx, node, &id),
        "md" => super::pair::handle_md(ctx, node, &id),
        "w:sync:app:state" => super::appstate::handle(ctx, node, &id),
        "status" if kind == "set" => super::profile::set_status(ctx, node, &id),
        "w:m" if super::media_conn::is_request(node) => super::media_conn::handle(ctx, &id),
        "abt" => ctx.send(util::iq_result(&id, vec![props()])),
        "w" if node.get_optional_child("props").is_some() => {
            ctx.send(util::iq_result(&id, vec![props()]))
        }
        "blocklist" if kind == "get" => {
            ctx.send(util::iq_result(&id, vec![NodeBuilder::new("list").build()]))
        }
        "privacy" if kind == "get" && node.get_optional_child("privacy").is_some() => {
            super::privacy::get(ctx, &id)
        }
        "privacy" if kind == "set" && node.get_optional_child("privacy").is_some() => {
            super::privacy::set(ctx, node, &id)
        }
        "w:profile:picture" => super::picture::handle(ctx, node, &id, &kind),
        _ => {
            tracing::debug!(conn = ctx.conn_id, %xmlns, %kind, "default empty answer");
            ctx.send(util::iq_result(&id, vec![]));
        }
    }
}

/// A/B props. 10518 (`privacy_token_on_all_1_on_1_messages`) = 1 as on real accounts.
fn props() -> Node {
    NodeBuilder::new("props")
        .attr("protocol", "1")
        .attr("hash", "fakewa-1")
        .attr("refresh", "86400")
        .children([NodeBuilder::new("prop")
            .attr("config_code", "10518")
            .attr("config_value", "1")
            .build()])
        .build()
}
