//! The `wawp` binary's library: configuration, wiring and the server's life cycle. `main.rs` only
//! parses the command line; the tests call [`serve`] directly (two servers may run in one process).

pub mod config;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod telemetry;
pub mod token;

use std::future::Future;

use tokio::net::TcpListener;
use wawp_api::AppState;
use wawp_core::Core;
use wawp_store::Store;

pub use config::{Config, Overrides};

/// Opens the store named by the configuration (SQLite in `data_dir` unless `database_url` is set).
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    std::fs::create_dir_all(&config.data_dir)?;
    let store = match &config.database_url {
        Some(url) if !url.is_empty() => Store::open(url).await?,
        _ => Store::open_in_dir(&config.data_dir).await?,
    };
    Ok(store)
}

/// Runs the server on `listener` until `shutdown` resolves, then stops every session (keeping their
/// links, so they are restored at the next start) and returns.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let store = open_store(&config).await?;
    let core = Core::open(config.core()?, store).await?;
    if !wawp_core::verifies_certificates() {
        tracing::warn!(
            "this build does not verify WhatsApp's certificate chain (sandbox or test build): \
             it only connects to a WhatsApp network on loopback"
        );
    }
    let state = AppState::new(core.clone(), config.api());
    let app = wawp_api::app(state.clone());
    tracing::info!(address = %listener.local_addr()?, "wawp listening");

    let restore = {
        let core = core.clone();
        let state = state.clone();
        tokio::spawn(async move {
            match core.restore_sessions().await {
                Ok(n) => tracing::info!(sessions = n, "restored sessions started"),
                Err(e) => tracing::error!(error = %e, "cannot restore sessions"),
            }
            state.mark_ready();
        })
    };

    // A graceful stop waits for open responses: end the event streams first.
    let events = core.events().clone();
    // No Nagle: an answer goes out when it is written, not after the client's delayed ACK (up to
    // 40 ms once a keep-alive connection carries back-to-back requests).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY not set: {e}");
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            events.close_streams();
        })
        .await?;
    restore.abort();
    core.shutdown().await;
    core.store().close().await;
    Ok(())
}
