//! fakewa's own certificate authority: a root key, an intermediate key and the Noise static key, with the
//! XEdDSA-signed `CertChain` the server sends in every `ServerHello`.
//!
//! With a data directory the three private keys are kept in `<data-dir>/fakewa-keys.json`, so a restarted
//! fakewa keeps its identity and clients that cached the leaf key can resume with Noise IK.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use wacore::libsignal::protocol::{KeyPair, PrivateKey};
use waproto::buffa::{Message as _, MessageField};
use waproto::whatsapp as wa;

use crate::FakeWaError;

/// Validity of both certificates: 2023-11-14 .. 2033-05-18, so IK stays usable for years.
pub const NOT_BEFORE: u64 = 1_700_000_000;
pub const NOT_AFTER: u64 = 2_000_000_000;
const INTERMEDIATE_SERIAL: u32 = 1;
const LEAF_SERIAL: u32 = 2;
const KEYS_FILE: &str = "fakewa-keys.json";

pub(crate) struct Certs {
    pub root: KeyPair,
    pub static_key: KeyPair,
    /// Encoded `wa::CertChain`.
    pub chain: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    root: String,
    intermediate: String,
    #[serde(rename = "static")]
    static_key: String,
}

impl Certs {
    /// Loads the keys from `data_dir` (or creates and saves them); with no data dir, fresh keys.
    pub fn load_or_create(data_dir: Option<&Path>) -> Result<Self, FakeWaError> {
        let path = data_dir.map(|d| d.join(KEYS_FILE));
        let (root, intermediate, static_key) = match &path {
            Some(p) if p.exists() => {
                let text = std::fs::read_to_string(p)?;
                let file: KeyFile = serde_json::from_str(&text)
                    .map_err(|e| FakeWaError::Keys(format!("{}: {e}", p.display())))?;
                (
                    key_from_b64(&file.root)?,
                    key_from_b64(&file.intermediate)?,
                    key_from_b64(&file.static_key)?,
                )
            }
            _ => {
                let mut rng = rand::rng();
                let keys = (
                    KeyPair::generate(&mut rng),
                    KeyPair::generate(&mut rng),
                    KeyPair::generate(&mut rng),
                );
                if let (Some(p), Some(dir)) = (&path, data_dir) {
                    std::fs::create_dir_all(dir)?;
                    let file = KeyFile {
                        root: B64.encode(keys.0.private_key.serialize()),
                        intermediate: B64.encode(keys.1.private_key.serialize()),
                        static_key: B64.encode(keys.2.private_key.serialize()),
                    };
                    let text = serde_json::to_string_pretty(&file)
                        .map_err(|e| FakeWaError::Keys(e.to_string()))?;
                    std::fs::write(p, text)?;
                }
                keys
            }
        };
        let chain = build_chain(&root, &intermediate, &static_key)?;
        Ok(Self {
            root,
            static_key,
            chain,
        })
    }

    pub fn root_public(&self) -> [u8; 32] {
        pub32(&self.root)
    }

    pub fn static_public(&self) -> [u8; 32] {
        pub32(&self.static_key)
    }
}

/// The raw 32-byte Curve25519 public key of a key pair.
pub(crate) fn pub32(kp: &KeyPair) -> [u8; 32] {
    let mut out = [0u8; 32];
    let bytes = kp.public_key.public_key_bytes();
    let n = bytes.len().min(32);
    out[..n].copy_from_slice(&bytes[..n]);
    out
}

pub(crate) fn key_from_b64(s: &str) -> Result<KeyPair, FakeWaError> {
    let bytes = B64
        .decode(s)
        .map_err(|e| FakeWaError::Keys(format!("bad base64: {e}")))?;
    let private = PrivateKey::deserialize(&bytes).map_err(|e| FakeWaError::Keys(e.to_string()))?;
    let public = private
        .public_key()
        .map_err(|e| FakeWaError::Keys(e.to_string()))?;
    Ok(KeyPair::new(public, private))
}

fn build_chain(
    root: &KeyPair,
    intermediate: &KeyPair,
    leaf: &KeyPair,
) -> Result<Vec<u8>, FakeWaError> {
    let intermediate_cert = certificate(root, INTERMEDIATE_SERIAL, 0, intermediate)?;
    let leaf_cert = certificate(intermediate, LEAF_SERIAL, INTERMEDIATE_SERIAL, leaf)?;
    let chain = wa::CertChain {
        leaf: MessageField::some(leaf_cert),
        intermediate: MessageField::some(intermediate_cert),
    };
    Ok(chain.encode_to_vec())
}

fn certificate(
    issuer: &KeyPair,
    serial: u32,
    issuer_serial: u32,
    subject: &KeyPair,
) -> Result<wa::cert_chain::NoiseCertificate, FakeWaError> {
    let details = wa::cert_chain::noise_certificate::Details {
        serial: Some(serial),
        issuer_serial: Some(issuer_serial),
        key: Some(pub32(subject).to_vec()),
        not_before: Some(NOT_BEFORE),
        not_after: Some(NOT_AFTER),
    }
    .encode_to_vec();
    let signature = issuer
        .private_key
        .calculate_signature(&details, &mut rand::rng())
        .map_err(|e| FakeWaError::Crypto(e.to_string()))?;
    Ok(wa::cert_chain::NoiseCertificate {
        details: Some(details),
        signature: Some(signature.to_vec()),
    })
}
