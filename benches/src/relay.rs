//! `wawp-bench relay`: fakewa's own relay throughput (issue 7: ≥ 10,000 messages/s relayed on 2
//! cores), without wawp.
//!
//! A release `fakewa` runs as its own process (no data dir); this process runs N whatsapp-rust
//! companions, each linked to its own fakewa phone (so each account has a phone, device 0, and the
//! companion, device 1). Client i sends texts to client i+1's account (a ring), so every message is
//! encrypted for the recipient's phone and companion and for the sender's own phone: fakewa
//! relays three copies, the two phones (inside fakewa) decrypt theirs, and every device answers
//! with receipts. Latency is send start → `Event::Messages` at the recipient companion. A warm-up
//! establishes the Signal sessions first, so the runs relay `msg`, not `pkmsg`.
//!
//! Open loop at fixed rates (bounded in flight) and closed loop with K concurrent senders (each
//! sends its next text when `send_message` returns). CPU is read from `/proc` for fakewa, for this
//! process (the clients: they share the 2 cores) and for the whole machine.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use tokio::sync::Semaphore;

use crate::http::{Body, Http};
use crate::relay_clients::{Linked, Tracker, link};
use crate::relay_report::{CpuProbe, RunResult, print_header, print_row};
use crate::stack;

/// Longest one `send_message` may take before it counts as an error.
const SEND_TIMEOUT: Duration = Duration::from_secs(20);
/// Companions linked at the same time.
const LINK_BATCH: usize = 4;
/// The warm-up's open-loop rate (a closed loop would queue more than fakewa relays in a second).
const WARMUP_RATE: u64 = 1000;
/// How long fakewa's CPU is watched to call it idle.
const IDLE_PROBE: Duration = Duration::from_millis(250);

#[derive(Args)]
pub(crate) struct RelayArgs {
    /// The fakewa binary (`cargo build --release -p fakewa`, or `--profile profiling` for perf)
    /// [default: $CARGO_TARGET_DIR or <workspace>/target, then release/fakewa].
    #[arg(long)]
    fakewa: Option<PathBuf>,
    /// Companions, one fakewa account each; client i sends to client i+1 (a ring).
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Open-loop runs: messages per second offered (comma-separated; 0 = none).
    #[arg(long, value_delimiter = ',', default_value = "2000,5000,10000")]
    rate: Vec<u64>,
    /// Most sends in flight at once in the open-loop runs.
    #[arg(long, default_value_t = 2048)]
    in_flight: usize,
    /// Closed-loop runs: concurrent senders (comma-separated; 0 = none).
    #[arg(long, value_delimiter = ',', default_value = "64")]
    concurrency: Vec<usize>,
    /// Seconds of sending per run.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Seconds of warm-up at 1,000 msg/s after the first message of each pair (not counted).
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Seconds to wait after a run's last send for outstanding messages (then counted lost).
    #[arg(long, default_value_t = 30)]
    drain: u64,
    /// Start fakewa with `--no-phone-receipts` (the phones' receipts are not relayed).
    #[arg(long)]
    no_phone_receipts: bool,
    /// Extra environment for fakewa, `KEY=VALUE` (repeatable), e.g. `RUST_LOG=fakewa=info`.
    #[arg(long = "fakewa-env", value_parser = crate::parse_kv)]
    fakewa_env: Vec<(String, String)>,
    /// Worker threads of this process's runtime (the clients).
    #[arg(long, default_value_t = 2)]
    pub(crate) client_threads: usize,
    /// Keep the temp dir (fakewa's log) and print its path.
    #[arg(long)]
    keep: bool,
}

/// fakewa's process and the linked clients.
struct Rig {
    clients: Vec<Linked>,
    tracker: Arc<Tracker>,
    fakewa: stack::Proc,
    http: Http,
    /// fakewa's `http://host:port`.
    admin: String,
    _dir: tempfile::TempDir,
}

pub(crate) async fn run(args: RelayArgs) -> anyhow::Result<()> {
    let bin = args
        .fakewa
        .clone()
        .unwrap_or_else(|| stack::default_release_dir().join("fakewa"));
    anyhow::ensure!(
        bin.is_file(),
        "{} not found; build it with `cargo build --release -p fakewa` (or pass --fakewa)",
        bin.display()
    );
    println!("== wawp-bench relay");
    println!("machine : {}", crate::procfs::machine());
    println!("fakewa  : {}", bin.display());
    println!(
        "load avg: {} (1/5/15 min, before starting)",
        crate::procfs::loadavg()
    );
    anyhow::ensure!(args.clients >= 2, "--clients must be at least 2");
    let rig = Arc::new(start(&bin, &args).await?);
    println!(
        "clients : {} companions (ring), phone receipts {}, runtime threads {}",
        rig.clients.len(),
        if args.no_phone_receipts {
            "dropped"
        } else {
            "relayed"
        },
        args.client_threads
    );
    warm_up(&rig, &args).await?;
    print_header();
    let mut run_no = 1;
    for &rate in args.rate.iter().filter(|r| **r > 0) {
        run_no += 1;
        let r = open_loop(&rig, &args, run_no, rate).await?;
        print_row(&format!("{rate} msg/s"), &r);
    }
    for &k in args.concurrency.iter().filter(|k| **k > 0) {
        run_no += 1;
        let r = closed_loop(&rig, &args, run_no, k).await?;
        print_row(&format!("closed, {k}"), &r);
    }
    println!("load avg after the runs: {}", crate::procfs::loadavg());
    Ok(())
}

async fn start(bin: &std::path::Path, args: &RelayArgs) -> anyhow::Result<Rig> {
    let mut dir = tempfile::Builder::new()
        .prefix("wawp-bench-relay-")
        .tempdir()?;
    if args.keep {
        dir.disable_cleanup(true);
        eprintln!("  work dir (kept): {}", dir.path().display());
    }
    let mut fakewa_args = vec!["--listen".to_string(), "127.0.0.1:0".to_string()];
    if args.no_phone_receipts {
        fakewa_args.push("--no-phone-receipts".into());
    }
    let (fakewa, ws_url) = stack::spawn_fakewa(bin, dir.path(), &fakewa_args, &args.fakewa_env)?;
    let fakewa_http = stack::admin_base(&ws_url)?;
    let http = Http::new();
    let tracker = Arc::new(Tracker::default());
    let mut clients = Vec::with_capacity(args.clients);
    let started = Instant::now();
    for batch in (0..args.clients).collect::<Vec<_>>().chunks(LINK_BATCH) {
        let links = batch.iter().map(|i| {
            let number = format!("1201555{:04}", 7000 + i);
            let (http, base, ws, t) = (&http, &fakewa_http, &ws_url, tracker.clone());
            async move {
                link(http, base, ws, &number, t)
                    .await
                    .with_context(|| format!("link client {number}"))
            }
        });
        for linked in futures::future::join_all(links).await {
            clients.push(linked?);
        }
    }
    println!(
        "linked  : {} clients in {:.1} s",
        clients.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(Rig {
        clients,
        tracker,
        fakewa,
        http,
        admin: fakewa_http,
        _dir: dir,
    })
}

/// Client `i`'s next send: its text goes to the next client's account.
async fn send_one(rig: &Rig, i: usize, seq: u64) -> bool {
    let n = rig.clients.len();
    let (from, to) = (&rig.clients[i % n], &rig.clients[(i + 1) % n]);
    let text = rig.tracker.sending(seq);
    let sent = tokio::time::timeout(
        SEND_TIMEOUT,
        from.client.send_text(to.jid.clone(), text.as_str()),
    )
    .await;
    matches!(sent, Ok(Ok(_)))
}

/// One message per pair (Signal sessions: `pkmsg` once), then a short closed loop.
async fn warm_up(rig: &Arc<Rig>, args: &RelayArgs) -> anyhow::Result<()> {
    rig.tracker.begin(1)?;
    let firsts = (0..rig.clients.len()).map(|i| send_one(rig, i, i as u64));
    let ok = futures::future::join_all(firsts).await;
    anyhow::ensure!(ok.iter().all(|o| *o), "a warm-up send failed");
    drain(rig, Duration::from_secs(args.drain)).await;
    if args.warmup > 0 {
        let plan = OpenLoop {
            rate: WARMUP_RATE,
            duration: Duration::from_secs(args.warmup),
            in_flight: args.in_flight,
            drain: Duration::from_secs(args.drain),
        };
        let r = open_loop_for(rig, 1, &plan).await?;
        println!(
            "warm-up : {} messages at {WARMUP_RATE}/s, {} lost",
            r.received,
            r.sent.saturating_sub(r.received)
        );
    }
    Ok(())
}

/// Waits until every sent message arrived, or `limit`; then until fakewa is idle (its phones may
/// still be decrypting their copies), so that a run does not pay for the previous one's backlog.
async fn drain(rig: &Rig, limit: Duration) {
    let deadline = Instant::now() + limit;
    while rig.tracker.outstanding() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits (up to `limit`) until fakewa uses under 5 % of a core over a quarter second.
async fn wait_idle(rig: &Rig, limit: Duration) {
    let deadline = Instant::now() + limit;
    let pid = rig.fakewa.pid();
    while Instant::now() < deadline {
        let before = crate::procfs::cpu_time(pid).ok();
        tokio::time::sleep(IDLE_PROBE).await;
        let after = crate::procfs::cpu_time(pid).ok();
        match (before, after) {
            (Some(b), Some(a)) if a.saturating_sub(b) < IDLE_PROBE / 20 => return,
            (Some(_), Some(_)) => {}
            _ => return,
        }
    }
}

/// An open-loop run.
struct OpenLoop {
    rate: u64,
    duration: Duration,
    in_flight: usize,
    drain: Duration,
}

/// Sends at `rate` msg/s for `--duration` s, at most `--in-flight` at once.
async fn open_loop(
    rig: &Arc<Rig>,
    args: &RelayArgs,
    run: u64,
    rate: u64,
) -> anyhow::Result<RunResult> {
    let plan = OpenLoop {
        rate,
        duration: Duration::from_secs(args.duration),
        in_flight: args.in_flight,
        drain: Duration::from_secs(args.drain),
    };
    open_loop_for(rig, run, &plan).await
}

async fn open_loop_for(rig: &Arc<Rig>, run: u64, plan: &OpenLoop) -> anyhow::Result<RunResult> {
    wait_idle(rig, plan.drain).await;
    rig.tracker.begin(run)?;
    let probe = CpuProbe::start(rig.fakewa.pid());
    let rate = plan.rate;
    let total = (rate as f64 * plan.duration.as_secs_f64()) as u64;
    let gate = Arc::new(Semaphore::new(plan.in_flight.max(1)));
    let counts = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
    let mut lag = Duration::ZERO;
    let mut tasks = tokio::task::JoinSet::new();
    let t0 = Instant::now();
    for seq in 0..total {
        let due = t0 + Duration::from_secs_f64(seq as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        let permit = gate.clone().acquire_owned().await?;
        lag = lag.max(Instant::now().saturating_duration_since(due));
        let (rig, counts) = (rig.clone(), counts.clone());
        tasks.spawn(async move {
            let ok = send_one(&rig, seq as usize, seq).await;
            let counter = if ok { &counts.0 } else { &counts.1 };
            counter.fetch_add(1, Ordering::Relaxed);
            drop(permit);
        });
        // Reap finished sends so the set stays small.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    let send_secs = t0.elapsed().as_secs_f64();
    drain(rig, plan.drain).await;
    let cpu = probe.stop();
    let (ok, errors) = (
        counts.0.load(Ordering::Relaxed),
        counts.1.load(Ordering::Relaxed),
    );
    let mut r = RunResult::collect(&rig.tracker, t0, send_secs, ok, errors, lag, cpu)?;
    r.queued = queued(rig).await;
    Ok(r)
}

/// `k` senders for `--duration` s, each sending when its previous send returned.
async fn closed_loop(
    rig: &Arc<Rig>,
    args: &RelayArgs,
    run: u64,
    k: usize,
) -> anyhow::Result<RunResult> {
    let window = Duration::from_secs(args.duration);
    closed_loop_for(rig, run, k, window, Duration::from_secs(args.drain)).await
}

async fn closed_loop_for(
    rig: &Arc<Rig>,
    run: u64,
    k: usize,
    window: Duration,
    drain_limit: Duration,
) -> anyhow::Result<RunResult> {
    wait_idle(rig, drain_limit).await;
    rig.tracker.begin(run)?;
    let probe = CpuProbe::start(rig.fakewa.pid());
    let next = Arc::new(AtomicU64::new(0));
    let counts = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
    let t0 = Instant::now();
    let end = t0 + window;
    let mut tasks = tokio::task::JoinSet::new();
    for sender in 0..k {
        let (rig, next, counts) = (rig.clone(), next.clone(), counts.clone());
        tasks.spawn(async move {
            while Instant::now() < end {
                let seq = next.fetch_add(1, Ordering::Relaxed);
                let ok = send_one(&rig, sender, seq).await;
                let counter = if ok { &counts.0 } else { &counts.1 };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let send_secs = t0.elapsed().as_secs_f64();
    drain(rig, drain_limit).await;
    let cpu = probe.stop();
    let (ok, errors) = (
        counts.0.load(Ordering::Relaxed),
        counts.1.load(Ordering::Relaxed),
    );
    let mut r = RunResult::collect(&rig.tracker, t0, send_secs, ok, errors, Duration::ZERO, cpu)?;
    r.queued = queued(rig).await;
    Ok(r)
}

/// What fakewa still holds in its queues after a run's drain (`GET /admin/stats`): stanzas sent
/// and never acknowledged, by class. `None` when the stats cannot be read.
async fn queued(rig: &Rig) -> Option<serde_json::Value> {
    let url = format!("{}/admin/stats", rig.admin);
    let answer = rig.http.call("GET", &url, None, Body::Empty).await.ok()?;
    answer.ok("fakewa stats").ok()?.get("queued").cloned()
}
