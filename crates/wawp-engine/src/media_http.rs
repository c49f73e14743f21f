//! The HTTP client whatsapp-rust uses for media (upload, download, media hosts).
//!
//! whatsapp-rust builds media URLs as `https://{host}…` itself, so a network that is not WhatsApp
//! (fakewa on loopback) must speak TLS with a certificate wawp can verify. With extra root
//! certificates (PEM) the client trusts exactly those; without, it is whatsapp-rust's default
//! client (webpki roots, WhatsApp's real CDN). TLS verification is never switched off.

use whatsapp_rust::http::UreqHttpClient;

use crate::EngineError;

/// The crate's own low-memory settings (whatsapp-rust-ureq-http-client `build_agent`), which a
/// custom agent would otherwise lose: 16 KiB buffers, 3 idle connections, 2 per host.
const BUFFER_BYTES: usize = 16 * 1024;
const MAX_IDLE_CONNECTIONS: usize = 3;
const MAX_IDLE_PER_HOST: usize = 2;

/// The media client: trusting `roots_pem` only when given, else the default.
pub(crate) fn client(roots_pem: Option<&str>) -> Result<UreqHttpClient, EngineError> {
    let Some(pem) = roots_pem else {
        return Ok(UreqHttpClient::new());
    };
    use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};
    let mut certs: Vec<Certificate<'static>> = Vec::new();
    for item in ureq::tls::parse_pem(pem.as_bytes()) {
        match item {
            Ok(PemItem::Certificate(cert)) => certs.push(cert),
            Ok(_) => {}
            Err(e) => {
                return Err(EngineError::Client(format!(
                    "media CA is not valid PEM: {e}"
                )));
            }
        }
    }
    if certs.is_empty() {
        return Err(EngineError::Client(
            "media CA holds no certificate".to_string(),
        ));
    }
    let tls = TlsConfig::builder()
        .root_certs(RootCerts::new_with_certs(&certs))
        .build();
    let agent: ureq::Agent = ureq::config::Config::builder()
        .tls_config(tls)
        .input_buffer_size(BUFFER_BYTES)
        .output_buffer_size(BUFFER_BYTES)
        .max_idle_connections(MAX_IDLE_CONNECTIONS)
        .max_idle_connections_per_host(MAX_IDLE_PER_HOST)
        .build()
        .into();
    Ok(UreqHttpClient::with_agent(agent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_pem_without_certificates() {
        assert!(client(Some("not a pem")).is_err());
        assert!(client(None).is_ok());
    }
}
