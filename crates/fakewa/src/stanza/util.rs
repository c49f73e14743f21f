//! Small helpers shared by the stanza handlers.

use wacore_binary::builder::NodeBuilder;
use wacore_binary::jid::{Jid, Server};
use wacore_binary::node::{Node, NodeContent};

pub(crate) const SERVER: &str = "s.whatsapp.net";

/// An attribute as an owned string.
pub(crate) fn attr(node: &Node, key: &str) -> Option<String> {
    node.attrs.get(key).map(|v| v.as_str().into_owned())
}

/// Bytes content of a node (string content counts too).
pub(crate) fn content(node: &Node) -> Option<&[u8]> {
    match &node.content {
        Some(NodeContent::Bytes(b)) => Some(b),
        Some(NodeContent::String(s)) => Some(s.as_bytes()),
        _ => None,
    }
}

pub(crate) fn child_bytes(node: &Node, tag: &str) -> Vec<u8> {
    node.get_optional_child(tag)
        .and_then(content)
        .map(<[u8]>::to_vec)
        .unwrap_or_default()
}

pub(crate) fn children(node: &Node) -> &[Node] {
    node.children().unwrap_or(&[])
}

/// `user[:device]@server`; device 0 is written bare.
pub(crate) fn jid(user: &str, device: u16, server: &str) -> String {
    if device == 0 {
        format!("{user}@{server}")
    } else {
        format!("{user}:{device}@{server}")
    }
}

/// A parsed user or device address.
pub(crate) struct Addr {
    pub user: String,
    pub device: u16,
    pub lid: bool,
}

pub(crate) fn parse_jid(s: &str) -> Option<Addr> {
    let j: Jid = s.parse().ok()?;
    let lid = match j.server {
        Server::Lid => true,
        Server::Pn => false,
        _ => return None,
    };
    Some(Addr {
        user: j.user.to_string(),
        device: j.device,
        lid,
    })
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The server's `<ack class id from>` of a client stanza (callers add `t`, `type`…).
pub(crate) fn ack(class: &str, id: &str, from: &str) -> NodeBuilder {
    NodeBuilder::new("ack")
        .attr("class", class)
        .attr("id", id)
        .attr("from", from)
}

/// `<iq from="s.whatsapp.net" id type="result">children</iq>`.
pub(crate) fn iq_result(id: &str, children: Vec<Node>) -> Node {
    let b = NodeBuilder::new("iq")
        .attr("from", SERVER)
        .attr("id", id)
        .attr("type", "result");
    if children.is_empty() {
        b.build()
    } else {
        b.children(children).build()
    }
}

pub(crate) fn iq_error(id: &str, code: u16, text: &str) -> Node {
    NodeBuilder::new("iq")
        .attr("from", SERVER)
        .attr("id", id)
        .attr("type", "error")
        .children([NodeBuilder::new("error")
            .attr("code", code.to_string())
            .attr("text", text)
            .build()])
        .build()
}

/// A random hex id for server-originated stanzas.
pub(crate) fn random_hex(bytes: usize) -> String {
    use rand::Rng as _;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode_upper(buf)
}
