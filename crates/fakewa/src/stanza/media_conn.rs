//! `<iq xmlns="w:m" type="set"><media_conn/></iq>`: the media route. Answers a fresh auth token and the
//! TLS media listener as the only host (`hostname` = `127.0.0.1:PORT`, which whatsapp-rust puts verbatim
//! into `https://{hostname}/…`).

use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use super::util;
use crate::conn::Ctx;

/// Route lifetime, in seconds, as WhatsApp sends it.
const TTL_SECS: &str = "3600";
/// Auth token lifetime, in seconds.
const AUTH_TTL_SECS: &str = "21600";
const MAX_BUCKETS: &str = "12";

pub(crate) fn handle(ctx: &mut Ctx, id: &str) {
    let media = &ctx.shared.media;
    let conn = NodeBuilder::new("media_conn")
        .attr("auth", media.issue_auth())
        .attr("ttl", TTL_SECS)
        .attr("auth_ttl", AUTH_TTL_SECS)
        .attr("max_buckets", MAX_BUCKETS)
        .children([NodeBuilder::new("host")
            .attr("hostname", media.host())
            .build()])
        .build();
    ctx.send(util::iq_result(id, vec![conn]));
}

/// Whether an IQ is the media-connection request.
pub(crate) fn is_request(node: &Node) -> bool {
    node.get_optional_child("media_conn").is_some()
}
