//! One module per stanza kind. Handlers are synchronous: they read the node, update the state under a short
//! lock and queue outbound nodes; anything slow runs on a spawned task.

pub(crate) mod ack;
pub(crate) mod appstate;
pub(crate) mod appstate_seed;
pub(crate) mod call;
pub(crate) mod devices;
pub(crate) mod iq;
pub(crate) mod login;
pub(crate) mod media_conn;
pub(crate) mod message;
pub(crate) mod pair;
pub(crate) mod paircode;
pub(crate) mod picture;
pub(crate) mod prekeys;
pub(crate) mod presence;
pub(crate) mod privacy;
pub(crate) mod profile;
pub(crate) mod receipt;
pub(crate) mod usync;
pub(crate) mod util;

use wacore_binary::Node;

use crate::conn::Ctx;

/// Routes one inbound stanza to its handler.
pub(crate) fn dispatch(ctx: &mut Ctx, node: Node) {
    match node.tag.as_ref() {
        "iq" => iq::handle(ctx, &node),
        "message" => message::handle(ctx, &node),
        "receipt" if call::is_offer_receipt(&node) => call::offer_receipt(ctx, &node),
        "receipt" => receipt::handle(ctx, &node),
        "call" => call::handle(ctx, &node),
        "ack" => ack::handle(ctx, &node),
        "presence" => presence::handle(ctx, &node),
        "chatstate" => presence::chatstate(ctx, &node),
        "ib" => {}
        other => tracing::debug!(conn = ctx.conn_id, "ignored <{other}>"),
    }
}
