//! Rate limits: GCRA token buckets (governor) keyed by access token and by instance, and a cool-down
//! between two `start` calls on one instance.
//!
//! Wawp: "Session Lifecycle" (`/v2/lifecycle-overview`) says "calling `/session/start` for the same
//! instance many times in a few seconds will result in a `429` error", and "Stop Session"
//! (`/v2/session/stop`) recommends "waiting at least 3 seconds before calling start again". We read that
//! as: a `start` within `LimitsConfig::start_cooldown` (default 5 s) of the previous accepted
//! `start` of that instance is `429 rate_limit_exceeded`, with `retryAfter` = the rest of the
//! cool-down. Refused calls do not extend it.
//!
//! A rate of 0 (`token_rps`, `instance_rps`) or a zero `start_cooldown` switches that limit off; a
//! burst of 0 counts as 1.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

use super::{Tenancy, Tenant};
use crate::config::LimitsConfig;
use crate::error::CoreError;

/// Every this many checks, keys whose bucket is full again (indistinguishable from a new key) are
/// dropped, so the maps hold only recently active tokens and instances.
const HOUSEKEEPING_EVERY: u64 = 1024;

type Keyed<C> =
    RateLimiter<String, DashMapStateStore<String>, C, NoOpMiddleware<<C as Clock>::Instant>>;

pub(super) struct RateLimits<C: Clock = DefaultClock> {
    token: Option<Keyed<C>>,
    instance: Option<Keyed<C>>,
    start: Option<Keyed<C>>,
    clock: C,
    checks: AtomicU64,
}

impl RateLimits<DefaultClock> {
    pub(super) fn new(limits: &LimitsConfig) -> Self {
        Self::with_clock(limits, DefaultClock::default())
    }
}

impl<C: Clock + Clone> RateLimits<C> {
    pub(super) fn with_clock(limits: &LimitsConfig, clock: C) -> Self {
        let keyed =
            |quota: Option<Quota>| quota.map(|q| RateLimiter::dashmap_with_clock(q, clock.clone()));
        RateLimits {
            token: keyed(per_second(limits.token_rps, limits.token_burst)),
            instance: keyed(per_second(limits.instance_rps, limits.instance_burst)),
            // One start per cool-down, no burst: the second start inside it is refused.
            start: keyed(Quota::with_period(limits.start_cooldown)),
            clock,
            checks: AtomicU64::new(0),
        }
    }

    pub(super) fn check_token(&self, token_id: &str) -> Result<(), CoreError> {
        self.check(self.token.as_ref(), token_id)
    }

    pub(super) fn check_instance(&self, instance_id: &str) -> Result<(), CoreError> {
        self.check(self.instance.as_ref(), instance_id)
    }

    pub(super) fn check_start(&self, instance_id: &str) -> Result<(), CoreError> {
        self.check(self.start.as_ref(), instance_id)
    }

    fn check(&self, limiter: Option<&Keyed<C>>, key: &str) -> Result<(), CoreError> {
        let Some(limiter) = limiter else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % HOUSEKEEPING_EVERY
            == HOUSEKEEPING_EVERY - 1
        {
            self.housekeeping();
        }
        limiter
            .check_key(&key.to_string())
            .map_err(|not_until| CoreError::RateLimited {
                retry_after: retry_after_secs(not_until.wait_time_from(self.clock.now())),
            })
    }

    fn housekeeping(&self) {
        for limiter in [&self.token, &self.instance, &self.start]
            .into_iter()
            .flatten()
        {
            limiter.retain_recent();
        }
    }

    #[cfg(test)]
    fn tracked_keys(&self) -> usize {
        [&self.token, &self.instance, &self.start]
            .into_iter()
            .flatten()
            .map(|l| l.len())
            .sum()
    }
}

fn per_second(rps: u32, burst: u32) -> Option<Quota> {
    let rps = NonZeroU32::new(rps)?;
    Some(Quota::per_second(rps).allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN)))
}

/// Whole seconds to wait, rounded up, at least 1 (`Retry-After: 0` would invite a busy loop).
fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

impl Tenancy {
    /// Counts one request of the tenant against its token bucket
    /// (`LimitsConfig::{token_rps, token_burst}`); `RateLimited{retry_after}` when empty.
    pub fn check_token(&self, tenant: &Tenant) -> Result<(), CoreError> {
        self.inner.rates.check_token(&tenant.token_id)
    }

    /// Counts one request to the instance against its bucket
    /// (`LimitsConfig::{instance_rps, instance_burst}`), whichever token asks.
    pub fn check_instance(&self, instance_id: &str) -> Result<(), CoreError> {
        self.inner.rates.check_instance(instance_id)
    }

    /// A `start` of the instance: refused with `RateLimited` within `LimitsConfig::start_cooldown`
    /// of the previous accepted one (see the module docs for the Wawp reading).
    pub fn check_start(&self, instance_id: &str) -> Result<(), CoreError> {
        self.inner.rates.check_start(instance_id)
    }
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    fn limits(rps: u32, burst: u32, cooldown: Duration) -> LimitsConfig {
        LimitsConfig {
            token_rps: rps,
            token_burst: burst,
            instance_rps: rps,
            instance_burst: burst,
            start_cooldown: cooldown,
            default_max_instances: None,
        }
    }

    fn retry_after(result: Result<(), CoreError>) -> u64 {
        match result {
            Err(CoreError::RateLimited { retry_after }) => retry_after,
            other => panic!("expected RateLimited, got {other:?}"),
        }
    }

    #[test]
    fn token_bucket_trips_after_the_burst_and_refills_at_the_rate() {
        let clock = FakeRelativeClock::default();
        let rates = RateLimits::with_clock(&limits(2, 3, Duration::from_secs(5)), clock.clone());
        for _ in 0..3 {
            rates.check_token("tok_a").expect("within the burst");
        }
        assert_eq!(
            retry_after(rates.check_token("tok_a")),
            1,
            "0.5 s rounds up to 1"
        );
        rates.check_token("tok_b").expect("buckets are per token");

        clock.advance(Duration::from_millis(500)); // one token back at 2/s
        rates.check_token("tok_a").expect("refilled");
        assert!(rates.check_token("tok_a").is_err());
    }

    #[test]
    fn instance_bucket_is_separate_from_the_token_bucket() {
        let clock = FakeRelativeClock::default();
        let rates = RateLimits::with_clock(&limits(1, 1, Duration::from_secs(5)), clock.clone());
        rates.check_token("SAME").expect("token");
        rates
            .check_instance("SAME")
            .expect("instance keys live in their own map");
        assert_eq!(retry_after(rates.check_instance("SAME")), 1);
        rates.check_instance("OTHER").expect("per instance");
    }

    #[test]
    fn second_start_within_the_cooldown_is_refused_with_the_remaining_time() {
        let clock = FakeRelativeClock::default();
        let rates = RateLimits::with_clock(&limits(10, 10, Duration::from_secs(5)), clock.clone());
        rates.check_start("INST1").expect("first start");
        assert_eq!(retry_after(rates.check_start("INST1")), 5);
        rates.check_start("INST2").expect("per instance");

        clock.advance(Duration::from_millis(3_200));
        assert_eq!(
            retry_after(rates.check_start("INST1")),
            2,
            "1.8 s left, rounded up"
        );
        clock.advance(Duration::from_millis(1_800));
        rates.check_start("INST1").expect("cool-down over");
        assert_eq!(
            retry_after(rates.check_start("INST1")),
            5,
            "a new cool-down began"
        );
    }

    #[test]
    fn long_waits_are_reported_in_whole_seconds() {
        let clock = FakeRelativeClock::default();
        let rates = RateLimits::with_clock(&limits(1, 1, Duration::from_secs(90)), clock.clone());
        rates.check_start("I").expect("first");
        clock.advance(Duration::from_millis(100));
        assert_eq!(retry_after(rates.check_start("I")), 90, "89.9 s rounds up");
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
    }

    #[test]
    fn zero_rates_and_cooldown_switch_limits_off() {
        let rates =
            RateLimits::with_clock(&limits(0, 0, Duration::ZERO), FakeRelativeClock::default());
        for _ in 0..1_000 {
            rates.check_token("t").expect("off");
            rates.check_instance("i").expect("off");
            rates.check_start("i").expect("off");
        }
        let burst_zero =
            RateLimits::with_clock(&limits(1, 0, Duration::ZERO), FakeRelativeClock::default());
        burst_zero.check_token("t").expect("burst 0 counts as 1");
        assert!(burst_zero.check_token("t").is_err());
    }

    #[test]
    fn idle_keys_are_dropped_so_the_maps_stay_bounded() {
        let clock = FakeRelativeClock::default();
        let rates = RateLimits::with_clock(&limits(10, 10, Duration::from_secs(5)), clock.clone());
        for i in 0..HOUSEKEEPING_EVERY - 1 {
            rates.check_instance(&format!("I{i}")).expect("fresh key");
        }
        assert_eq!(rates.tracked_keys(), (HOUSEKEEPING_EVERY - 1) as usize);
        clock.advance(Duration::from_secs(10)); // every bucket is full again
        rates
            .check_instance("LATEST")
            .expect("this check runs the housekeeping first");
        assert_eq!(rates.tracked_keys(), 1, "only the key just used remains");
    }
}
