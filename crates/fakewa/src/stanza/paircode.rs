//! Pairing by 8-character code, primary side: `companion_hello` (answered with a pairing ref), the phone's
//! `primary_hello` once the code is entered, `companion_finish` (the key bundle from which the adv secret
//! is derived), then the same `<pair-success>` tail as the QR flow.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use wacore::libsignal::protocol::{KeyPair, PublicKey};
use wacore::pair_code::PairCodeUtils;
use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use super::util::{self, SERVER, attr, child_bytes};
use crate::certs::pub32;
use crate::conn::Ctx;
use crate::state::{LinkCode, Out};
use crate::{FakeWaError, Shared};

const FINISH_TIMEOUT: Duration = Duration::from_secs(30);

/// `<iq xmlns="md"><link_code_companion_reg stage=…>` from a registration connection.
pub(crate) fn handle(ctx: &mut Ctx, _iq: &Node, reg: &Node, id: &str) {
    let phone = attr(reg, "jid")
        .and_then(|j| util::parse_jid(&j))
        .map(|a| a.user)
        .unwrap_or_default();
    match attr(reg, "stage").as_deref() {
        Some("companion_hello") => {
            let pairing_ref = format!("2@{}", util::random_hex(12));
            ctx.shared.state().link_codes.insert(
                phone.clone(),
                LinkCode {
                    noise_pub: ctx.noise_pub,
                    wrapped_companion_eph: child_bytes(
                        reg,
                        "link_code_pairing_wrapped_companion_ephemeral_pub",
                    ),
                    pairing_ref: pairing_ref.clone(),
                    finish: None,
                },
            );
            tracing::info!(%phone, "pairing code requested");
            ctx.send(util::iq_result(
                id,
                vec![
                    NodeBuilder::new("link_code_companion_reg")
                        .children([NodeBuilder::new("link_code_pairing_ref")
                            .bytes(pairing_ref.into_bytes())
                            .build()])
                        .build(),
                ],
            ));
        }
        Some("companion_finish") => {
            ctx.send(util::iq_result(id, vec![]));
            let bundle = child_bytes(reg, "link_code_pairing_wrapped_key_bundle");
            let identity = child_bytes(reg, "companion_identity_public");
            let mut st = ctx.shared.state();
            if let Some(lc) = st.link_codes.get_mut(&phone)
                && let Some(tx) = lc.finish.take()
            {
                let _ = tx.send((bundle, identity));
            }
        }
        _ => ctx.send(util::iq_result(id, vec![])),
    }
}

fn crypto_err(e: impl std::fmt::Display) -> FakeWaError {
    FakeWaError::Crypto(e.to_string())
}

/// The phone `number` confirms `code`; returns once the companion is linked.
pub(crate) async fn enter_link_code(
    shared: &Arc<Shared>,
    number: &str,
    code: &str,
) -> Result<(), FakeWaError> {
    let code: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if code.len() != 8 {
        return Err(FakeWaError::BadRequest(
            "a pairing code has 8 characters".into(),
        ));
    }
    let (wrapped, noise_pub, pairing_ref, account_key) = {
        let st = shared.state();
        let lc = st
            .link_codes
            .get(number)
            .ok_or_else(|| FakeWaError::NoPendingCode(number.to_string()))?;
        let acc = st
            .accounts
            .get(number)
            .ok_or_else(|| FakeWaError::UnknownPhone(number.to_string()))?;
        (
            lc.wrapped_companion_eph.clone(),
            lc.noise_pub,
            lc.pairing_ref.clone(),
            acc.key.clone(),
        )
    };
    // PBKDF2 with 131 072 rounds, twice: keep it off the runtime threads.
    let code2 = code.clone();
    let (companion_eph, primary_eph, wrapped_primary) = tokio::task::spawn_blocking(move || {
        let companion_eph = PairCodeUtils::decrypt_primary_ephemeral_pub(&wrapped, &code2)
            .map_err(|e| FakeWaError::Pairing(format!("bad pairing code: {e}")))?;
        let primary_eph = KeyPair::generate(&mut rand::rng());
        let wrapped_primary = PairCodeUtils::encrypt_ephemeral_pub(&pub32(&primary_eph), &code2);
        Ok::<_, FakeWaError>((companion_eph, primary_eph, wrapped_primary))
    })
    .await
    .map_err(|e| FakeWaError::Pairing(e.to_string()))??;

    let (tx, rx) = oneshot::channel();
    {
        let mut st = shared.state();
        if let Some(lc) = st.link_codes.get_mut(number) {
            lc.finish = Some(tx);
        }
        let pending = st
            .pending
            .get(&noise_pub)
            .ok_or_else(|| FakeWaError::Pairing("the companion's connection closed".into()))?;
        let node = NodeBuilder::new("notification")
            .attr("from", SERVER)
            .attr("id", format!("lc-{}", util::random_hex(4)))
            .attr("t", util::now().to_string())
            .attr("type", "link_code_companion_reg")
            .children([NodeBuilder::new("link_code_companion_reg")
                .attr("stage", "primary_hello")
                .children([
                    NodeBuilder::new("link_code_pairing_ref")
                        .bytes(pairing_ref.into_bytes())
                        .build(),
                    NodeBuilder::new("link_code_pairing_wrapped_primary_ephemeral_pub")
                        .bytes(wrapped_primary.to_vec())
                        .build(),
                    NodeBuilder::new("primary_identity_pub")
                        .bytes(pub32(&account_key).to_vec())
                        .build(),
                ])
                .build()])
            .build();
        let _ = pending.tx.send(Out::Node(node));
    }
    let (bundle, companion_identity) = match tokio::time::timeout(FINISH_TIMEOUT, rx).await {
        Ok(Ok(v)) => v,
        _ => return Err(FakeWaError::Timeout("waiting for companion_finish")),
    };
    shared.state().link_codes.remove(number);

    if bundle.len() < 44 + 16 {
        return Err(FakeWaError::Pairing("key bundle too short".into()));
    }
    let companion_eph = PublicKey::from_djb_public_key_bytes(&companion_eph).map_err(crypto_err)?;
    let ephemeral_shared = primary_eph
        .private_key
        .calculate_agreement(&companion_eph)
        .map_err(crypto_err)?;
    let mut key = [0u8; 32];
    wacore::crypto::hkdf_sha256_into(
        &ephemeral_shared,
        Some(&bundle[..32]),
        b"link_code_pairing_key_bundle_encryption_key",
        &mut key,
    )
    .map_err(crypto_err)?;
    let nonce: [u8; 12] = bundle[32..44].try_into().map_err(crypto_err)?;
    let mut plain = Vec::new();
    wacore::libsignal::crypto::aes_256_gcm_decrypt(&key, &nonce, b"", &bundle[44..], &mut plain)
        .map_err(|e| FakeWaError::Pairing(format!("key bundle: {e:?}")))?;
    if plain.len() < 96 || plain[..32] != companion_identity[..] {
        return Err(FakeWaError::Pairing("key bundle does not match".into()));
    }
    let identity_pub: [u8; 32] = plain[..32].try_into().map_err(crypto_err)?;
    let companion_identity_key =
        PublicKey::from_djb_public_key_bytes(&identity_pub).map_err(crypto_err)?;
    let identity_shared = account_key
        .private_key
        .calculate_agreement(&companion_identity_key)
        .map_err(crypto_err)?;
    let mut ikm = Vec::with_capacity(96);
    ikm.extend_from_slice(&ephemeral_shared);
    ikm.extend_from_slice(&identity_shared);
    ikm.extend_from_slice(&plain[64..96]);
    let mut adv_secret = [0u8; 32];
    wacore::crypto::hkdf_sha256_into(&ikm, None, b"adv_secret", &mut adv_secret)
        .map_err(crypto_err)?;

    let done =
        super::pair::begin_pair_success(shared, noise_pub, number, identity_pub, adv_secret)?;
    super::pair::finish(shared, number, done).await
}
