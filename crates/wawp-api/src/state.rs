//! The state every handler receives: the domain handle, the API's own configuration and the
//! readiness flag. Cheap to clone; no globals (tests run several servers in one process).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wawp_core::Core;

/// The HTTP layer's configuration (the `server` section of wawp's config).
#[derive(Clone)]
pub struct ApiConfig {
    /// Largest accepted request body, in bytes (413 `payload_too_large` above it).
    pub body_limit: usize,
    /// Key for `/admin/tokens` (`Authorization: Bearer <key>`); `None` disables the admin API (404).
    pub admin_key: Option<String>,
    /// Public base URL of this server (`https://wa.example.com`), for links in answers and docs.
    pub public_url: Option<String>,
    /// Longest time one request may take before `504`.
    pub request_timeout: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            body_limit: 64 * 1024 * 1024,
            admin_key: None,
            public_url: None,
            request_timeout: Duration::from_secs(120),
        }
    }
}

impl fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiConfig")
            .field("body_limit", &self.body_limit)
            .field("admin_key", &self.admin_key.as_ref().map(|_| "<redacted>"))
            .field("public_url", &self.public_url)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

#[derive(Clone)]
pub struct AppState {
    pub core: Core,
    pub config: Arc<ApiConfig>,
    /// Flipped by the binary once restored sessions have started: `/ready` answers 200 after.
    pub ready: Arc<AtomicBool>,
}

impl AppState {
    pub fn new(core: Core, config: ApiConfig) -> Self {
        AppState {
            core,
            config: Arc::new(config),
            ready: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Marks the server ready (`GET /ready` → 200).
    pub fn mark_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}
