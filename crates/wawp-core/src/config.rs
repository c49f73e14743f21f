//! The part of wawp's configuration the domain needs. Defaults are written once, here.

use std::path::PathBuf;
use std::time::Duration;

/// WhatsApp's production WebSocket endpoint.
pub const WHATSAPP_URL: &str = "wss://web.whatsapp.com/ws/chat";

#[derive(Clone, Debug)]
pub struct CoreConfig {
    /// Where `wawp.db`, `whatsapp.db` and files live.
    pub data_dir: PathBuf,
    pub whatsapp: WhatsAppConfig,
    pub limits: LimitsConfig,
    /// Shown as `server_name` in `/v2/session/create`.
    pub server_name: String,
    /// Webhook delivery.
    pub events: crate::events::EventsConfig,
    /// Media fetching, conversion and the file store.
    pub media: crate::media::MediaConfig,
}

#[derive(Clone, Debug)]
pub struct WhatsAppConfig {
    /// WebSocket URL of the WhatsApp network (or fakewa on loopback).
    pub url: String,
    /// WhatsApp Web version sent at login. Set, so that `connect()` never fetches it from the web.
    pub version: (u32, u32, u32),
    /// Extra CA (PEM) trusted for WhatsApp media over TLS (fakewa's), sandbox and tests only.
    pub ca_pem: Option<PathBuf>,
    /// Push name given to newly linked devices.
    pub push_name: Option<String>,
}

#[derive(Clone, Debug)]
pub struct LimitsConfig {
    /// Requests per second allowed per access token (token bucket refill rate).
    pub token_rps: u32,
    /// Bucket size per token.
    pub token_burst: u32,
    /// Requests per second allowed per instance.
    pub instance_rps: u32,
    /// Bucket size per instance.
    pub instance_burst: u32,
    /// Minimum time between two `start` calls on one instance.
    pub start_cooldown: Duration,
    /// Instances per token when the token sets no limit of its own.
    pub default_max_instances: Option<u32>,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            data_dir: PathBuf::from("./data"),
            whatsapp: WhatsAppConfig::default(),
            limits: LimitsConfig::default(),
            server_name: "wawp".to_string(),
            events: crate::events::EventsConfig::default(),
            media: crate::media::MediaConfig::default(),
        }
    }
}

impl Default for WhatsAppConfig {
    fn default() -> Self {
        WhatsAppConfig {
            url: WHATSAPP_URL.to_string(),
            version: (2, 3000, 1_029_000_000),
            ca_pem: None,
            push_name: None,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            token_rps: 50,
            token_burst: 100,
            instance_rps: 20,
            instance_burst: 40,
            start_cooldown: Duration::from_secs(5),
            default_max_instances: None,
        }
    }
}
