//! `wawp`: the command line. Everything else is in the library (`lib.rs`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use wawp::config::{Config, LogFormat, Overrides};

#[derive(Parser)]
#[command(
    name = "wawp",
    version,
    about = "Self-hosted WhatsApp HTTP API server (Wawp API v2)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API server.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Address to listen on [env: WAWP_LISTEN] (default 127.0.0.1:3000).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// WhatsApp WebSocket URL [env: WAWP_WHATSAPP_URL] (default: the real network).
        #[arg(long)]
        whatsapp_url: Option<String>,
        /// Extra CA (PEM) for WhatsApp media over TLS (fakewa) [env: WAWP_WHATSAPP_CA].
        #[arg(long)]
        whatsapp_ca: Option<PathBuf>,
        /// Log format [env: WAWP_LOG_FORMAT].
        #[arg(long, value_enum)]
        log_format: Option<LogFormat>,
    },
    /// Manage access tokens (works while the server runs).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Run wawp on an embedded fake WhatsApp network with virtual contacts (no phone needed).
    #[cfg(feature = "sandbox")]
    Sandbox {
        #[command(flatten)]
        common: Common,
        /// Address of the HTTP API (default 127.0.0.1:3000).
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token; it is printed once, alone on the last line.
    Create {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        name: String,
        /// Instances this token may own (default: unlimited).
        #[arg(long)]
        max_instances: Option<u32>,
    },
    /// List tokens (never the tokens themselves).
    List {
        #[command(flatten)]
        common: Common,
    },
    /// Revoke a token by its id.
    Revoke {
        #[command(flatten)]
        common: Common,
        id: String,
    },
}

#[derive(Args)]
struct Common {
    /// Data folder [env: WAWP_DATA_DIR] (default ./data).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// TOML configuration file [env: WAWP_CONFIG].
    #[arg(long)]
    config: Option<PathBuf>,
}

impl Common {
    fn load(&self, mut overrides: Overrides) -> anyhow::Result<Config> {
        overrides.data_dir = self.data_dir.clone();
        Ok(Config::load(self.config.as_deref(), &overrides)?)
    }
}

/// Every stanza, request and event allocates and frees small buffers on every thread; glibc's
/// malloc was a large share of a busy process's CPU (benches/README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(Cli::parse())) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            common,
            listen,
            whatsapp_url,
            whatsapp_ca,
            log_format,
        } => {
            let config = common.load(Overrides {
                listen,
                whatsapp_url,
                whatsapp_ca,
                log_format,
                ..Default::default()
            })?;
            wawp::telemetry::init(config.log_format);
            tracing::info!(?config, "starting");
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
            wawp::serve(config, listener, shutdown_signal()).await
        }
        Command::Token(cmd) => {
            let out = match cmd {
                TokenCommand::Create {
                    common,
                    name,
                    max_instances,
                } => {
                    wawp::token::create(&common.load(Overrides::default())?, &name, max_instances)
                        .await?
                }
                TokenCommand::List { common } => {
                    wawp::token::list(&common.load(Overrides::default())?).await?
                }
                TokenCommand::Revoke { common, id } => {
                    wawp::token::revoke(&common.load(Overrides::default())?, &id).await?
                }
            };
            println!("{}", out.trim_end());
            Ok(())
        }
        #[cfg(feature = "sandbox")]
        Command::Sandbox { common, listen } => {
            let config = common.load(Overrides {
                listen,
                ..Default::default()
            })?;
            wawp::telemetry::init(config.log_format);
            wawp::sandbox::run(config, shutdown_signal()).await
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
