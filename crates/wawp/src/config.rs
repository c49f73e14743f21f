//! wawp's configuration: one struct, defaults written once (in `Default`), then layered:
//! defaults → TOML file (`--config FILE` or `WAWP_CONFIG`) → `WAWP_*` environment variables
//! (`__` for nested keys, e.g. `WAWP_LIMITS__TOKEN_RPS`) → command-line flags.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP API listens on (`WAWP_LISTEN`).
    pub listen: SocketAddr,
    /// Folder for the database (`wawp.db`), WhatsApp keys (`whatsapp/`) and files (`WAWP_DATA_DIR`).
    pub data_dir: PathBuf,
    /// Database URL; empty means SQLite in `data_dir` (`WAWP_DATABASE_URL`; `postgres://…` for PostgreSQL).
    pub database_url: Option<String>,
    /// WhatsApp WebSocket URL (`WAWP_WHATSAPP_URL`). Defaults to the real network.
    pub whatsapp_url: String,
    /// WhatsApp Web version announced at login, `major.minor.patch` (`WAWP_WHATSAPP_VERSION`).
    pub whatsapp_version: String,
    /// PEM file of an extra CA trusted for WhatsApp media over TLS (fakewa's; `WAWP_WHATSAPP_CA`).
    pub whatsapp_ca: Option<PathBuf>,
    /// Push name given to newly linked devices (`WAWP_PUSH_NAME`).
    pub push_name: Option<String>,
    /// Key for the admin API `/admin/tokens`; unset disables it (`WAWP_ADMIN_KEY`).
    pub admin_key: Option<String>,
    /// Public base URL of this server, for links in answers (`WAWP_PUBLIC_URL`).
    pub public_url: Option<String>,
    /// Largest request body in MiB (`WAWP_BODY_LIMIT_MB`).
    pub body_limit_mb: usize,
    /// Private or loopback hosts and networks that webhook and media URLs may reach, comma-separated
    /// (`127.0.0.1,10.0.0.0/8`); unset refuses them all (`WAWP_ALLOW_PRIVATE_URLS`).
    pub allow_private_urls: Option<String>,
    /// Shown as `server_name` when a session is created (`WAWP_SERVER_NAME`).
    pub server_name: String,
    /// `text` or `json` (`WAWP_LOG_FORMAT`).
    pub log_format: LogFormat,
    pub limits: Limits,
    pub media: MediaSettings,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Rate limits and quotas (`[limits]` in TOML, `WAWP_LIMITS__*` in the environment).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Requests per second per access token.
    pub token_rps: u32,
    /// Burst per access token.
    pub token_burst: u32,
    /// Requests per second per instance.
    pub instance_rps: u32,
    /// Burst per instance.
    pub instance_burst: u32,
    /// Seconds that must pass between two `start` calls on one instance.
    pub start_cooldown_secs: u64,
    /// Instances per token when the token has no limit of its own (unset: unlimited).
    pub default_max_instances: Option<u32>,
}

/// Media: `file[url]` downloads, ffmpeg conversions and served files (`[media]` in TOML,
/// `WAWP_MEDIA__*` in the environment).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MediaSettings {
    /// Largest file taken from `file[url]` or an upload, in MiB (413 above it).
    pub max_mb: u64,
    /// Seconds one `file[url]` download may take.
    pub fetch_timeout_secs: u64,
    /// Seconds converted and downloaded files stay at `/v2/files/…`.
    pub file_ttl_secs: u64,
    /// The ffmpeg program (name on PATH or a path); conversions fail clearly without it.
    pub ffmpeg: String,
}

impl Default for MediaSettings {
    fn default() -> Self {
        let m = wawp_core::media::MediaConfig::default();
        MediaSettings {
            max_mb: m.max_bytes / (1024 * 1024),
            fetch_timeout_secs: m.fetch_timeout.as_secs(),
            file_ttl_secs: m.file_ttl.as_secs(),
            ffmpeg: m.ffmpeg,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        let core = wawp_core::CoreConfig::default();
        let (a, b, c) = core.whatsapp.version;
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            whatsapp_url: core.whatsapp.url,
            whatsapp_version: format!("{a}.{b}.{c}"),
            whatsapp_ca: None,
            push_name: None,
            admin_key: None,
            public_url: None,
            body_limit_mb: 64,
            allow_private_urls: None,
            server_name: core.server_name,
            log_format: LogFormat::Text,
            limits: Limits::default(),
            media: MediaSettings::default(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        let l = wawp_core::config::LimitsConfig::default();
        Limits {
            token_rps: l.token_rps,
            token_burst: l.token_burst,
            instance_rps: l.instance_rps,
            instance_burst: l.instance_burst,
            start_cooldown_secs: l.start_cooldown.as_secs(),
            default_max_instances: l.default_max_instances,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_ref().map(|_| "<redacted>"),
            )
            .field("whatsapp_url", &self.whatsapp_url)
            .field("whatsapp_version", &self.whatsapp_version)
            .field("whatsapp_ca", &self.whatsapp_ca)
            .field("admin_key", &self.admin_key.as_ref().map(|_| "<redacted>"))
            .field("public_url", &self.public_url)
            .field("body_limit_mb", &self.body_limit_mb)
            .field("allow_private_urls", &self.allow_private_urls)
            .field("limits", &self.limits)
            .field("media", &self.media)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("configuration: {0}")]
    Invalid(String),
}

/// Values given on the command line; they win over everything else.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whatsapp_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whatsapp_ca: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
}

/// The top-level keys, as they appear in TOML and (upper-cased, prefixed) in the environment.
const KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "database_url",
    "whatsapp_url",
    "whatsapp_version",
    "whatsapp_ca",
    "push_name",
    "admin_key",
    "public_url",
    "body_limit_mb",
    "allow_private_urls",
    "server_name",
    "log_format",
];

impl Config {
    /// Loads the layers in order. `file` defaults to `WAWP_CONFIG` when set.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        let env_file = std::env::var_os("WAWP_CONFIG").map(PathBuf::from);
        if let Some(path) = file.map(Path::to_path_buf).or(env_file) {
            if !path.exists() {
                return Err(ConfigError::Invalid(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file(path));
        }
        let config: Config = figment
            .merge(
                // Only our own keys: other WAWP_* variables (e.g. WAWP_TEST_DATABASE_URL) are not config.
                Env::prefixed("WAWP_")
                    .filter(|k| {
                        let k = k.as_str().to_ascii_lowercase();
                        KEYS.contains(&k.as_str())
                            || k.starts_with("limits__")
                            || k.starts_with("media__")
                    })
                    .split("__"),
            )
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(Box::new)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.version()?;
        if self.body_limit_mb == 0 {
            return Err(ConfigError::Invalid(
                "body_limit_mb must be at least 1".into(),
            ));
        }
        if self.media.max_mb == 0 || self.media.fetch_timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "media.max_mb and media.fetch_timeout_secs must be at least 1".into(),
            ));
        }
        if self.admin_key.as_deref().is_some_and(|k| k.len() < 16) {
            return Err(ConfigError::Invalid(
                "admin_key must be at least 16 characters".into(),
            ));
        }
        Ok(())
    }

    /// `whatsapp_version` parsed as `(major, minor, patch)`.
    pub fn version(&self) -> Result<(u32, u32, u32), ConfigError> {
        let parts: Vec<u32> = self
            .whatsapp_version
            .split('.')
            .filter_map(|p| p.parse().ok())
            .collect();
        match parts.as_slice() {
            [a, b, c] => Ok((*a, *b, *c)),
            _ => Err(ConfigError::Invalid(format!(
                "whatsapp_version {:?} must look like 2.3000.1029000000",
                self.whatsapp_version
            ))),
        }
    }

    pub fn core(&self) -> Result<wawp_core::CoreConfig, ConfigError> {
        Ok(wawp_core::CoreConfig {
            data_dir: self.data_dir.clone(),
            whatsapp: wawp_core::config::WhatsAppConfig {
                url: self.whatsapp_url.clone(),
                version: self.version()?,
                ca_pem: self.whatsapp_ca.clone(),
                push_name: self.push_name.clone(),
            },
            limits: wawp_core::config::LimitsConfig {
                token_rps: self.limits.token_rps,
                token_burst: self.limits.token_burst,
                instance_rps: self.limits.instance_rps,
                instance_burst: self.limits.instance_burst,
                start_cooldown: std::time::Duration::from_secs(self.limits.start_cooldown_secs),
                default_max_instances: self.limits.default_max_instances,
            },
            server_name: self.server_name.clone(),
            events: wawp_core::events::EventsConfig {
                allow: wawp_core::events::AllowList::parse(
                    self.allow_private_urls.as_deref().unwrap_or(""),
                ),
                ..Default::default()
            },
            media: wawp_core::media::MediaConfig {
                max_bytes: self.media.max_mb.saturating_mul(1024 * 1024),
                fetch_timeout: std::time::Duration::from_secs(self.media.fetch_timeout_secs),
                file_ttl: std::time::Duration::from_secs(self.media.file_ttl_secs),
                ffmpeg: self.media.ffmpeg.clone(),
                ..Default::default()
            },
        })
    }

    pub fn api(&self) -> wawp_api::ApiConfig {
        wawp_api::ApiConfig {
            body_limit: self.body_limit_mb.saturating_mul(1024 * 1024),
            admin_key: self.admin_key.clone(),
            public_url: self.public_url.clone(),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_parses_to_the_defaults() {
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../wawp.example.toml");
        let parsed: Config = Figment::from(Toml::file(example))
            .extract()
            .expect("example parses");
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn versions_must_have_three_parts() {
        let mut c = Config::default();
        assert!(c.version().is_ok());
        c.whatsapp_version = "2.3000".into();
        assert!(c.validate().is_err());
    }
}
