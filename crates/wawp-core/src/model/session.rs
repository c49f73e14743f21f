//! Session states and the views of a session the API returns.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The documented session states (API-CONVENTIONS.md "Session states").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionStatus {
    Stopped,
    Starting,
    ScanQrCode,
    Working,
    Failed,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Stopped => "STOPPED",
            SessionStatus::Starting => "STARTING",
            SessionStatus::ScanQrCode => "SCAN_QR_CODE",
            SessionStatus::Working => "WORKING",
            SessionStatus::Failed => "FAILED",
        }
    }
}

impl fmt::Display for SessionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Instance configuration as given at `/v2/session/create` (`config`), stored as JSON. Unknown
/// keys are kept so that later features (webhooks, proxy, metadata) find them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionConfig {
    #[serde(default)]
    pub webhooks: Vec<serde_json::Value>,
    #[serde(default)]
    pub proxy: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// The linked WhatsApp account of a session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    /// `<digits>@c.us`
    pub id: String,
    /// `<digits>@lid`, when known.
    pub lid: Option<String>,
    #[serde(rename = "pushName")]
    pub push_name: Option<String>,
    /// Platform of the phone the session is linked to, when known (e.g. `android`).
    pub platform: Option<String>,
}

/// What the API shows of a session.
#[derive(Clone, Debug)]
pub struct SessionView {
    pub instance_id: String,
    pub name: String,
    pub status: SessionStatus,
    pub config: SessionConfig,
    pub me: Option<Me>,
}

/// The current QR code of a session waiting to be linked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrCode {
    /// The string a phone scans (`ref,noise,identity,adv,type`).
    pub value: String,
    /// Unix seconds after which this code is no longer valid.
    pub expiry: u64,
}
