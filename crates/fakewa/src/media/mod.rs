//! fakewa's media server: an HTTPS listener (own CA, see `tls`) that stores uploaded blobs and serves them
//! back, as WhatsApp's CDN does. whatsapp-rust builds every media URL as `https://{host}{path}` with the
//! host from the `w:m` `<media_conn>` answer (`stanza::media_conn`), so this must speak TLS even when the
//! chat socket is plain `ws://`.
//!
//! - `tls`: the persisted media CA and the listener's rustls configuration.
//! - `listener`: TLS accept loop feeding `axum::serve`.
//! - `http`: upload (`POST /mms/{kind}/{token}`) and download (`GET {direct_path}`).
//! - `store`: content-addressed blobs, in memory and in `<data-dir>/media/`.
//! - `client`: an HTTP client for whatsapp-rust that trusts the media CA (the virtual phones use it).

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::{FakeWaConfig, FakeWaError};

pub(crate) mod client;
mod http;
mod listener;
pub(crate) mod store;
pub(crate) mod tls;

/// How many media auth tokens are remembered (older ones are answered 401; the client refreshes).
const MAX_AUTHS: usize = 4096;

#[derive(Default)]
struct Auths {
    order: VecDeque<String>,
    set: HashSet<String>,
}

pub(crate) struct Media {
    pub addr: SocketAddr,
    pub tls: tls::MediaTls,
    pub store: store::BlobStore,
    auths: Mutex<Auths>,
}

impl Media {
    /// Loads the CA, binds the TCP listener (served later by [`serve`]).
    pub async fn bind(config: &FakeWaConfig) -> Result<(Media, TcpListener), FakeWaError> {
        let tls = tls::MediaTls::load_or_create(config.data_dir.as_deref())?;
        let tcp = TcpListener::bind(config.media_listen).await?;
        let media = Media {
            addr: tcp.local_addr()?,
            tls,
            store: store::BlobStore::new(config.data_dir.clone()),
            auths: Mutex::new(Auths::default()),
        };
        Ok((media, tcp))
    }

    /// `host:port` as `<media_conn><host hostname>` advertises it.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// A new media auth token (handed out by `<media_conn>`).
    pub fn issue_auth(&self) -> String {
        let token = crate::stanza::util::random_hex(24);
        let mut a = self.auths.lock().unwrap_or_else(|p| p.into_inner());
        a.set.insert(token.clone());
        a.order.push_back(token.clone());
        while a.order.len() > MAX_AUTHS {
            if let Some(old) = a.order.pop_front() {
                a.set.remove(&old);
            }
        }
        token
    }

    pub fn auth_ok(&self, token: &str) -> bool {
        let a = self.auths.lock().unwrap_or_else(|p| p.into_inner());
        a.set.contains(token)
    }
}

/// Serves the media routes on `tcp` over TLS until `token` is cancelled.
pub(crate) fn serve(
    media: Arc<Media>,
    tcp: TcpListener,
    token: CancellationToken,
    tracker: &TaskTracker,
) -> Result<(), FakeWaError> {
    let config = media.tls.server_config.clone();
    let listener = listener::TlsListener::spawn(tcp, config, token.clone(), tracker)?;
    let app = http::app(media);
    tracker.spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(token.cancelled_owned());
        if let Err(e) = serve.await {
            tracing::error!("fakewa media listener stopped: {e}");
        }
    });
    Ok(())
}
