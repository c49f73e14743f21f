//! `fakewa --listen 127.0.0.1:PORT [--media-listen 127.0.0.1:PORT] [--data-dir DIR]`: runs a fake WhatsApp network until killed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use clap::Parser;
use fakewa::{FakeWa, FakeWaConfig};

#[derive(Parser)]
#[command(about = "A fake WhatsApp network speaking the WhatsApp Web protocol on loopback")]
struct Args {
    /// Address to listen on (WebSocket, readiness and admin API).
    #[arg(long, default_value = "127.0.0.1:8088")]
    listen: SocketAddr,
    /// Address of the HTTPS media listener (port 0: any free port; `<media_conn>` advertises it).
    #[arg(long, default_value = "127.0.0.1:0")]
    media_listen: SocketAddr,
    /// Directory for fakewa's keys, accounts and phone stores (kept across restarts).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// How long a chat state waits for an offline device, in seconds.
    #[arg(long, env = "CHATSTATE_TTL_SECS", default_value_t = 30)]
    chatstate_ttl_secs: u64,
    /// Do not relay the virtual phones' receipts (the behaviour whatsapp-rust's e2e suite expects of
    /// its private mock; a real phone sends them).
    /// `FAKEWA_NO_PHONE_RECEIPTS` takes 1/0, true/false, yes/no, on/off.
    #[arg(long, env = "FAKEWA_NO_PHONE_RECEIPTS", action = clap::ArgAction::SetTrue,
        value_parser = clap::builder::BoolishValueParser::new())]
    no_phone_receipts: bool,
    /// `TCP_NODELAY` on accepted connections (`false`: Nagle's algorithm batches small writes into
    /// fewer segments, at up to 40 ms of latency). `FAKEWA_TCP_NODELAY` takes the same values.
    #[arg(long, env = "FAKEWA_TCP_NODELAY", default_value_t = true, action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new())]
    tcp_nodelay: bool,
}

/// Every stanza allocates and frees small buffers on every thread; glibc's malloc was a large share
/// of a busy relay's CPU (benches/README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "fakewa=info".into()),
        )
        .init();
    let args = Args::parse();
    let config = FakeWaConfig {
        listen: args.listen,
        media_listen: args.media_listen,
        data_dir: args.data_dir,
        chatstate_ttl: Duration::from_secs(args.chatstate_ttl_secs),
        relay_phone_receipts: !args.no_phone_receipts,
        tcp_nodelay: args.tcp_nodelay,
        ..FakeWaConfig::default()
    };
    let data_dir = config.data_dir.clone();
    let fake = FakeWa::start(config).await?;
    println!("websocket: {}", fake.ws_url());
    println!("admin:     {}/admin", fake.admin_url());
    println!("media:     {}", fake.media_url());
    match &data_dir {
        Some(dir) => {
            // fakewa keeps its media CA there already; (re)write it so the file always matches.
            let path = dir.join("media-ca.pem");
            std::fs::write(&path, fake.media_ca_pem())?;
            println!("media CA:  {}", path.display());
        }
        None => println!("media CA:  GET {}/admin/media-ca", fake.admin_url()),
    }
    println!(
        "root key:  {}",
        base64::engine::general_purpose::STANDARD.encode(fake.root_public_key())
    );
    shutdown_signal().await?;
    fake.shutdown().await;
    Ok(())
}

/// Ctrl-C, or SIGTERM on Unix (what `kill` and service managers send).
async fn shutdown_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
