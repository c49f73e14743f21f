//! `wawp-bench messages`: the figures of issues 4 and 5, end to end.
//!
//! Sender sessions A (one by default) and a receiving session B, each linked by its own fakewa
//! phone; a webhook receiver in this process (hyper, `127.0.0.1:0`, answers 200 and timestamps each
//! POST) set on B for `message` events. A sends texts to B with `POST /v2/send/text`; each text
//! carries a run tag and a sequence number, and the receiver matches the `message` event
//! (`payload.body`) to the time the API call started. That latency, "API call → webhook at B",
//! includes A's send (encrypt, fakewa relay), B's decrypt, B's durable commit (message + outbox
//! rows in one transaction) and the webhook POST: the end-to-end figure of both issues.
//!
//! Two modes: open loop at fixed rates (bounded in-flight sends) and closed loop with N
//! concurrent senders (max throughput). Losses (sent, never received within the drain deadline)
//! and duplicates are counted.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use clap::Args;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::http::Body;
use crate::procfs;
use crate::stack::{Stack, StackOptions};

/// Longest a single `send/text` call may take before it counts as an error.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Texts start with this, then the run number and the sequence number.
const TAG: &str = "wawp-bench";

#[derive(Args)]
pub(crate) struct MessagesArgs {
    #[command(flatten)]
    pub(crate) common: crate::Common,
    /// Open-loop runs: messages per second offered (comma-separated, one run each; 0 = none).
    #[arg(long, value_delimiter = ',', default_value = "500,1000")]
    rate: Vec<u64>,
    /// Most `send/text` calls in flight at once in the open-loop runs (the schedule slips, and the
    /// run is reported as not sustained, when the server is slower than that allows).
    #[arg(long, default_value_t = 256)]
    in_flight: usize,
    /// Closed-loop runs: concurrent senders, each sending its next text when the previous API
    /// call has answered (comma-separated, one run each; 0 = none).
    #[arg(long, value_delimiter = ',', default_value = "32")]
    concurrency: Vec<usize>,
    /// Seconds of sending per run.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Seconds of closed-loop warm-up (8 senders) before the first run, not counted.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Seconds to wait after a run's last send for the outstanding webhooks; what has not arrived
    /// by then is counted as lost.
    #[arg(long, default_value_t = 30)]
    drain: u64,
    /// Sender sessions (one fakewa phone each) sending to B in turn. Every sender is its own chat
    /// at B, and webhook deliveries are ordered (one in flight) per webhook and chat.
    #[arg(long, default_value_t = 1)]
    senders: usize,
    /// Who sends to B: `wawp` = sender sessions of this server (`POST /v2/send/text`, issue 4
    /// and 5 end to end); `fakewa` = plain fakewa phones not linked to wawp (`POST
    /// /admin/phones/{n}/send` on fakewa), so that wawp only receives: inbound → webhook alone
    /// (issue 5). The `api` columns are then fakewa's admin call.
    #[arg(long, default_value = "wawp", value_parser = ["wawp", "fakewa"])]
    from: String,
    /// Also read B's event stream (`GET /v2/events`, SSE) and split the latency at the moment B's
    /// event is committed: API → event, event → webhook. The stream adds its own load to wawp.
    #[arg(long)]
    sse: bool,
    /// Worker threads of the bench's runtime (load generator and webhook receiver).
    #[arg(long, default_value_t = 2)]
    pub(crate) client_threads: usize,
}

/// What the bench knows of one message.
struct Sent {
    start: Instant,
    /// The API call answered 2xx.
    ok: bool,
}

struct Got {
    first: Instant,
    count: u32,
}

#[derive(Default)]
struct TrackState {
    run: u64,
    sent: HashMap<u64, Sent>,
    got: HashMap<u64, Got>,
    /// `message` events of another run (late from an earlier one) or not from the bench.
    stale: u64,
    /// Every POST the receiver answered.
    posts: u64,
    /// First time each message was seen on B's event stream (`--sse`): committed to the outbox.
    streamed: HashMap<u64, Instant>,
}

/// Shared by the senders and the webhook receiver.
#[derive(Default)]
struct Tracker {
    state: Mutex<TrackState>,
}

impl Tracker {
    fn lock(&self) -> std::sync::MutexGuard<'_, TrackState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts run `run`: forgets the previous one.
    fn begin(&self, run: u64) {
        let mut s = self.lock();
        s.run = run;
        s.sent.clear();
        s.got.clear();
        s.streamed.clear();
    }

    /// `(run, seq)` of a bench text in a `message` envelope.
    fn parse(v: &Value) -> Option<(u64, u64)> {
        if v["event"] != "message" {
            return None;
        }
        let text = v["payload"]["body"].as_str()?;
        let mut parts = text.split(' ');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(TAG), Some(run), Some(seq)) => run.parse::<u64>().ok().zip(seq.parse().ok()),
            _ => None,
        }
    }

    fn record_streamed(&self, data: &[u8], at: Instant) {
        let v: Value = serde_json::from_slice(data).unwrap_or(Value::Null);
        if let Some((run, seq)) = Tracker::parse(&v) {
            let mut s = self.lock();
            if run == s.run && s.sent.contains_key(&seq) {
                s.streamed.entry(seq).or_insert(at);
            }
        }
    }

    fn record_post(&self, body: &[u8], at: Instant) {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let mut s = self.lock();
        s.posts += 1;
        if v["event"] != "message" {
            return;
        }
        match Tracker::parse(&v) {
            Some((run, seq)) if run == s.run && s.sent.contains_key(&seq) => {
                s.got
                    .entry(seq)
                    .and_modify(|g| g.count += 1)
                    .or_insert(Got {
                        first: at,
                        count: 1,
                    });
            }
            _ => s.stale += 1,
        }
    }
}

/// The webhook receiver: HTTP/1.1 keep-alive, 200 to every request, body timestamped when read.
async fn start_receiver(
    tracker: Arc<Tracker>,
) -> anyhow::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let mut conns = tokio::task::JoinSet::new();
        while let Ok((stream, _)) = listener.accept().await {
            while conns.try_join_next().is_some() {}
            let _ = stream.set_nodelay(true);
            let tracker = tracker.clone();
            let service = service_fn(move |req: Request<Incoming>| {
                let tracker = tracker.clone();
                async move {
                    let body = req
                        .into_body()
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    tracker.record_post(&body, Instant::now());
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
                }
            });
            conns.spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
        // Dropping `conns` aborts the connections when the task is aborted.
    });
    Ok((addr, task))
}

/// Reads B's `GET /v2/events?events=message` (Server-Sent Events) and timestamps each bench
/// text: the moment B's `message` event is committed and announced, before any webhook POST.
async fn start_stream(
    tracker: Arc<Tracker>,
    stack: &Stack,
    instance: &str,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let addr: std::net::SocketAddr = stack
        .api
        .strip_prefix("http://")
        .context("api URL")?
        .parse()?;
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let conn = tokio::spawn(conn);
    let req = Request::get(format!("/v2/events?instance_id={instance}&events=message"))
        .header(hyper::header::HOST, addr.to_string())
        .header(
            hyper::header::AUTHORIZATION,
            format!("Bearer {}", stack.token),
        )
        .body(Full::new(Bytes::new()))?;
    let res = tokio::time::timeout(Duration::from_secs(10), sender.send_request(req))
        .await
        .context("GET /v2/events: no answer")??;
    anyhow::ensure!(
        res.status().is_success(),
        "GET /v2/events answered {}",
        res.status()
    );
    let mut body = res.into_body();
    Ok(tokio::spawn(async move {
        let mut buf: Vec<u8> = Vec::new();
        // Ends when the server closes the stream or the task is aborted.
        while let Some(Ok(frame)) = body.frame().await {
            let at = Instant::now();
            let Ok(data) = frame.into_data() else {
                continue;
            };
            buf.extend_from_slice(&data);
            while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = buf.drain(..=nl).collect();
                if let Some(json) = line.strip_prefix(b"data:") {
                    tracker.record_streamed(json.trim_ascii(), at);
                }
            }
        }
        conn.abort();
    }))
}

/// API-side figures of one run.
struct ApiStats {
    hist: Histogram<u64>,
    /// Start of the call minus its scheduled time (open loop), µs.
    lag: Histogram<u64>,
    ok: u64,
    /// 2xx answers completed inside the sending window (closed loop's sent/s).
    ok_in_window: u64,
    non_2xx: u64,
    errors: u64,
    first_failure: Option<String>,
    last_start: Option<Instant>,
}

fn histogram() -> Histogram<u64> {
    // microseconds, 1 µs .. 10 min, 3 significant digits
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

impl ApiStats {
    fn new() -> Self {
        ApiStats {
            hist: histogram(),
            lag: histogram(),
            ok: 0,
            ok_in_window: 0,
            non_2xx: 0,
            errors: 0,
            first_failure: None,
            last_start: None,
        }
    }
}

struct Ctx {
    stack: Arc<Stack>,
    tracker: Arc<Tracker>,
    /// Instance ids (from wawp) or phone numbers (from fakewa).
    senders: Vec<String>,
    from_fakewa: bool,
    /// B's number.
    to_number: String,
    /// `<B's number>@c.us`.
    to: String,
}

impl Ctx {
    /// One `send/text`: recorded in the tracker before the call, its answer in `stats`.
    async fn send(&self, run: u64, seq: u64, window_end: Instant, stats: &Mutex<ApiStats>) {
        let from = &self.senders[(seq % self.senders.len() as u64) as usize];
        let text = format!("{TAG} {run} {seq}");
        let start = Instant::now();
        self.tracker
            .lock()
            .sent
            .insert(seq, Sent { start, ok: false });
        let params = [
            ("instance_id", from.as_str()),
            ("chatId", self.to.as_str()),
            ("message", text.as_str()),
        ];
        let res = if self.from_fakewa {
            let url = format!("{}/admin/phones/{from}/send", self.stack.fakewa_http);
            let body = json!({ "to": self.to_number, "text": text });
            let call = self.stack.http.call("POST", &url, None, Body::Json(&body));
            tokio::time::timeout(SEND_TIMEOUT, call).await
        } else {
            let call = self.stack.api("POST", "/v2/send/text", &params);
            tokio::time::timeout(SEND_TIMEOUT, call).await
        };
        let done = Instant::now();
        let mut st = stats.lock().unwrap_or_else(|e| e.into_inner());
        if st.last_start.is_none_or(|t| t < start) {
            st.last_start = Some(start);
        }
        match res {
            Ok(Ok(a)) if (200..300).contains(&a.status) => {
                st.ok += 1;
                if done <= window_end {
                    st.ok_in_window += 1;
                }
                st.hist
                    .saturating_record(done.duration_since(start).as_micros() as u64);
                drop(st);
                if let Some(s) = self.tracker.lock().sent.get_mut(&seq) {
                    s.ok = true;
                }
            }
            Ok(Ok(a)) => {
                st.non_2xx += 1;
                st.first_failure
                    .get_or_insert_with(|| format!("HTTP {}: {}", a.status, a.text));
            }
            Ok(Err(e)) => {
                st.errors += 1;
                st.first_failure.get_or_insert_with(|| format!("{e:#}"));
            }
            Err(_) => {
                st.errors += 1;
                st.first_failure
                    .get_or_insert_with(|| format!("no answer within {SEND_TIMEOUT:?}"));
            }
        }
    }

    /// Waits (at most `drain`) until every message whose call answered 2xx has been received.
    async fn drain(&self, drain: Duration) {
        let deadline = Instant::now() + drain;
        while Instant::now() < deadline {
            let missing = {
                let s = self.tracker.lock();
                s.sent
                    .iter()
                    .filter(|(seq, sent)| sent.ok && !s.got.contains_key(seq))
                    .count()
            };
            if missing == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// After a run with losses: waits until the receiver has been idle for 2 s (at most `max`),
    /// so that the next run does not share the pipeline with the previous one's backlog.
    async fn settle(&self, max: Duration) {
        let deadline = Instant::now() + max;
        let mut last = self.tracker.lock().posts;
        let mut quiet_since = Instant::now();
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let now = self.tracker.lock().posts;
            if now != last {
                last = now;
                quiet_since = Instant::now();
            } else if quiet_since.elapsed() >= Duration::from_secs(2) {
                return;
            }
        }
    }
}

/// CPU used by wawp, fakewa, this process and everything else over a window (share of one core).
struct Cpu {
    server: f64,
    fakewa: f64,
    client: f64,
    other: f64,
}

struct CpuProbe {
    pids: [u32; 3],
    at: Instant,
    times: [Option<Duration>; 3],
    machine: Option<Duration>,
}

impl CpuProbe {
    fn start(stack: &Stack) -> Self {
        let pids = [stack.wawp.pid(), stack.fakewa.pid(), std::process::id()];
        CpuProbe {
            pids,
            at: Instant::now(),
            times: pids.map(|p| procfs::cpu_time(p).ok()),
            machine: procfs::machine_busy().ok(),
        }
    }

    fn stop(&self) -> Cpu {
        let secs = self.at.elapsed().as_secs_f64();
        let now = self.pids.map(|p| procfs::cpu_time(p).ok());
        let busy = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
            (Some(a), Some(b)) => b.saturating_sub(a).as_secs_f64() / secs,
            _ => f64::NAN,
        };
        let server = busy(self.times[0], now[0]);
        let fakewa = busy(self.times[1], now[1]);
        let client = busy(self.times[2], now[2]);
        let machine = busy(self.machine, procfs::machine_busy().ok());
        Cpu {
            server,
            fakewa,
            client,
            other: (machine - server - fakewa - client).max(0.0),
        }
    }
}

/// The figures of one run.
struct RunResult {
    /// Successful API calls per second of sending.
    sent_rate: f64,
    /// Messages received per second (see each mode for the window).
    delivered_rate: f64,
    e2e: Histogram<u64>,
    /// API call start → event on B's SSE stream (`--sse` only).
    commit: Histogram<u64>,
    /// Event on B's SSE stream → webhook received (`--sse` only).
    hook: Histogram<u64>,
    api: ApiStats,
    attempted: u64,
    received: u64,
    lost: u64,
    dups: u64,
    stale: u64,
    /// Received although the API call failed or timed out.
    received_unacked: u64,
    cpu: Cpu,
    /// Last webhook of the run minus its first scheduled send.
    span: Duration,
}

/// Figures from the tracker after a run (and its drain).
fn collect(
    ctx: &Ctx,
    t0: Instant,
    stale_before: u64,
    api: ApiStats,
    cpu: Cpu,
    window: Option<(Instant, Instant)>,
) -> (RunResult, u64) {
    let s = ctx.tracker.lock();
    let mut e2e = histogram();
    let mut commit = histogram();
    let mut hook = histogram();
    for (seq, at) in &s.streamed {
        if let Some(sent) = s.sent.get(seq) {
            commit.saturating_record(at.saturating_duration_since(sent.start).as_micros() as u64);
        }
        if let Some(g) = s.got.get(seq) {
            hook.saturating_record(g.first.saturating_duration_since(*at).as_micros() as u64);
        }
    }
    let (mut lost, mut dups, mut unacked, mut in_window) = (0, 0, 0, 0);
    let mut last = t0;
    for (seq, sent) in &s.sent {
        match s.got.get(seq) {
            Some(g) => {
                e2e.saturating_record(
                    g.first.saturating_duration_since(sent.start).as_micros() as u64
                );
                dups += u64::from(g.count - 1);
                if !sent.ok {
                    unacked += 1;
                }
                last = last.max(g.first);
                if window.is_some_and(|(a, b)| g.first >= a && g.first <= b) {
                    in_window += 1;
                }
            }
            None if sent.ok => lost += 1,
            None => {}
        }
    }
    let span = last.duration_since(t0);
    let received = s.got.len() as u64;
    (
        RunResult {
            sent_rate: 0.0,
            delivered_rate: received as f64 / span.as_secs_f64().max(1e-9),
            e2e,
            commit,
            hook,
            attempted: s.sent.len() as u64,
            received,
            lost,
            dups,
            stale: s.stale - stale_before,
            received_unacked: unacked,
            api,
            cpu,
            span,
        },
        in_window,
    )
}

/// Open loop: `rate` sends per second for `duration`, each at its scheduled time (or as soon as
/// one of `in_flight` slots frees up).
async fn open_loop(
    ctx: &Arc<Ctx>,
    run: u64,
    rate: u64,
    duration: Duration,
    in_flight: usize,
    drain: Duration,
) -> RunResult {
    ctx.tracker.begin(run);
    let stale_before = ctx.tracker.lock().stale;
    let total = rate.saturating_mul(duration.as_secs()).max(1);
    let stats = Arc::new(Mutex::new(ApiStats::new()));
    let slots = Arc::new(Semaphore::new(in_flight.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let t0 = Instant::now();
    let window_end = t0 + duration;
    let probe = CpuProbe::start(&ctx.stack);
    let mut cpu = None;
    for seq in 0..total {
        let due = t0 + Duration::from_secs_f64(seq as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        let Ok(permit) = slots.clone().acquire_owned().await else {
            break;
        };
        let lag = Instant::now().saturating_duration_since(due);
        stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .lag
            .saturating_record(lag.as_micros() as u64);
        let (ctx, stats) = (ctx.clone(), stats.clone());
        tasks.spawn(async move {
            ctx.send(run, seq, window_end, &stats).await;
            drop(permit);
        });
        while tasks.try_join_next().is_some() {}
    }
    if Instant::now() <= window_end {
        tokio::time::sleep_until(window_end.into()).await;
        cpu = Some(probe.stop());
    }
    while tasks.join_next().await.is_some() {}
    let cpu = cpu.unwrap_or_else(|| probe.stop());
    ctx.drain(drain).await;
    let api = take(stats);
    let send_span = api
        .last_start
        .map_or(duration, |t| t.duration_since(t0))
        .max(duration);
    let sent_rate = api.ok as f64 / send_span.as_secs_f64();
    let (mut r, _) = collect(ctx, t0, stale_before, api, cpu, None);
    r.sent_rate = sent_rate;
    r
}

/// Closed loop: `concurrency` senders for `duration`, each sending again when its call answers.
/// sent/s and delivered/s count what completed inside the window.
async fn closed_loop(
    ctx: &Arc<Ctx>,
    run: u64,
    concurrency: usize,
    duration: Duration,
    drain: Duration,
) -> RunResult {
    ctx.tracker.begin(run);
    let stale_before = ctx.tracker.lock().stale;
    let stats = Arc::new(Mutex::new(ApiStats::new()));
    let next = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let end = t0 + duration;
    let probe = CpuProbe::start(&ctx.stack);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (ctx, stats, next) = (ctx.clone(), stats.clone(), next.clone());
        tasks.spawn(async move {
            while Instant::now() < end {
                let seq = next.fetch_add(1, Ordering::Relaxed);
                ctx.send(run, seq, end, &stats).await;
            }
        });
    }
    tokio::time::sleep_until(end.into()).await;
    let cpu = probe.stop();
    while tasks.join_next().await.is_some() {}
    ctx.drain(drain).await;
    let api = take(stats);
    let sent_rate = api.ok_in_window as f64 / duration.as_secs_f64();
    let (mut r, in_window) = collect(ctx, t0, stale_before, api, cpu, Some((t0, end)));
    r.sent_rate = sent_rate;
    r.delivered_rate = in_window as f64 / duration.as_secs_f64();
    r
}

fn take(stats: Arc<Mutex<ApiStats>>) -> ApiStats {
    match Arc::try_unwrap(stats) {
        Ok(m) => m.into_inner().unwrap_or_else(|e| e.into_inner()),
        Err(arc) => {
            // Every task has been joined; this is unreachable, but copy rather than panic.
            let s = arc.lock().unwrap_or_else(|e| e.into_inner());
            ApiStats {
                hist: s.hist.clone(),
                lag: s.lag.clone(),
                first_failure: s.first_failure.clone(),
                ..ApiStats::new()
            }
        }
    }
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        return f64::NAN;
    }
    h.value_at_quantile(q) as f64 / 1000.0
}

fn print_header(first: &str) {
    println!(
        "{:>7}  {:>7}  {:>7}  {:>9}  {:>7}  {:>7}  {:>7}  {:>8}  {:>7}  {:>7}  {:>6}  {:>4}  {:>6}  {:>8}  {:>7}  {:>7}  {:>7}  {:>7}",
        first,
        "sent/s",
        "deliv/s",
        "sustained",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "api p50",
        "api p99",
        "lost",
        "dup",
        "errors",
        "lag max",
        "srv CPU",
        "fwa CPU",
        "cli CPU",
        "oth CPU"
    );
}

fn print_row(first: String, r: &RunResult, sustained: &str) {
    println!(
        "{:>7}  {:>7.0}  {:>7.0}  {:>9}  {:>7.2}  {:>7.2}  {:>7.2}  {:>8.2}  {:>7.2}  {:>7.2}  {:>6}  {:>4}  {:>6}  {:>8.1}  {:>6.0}%  {:>6.0}%  {:>6.0}%  {:>6.0}%",
        first,
        r.sent_rate,
        r.delivered_rate,
        sustained,
        ms(&r.e2e, 0.5),
        ms(&r.e2e, 0.9),
        ms(&r.e2e, 0.99),
        if r.e2e.is_empty() {
            f64::NAN
        } else {
            r.e2e.max() as f64 / 1000.0
        },
        ms(&r.api.hist, 0.5),
        ms(&r.api.hist, 0.99),
        r.lost,
        r.dups,
        r.api.errors + r.api.non_2xx,
        if r.api.lag.is_empty() {
            f64::NAN
        } else {
            r.api.lag.max() as f64 / 1000.0
        },
        r.cpu.server * 100.0,
        r.cpu.fakewa * 100.0,
        r.cpu.client * 100.0,
        r.cpu.other * 100.0
    );
    let mut notes = Vec::new();
    if r.delivered_rate > 0.0 {
        // The figure that does not depend on what fakewa and the bench take from the cores.
        notes.push(format!(
            "wawp CPU per delivered message {:.0} µs",
            r.cpu.server * 1e6 / r.delivered_rate
        ));
    }
    if r.stale > 0 {
        notes.push(format!(
            "{} late webhooks of an earlier run arrived during this one",
            r.stale
        ));
    }
    if r.received_unacked > 0 {
        notes.push(format!(
            "{} received although their API call failed",
            r.received_unacked
        ));
    }
    if let Some(f) = &r.api.first_failure {
        notes.push(format!("first API failure: {f}"));
    }
    if !r.commit.is_empty() {
        notes.push(format!(
            "API -> SSE event at B p50/p99 {:.2}/{:.2} ms, SSE event -> webhook p50/p99 {:.2}/{:.2} ms",
            ms(&r.commit, 0.5),
            ms(&r.commit, 0.99),
            ms(&r.hook, 0.5),
            ms(&r.hook, 0.99)
        ));
    }
    notes.push(format!(
        "{} sent, {} received, last webhook {:.2}s after the first send",
        r.attempted,
        r.received,
        r.span.as_secs_f64()
    ));
    println!("         ({})", notes.join("; "));
}

pub(crate) async fn run(args: MessagesArgs) -> anyhow::Result<()> {
    let bins = args.common.binaries()?;
    crate::header("messages", &bins);
    let mut env = vec![
        ("WAWP_LIMITS__TOKEN_RPS".to_string(), "0".to_string()),
        ("WAWP_LIMITS__INSTANCE_RPS".to_string(), "0".to_string()),
        // The webhook receiver is on loopback, which webhooks may not reach otherwise.
        (
            "WAWP_ALLOW_PRIVATE_URLS".to_string(),
            "127.0.0.1".to_string(),
        ),
    ];
    env.extend(args.common.server_env.iter().cloned());
    println!(
        "server env: {}",
        env.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let stack = Arc::new(
        Stack::start(
            &bins,
            &StackOptions {
                server_env: env,
                keep: args.common.keep,
                fakewa_data_dir: args.common.fakewa_data_dir,
            },
        )
        .await?,
    );
    let result = measure(&args, &stack).await;
    if result.is_err() {
        eprintln!("wawp.log (tail):\n{}", stack.log_tail("wawp.log"));
    }
    result
}

async fn measure(args: &MessagesArgs, stack: &Arc<Stack>) -> anyhow::Result<()> {
    let b_number = "12015550200";
    let started = Instant::now();
    let b = stack.link_new_session(b_number).await?;
    let from_fakewa = args.from == "fakewa";
    let mut senders = Vec::new();
    for i in 0..args.senders.clamp(1, 99) {
        let number = format!("120155502{:02}", i + 1);
        if from_fakewa {
            stack
                .fakewa(
                    "/phones",
                    &json!({ "number": number, "pushName": format!("Bench {number}") }),
                )
                .await?;
            senders.push(number);
        } else {
            senders.push(stack.link_new_session(&number).await?);
        }
    }
    println!(
        "sessions: B {b} ({b_number}), senders {} ({}) — ready in {:.1}s",
        senders.join(", "),
        if from_fakewa {
            "fakewa phones, POST /admin/phones/{n}/send"
        } else {
            "wawp sessions, POST /v2/send/text"
        },
        started.elapsed().as_secs_f64()
    );

    let tracker = Arc::new(Tracker::default());
    let (addr, receiver) = start_receiver(tracker.clone()).await?;
    let hook = format!("http://{addr}/hook");
    stack
        .http
        .call(
            "PUT",
            &format!("{}/v2/webhooks", stack.api),
            Some(&stack.token),
            Body::Json(&json!({
                "instance_id": b,
                "webhooks": [{"url": hook, "events": ["message"]}],
            })),
        )
        .await?
        .ok("PUT /v2/webhooks")?;
    println!("webhook : {hook} on B, events [\"message\"] (receiver in this process, answers 200)");

    let stream = if args.sse {
        println!("stream  : GET /v2/events?instance_id={b}&events=message (SSE) read by the bench");
        Some(start_stream(tracker.clone(), stack, &b).await?)
    } else {
        None
    };
    let ctx = Arc::new(Ctx {
        stack: stack.clone(),
        tracker,
        senders,
        from_fakewa,
        to_number: b_number.to_string(),
        to: format!("{b_number}@c.us"),
    });
    let result = runs(args, &ctx).await;
    receiver.abort();
    if let Some(s) = stream {
        s.abort();
    }
    result
}

async fn runs(args: &MessagesArgs, ctx: &Arc<Ctx>) -> anyhow::Result<()> {
    let drain = Duration::from_secs(args.drain);
    let duration = Duration::from_secs(args.duration.max(1));

    // Warm-up: the first text of each sender sets up its Signal session with B (prekey fetch),
    // then a short closed loop; nothing here is counted.
    ctx.tracker.begin(0);
    let stats = Mutex::new(ApiStats::new());
    let far = Instant::now() + Duration::from_secs(3600);
    for seq in 0..ctx.senders.len() as u64 {
        ctx.send(0, seq, far, &stats).await;
    }
    ctx.drain(Duration::from_secs(30)).await;
    {
        let s = ctx.tracker.lock();
        anyhow::ensure!(
            s.got.len() == ctx.senders.len(),
            "warm-up: {} of {} first messages reached the webhook within 30 s ({:?})",
            s.got.len(),
            ctx.senders.len(),
            stats
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .first_failure
        );
    }
    let warm = closed_loop(ctx, 1, 8, Duration::from_secs(args.warmup), drain).await;
    println!(
        "warm-up : {}s closed loop, 8 senders: {} sent, {} received, {} lost, API errors {}",
        args.warmup,
        warm.attempted,
        warm.received,
        warm.lost,
        warm.api.errors + warm.api.non_2xx
    );
    if warm.lost > 0 {
        ctx.settle(Duration::from_secs(60)).await;
    }
    println!(
        "load avg: {} (now); {} CPU(s), the bench (generator + receiver, {} threads) shares them \
         with wawp and fakewa",
        procfs::loadavg(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        args.client_threads
    );
    if ctx.from_fakewa {
        println!(
            "latency : p50..max = fakewa admin send call start -> `message` webhook at B (fakewa phone \
             encrypt + relay + B decrypt + durable commit + webhook POST); api = fakewa's admin call"
        );
    } else {
        println!(
            "latency : p50..max = send/text call start -> `message` webhook at B (A send + fakewa relay \
             + B decrypt + durable commit + webhook POST); api = send/text answer time"
        );
    }

    let mut run_no = 1;
    if args.rate.iter().any(|&r| r > 0) {
        println!(
            "\nopen loop: fixed rate for {}s each, at most {} calls in flight; lag = how late a call \
             started behind its schedule",
            args.duration, args.in_flight
        );
        print_header("rate/s");
        for &rate in args.rate.iter().filter(|&&r| r > 0) {
            run_no += 1;
            let r = open_loop(ctx, run_no, rate, duration, args.in_flight, drain).await;
            let ok = r.lost == 0
                && r.api.errors + r.api.non_2xx == 0
                && r.sent_rate >= 0.97 * rate as f64
                && r.delivered_rate >= 0.97 * rate as f64;
            print_row(rate.to_string(), &r, if ok { "yes" } else { "NO" });
            if r.lost > 0 {
                ctx.settle(Duration::from_secs(60)).await;
            }
        }
    }
    if args.concurrency.iter().any(|&n| n > 0) {
        println!(
            "\nclosed loop: N concurrent senders for {}s; sent/s = API answers and deliv/s = webhooks \
             received inside the window",
            args.duration
        );
        print_header("conc");
        for &n in args.concurrency.iter().filter(|&&n| n > 0) {
            run_no += 1;
            let r = closed_loop(ctx, run_no, n, duration, drain).await;
            print_row(n.to_string(), &r, "-");
            if r.lost > 0 {
                ctx.settle(Duration::from_secs(60)).await;
            }
        }
    }
    println!(
        "\n(CPU: share of one core over the sending window; 200% = both cores of a 2-core machine; \
         srv = wawp, fwa = fakewa, cli = this bench, oth = every other process, e.g. builds)"
    );
    println!(
        "lost = API call answered 2xx but no webhook within {}s of the end of sending; dup = webhooks \
         beyond the first for a message",
        args.drain
    );
    println!("load avg after the runs: {}", procfs::loadavg());
    println!(
        "targets : issue 4 >= 2,000 msg/s sustained, p99 < 25 ms at 500 msg/s; issue 5 p99 < 20 ms at \
         1,000 events/s, >= 5,000 events/s sustained (2 cores)"
    );
    let mem = procfs::mem(ctx.stack.wawp.pid()).context("server memory")?;
    println!(
        "server RSS after the runs: {:.1} MiB (peak {:.1} MiB)",
        mem.rss_mib(),
        mem.hwm_kib as f64 / 1024.0
    );
    Ok(())
}
