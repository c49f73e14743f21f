//! The relay bench's figures: CPU of fakewa, of this process (the clients) and of the rest of the
//! machine over a run, and one table row per run.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::procfs;
use crate::relay_clients::Tracker;

/// CPU used during a run.
pub(crate) struct Cpu {
    /// Seconds of CPU fakewa used.
    pub fakewa_secs: f64,
    /// Shares of one core (1.0 = 100 %).
    pub fakewa: f64,
    pub clients: f64,
    pub other: f64,
}

pub(crate) struct CpuProbe {
    fakewa_pid: u32,
    at: Instant,
    fakewa: Option<Duration>,
    me: Option<Duration>,
    machine: Option<Duration>,
}

impl CpuProbe {
    pub fn start(fakewa_pid: u32) -> CpuProbe {
        CpuProbe {
            fakewa_pid,
            at: Instant::now(),
            fakewa: procfs::cpu_time(fakewa_pid).ok(),
            me: procfs::cpu_time(std::process::id()).ok(),
            machine: procfs::machine_busy().ok(),
        }
    }

    pub fn stop(&self) -> Cpu {
        let secs = self.at.elapsed().as_secs_f64();
        let used = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
            (Some(a), Some(b)) => b.saturating_sub(a).as_secs_f64(),
            _ => f64::NAN,
        };
        let fakewa_secs = used(self.fakewa, procfs::cpu_time(self.fakewa_pid).ok());
        let me = used(self.me, procfs::cpu_time(std::process::id()).ok());
        let machine = used(self.machine, procfs::machine_busy().ok());
        Cpu {
            fakewa_secs,
            fakewa: fakewa_secs / secs,
            clients: me / secs,
            other: ((machine - fakewa_secs - me) / secs).max(0.0),
        }
    }
}

/// The figures of one run.
pub(crate) struct RunResult {
    /// Sends that returned `Ok`.
    pub sent: u64,
    pub errors: u64,
    pub received: u64,
    pub duplicates: u64,
    pub stale: u64,
    /// Successful sends per second of sending.
    pub sent_rate: f64,
    /// Messages received per second, first send → last receive.
    pub delivered_rate: f64,
    /// Send start → receive event, µs.
    pub latency: Histogram<u64>,
    /// How late the open loop started its latest send.
    pub lag: Duration,
    pub cpu: Cpu,
    /// fakewa's queued stanzas by class after the drain (`GET /admin/stats`).
    pub queued: Option<serde_json::Value>,
}

impl RunResult {
    pub fn collect(
        tracker: &Tracker,
        t0: Instant,
        send_secs: f64,
        sent: u64,
        errors: u64,
        lag: Duration,
        cpu: Cpu,
    ) -> anyhow::Result<RunResult> {
        let r = tracker.finish()?;
        let span = r
            .last
            .map(|l| l.saturating_duration_since(t0).as_secs_f64())
            .unwrap_or(f64::NAN);
        Ok(RunResult {
            sent,
            errors,
            received: r.received,
            duplicates: r.duplicates,
            stale: r.stale,
            sent_rate: sent as f64 / send_secs,
            delivered_rate: r.received as f64 / span,
            latency: r.latency,
            lag,
            cpu,
            queued: None,
        })
    }
}

pub(crate) fn print_header() {
    println!(
        "{:<14} {:>9} {:>9} {:>6} {:>6} {:>8} {:>8} {:>8} {:>9} {:>8} {:>8} {:>8} {:>10}",
        "mode",
        "sent/s",
        "deliv/s",
        "lost",
        "err",
        "p50 ms",
        "p99 ms",
        "max ms",
        "lag ms",
        "fakewa",
        "clients",
        "other",
        "fakewa µs/m"
    );
}

pub(crate) fn print_row(mode: &str, r: &RunResult) {
    let ms = |q: f64| r.latency.value_at_quantile(q) as f64 / 1000.0;
    let pct = |v: f64| format!("{:.0} %", v * 100.0);
    let per_msg = r.cpu.fakewa_secs * 1e6 / r.received.max(1) as f64;
    println!(
        "{:<14} {:>9.0} {:>9.0} {:>6} {:>6} {:>8.2} {:>8.2} {:>8.1} {:>9.1} {:>8} {:>8} {:>8} {:>10.1}",
        mode,
        r.sent_rate,
        r.delivered_rate,
        r.sent.saturating_sub(r.received),
        r.errors,
        ms(0.5),
        ms(0.99),
        r.latency.max() as f64 / 1000.0,
        r.lag.as_secs_f64() * 1000.0,
        pct(r.cpu.fakewa),
        pct(r.cpu.clients),
        pct(r.cpu.other),
        per_msg
    );
    if let Some(q) = r.queued.as_ref().and_then(|q| q.as_object())
        && !q.is_empty()
    {
        println!(
            "               (still queued in fakewa after the drain: {})",
            serde_json::Value::Object(q.clone())
        );
    }
    if r.duplicates > 0 || r.stale > 0 {
        println!(
            "               ({} duplicates, {} stale texts)",
            r.duplicates, r.stale
        );
    }
}
