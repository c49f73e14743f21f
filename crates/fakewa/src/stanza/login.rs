//! The first thing after the handshake: a registration payload (a new client: send `<pair-device>`) or a
//! login payload (`<success>`, or `<failure reason="401">` for an unknown or unlinked device); then
//! `<iq xmlns="passive"><active/>` which flushes the device's queue and ends with `<ib><offline count>`.

use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;
use waproto::whatsapp as wa;

use super::util;
use crate::conn::Ctx;
use crate::state::{ConnRef, DeviceRec, Out, PendingReg};
use crate::{FakeWaError, Shared};

pub(crate) fn start(ctx: &mut Ctx, payload: &wa::ClientPayload) {
    match (payload.username, payload.device_pairing_data.as_option()) {
        (None, Some(reg)) => registration(ctx, payload, reg),
        (Some(user), _) => login(ctx, user.to_string(), payload.device.unwrap_or(0) as u16),
        (None, None) => ctx.close_with(Some(failure("401"))),
    }
}

fn registration(
    ctx: &mut Ctx,
    payload: &wa::ClientPayload,
    reg: &wa::client_payload::DevicePairingRegistrationData,
) {
    let keys = DeviceRec {
        noise_pub: Some(ctx.noise_pub),
        reg_id: reg.e_regid.clone().unwrap_or_default(),
        identity: reg.e_ident.clone().unwrap_or_default(),
        skey_id: reg.e_skey_id.clone().unwrap_or_default(),
        skey_val: reg.e_skey_val.clone().unwrap_or_default(),
        skey_sig: reg.e_skey_sig.clone().unwrap_or_default(),
        ..Default::default()
    };
    let push_name = payload.push_name.clone().filter(|n| !n.is_empty());
    tracing::debug!(conn = ctx.conn_id, ?push_name, "registration connection");
    ctx.shared.state().pending.insert(
        ctx.noise_pub,
        PendingReg {
            conn_id: ctx.conn_id,
            tx: ctx.tx.clone(),
            push_name,
            keys,
            signing: None,
        },
    );
    ctx.send(super::pair::pair_device_node());
}

fn login(ctx: &mut Ctx, pn: String, device: u16) {
    let st = ctx.shared.state();
    let dev = (pn.clone(), device);
    let known = st
        .devices
        .get(&dev)
        .is_some_and(|d| d.noise_pub.is_none_or(|k| k == ctx.noise_pub));
    if !known || st.removed.contains(&ctx.noise_pub) {
        tracing::info!(conn = ctx.conn_id, %pn, device, "login refused (401)");
        drop(st);
        ctx.close_with(Some(failure("401")));
        return;
    }
    let lid = st.device_jid(&pn, device, true);
    let old = st.mail.connect(
        &dev,
        ConnRef {
            id: ctx.conn_id,
            tx: ctx.tx.clone(),
            active: false,
        },
    );
    drop(st);
    if let Some(old) = old
        && old.id != ctx.conn_id
    {
        // A stale socket of the same device: close it quietly (no stream error, or it stops reconnecting).
        let _ = old.tx.send(Out::Close(None));
    }
    tracing::debug!(conn = ctx.conn_id, %pn, device, "logged in");
    ctx.device = Some(dev);
    ctx.send(
        NodeBuilder::new("success")
            .attr("t", util::now().to_string())
            .attr("lid", lid)
            .build(),
    );
}

/// `<iq xmlns="passive" type="set"><active/>|<passive/></iq>`.
pub(crate) fn on_passive(ctx: &mut Ctx, node: &Node, id: &str) {
    ctx.send(util::iq_result(id, vec![]));
    let Some(dev) = ctx.device.clone() else {
        return;
    };
    if node.get_optional_child("active").is_none() {
        ctx.shared.mail().set_passive(&dev);
        return;
    }
    let count = ctx.shared.mail().flush(&dev);
    tracing::debug!(conn = ctx.conn_id, pn = %dev.0, device = dev.1, count, "offline queue flushed");
    ctx.send(
        NodeBuilder::new("ib")
            .children([NodeBuilder::new("offline")
                .attr("count", count.to_string())
                .build()])
            .build(),
    );
}

/// Cleans the routing table after a socket closed.
pub(crate) fn disconnected(ctx: &Ctx) {
    let mut st = ctx.shared.state();
    if let Some(dev) = &ctx.device
        && st.mail.disconnect(dev, Some(ctx.conn_id)).is_some()
    {
        super::presence::device_gone(&mut st, &dev.0);
    }
    if st
        .pending
        .get(&ctx.noise_pub)
        .is_some_and(|p| p.conn_id == ctx.conn_id)
    {
        st.pending.remove(&ctx.noise_pub);
    }
}

/// Closes the socket of the device `jid` (PN or LID, with device suffix). `true` if it was connected.
pub(crate) fn drop_connection(shared: &Shared, jid: &str) -> Result<bool, FakeWaError> {
    let addr =
        util::parse_jid(jid).ok_or_else(|| FakeWaError::BadRequest(format!("bad jid {jid}")))?;
    let st = shared.state();
    let Some(pn) = st.pn_of(&addr.user, addr.lid) else {
        return Ok(false);
    };
    match st.mail.disconnect(&(pn, addr.device), None) {
        Some(conn) => Ok(conn.tx.send(Out::Close(None)).is_ok()),
        None => Ok(false),
    }
}

pub(crate) fn failure(reason: &str) -> Node {
    NodeBuilder::new("failure")
        .attr("reason", reason)
        .attr("location", "fakewa")
        .build()
}
