//! The certificate rule (ARCHITECTURE.md "Certificates, the sandbox and the production binary").
//!
//! whatsapp-rust checks the Noise certificate chain against WhatsApp's root key unless it was built
//! with `danger-skip-cert-chain-verify` (a compile-time feature, on only in tests and in wawp's
//! `sandbox` build). We do not trust the feature flags alone: [`verifies_certificate_chain`] asks the
//! library itself, with a structurally valid chain that carries no signature. A build that does not
//! verify may only talk to loopback (fakewa), never to the real network.

use std::net::IpAddr;

use waproto::buffa::{Message, MessageField};
use waproto::whatsapp::CertChain;
use waproto::whatsapp::cert_chain::NoiseCertificate;
use waproto::whatsapp::cert_chain::noise_certificate::Details;

use crate::EngineError;

/// True when this build's WhatsApp library rejects a certificate chain that is not signed by
/// WhatsApp's root key (the production behaviour).
pub fn verifies_certificate_chain() -> bool {
    let key = [7u8; 32];
    let details = |serial: u32, issuer: u32, key: &[u8]| Details {
        serial: Some(serial),
        issuer_serial: Some(issuer),
        key: Some(key.to_vec()),
        not_before: Some(1_700_000_000),
        not_after: Some(2_000_000_000),
    };
    let cert = |d: Details| NoiseCertificate {
        details: Some(d.encode_to_vec()),
        signature: Some(vec![0u8; 64]),
    };
    let chain = CertChain {
        intermediate: MessageField::some(cert(details(1, 0, &[9u8; 32]))),
        leaf: MessageField::some(cert(details(2, 1, &key))),
    };
    wacore::handshake::HandshakeUtils::verify_server_cert(&chain.encode_to_vec(), &key).is_err()
}

/// Whether `url` points at this machine (`localhost`, 127.0.0.0/8, ::1).
pub fn is_loopback_url(url: &str) -> bool {
    let Some(rest) = url.split_once("://").map(|(_, r)| r) else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority
        .rsplit_once('@')
        .map(|(_, h)| h)
        .unwrap_or(authority);
    let host = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host.split(':').next().unwrap_or("")
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Refuses a non-loopback WhatsApp URL in a build that does not verify WhatsApp's certificates.
pub fn check_url(url: &str) -> Result<(), EngineError> {
    if !(url.starts_with("ws://") || url.starts_with("wss://")) {
        return Err(EngineError::UrlRefused(format!(
            "WhatsApp URL {url:?} must start with ws:// or wss://"
        )));
    }
    if !verifies_certificate_chain() && !is_loopback_url(url) {
        return Err(EngineError::UrlRefused(format!(
            "this is a sandbox build: it accepts WhatsApp certificate chains that WhatsApp did not sign, \
             so it only connects to a fake network on loopback (127.0.0.1, ::1, localhost), not to {url:?}; \
             use a default build of wawp for the real WhatsApp network"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls_are_recognised() {
        for ok in [
            "ws://127.0.0.1:1234/ws/chat",
            "wss://localhost/ws/chat",
            "ws://[::1]:9/x",
            "ws://127.9.9.9",
        ] {
            assert!(is_loopback_url(ok), "{ok}");
        }
        for bad in [
            "wss://web.whatsapp.com/ws/chat",
            "ws://10.0.0.1/ws",
            "ws://127.0.0.1.evil.com/",
            "nonsense",
        ] {
            assert!(!is_loopback_url(bad), "{bad}");
        }
    }

    #[test]
    fn non_websocket_urls_are_refused() {
        assert!(check_url("http://127.0.0.1/ws/chat").is_err());
    }
}
