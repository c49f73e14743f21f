//! The delivery loop: claim due *chains* (the deliveries of one webhook and chat, in order; see
//! wawp-store's outbox), work each chain's next deliveries off on its own task (at most
//! `concurrency` chains at once), one after the other, and settle them in one go: delivered,
//! retried later (which stops the chain until then) or dead. A claim is a lease: if wawp dies
//! mid-request, the chain becomes due again when the lease runs out (at least once; the receiver
//! deduplicates by event id).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::CONTENT_TYPE;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use wawp_store::{ClaimedDelivery, LeasedChain, Outcome, Settled};

use super::webhook::jittered;
use super::{Events, now_ms, signing, ssrf};

/// How often old events are purged.
const PURGE_EVERY: Duration = Duration::from_secs(600);
/// Time beyond the requests a claim lasts, to settle the deliveries.
const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// Most deliveries of one chain handed out by one claim.
const PER_CHAIN: i64 = 64;
/// Longest error text kept on a delivery.
const MAX_ERROR_LEN: usize = 300;

pub(super) async fn run(events: Events, cancel: CancellationToken) {
    let config = events.inner.config.clone();
    let concurrency = config.concurrency.max(1);
    let permits = Arc::new(Semaphore::new(concurrency));
    // A chain's task starts no request once `request_timeout` has passed since its claim, so a
    // claim outlives its requests (the client's timeout covers redirects too) with room to
    // settle them.
    let lease_ms =
        i64::try_from((config.request_timeout * 2 + LEASE_MARGIN).as_millis()).unwrap_or(i64::MAX);
    // On SQLite this process is the only dispatcher of the file: claims left by a crash are
    // stale, and releasing them sends those deliveries now instead of after their lease.
    // (On PostgreSQL other nodes may hold live claims; they expire on their own.)
    if events.inner.store.backend() == "sqlite" {
        match events.inner.store.release_delivery_leases().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deliveries = n, "released the claims of a previous run"),
            Err(e) => tracing::warn!(error = %e, "releasing stale delivery claims failed"),
        }
    }
    // SQLite: chains that a commit creates come leased, straight from the commit; commits then
    // need not wake this loop (see `Events::committed`).
    let mut lane = events.inner.store.fast_lane(lease_ms);
    events
        .inner
        .fast_lane
        .store(lane.is_some(), Ordering::Release);
    // Whether the last claim took as many chains as it could: more may be due, to claim as soon
    // as a chain is done.
    let backlog = Arc::new(AtomicBool::new(false));
    let mut tasks = JoinSet::new();
    let mut last_purge: Option<Instant> = None;
    // Claims run at start, when woken (a settled chain has more, a replay) and on every tick
    // (retries coming due); chains from the fast lane need none.
    let mut ticks = tokio::time::interval(config.poll_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut claim_now = true;
    loop {
        while tasks.try_join_next().is_some() {}
        if last_purge.is_none_or(|at| at.elapsed() >= PURGE_EVERY) {
            purge(&events).await;
            last_purge = Some(Instant::now());
        }
        if std::mem::take(&mut claim_now) {
            claim(&events, &permits, &backlog, &mut tasks, lease_ms).await;
        }
        tokio::select! {
            () = cancel.cancelled() => break,
            () = events.inner.wake.notified() => claim_now = true,
            Some(chain) = next_leased(&mut lane) => {
                tasks.spawn(deliver_leased(events.clone(), chain, permits.clone(), backlog.clone()));
            }
            _ = ticks.tick() => claim_now = true,
        }
    }
    // Let requests in flight finish and settle (each is bounded by the request timeout); what
    // is still running after that is dropped and sent again on the next start.
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(config.request_timeout, drain)
        .await
        .is_err()
    {
        tasks.shutdown().await;
    }
}

/// Claims as many due chains as there are free request slots and starts each.
async fn claim(
    events: &Events,
    permits: &Arc<Semaphore>,
    backlog: &Arc<AtomicBool>,
    tasks: &mut JoinSet<()>,
    lease_ms: i64,
) {
    let free = permits.available_permits();
    if free == 0 {
        // Chains may be due that there was no room to look for.
        backlog.store(true, Ordering::Release);
        return;
    }
    let claimed = events
        .inner
        .store
        .claim_due_chains(
            now_ms(),
            lease_ms,
            i64::try_from(free).unwrap_or(1),
            PER_CHAIN,
        )
        .await;
    let chains = match claimed {
        Ok(chains) => chains,
        Err(e) => {
            tracing::warn!(error = %e, "claiming webhook deliveries failed");
            return;
        }
    };
    backlog.store(chains.len() >= free, Ordering::Release);
    let deadline = Instant::now() + events.inner.config.request_timeout;
    for chain in chains {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        tasks.spawn(deliver_chain(
            events.clone(),
            chain,
            permit,
            deadline,
            backlog.clone(),
        ));
    }
}

async fn purge(events: &Events) {
    let retention = i64::try_from(events.inner.config.retention.as_millis()).unwrap_or(i64::MAX);
    match events
        .inner
        .store
        .purge_events(now_ms().saturating_sub(retention))
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::debug!(events = n, "purged old events"),
        Err(e) => tracing::warn!(error = %e, "purging old events failed"),
    }
}

/// The next chain of the fast lane; never resolves without one.
async fn next_leased(
    lane: &mut Option<tokio::sync::mpsc::UnboundedReceiver<LeasedChain>>,
) -> Option<LeasedChain> {
    match lane {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// A chain from the fast lane, once a request slot is free. Its lease began at its commit, so no
/// request starts once `request_timeout` has passed since then, as for a claimed chain.
async fn deliver_leased(
    events: Events,
    chain: LeasedChain,
    permits: Arc<Semaphore>,
    backlog: Arc<AtomicBool>,
) {
    let Ok(permit) = permits.acquire_owned().await else {
        return;
    };
    let age = Duration::from_millis(u64::try_from(now_ms() - chain.leased_at).unwrap_or(0));
    let deadline = Instant::now() + events.inner.config.request_timeout.saturating_sub(age);
    deliver_chain(events, chain.deliveries, permit, deadline, backlog).await;
}

/// The claimed deliveries of one chain, in order, then their settlement. A failure that will be
/// retried stops the chain (what follows waits behind it); a dead one does not. No request starts
/// after `deadline`, which keeps every request inside the chain's lease; what is left is handed
/// back with the chain, to be claimed again.
async fn deliver_chain(
    events: Events,
    chain: Vec<ClaimedDelivery>,
    _permit: OwnedSemaphorePermit,
    deadline: Instant,
    backlog: Arc<AtomicBool>,
) {
    let Some(key) = chain.first().map(ClaimedDelivery::chain) else {
        return;
    };
    let mut settled = Vec::with_capacity(chain.len());
    for d in &chain {
        if Instant::now() >= deadline {
            break;
        }
        let (outcome, stop) = match attempt(&events, d).await {
            Attempt::Delivered { status, latency_ms } => (
                Outcome::Delivered {
                    status_code: status,
                    latency_ms,
                },
                false,
            ),
            Attempt::Failed {
                status,
                error,
                latency_ms,
                retry,
            } => {
                let retry_at = if retry {
                    next_attempt_at(&events, d).await
                } else {
                    None
                };
                let error = truncate(&error);
                tracing::debug!(delivery = d.id, instance = %d.instance_id, status, error = %error,
                    retry = retry_at.is_some(), "webhook delivery failed");
                (
                    Outcome::Failed {
                        status_code: status,
                        error,
                        latency_ms,
                        retry_at,
                    },
                    retry_at.is_some(),
                )
            }
        };
        settled.push(Settled { id: d.id, outcome });
        if stop {
            break;
        }
    }
    match events.inner.store.settle_deliveries(&key, &settled).await {
        // The rest of this chain, or chains the last claim had no room for, may be due now.
        Ok(pending) => {
            if pending || backlog.load(Ordering::Acquire) {
                events.inner.wake.notify_one();
            }
        }
        // The lease expires and the deliveries are tried again.
        Err(e) => {
            tracing::warn!(instance = %key.instance_id, error = %e, "settling webhook deliveries failed");
        }
    }
}

enum Attempt {
    Delivered {
        status: i64,
        latency_ms: i64,
    },
    Failed {
        status: Option<i64>,
        error: String,
        latency_ms: i64,
        retry: bool,
    },
}

fn failed(error: impl Into<String>, retry: bool) -> Attempt {
    Attempt::Failed {
        status: None,
        error: error.into(),
        latency_ms: 0,
        retry,
    }
}

async fn attempt(events: &Events, d: &ClaimedDelivery) -> Attempt {
    let info = match events.instance_info(&d.instance_id).await {
        Ok(info) => info,
        Err(e) => return failed(format!("instance config unavailable: {e}"), true),
    };
    let Some(hook) = info.webhooks.iter().find(|w| w.id() == d.webhook_id) else {
        return failed("the webhook was removed from the instance", false);
    };
    let Some(client) = &events.inner.client else {
        return failed("HTTP client unavailable", true);
    };
    let url = match reqwest::Url::parse(&d.url) {
        Ok(url) => url,
        Err(e) => return failed(format!("bad URL: {e}"), false),
    };
    if let Err(e) = ssrf::check_url_static(&url, &events.inner.config.allow) {
        return failed(e.to_string(), false);
    }
    let body = d.envelope.clone().into_bytes();
    let mut req = client.post(url).header(CONTENT_TYPE, "application/json");
    for h in &hook.custom_headers {
        req = req.header(h.name.as_str(), h.value.as_str());
    }
    if let Some(secret) = hook.signing_secret() {
        let ts = now_ms() / 1000;
        for (name, value) in signing::headers(secret, &d.event_id, ts, &body) {
            req = req.header(name, value);
        }
    }
    let started = Instant::now();
    let result = req.body(body).send().await;
    let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    match result {
        Ok(res) if res.status().is_success() => {
            let status = i64::from(res.status().as_u16());
            drain(res).await;
            Attempt::Delivered { status, latency_ms }
        }
        Ok(res) => {
            let status = res.status();
            drain(res).await;
            Attempt::Failed {
                status: Some(i64::from(status.as_u16())),
                error: format!("HTTP {status}"),
                latency_ms,
                retry: true,
            }
        }
        Err(e) => Attempt::Failed {
            status: None,
            error: describe(e),
            latency_ms,
            retry: true,
        },
    }
}

/// Most of an answer's body that is read (and dropped) to keep its connection.
const MAX_DRAINED: usize = 64 * 1024;

/// Reads the answer's body to its end, so that its connection goes back to the pool: the HTTP
/// client reuses a connection only once the answer on it was read whole, and receivers answer
/// with a body (`{"ok":true}`) that often comes after the head. Without this, about every
/// webhook opened a new connection. A body longer than [`MAX_DRAINED`] is left, and its
/// connection closed; a failure while reading changes nothing (the status is what counts).
async fn drain(mut res: reqwest::Response) {
    let mut left = MAX_DRAINED;
    while let Ok(Some(chunk)) = res.chunk().await {
        match left.checked_sub(chunk.len()) {
            Some(rest) => left = rest,
            None => return,
        }
    }
}

/// When to try again (with jitter), or `None` when the webhook's retries are used up.
async fn next_attempt_at(events: &Events, d: &ClaimedDelivery) -> Option<i64> {
    let info = events.instance_info(&d.instance_id).await.ok()?;
    let hook = info.webhooks.iter().find(|w| w.id() == d.webhook_id)?;
    // This attempt was number `attempts + 1`; the next one is retry number `attempts + 1`.
    let n = u32::try_from(d.attempts + 1).ok()?;
    let delay = hook.retries.delay_before_retry(n)?;
    let delay = jittered(delay, events.inner.config.jitter);
    Some(now_ms().saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX)))
}

/// A request error without its URL (a webhook URL may carry a token), with its causes.
fn describe(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_redirect() {
        "redirect"
    } else {
        "request"
    };
    let e = e.without_url();
    let mut text = kind.to_string();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn truncate(s: &str) -> String {
    if s.len() <= MAX_ERROR_LEN {
        return s.to_string();
    }
    let mut end = MAX_ERROR_LEN;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}
