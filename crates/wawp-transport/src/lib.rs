//! The WebSocket transport to WhatsApp: whatsapp-rust's own (`from_websocket`, its TLS connector
//! and `Origin`), dialled with `TCP_NODELAY`.
//!
//! whatsapp-rust's default factory leaves Nagle's algorithm on. A client sends small frames (acks,
//! receipts, messages) back to back; with Nagle, a frame written while an earlier one is still
//! unacknowledged waits for the server's delayed ACK, up to 40 ms. The same stall on fakewa's side
//! made a delivery take 40 ms instead of 3 ms as soon as a session got ~100 messages a second, and
//! at fakewa's virtual phones (which dial fakewa like any client) it added ~25 ms to every message
//! a phone sent more often than every 40 ms.
//!
//! Every whatsapp-rust client of the project dials through [`NoDelayTransportFactory`]: wawp's
//! sessions, fakewa's virtual phones and test companions, and the benches' clients.

use std::sync::Arc;

use whatsapp_rust::transport::{
    Connector, Transport, TransportEvent, TransportFactory, default_tls_connector, from_websocket,
};

/// The URL given to [`NoDelayTransportFactory::new`] does not parse.
#[derive(Debug, thiserror::Error)]
#[error("bad WhatsApp URL {url}: {reason}")]
pub struct BadUrl {
    pub url: String,
    pub reason: String,
}

/// whatsapp-rust's WebSocket transport factory with `TCP_NODELAY` on the dialled socket.
pub struct NoDelayTransportFactory {
    url: String,
    uri: http::Uri,
    connector: Connector,
}

impl NoDelayTransportFactory {
    /// A factory dialling `url` (`ws://…` or `wss://…`, TLS with whatsapp-rust's connector).
    pub fn new(url: &str) -> Result<Self, BadUrl> {
        let uri: http::Uri = url.parse().map_err(|e: http::uri::InvalidUri| BadUrl {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
        Ok(NoDelayTransportFactory {
            url: url.to_string(),
            uri,
            connector: default_tls_connector(),
        })
    }
}

#[async_trait::async_trait]
impl TransportFactory for NoDelayTransportFactory {
    async fn create_transport(
        &self,
    ) -> Result<(Arc<dyn Transport>, async_channel::Receiver<TransportEvent>), anyhow::Error> {
        let host = self
            .uri
            .host()
            .ok_or_else(|| anyhow::anyhow!("no host in {}", self.url))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let tls = match self.uri.scheme_str() {
            Some("wss") => true,
            Some("ws") => false,
            other => anyhow::bail!("unsupported scheme {other:?} in {}", self.url),
        };
        let port = self.uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        tracing::debug!(url = %self.url, "dialling WhatsApp");
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
        tcp.set_nodelay(true)?;
        let stream = if tls {
            self.connector.wrap(&host, tcp).await?
        } else {
            Connector::Plain.wrap(&host, tcp).await?
        };
        let builder = tokio_websockets::ClientBuilder::from_uri(self.uri.clone())
            // WhatsApp Web's origin, as the default factory sends it (also to fakewa: it names the
            // endpoint the peer stands in for, not the host dialled).
            .add_header(
                http::header::ORIGIN,
                http::HeaderValue::from_static(wacore::net::WHATSAPP_WEB_ORIGIN),
            )?;
        let (ws, _) = builder.connect_on(stream).await?;
        Ok(from_websocket(ws))
    }
}
