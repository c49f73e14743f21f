//! `<ack class id>` from a client: the stanza it names leaves the device's queue.

use wacore_binary::Node;

use super::util::attr;
use crate::conn::Ctx;

pub(crate) fn handle(ctx: &mut Ctx, node: &Node) {
    let (Some(dev), Some(class), Some(id)) = (&ctx.device, attr(node, "class"), attr(node, "id"))
    else {
        return;
    };
    ctx.shared.mail().acked(dev, &class, &id);
}
