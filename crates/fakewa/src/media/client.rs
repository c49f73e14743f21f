//! An HTTP client for whatsapp-rust that trusts fakewa's media CA (and nothing else), with the ureq
//! client's own low-memory settings (`with_agent` would otherwise drop them).

use whatsapp_rust::http::UreqHttpClient;

use crate::FakeWaError;

const BUFFER_BYTES: usize = 16 * 1024;
const MAX_IDLE_CONNECTIONS: usize = 3;
const MAX_IDLE_PER_HOST: usize = 2;

pub(crate) fn http_client(ca_pem: &str) -> Result<UreqHttpClient, FakeWaError> {
    use ureq::tls::{Certificate, RootCerts, TlsConfig};
    let ca = Certificate::from_pem(ca_pem.as_bytes())
        .map_err(|e| FakeWaError::Tls(format!("media CA: {e}")))?;
    let tls = TlsConfig::builder()
        .root_certs(RootCerts::new_with_certs(&[ca]))
        .build();
    let config = ureq::config::Config::builder()
        .input_buffer_size(BUFFER_BYTES)
        .output_buffer_size(BUFFER_BYTES)
        .max_idle_connections(MAX_IDLE_CONNECTIONS)
        .max_idle_connections_per_host(MAX_IDLE_PER_HOST)
        .tls_config(tls)
        .build();
    Ok(UreqHttpClient::with_agent(config.into()))
}
