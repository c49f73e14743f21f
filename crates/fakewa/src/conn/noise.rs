//! The Noise responder: XX for new connections, IK for clients that cached our leaf key, and XXfallback when
//! an IK hello cannot be decrypted (e.g. the client cached another server's key).
//!
//! `NoiseHandshake::finish` returns the ciphers from the initiator's view (write, read); the responder swaps.

use wacore::libsignal::protocol::KeyPair;
use wacore::noise::{NoiseCipher, NoiseHandshake};
use wacore_binary::consts::{
    NOISE_PATTERN_IK, NOISE_PATTERN_XX, NOISE_PATTERN_XXFALLBACK, WA_CONN_HEADER,
};
use waproto::buffa::{Message as _, MessageField};
use waproto::whatsapp as wa;

use super::wire::{Wire, WireError};
use crate::certs::{Certs, pub32};

/// The outcome of a finished handshake.
pub(crate) struct Session {
    pub read: NoiseCipher,
    pub write: NoiseCipher,
    pub payload: wa::ClientPayload,
    pub client_static: [u8; 32],
    pub pattern: &'static str,
}

fn noise_err(e: impl std::fmt::Display) -> WireError {
    WireError::Noise(e.to_string())
}

fn arr32(v: &[u8]) -> Result<[u8; 32], WireError> {
    v.try_into()
        .map_err(|_| WireError::Protocol(format!("expected 32 bytes, got {}", v.len())))
}

/// Runs the responder side of the handshake on a fresh connection.
pub(crate) async fn respond(wire: &mut Wire, certs: &Certs) -> Result<Session, WireError> {
    let frame = wire
        .next_frame()
        .await?
        .ok_or_else(|| WireError::Protocol("closed before hello".into()))?;
    let msg = wa::HandshakeMessage::decode_from_slice(&frame).map_err(noise_err)?;
    let hello = msg
        .client_hello
        .into_option()
        .ok_or_else(|| WireError::Protocol("no client_hello".into()))?;
    let client_eph = arr32(hello.ephemeral.as_deref().unwrap_or_default())?;
    if let (Some(stat), Some(payload)) = (&hello.r#static, &hello.payload) {
        if let Some(session) = try_ik(wire, certs, &client_eph, stat, payload).await? {
            return Ok(session);
        }
        return xx(
            wire,
            certs,
            &client_eph,
            NOISE_PATTERN_XXFALLBACK,
            "XXfallback",
        )
        .await;
    }
    xx(wire, certs, &client_eph, NOISE_PATTERN_XX, "XX").await
}

/// IK accept. `Ok(None)` when the client's hello was not made for our static key: the caller falls back.
async fn try_ik(
    wire: &mut Wire,
    certs: &Certs,
    client_eph: &[u8; 32],
    enc_static: &[u8],
    enc_payload: &[u8],
) -> Result<Option<Session>, WireError> {
    let server_static = &certs.static_key;
    let mut noise = NoiseHandshake::new(NOISE_PATTERN_IK, &WA_CONN_HEADER).map_err(noise_err)?;
    noise.authenticate(&certs.static_public());
    noise.authenticate(client_eph);
    noise
        .mix_shared_secret(server_static.private_key.serialize(), client_eph)
        .map_err(noise_err)?;
    let Ok(client_static) = noise.decrypt(enc_static) else {
        return Ok(None);
    };
    let client_static = arr32(&client_static)?;
    noise
        .mix_shared_secret(server_static.private_key.serialize(), &client_static)
        .map_err(noise_err)?;
    let Ok(payload) = noise.decrypt(enc_payload) else {
        return Ok(None);
    };
    let payload = wa::ClientPayload::decode_from_slice(&payload).map_err(noise_err)?;
    let eph = KeyPair::generate(&mut rand::rng());
    let eph_pub = pub32(&eph);
    noise.authenticate(&eph_pub);
    noise
        .mix_shared_secret(eph.private_key.serialize(), client_eph)
        .map_err(noise_err)?;
    noise
        .mix_shared_secret(eph.private_key.serialize(), &client_static)
        .map_err(noise_err)?;
    let enc_cert = noise.encrypt(&certs.chain).map_err(noise_err)?;
    send_server_hello(wire, eph_pub.to_vec(), None, enc_cert).await?;
    let (initiator_write, initiator_read) = noise.finish().map_err(noise_err)?;
    Ok(Some(Session {
        read: initiator_write,
        write: initiator_read,
        payload,
        client_static,
        pattern: "IK",
    }))
}

async fn xx(
    wire: &mut Wire,
    certs: &Certs,
    client_eph: &[u8; 32],
    pattern_name: &str,
    pattern: &'static str,
) -> Result<Session, WireError> {
    let mut noise = NoiseHandshake::new(pattern_name, &WA_CONN_HEADER).map_err(noise_err)?;
    noise.authenticate(client_eph);
    let eph = KeyPair::generate(&mut rand::rng());
    let eph_pub = pub32(&eph);
    noise.authenticate(&eph_pub);
    noise
        .mix_shared_secret(eph.private_key.serialize(), client_eph)
        .map_err(noise_err)?;
    let enc_static = noise.encrypt(&certs.static_public()).map_err(noise_err)?;
    noise
        .mix_shared_secret(certs.static_key.private_key.serialize(), client_eph)
        .map_err(noise_err)?;
    let enc_cert = noise.encrypt(&certs.chain).map_err(noise_err)?;
    send_server_hello(wire, eph_pub.to_vec(), Some(enc_static), enc_cert).await?;

    let frame = wire
        .next_frame()
        .await?
        .ok_or_else(|| WireError::Protocol("closed before client_finish".into()))?;
    let msg = wa::HandshakeMessage::decode_from_slice(&frame).map_err(noise_err)?;
    let finish = msg
        .client_finish
        .into_option()
        .ok_or_else(|| WireError::Protocol("no client_finish".into()))?;
    let client_static = noise
        .decrypt(finish.r#static.as_deref().unwrap_or_default())
        .map_err(noise_err)?;
    let client_static = arr32(&client_static)?;
    noise
        .mix_shared_secret(eph.private_key.serialize(), &client_static)
        .map_err(noise_err)?;
    let payload = noise
        .decrypt(finish.payload.as_deref().unwrap_or_default())
        .map_err(noise_err)?;
    let payload = wa::ClientPayload::decode_from_slice(&payload).map_err(noise_err)?;
    let (initiator_write, initiator_read) = noise.finish().map_err(noise_err)?;
    Ok(Session {
        read: initiator_write,
        write: initiator_read,
        payload,
        client_static,
        pattern,
    })
}

async fn send_server_hello(
    wire: &mut Wire,
    ephemeral: Vec<u8>,
    enc_static: Option<Vec<u8>>,
    payload: Vec<u8>,
) -> Result<(), WireError> {
    let hello = wa::HandshakeMessage {
        server_hello: MessageField::some(wa::handshake_message::ServerHello {
            ephemeral: Some(ephemeral),
            r#static: enc_static,
            payload: Some(payload),
            ..Default::default()
        }),
        ..Default::default()
    };
    wire.send_frame(&hello.encode_to_vec()).await
}
