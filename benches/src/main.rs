//! `wawp-bench`: the figures of issue 3, measured against release builds of wawp (sandbox feature)
//! and fakewa, each running as its own process on loopback.
//!
//! - `wawp-bench api`: requests/s and latency percentiles of `POST /v2/session/info` under load.
//! - `wawp-bench memory`: RSS of the wawp process with 0, 100 and 500 linked idle sessions.
//! - `wawp-bench messages`: `send/text` from A to B through fakewa, to a webhook on B (issues 4
//!   and 5): latency API call → webhook, messages/s, losses and duplicates.
//! - `wawp-bench relay`: fakewa alone relaying between whatsapp-rust clients in this process
//!   (issue 7): messages/s, latency send → receive, fakewa's CPU per message.
//!
//! See benches/README.md for how to build and run it.

mod http;
mod load;
mod messages;
mod procfs;
mod relay;
mod relay_clients;
mod relay_report;
mod stack;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

use crate::stack::{Binaries, Stack, StackOptions};

#[derive(Parser)]
#[command(
    name = "wawp-bench",
    about = "Benchmarks for wawp: API overhead, memory per session, message and webhook latency"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Load `POST /v2/session/info` on loopback: requests/s, p50/p99/p99.9, errors.
    Api(ApiArgs),
    /// RSS of the server (and of fakewa) with N linked idle sessions.
    Memory(MemoryArgs),
    /// `send/text` A → B through fakewa, timed to B's `message` webhook: latency, msg/s, losses.
    Messages(messages::MessagesArgs),
    /// fakewa alone: whatsapp-rust clients in this process relay texts through a release fakewa.
    Relay(relay::RelayArgs),
}

#[derive(Args)]
pub(crate) struct Common {
    /// The wawp binary, built with `cargo build --release -p wawp --features sandbox`
    /// [default: $CARGO_TARGET_DIR or <workspace>/target, then release/wawp].
    #[arg(long)]
    wawp: Option<PathBuf>,
    /// The fakewa binary, built with a separate `cargo build --release -p fakewa`
    /// [default: next to wawp's default].
    #[arg(long)]
    fakewa: Option<PathBuf>,
    /// Extra environment for the wawp server, `KEY=VALUE` (repeatable), e.g. `MALLOC_ARENA_MAX=2`.
    #[arg(long = "server-env", value_parser = parse_kv)]
    server_env: Vec<(String, String)>,
    /// Keep the temp dir (logs and databases) and print its path.
    #[arg(long)]
    keep: bool,
    /// Give fakewa a data dir, so its virtual phones keep their Signal state in SQLite files as in
    /// `wawp sandbox` (by default they keep it in memory: the phones are the bench's load
    /// generator, and on disk they cost more CPU per message than the wawp session they feed).
    #[arg(long)]
    fakewa_data_dir: bool,
}

impl Common {
    pub(crate) fn binaries(&self) -> anyhow::Result<Binaries> {
        let dir = stack::default_release_dir();
        let bins = Binaries {
            wawp: self.wawp.clone().unwrap_or_else(|| dir.join("wawp")),
            fakewa: self.fakewa.clone().unwrap_or_else(|| dir.join("fakewa")),
        };
        bins.check()?;
        Ok(bins)
    }
}

#[derive(Args)]
struct ApiArgs {
    #[command(flatten)]
    common: Common,
    /// Measured seconds per run.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Warm-up seconds before each measured run (not counted).
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Concurrent keep-alive connections; a comma-separated list runs once per value.
    #[arg(long, value_delimiter = ',', default_value = "64")]
    connections: Vec<usize>,
    /// Worker threads of the load generator (it shares the machine with the server).
    #[arg(long, default_value_t = 2)]
    client_threads: usize,
    /// Leave the instance unlinked (SCAN_QR_CODE) instead of linking it to a fakewa phone first.
    #[arg(long)]
    no_link: bool,
    /// Load another route instead, for comparison: `POST /path` (form `instance_id=…`) or
    /// `GET /path?…` (`{id}` is replaced by the instance id), e.g. `GET /health`.
    #[arg(long, default_value = "POST /v2/session/info")]
    route: String,
    /// Also run `wrk` with the same request when it is on the PATH.
    #[arg(long)]
    wrk: bool,
}

#[derive(Args)]
struct MemoryArgs {
    #[command(flatten)]
    common: Common,
    /// Session counts at which to measure, ascending, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "100,500")]
    sessions: Vec<usize>,
    /// Sessions linked concurrently.
    #[arg(long, default_value_t = 20)]
    batch: usize,
    /// Seconds to let the server idle before each measurement.
    #[arg(long, default_value_t = 10)]
    idle: u64,
    /// Worker threads of the bench's own runtime.
    #[arg(long, default_value_t = 2)]
    client_threads: usize,
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("`{s}` is not KEY=VALUE"))
}

/// Every stanza, request and event allocates and frees small buffers on every thread; glibc's
/// malloc was a large share of a busy process's CPU (benches/README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let threads = match &cli.command {
        Cmd::Api(a) => a.client_threads,
        Cmd::Memory(m) => m.client_threads,
        Cmd::Messages(m) => m.client_threads,
        Cmd::Relay(r) => r.client_threads,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        // Ctrl-C ends the run; dropping the stack stops the servers.
        tokio::select! {
            r = async {
                match cli.command {
                    Cmd::Api(a) => api(a).await,
                    Cmd::Memory(m) => memory(m).await,
                    Cmd::Messages(m) => messages::run(m).await,
                    Cmd::Relay(r) => relay::run(r).await,
                }
            } => r,
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(5));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

pub(crate) fn header(what: &str, bins: &Binaries) {
    println!("== wawp-bench {what}");
    println!("machine : {}", procfs::machine());
    println!("server  : {}", bins.wawp.display());
    println!("fakewa  : {}", bins.fakewa.display());
    println!(
        "load avg: {} (1/5/15 min, before starting; other processes skew the figures)",
        procfs::loadavg()
    );
}

async fn api(args: ApiArgs) -> anyhow::Result<()> {
    let bins = args.common.binaries()?;
    header("api", &bins);
    let mut env = vec![
        // The rate limiter is not what this measures: 0 switches both limits off.
        ("WAWP_LIMITS__TOKEN_RPS".to_string(), "0".to_string()),
        ("WAWP_LIMITS__INSTANCE_RPS".to_string(), "0".to_string()),
    ];
    env.extend(args.common.server_env.iter().cloned());
    println!(
        "server env: {}",
        env.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let stack = Stack::start(
        &bins,
        &StackOptions {
            server_env: env,
            keep: args.common.keep,
            fakewa_data_dir: args.common.fakewa_data_dir,
        },
    )
    .await?;

    let id = if args.no_link {
        let id = stack.create_instance().await?;
        stack.wait_status(&id, "SCAN_QR_CODE").await?;
        id
    } else {
        stack.link_new_session("12015550100").await?
    };
    let probe = stack
        .api("POST", "/v2/session/info", &[("instance_id", &id)])
        .await?;
    anyhow::ensure!(
        probe.status == 200,
        "session/info answered {}: {}",
        probe.status,
        probe.text
    );
    println!(
        "instance: {id} ({}), answer {} bytes: {}",
        probe.json["status"].as_str().unwrap_or("?"),
        probe.text.len(),
        probe.text
    );

    let addr = stack
        .api
        .strip_prefix("http://")
        .context("api URL")?
        .parse()?;
    let target = load::Target {
        addr,
        path: {
            let route = args.route.replace("{id}", &id);
            match route.strip_prefix("POST ") {
                Some(path) => path.trim().to_string(),
                None if route.starts_with("GET ") => route,
                None => anyhow::bail!("--route must start with `GET ` or `POST `: {route}"),
            }
        },
        bearer: stack.token.clone(),
        form: http::form(&[("instance_id", &id)]),
    };
    match target.path.strip_prefix("GET ") {
        Some(path) => println!("route   : GET {path} (Bearer token)"),
        None => println!(
            "route   : POST {} (Bearer token, form {})",
            target.path, target.form
        ),
    }
    let warmup = Duration::from_secs(args.warmup);
    let duration = Duration::from_secs(args.duration.max(1));
    println!(
        "load    : closed loop, HTTP/1.1 keep-alive, {}s warm-up + {}s measured per run; the generator ({} \
         threads) shares the {} CPU(s) with the server",
        args.warmup,
        args.duration,
        args.client_threads,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!(
        "{:>5}  {:>10}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}  {:>7}  {:>6}  {:>10}  {:>10}  {:>9}",
        "conns",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms",
        "non2xx",
        "errors",
        "server CPU",
        "client CPU",
        "other CPU"
    );
    for &conns in &args.connections {
        let server_pid = stack.wawp.pid();
        let own_pid = std::process::id();
        let cpu = tokio::spawn(async move {
            tokio::time::sleep(warmup).await;
            let s0 = procfs::cpu_time(server_pid).ok();
            let c0 = procfs::cpu_time(own_pid).ok();
            let m0 = procfs::machine_busy().ok();
            tokio::time::sleep(duration).await;
            let s1 = procfs::cpu_time(server_pid).ok();
            let c1 = procfs::cpu_time(own_pid).ok();
            let m1 = procfs::machine_busy().ok();
            let busy = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
                (Some(a), Some(b)) => (b - a).as_secs_f64() / duration.as_secs_f64(),
                _ => f64::NAN,
            };
            let (server, client) = (busy(s0, s1), busy(c0, c1));
            (server, client, busy(m0, m1) - server - client)
        });
        let out = load::run(&target, conns, warmup, duration).await;
        let (server_cpu, client_cpu, other_cpu) =
            cpu.await.unwrap_or((f64::NAN, f64::NAN, f64::NAN));
        let ms = |q: f64| out.hist.value_at_quantile(q) as f64 / 1000.0;
        println!(
            "{:>5}  {:>10.0}  {:>8.2}  {:>8.2}  {:>8.2}  {:>8.2}  {:>8.2}  {:>7}  {:>6}  {:>9.0}%  {:>9.0}%  {:>8.0}%",
            conns,
            out.rps(),
            ms(0.5),
            ms(0.9),
            ms(0.99),
            ms(0.999),
            out.hist.max() as f64 / 1000.0,
            out.non_2xx,
            out.errors,
            server_cpu * 100.0,
            client_cpu * 100.0,
            other_cpu.max(0.0) * 100.0
        );
    }
    println!(
        "(CPU: share of one core over the measured window; 200% = both cores of a 2-core machine; \
         other = every other process on the machine, e.g. builds)"
    );
    println!("load avg after the runs: {}", procfs::loadavg());
    println!("target  : >= 20,000 req/s and p99 < 5 ms on 2 cores");

    if args.wrk {
        run_wrk(&stack, &target, &args).await?;
    }
    let mem = procfs::mem(stack.wawp.pid())?;
    println!(
        "server RSS after the runs: {:.1} MiB (peak {:.1} MiB)",
        mem.rss_mib(),
        mem.hwm_kib as f64 / 1024.0
    );
    Ok(())
}

async fn run_wrk(stack: &Stack, target: &load::Target, args: &ApiArgs) -> anyhow::Result<()> {
    let Ok(which) = std::process::Command::new("sh")
        .args(["-c", "command -v wrk"])
        .output()
    else {
        return Ok(());
    };
    if !which.status.success() {
        println!("\nwrk: not on the PATH (apt-get install -y wrk), skipped");
        return Ok(());
    }
    let script = stack.dir.path().join("request.lua");
    let (lua, path) = match target.path.strip_prefix("GET ") {
        Some(path) => (
            format!(
                "wrk.method = \"GET\"\nwrk.headers[\"Authorization\"] = \"Bearer {}\"\n",
                target.bearer
            ),
            path,
        ),
        None => (
            format!(
                "wrk.method = \"POST\"\nwrk.body = \"{}\"\nwrk.headers[\"Content-Type\"] = \
                 \"application/x-www-form-urlencoded\"\nwrk.headers[\"Authorization\"] = \"Bearer {}\"\n",
                target.form, target.bearer
            ),
            target.path.as_str(),
        ),
    };
    std::fs::write(&script, lua)?;
    for &conns in &args.connections {
        let threads = args.client_threads.clamp(1, conns.max(1));
        let cmdline = format!(
            "wrk -t{threads} -c{conns} -d{}s --latency -s {} '{}{path}'",
            args.duration + args.warmup,
            script.display(),
            stack.api,
        );
        println!(
            "\n$ {cmdline}   (no separate warm-up: duration includes the {}s)",
            args.warmup
        );
        let out = tokio::process::Command::new("sh")
            .args(["-c", &cmdline])
            .output()
            .await?;
        print!("{}", String::from_utf8_lossy(&out.stdout));
        if !out.status.success() {
            print!("{}", String::from_utf8_lossy(&out.stderr));
        }
    }
    Ok(())
}

async fn memory(args: MemoryArgs) -> anyhow::Result<()> {
    let bins = args.common.binaries()?;
    header("memory", &bins);
    let mut targets = args.sessions.clone();
    targets.sort_unstable();
    targets.dedup();
    anyhow::ensure!(
        targets.first().is_some_and(|&n| n > 0),
        "--sessions needs counts above 0"
    );
    let mut env = vec![
        ("WAWP_LIMITS__TOKEN_RPS".to_string(), "0".to_string()),
        ("WAWP_LIMITS__INSTANCE_RPS".to_string(), "0".to_string()),
    ];
    env.extend(args.common.server_env.iter().cloned());
    println!(
        "server env: {}",
        env.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let stack = std::sync::Arc::new(
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
    let idle = Duration::from_secs(args.idle);

    tokio::time::sleep(idle).await;
    let base = procfs::mem(stack.wawp.pid())?;
    let fbase = procfs::mem(stack.fakewa.pid())?;
    println!(
        "idle {}s before each measurement; sessions linked {} at a time\n",
        args.idle, args.batch
    );
    let row_header = || {
        println!(
            "{:>8}  {:>10}  {:>13}  {:>13}  {:>10}  {:>8}  {:>11}  {:>13}  {:>9}",
            "sessions",
            "wawp RSS",
            "per session",
            "marginal",
            "wawp peak",
            "threads",
            "fakewa RSS",
            "per device",
            "link time"
        )
    };
    row_header();
    println!(
        "{:>8}  {:>6.1} MiB  {:>13}  {:>13}  {:>6.1} MiB  {:>8}  {:>7.1} MiB  {:>13}  {:>9}",
        0,
        base.rss_mib(),
        "-",
        "-",
        base.hwm_kib as f64 / 1024.0,
        base.threads,
        fbase.rss_mib(),
        "-",
        "-"
    );

    let mut ids: Vec<String> = Vec::new();
    let mut prev: Option<(usize, procfs::Mem)> = None;
    let mut results = Vec::new();
    for &target in &targets {
        let started = Instant::now();
        while ids.len() < target {
            let n = args.batch.max(1).min(target - ids.len());
            let mut set = tokio::task::JoinSet::new();
            for i in ids.len()..ids.len() + n {
                // Fictional numbers; fakewa does not validate them.
                let number = format!("1999000{i:04}");
                let stack = stack.clone();
                set.spawn(async move { stack.link_new_session(&number).await });
            }
            while let Some(r) = set.join_next().await {
                ids.push(r.context("link task")??);
            }
            eprint!(
                "\r  linked {}/{target} ({:.0}s)",
                ids.len(),
                started.elapsed().as_secs_f64()
            );
        }
        eprintln!();
        let link_time = started.elapsed();
        tokio::time::sleep(idle).await;
        let mut working = 0;
        for id in &ids {
            if stack.status(id).await? == "WORKING" {
                working += 1;
            }
        }
        let m = procfs::mem(stack.wawp.pid())?;
        let f = procfs::mem(stack.fakewa.pid())?;
        let per = (m.rss_kib as f64 - base.rss_kib as f64) / 1024.0 / target as f64;
        let marginal = prev
            .map(|(pn, pm)| (m.rss_kib as f64 - pm.rss_kib as f64) / 1024.0 / (target - pn) as f64);
        let fper = (f.rss_kib as f64 - fbase.rss_kib as f64) / 1024.0 / target as f64;
        println!(
            "{:>8}  {:>6.1} MiB  {:>9.2} MiB  {:>13}  {:>6.1} MiB  {:>8}  {:>7.1} MiB  {:>9.2} MiB  {:>8.0}s",
            target,
            m.rss_mib(),
            per,
            marginal.map_or("-".to_string(), |v| format!("{v:.2} MiB")),
            m.hwm_kib as f64 / 1024.0,
            m.threads,
            f.rss_mib(),
            fper,
            link_time.as_secs_f64()
        );
        if working != target {
            println!("          ! only {working}/{target} sessions WORKING at measurement time");
        }
        results.push((target, per));
        prev = Some((target, m));
    }
    println!();
    println!("per session = (RSS_N - RSS_0) / N; marginal = (RSS_N - RSS_prev) / (N - prev)");
    println!(
        "fakewa per device = (RSS_N - RSS_0) / N of the fakewa process (a virtual phone + one linked companion each)"
    );
    println!("target  : <= 3 MiB per session");
    let db = stack.dir.path().join("wawp");
    println!(
        "wawp data dir size: {:.1} MiB",
        dir_size(&db) as f64 / 1024.0 / 1024.0
    );
    Ok(())
}

fn dir_size(path: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
