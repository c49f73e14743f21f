//! QR pairing: `<pair-device>` refs to a registration connection, the phone's scan (ADV identity signed
//! with the account key, HMAC'd with the companion's adv secret) as `<pair-success>`, the companion's
//! `<pair-device-sign>`, the `515` that sends it to log in, and the phone's app-state key share.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{KeyInit as _, Mac as _};
use tokio::sync::oneshot;
use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;
use waproto::buffa::Message as _;
use waproto::whatsapp as wa;

use super::util::{self, SERVER, attr};
use crate::certs::pub32;
use crate::conn::Ctx;
use crate::state::{DeviceRec, Out, SignWait};
use crate::{FakeWaError, Shared};

const PAIR_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) fn pair_device_node() -> Node {
    let refs: Vec<Node> = (0..6)
        .map(|_| {
            NodeBuilder::new("ref")
                .bytes(format!("2@{}", util::random_hex(12)).into_bytes())
                .build()
        })
        .collect();
    NodeBuilder::new("iq")
        .attr("from", SERVER)
        .attr("id", format!("pd-{}", util::random_hex(4)))
        .attr("type", "set")
        .attr("xmlns", "md")
        .children([NodeBuilder::new("pair-device").children(refs).build()])
        .build()
}

/// The fields of a QR code: `ref,noise,identity,adv_secret[,client_type]`, bare or behind a URL (`…#…`).
pub(crate) struct Qr {
    pub noise_pub: [u8; 32],
    pub identity_pub: [u8; 32],
    pub adv_secret: [u8; 32],
}

pub(crate) fn parse_qr(qr: &str) -> Result<Qr, FakeWaError> {
    let qr = qr.trim();
    let body = qr.rsplit_once('#').map(|(_, b)| b).unwrap_or(qr);
    let fields: Vec<&str> = body.split(',').collect();
    if fields.len() < 4 {
        return Err(FakeWaError::BadRequest(
            "a QR code has at least 4 comma-separated fields".into(),
        ));
    }
    let key = |i: usize| -> Result<[u8; 32], FakeWaError> {
        let raw = B64
            .decode(fields[i].trim())
            .map_err(|e| FakeWaError::BadRequest(format!("QR field {i}: {e}")))?;
        raw.try_into()
            .map_err(|_| FakeWaError::BadRequest(format!("QR field {i} is not 32 bytes")))
    };
    Ok(Qr {
        noise_pub: key(1)?,
        identity_pub: key(2)?,
        adv_secret: key(3)?,
    })
}

/// The phone of `number` scans `qr`. Returns once the companion answered with `<pair-device-sign>`.
pub(crate) async fn scan_qr(
    shared: &Arc<Shared>,
    number: &str,
    qr: &str,
) -> Result<(), FakeWaError> {
    let qr = parse_qr(qr)?;
    let done = begin_pair_success(shared, qr.noise_pub, number, qr.identity_pub, qr.adv_secret)?;
    finish(shared, number, done).await
}

pub(crate) async fn finish(
    shared: &Arc<Shared>,
    number: &str,
    done: oneshot::Receiver<Result<u16, String>>,
) -> Result<(), FakeWaError> {
    let device = match tokio::time::timeout(PAIR_TIMEOUT, done).await {
        Ok(Ok(Ok(device))) => device,
        Ok(Ok(Err(e))) => return Err(FakeWaError::Pairing(e)),
        Ok(Err(_)) => {
            return Err(FakeWaError::Pairing(
                "the registration connection closed".into(),
            ));
        }
        Err(_) => return Err(FakeWaError::Timeout("waiting for pair-device-sign")),
    };
    if shared.config.share_app_state_key
        && let Ok(phone) = crate::phone::get(shared, number)
    {
        let s = shared.clone();
        shared
            .tracker
            .spawn(async move { phone.share_app_state_key(&s, device).await });
    }
    Ok(())
}

/// Signs a new companion's identity for the account `number` and sends `<pair-success>` on its
/// registration connection (found by its Noise key).
pub(crate) fn begin_pair_success(
    shared: &Shared,
    noise_pub: [u8; 32],
    number: &str,
    identity_pub: [u8; 32],
    adv_secret: [u8; 32],
) -> Result<oneshot::Receiver<Result<u16, String>>, FakeWaError> {
    let mut st = shared.state();
    if !st.pending.contains_key(&noise_pub) {
        return Err(FakeWaError::NoPendingQr);
    }
    let acc = st
        .accounts
        .get_mut(number)
        .ok_or_else(|| FakeWaError::UnknownPhone(number.to_string()))?;
    let device = acc.next_device;
    acc.next_device += 1;
    let key_index = acc.next_key_index;
    acc.next_key_index += 1;
    let lid = acc.lid.clone();
    let details = wa::ADVDeviceIdentity {
        raw_id: Some(acc.raw_id),
        timestamp: Some(util::now() as u64),
        key_index: Some(key_index),
        account_type: Some(wa::ADVEncryptionType::E2EE),
        device_type: Some(wa::ADVEncryptionType::E2EE),
    }
    .encode_to_vec();
    let mut msg = vec![6u8, 0];
    msg.extend_from_slice(&details);
    msg.extend_from_slice(&identity_pub);
    let signature = acc
        .key
        .private_key
        .calculate_signature(&msg, &mut rand::rng())
        .map_err(|e| FakeWaError::Crypto(e.to_string()))?;
    let signed = wa::ADVSignedDeviceIdentity {
        details: Some(details),
        account_signature_key: Some(pub32(&acc.key).to_vec()),
        account_signature: Some(signature.to_vec()),
        ..Default::default()
    }
    .encode_to_vec();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&adv_secret)
        .map_err(|e| FakeWaError::Crypto(e.to_string()))?;
    mac.update(&signed);
    let container = wa::ADVSignedDeviceIdentityHMAC {
        details: Some(signed),
        hmac: Some(mac.finalize().into_bytes().to_vec()),
        ..Default::default()
    }
    .encode_to_vec();
    let id = format!("ps-{}", util::random_hex(4));
    let node = NodeBuilder::new("iq")
        .attr("from", SERVER)
        .attr("id", id.clone())
        .attr("type", "set")
        .attr("xmlns", "md")
        .children([NodeBuilder::new("pair-success")
            .children([
                NodeBuilder::new("device-identity").bytes(container).build(),
                NodeBuilder::new("platform").attr("name", "android").build(),
                NodeBuilder::new("device")
                    .attr("jid", util::jid(number, device, SERVER))
                    .attr("lid", util::jid(&lid, device, "lid"))
                    .build(),
            ])
            .build()])
        .build();
    let (tx, rx) = oneshot::channel();
    let pending = st
        .pending
        .get_mut(&noise_pub)
        .ok_or(FakeWaError::NoPendingQr)?;
    pending.keys.identity = identity_pub.to_vec();
    pending.signing = Some((
        id,
        SignWait {
            pn: number.to_string(),
            device,
            key_index,
            done: tx,
        },
    ));
    let _ = pending.tx.send(Out::Node(node));
    tracing::info!(%number, device, "pair-success sent");
    Ok(rx)
}

/// A `result`/`error` IQ from the client: the answer to our `<pair-success>` carries `<pair-device-sign>`.
pub(crate) fn on_iq_response(ctx: &mut Ctx, node: &Node) {
    let Some(id) = attr(node, "id") else { return };
    let mut st = ctx.shared.state();
    let Some(pending) = st.pending.get_mut(&ctx.noise_pub) else {
        return;
    };
    if pending.signing.as_ref().is_none_or(|(sid, _)| *sid != id) {
        return;
    }
    let Some((_, wait)) = pending.signing.take() else {
        return;
    };
    let adv = node
        .get_optional_child("pair-device-sign")
        .and_then(|s| s.get_optional_child("device-identity"))
        .and_then(util::content)
        .map(<[u8]>::to_vec);
    let Some(adv) = adv else {
        let _ = wait.done.send(Err(format!(
            "pairing refused by the client: {}",
            wacore::xml::DisplayableNode(node)
        )));
        return;
    };
    let Some(pending) = st.pending.remove(&ctx.noise_pub) else {
        return;
    };
    let rec = DeviceRec {
        adv: Some(adv),
        ..pending.keys
    };
    st.devices.insert((wait.pn.clone(), wait.device), rec);
    st.removed.remove(&ctx.noise_pub);
    if let Some(acc) = st.accounts.get_mut(&wait.pn) {
        acc.companions.insert(wait.device, wait.key_index);
        if let Some(name) = &pending.push_name {
            st.names
                .entry(name.clone())
                .or_insert_with(|| wait.pn.clone());
        }
    }
    super::devices::notify_change(&mut st, &wait.pn, wait.device, wait.key_index, "add");
    drop(st);
    tracing::info!(pn = %wait.pn, device = wait.device, "companion linked");
    // The client reconnects at once on 515 and logs in with its new identity.
    let tx = ctx.tx.clone();
    ctx.shared.tracker.spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let err = NodeBuilder::new("stream:error").attr("code", "515").build();
        let _ = tx.send(Out::Close(Some(err)));
    });
    let _ = wait.done.send(Ok(wait.device));
}

/// `xmlns="md"` IQs from clients: pairing by code and a companion logging itself out.
pub(crate) fn handle_md(ctx: &mut Ctx, node: &Node, id: &str) {
    if let Some(reg) = node.get_optional_child("link_code_companion_reg") {
        super::paircode::handle(ctx, node, reg, id);
        return;
    }
    if node.get_optional_child("remove-companion-device").is_some() {
        ctx.send(util::iq_result(id, vec![]));
        if let Some((pn, device)) = ctx.device.clone() {
            let mut st = ctx.shared.state();
            let key_index = st
                .accounts
                .get(&pn)
                .and_then(|a| a.companions.get(&device).copied());
            if let Some(ki) = key_index {
                super::devices::remove_device(&mut st, &pn, device, ki);
            }
        }
        return;
    }
    ctx.send(util::iq_result(id, vec![]));
}
