//! Logging: `tracing` to stderr, text or JSON; `RUST_LOG` overrides the default filter. whatsapp-rust
//! logs through `log`, bridged by tracing-subscriber's `tracing-log`.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,whatsapp_rust=warn,wacore=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
