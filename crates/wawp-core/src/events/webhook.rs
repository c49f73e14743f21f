//! One webhook of an instance (`config.webhooks[]`), its validation and its retry schedule.
//!
//! Wawp: the documents describe webhooks only in prose ("Webhooks Overview": choose events, set a
//! retry policy, default "5 retries, 5 seconds apart", optional exponential backoff 5 s, 10 s,
//! 20 s…); they give no field names. wawp uses the common shape
//! `{url, events[], secret?, retries{attempts, delaySeconds, policy}, customHeaders[{name,value}]}`
//! where `retries.attempts` counts the retries after the first try (so at most `attempts + 1`
//! requests), with the documented defaults: 5 retries, 5 seconds, `constant`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::ssrf::{AllowList, SsrfError, check_url};
use crate::error::CoreError;

/// Every event name a webhook may subscribe to (API-CONVENTIONS.md "Webhook events").
pub const EVENT_NAMES: &[&str] = &[
    "session.status",
    "message",
    "message.any",
    "message.ack",
    "message.reaction",
    "message.revoked",
    "message.edited",
    "group.v2.join",
    "group.v2.leave",
    "group.v2.update",
    "group.v2.participants",
    "presence.update",
    "poll.vote",
    "poll.vote.failed",
    "chat.archive",
    "call.received",
    "call.accepted",
    "call.rejected",
    "label.upsert",
    "label.deleted",
    "label.chat.added",
    "label.chat.deleted",
    "event.response",
    "event.response.failed",
    "status.update",
    "engine.event",
];

/// `engine.event` (raw engine events) is off unless named explicitly: `"*"` does not include it.
pub const RAW_EVENT: &str = "engine.event";
/// What a webhook shows instead of its secret.
pub const HIDDEN_SECRET: &str = "***";
/// Most webhooks per instance.
pub const MAX_WEBHOOKS: usize = 10;
const MAX_ATTEMPTS: u32 = 50;
const MAX_DELAY_SECONDS: u64 = 24 * 3600;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Stable id of the webhook within its instance (delivery ordering and the deliveries list).
    /// Defaults to a hash of the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub url: String,
    /// Event names, or `"*"` for all (except `engine.event`). Default `["*"]`.
    #[serde(default = "all_events")]
    pub events: Vec<String>,
    /// Signs requests (Standard Webhooks) when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// WAHA-style `{"key": …}`, accepted as an alias of `secret`.
    #[serde(default, skip_serializing)]
    pub hmac: Option<HmacConfig>,
    #[serde(default)]
    pub retries: RetryConfig,
    #[serde(default, rename = "customHeaders")]
    pub custom_headers: Vec<CustomHeader>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HmacConfig {
    pub key: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomHeader {
    pub name: String,
    pub value: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// Retries after the first try; the delivery is dead after `attempts + 1` failed requests.
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    #[serde(default = "default_delay", rename = "delaySeconds")]
    pub delay_seconds: u64,
    #[serde(default)]
    pub policy: RetryPolicy,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RetryPolicy {
    /// `delay` before every retry.
    #[default]
    Constant,
    /// `delay × n` before retry n.
    Linear,
    /// `delay × 2^(n-1)` before retry n (5 s, 10 s, 20 s…).
    Exponential,
}

fn all_events() -> Vec<String> {
    vec!["*".to_string()]
}
fn default_attempts() -> u32 {
    5
}
fn default_delay() -> u64 {
    5
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            attempts: default_attempts(),
            delay_seconds: default_delay(),
            policy: RetryPolicy::Constant,
        }
    }
}

impl RetryConfig {
    /// The delay before retry `n` (1-based), without jitter; `None` once the retries are used up.
    pub fn delay_before_retry(&self, n: u32) -> Option<Duration> {
        if n == 0 || n > self.attempts {
            return None;
        }
        let base = self.delay_seconds;
        let secs = match self.policy {
            RetryPolicy::Constant => base,
            RetryPolicy::Linear => base.saturating_mul(u64::from(n)),
            RetryPolicy::Exponential => base.saturating_mul(1u64 << (n - 1).min(32)),
        };
        Some(Duration::from_secs(secs.min(MAX_DELAY_SECONDS)))
    }
}

/// `delay` moved by a uniformly random factor in [1 - fraction, 1 + fraction].
pub fn jittered(delay: Duration, fraction: f64) -> Duration {
    use rand::RngExt;
    if fraction <= 0.0 {
        return delay;
    }
    let factor = rand::rng().random_range((1.0 - fraction)..=(1.0 + fraction));
    delay.mul_f64(factor.max(0.0))
}

impl WebhookConfig {
    /// The webhook's id (its `id`, or a hash of its URL).
    pub fn id(&self) -> String {
        match &self.id {
            Some(id) => id.clone(),
            None => {
                let digest = Sha256::digest(self.url.as_bytes());
                format!("wh_{}", hex::encode(&digest[..8]))
            }
        }
    }

    /// The signing secret (`secret`, else `hmac.key`).
    pub fn signing_secret(&self) -> Option<&str> {
        self.secret
            .as_deref()
            .or_else(|| self.hmac.as_ref().and_then(|h| h.key.as_deref()))
            .filter(|s| !s.is_empty())
    }

    /// Whether the webhook wants `event`.
    pub fn wants(&self, event: &str) -> bool {
        self.events
            .iter()
            .any(|e| e == event || (e == "*" && event != RAW_EVENT))
    }

    /// The webhook as the API shows it: the secret and custom header values replaced by `"***"`.
    pub fn redacted(&self) -> Value {
        let mut shown = self.clone();
        if let Some(secret) = self.signing_secret().map(|_| HIDDEN_SECRET.to_string()) {
            shown.secret = Some(secret);
        }
        shown.hmac = None;
        shown.id = Some(self.id());
        // Header values are often credentials (`X-Api-Key`): hidden like the secret.
        for h in &mut shown.custom_headers {
            h.value = HIDDEN_SECRET.to_string();
        }
        serde_json::to_value(shown).unwrap_or(Value::Null)
    }
}

/// The webhooks of a stored config (`config.webhooks`), skipping entries that do not parse
/// (validated configs always parse; this never fails delivery of the others).
pub fn parse_stored(values: &[Value]) -> Vec<WebhookConfig> {
    values
        .iter()
        .filter_map(|v| serde_json::from_value(v.clone()).ok())
        .collect()
}

/// Redacts the secrets of stored webhooks, for views (`session/info`, `GET /v2/webhooks`).
pub fn redact_all(values: &[Value]) -> Vec<Value> {
    parse_stored(values)
        .iter()
        .map(WebhookConfig::redacted)
        .collect()
}

fn invalid(index: usize, field: &str, why: impl std::fmt::Display) -> CoreError {
    CoreError::Invalid(format!("webhooks[{index}].{field}: {why}"))
}

/// Parses and validates webhooks given by a client. `previous` are the instance's current
/// webhooks: an entry whose secret (or a custom header value) is `"***"` keeps the value of the
/// current webhook with the same id. Errors are `CoreError::Invalid` naming the entry and field.
pub async fn validate(
    values: &[Value],
    previous: &[WebhookConfig],
    allow: &AllowList,
) -> Result<Vec<WebhookConfig>, CoreError> {
    if values.len() > MAX_WEBHOOKS {
        return Err(CoreError::Invalid(format!(
            "at most {MAX_WEBHOOKS} webhooks per instance"
        )));
    }
    let mut out: Vec<WebhookConfig> = Vec::with_capacity(values.len());
    for (i, value) in values.iter().enumerate() {
        let mut hook: WebhookConfig = serde_json::from_value(value.clone())
            .map_err(|e| CoreError::Invalid(format!("webhooks[{i}]: {e}")))?;
        check_fields(i, &hook)?;
        let url = reqwest::Url::parse(&hook.url).map_err(|e| invalid(i, "url", e))?;
        match check_url(&url, allow).await {
            // A name that does not resolve right now may later; it is checked again on delivery.
            Ok(_) | Err(SsrfError::Resolve) => {}
            Err(e) => return Err(invalid(i, "url", e)),
        }
        if hook.secret.as_deref() == Some(HIDDEN_SECRET) {
            let id = hook.id();
            hook.secret = previous
                .iter()
                .find(|p| p.id() == id)
                .and_then(|p| p.signing_secret().map(str::to_string));
            if hook.secret.is_none() {
                return Err(invalid(
                    i,
                    "secret",
                    "\"***\" stands for an existing secret; give the secret",
                ));
            }
        }
        restore_hidden_headers(i, &mut hook, previous)?;
        if out.iter().any(|o| o.id() == hook.id()) {
            return Err(invalid(i, "url", "the same webhook is listed twice"));
        }
        out.push(hook);
    }
    Ok(out)
}

/// A custom header whose value is `"***"` keeps the value of the same header (by name) of the
/// current webhook with the same id.
fn restore_hidden_headers(
    i: usize,
    hook: &mut WebhookConfig,
    previous: &[WebhookConfig],
) -> Result<(), CoreError> {
    let id = hook.id();
    let before = previous.iter().find(|p| p.id() == id);
    for h in &mut hook.custom_headers {
        if h.value != HIDDEN_SECRET {
            continue;
        }
        let kept = before.and_then(|p| {
            p.custom_headers
                .iter()
                .find(|old| old.name.eq_ignore_ascii_case(&h.name))
        });
        match kept {
            Some(old) => h.value = old.value.clone(),
            None => {
                return Err(invalid(
                    i,
                    "customHeaders",
                    format!(
                        "\"***\" stands for the existing value of {:?}; give the value",
                        h.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn check_fields(i: usize, hook: &WebhookConfig) -> Result<(), CoreError> {
    if hook.events.is_empty() {
        return Err(invalid(i, "events", "list at least one event, or \"*\""));
    }
    if let Some(bad) = hook
        .events
        .iter()
        .find(|e| *e != "*" && !EVENT_NAMES.contains(&e.as_str()))
    {
        return Err(invalid(i, "events", format!("unknown event {bad:?}")));
    }
    if hook.retries.attempts > MAX_ATTEMPTS {
        return Err(invalid(
            i,
            "retries.attempts",
            format!("at most {MAX_ATTEMPTS}"),
        ));
    }
    if hook.retries.delay_seconds > MAX_DELAY_SECONDS {
        return Err(invalid(
            i,
            "retries.delaySeconds",
            format!("at most {MAX_DELAY_SECONDS}"),
        ));
    }
    if let Some(id) = &hook.id
        && (id.is_empty() || id.len() > 64)
    {
        return Err(invalid(i, "id", "1 to 64 characters"));
    }
    for h in &hook.custom_headers {
        let name_ok = reqwest::header::HeaderName::from_bytes(h.name.as_bytes()).is_ok();
        let value_ok = reqwest::header::HeaderValue::from_str(&h.value).is_ok();
        if !name_ok || !value_ok {
            return Err(invalid(
                i,
                "customHeaders",
                format!("invalid header {:?}", h.name),
            ));
        }
        let lower = h.name.to_ascii_lowercase();
        if matches!(
            lower.as_str(),
            "content-type" | "content-length" | "host" | "transfer-encoding"
        ) || lower.starts_with("webhook-")
        {
            return Err(invalid(
                i,
                "customHeaders",
                format!("{:?} is set by wawp", h.name),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn secs(n: u64) -> Option<Duration> {
        Some(Duration::from_secs(n))
    }

    #[test]
    fn retry_schedules_follow_the_policy() {
        let constant = RetryConfig::default();
        assert_eq!(
            (1..=6)
                .map(|n| constant.delay_before_retry(n))
                .collect::<Vec<_>>(),
            vec![secs(5), secs(5), secs(5), secs(5), secs(5), None]
        );
        let linear = RetryConfig {
            attempts: 3,
            delay_seconds: 2,
            policy: RetryPolicy::Linear,
        };
        assert_eq!(
            (1..=4)
                .map(|n| linear.delay_before_retry(n))
                .collect::<Vec<_>>(),
            vec![secs(2), secs(4), secs(6), None]
        );
        let exp = RetryConfig {
            attempts: 5,
            delay_seconds: 5,
            policy: RetryPolicy::Exponential,
        };
        assert_eq!(
            (1..=5)
                .map(|n| exp.delay_before_retry(n))
                .collect::<Vec<_>>(),
            vec![secs(5), secs(10), secs(20), secs(40), secs(80)]
        );
        let huge = RetryConfig {
            attempts: 50,
            delay_seconds: 3600,
            policy: RetryPolicy::Exponential,
        };
        assert_eq!(huge.delay_before_retry(50), secs(MAX_DELAY_SECONDS));
        assert_eq!(constant.delay_before_retry(0), None);
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        let base = Duration::from_secs(10);
        for _ in 0..200 {
            let d = jittered(base, 0.2);
            assert!(
                d >= Duration::from_secs(8) && d <= Duration::from_secs(12),
                "{d:?}"
            );
        }
        assert_eq!(jittered(base, 0.0), base);
    }

    #[test]
    fn subscriptions_and_redaction() {
        let hook: WebhookConfig = serde_json::from_value(json!({
            "url": "https://example.com/h", "secret": "s3cret",
            "customHeaders": [{"name": "X-Api-Key", "value": "k"}]
        }))
        .expect("parses");
        assert!(hook.wants("message") && hook.wants("session.status"));
        assert!(!hook.wants(RAW_EVENT), "engine.event needs to be named");
        assert_eq!(hook.retries, RetryConfig::default());
        let shown = hook.redacted();
        assert_eq!(shown["secret"], "***");
        assert!(!shown.to_string().contains("s3cret"));
        assert_eq!(shown["id"], hook.id());
        let raw: WebhookConfig =
            serde_json::from_value(json!({"url": "https://e.com", "events": ["engine.event"]}))
                .expect("raw");
        assert!(raw.wants(RAW_EVENT) && !raw.wants("message"));
    }

    #[tokio::test]
    async fn validation_refuses_bad_configs() {
        let allow = AllowList::none();
        let ok = json!({"url": "https://93.184.215.14/hook", "events": ["message", "message.any"],
            "retries": {"attempts": 2, "delaySeconds": 1, "policy": "exponential"}});
        let hooks = validate(std::slice::from_ref(&ok), &[], &allow)
            .await
            .expect("valid");
        assert_eq!(hooks[0].retries.policy, RetryPolicy::Exponential);
        for (bad, field) in [
            (json!({"url": "ftp://example.com/x"}), "url"),
            (json!({"url": "not a url"}), "url"),
            (json!({"url": "http://127.0.0.1:8080/"}), "url"),
            (json!({"url": "http://169.254.169.254/latest"}), "url"),
            (json!({"url": "http://localhost/"}), "url"),
            (
                json!({"url": "https://93.184.215.14/", "events": ["nope"]}),
                "events",
            ),
            (
                json!({"url": "https://93.184.215.14/", "events": []}),
                "events",
            ),
            (
                json!({"url": "https://93.184.215.14/", "retries": {"policy": "random"}}),
                "webhooks[0]",
            ),
            (
                json!({"url": "https://93.184.215.14/", "retries": {"attempts": 1000}}),
                "retries.attempts",
            ),
            (
                json!({"url": "https://93.184.215.14/", "customHeaders": [{"name": "bad header", "value": "v"}]}),
                "customHeaders",
            ),
            (
                json!({"url": "https://93.184.215.14/", "customHeaders": [{"name": "webhook-id", "value": "v"}]}),
                "customHeaders",
            ),
            (
                json!({"url": "https://93.184.215.14/", "unknown": 1}),
                "webhooks[0]",
            ),
            (
                json!({"url": "https://93.184.215.14/", "secret": "***"}),
                "secret",
            ),
        ] {
            let err = validate(std::slice::from_ref(&bad), &[], &allow)
                .await
                .expect_err("refused");
            assert!(
                matches!(&err, CoreError::Invalid(m) if m.contains(field)),
                "{bad}: {err:?}"
            );
        }
        let err = validate(&[ok.clone(), ok.clone()], &[], &allow)
            .await
            .expect_err("twice");
        assert!(matches!(err, CoreError::Invalid(_)));
        // Loopback is fine once allowed.
        let allow = AllowList::parse("127.0.0.1");
        assert!(
            validate(&[json!({"url": "http://127.0.0.1:8080/"})], &[], &allow)
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn hidden_secrets_and_header_values_keep_the_previous_ones() {
        let allow = AllowList::none();
        let first = validate(
            &[json!({"url": "https://93.184.215.14/", "secret": "s3cret",
                "customHeaders": [{"name": "X-Api-Key", "value": "k1"}]})],
            &[],
            &allow,
        )
        .await
        .expect("valid");
        let again = validate(&[first[0].redacted()], &first, &allow)
            .await
            .expect("round trip");
        assert_eq!(again[0].signing_secret(), Some("s3cret"));
        assert_eq!(again[0].custom_headers[0].value, "k1");
        let shown = first[0].redacted();
        assert_eq!(shown["customHeaders"][0]["value"], "***");
        assert!(!shown.to_string().contains("k1"));
        // "***" with nothing to keep is refused.
        let fresh = json!({"url": "https://93.184.215.14/other",
            "customHeaders": [{"name": "X-Api-Key", "value": "***"}]});
        let err = validate(&[fresh], &first, &allow)
            .await
            .expect_err("nothing to keep");
        assert!(matches!(err, CoreError::Invalid(m) if m.contains("customHeaders")));
    }
}
