//! The system under test: release builds of fakewa and wawp, each its own process on loopback, in a
//! temp dir. Everything is stopped when the [`Stack`] is dropped (SIGTERM, then SIGKILL).

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use serde_json::{Value, json};

use crate::http::{Body, Http};

/// How long any one step of linking a session may take.
const STEP_DEADLINE: Duration = Duration::from_secs(60);

/// Where the binaries are and how to run the server.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub wawp: PathBuf,
    pub fakewa: PathBuf,
}

/// `$CARGO_TARGET_DIR/release`, or `<workspace>/target/release`.
pub fn default_release_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("target")
        });
    target.join("release")
}

impl Binaries {
    /// Checks that both exist and that wawp is a `sandbox` build (only those accept fakewa's chain).
    pub fn check(&self) -> anyhow::Result<()> {
        for (path, build) in [
            (
                &self.wawp,
                "cargo build --release -p wawp --features sandbox",
            ),
            (&self.fakewa, "cargo build --release -p fakewa"),
        ] {
            if !path.is_file() {
                bail!(
                    "{} not found; build it first with `{build}` (or pass its path)",
                    path.display()
                );
            }
        }
        let help = Command::new(&self.wawp)
            .arg("--help")
            .output()
            .context("run wawp --help")?;
        if !String::from_utf8_lossy(&help.stdout).contains("sandbox") {
            bail!(
                "{} is not a sandbox build: the default wawp verifies WhatsApp's certificate chain and refuses \
                 fakewa. Build it with `cargo build --release -p wawp --features sandbox` (and fakewa in a \
                 separate `cargo build --release -p fakewa`)",
                self.wawp.display()
            );
        }
        Ok(())
    }
}

/// A child process that is stopped when dropped.
pub struct Proc {
    name: &'static str,
    child: Child,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Err` with the exit status when the process has already exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("{} exited: {status}", self.name);
        }
        Ok(())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        // SIGTERM lets wawp close its databases; SIGKILL if it takes more than 10 s.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// fakewa + wawp, a token, and an HTTP client.
pub struct Stack {
    // Field order is drop order: wawp stops before fakewa, the temp dir goes last.
    pub wawp: Proc,
    pub fakewa: Proc,
    /// `http://127.0.0.1:PORT` of the wawp API.
    pub api: String,
    /// `http://127.0.0.1:PORT` of fakewa (admin API under `/admin`).
    pub fakewa_http: String,
    pub token: String,
    pub http: Http,
    pub dir: tempfile::TempDir,
}

pub struct StackOptions {
    /// Extra `KEY=VALUE` environment for the wawp server.
    pub server_env: Vec<(String, String)>,
    /// Keep the temp dir (logs, databases) after the run.
    pub keep: bool,
    /// Start fakewa with a data dir (its phones' Signal state on disk), not in memory.
    pub fakewa_data_dir: bool,
}

impl Stack {
    pub async fn start(bins: &Binaries, opts: &StackOptions) -> anyhow::Result<Stack> {
        let mut dir = tempfile::Builder::new().prefix("wawp-bench-").tempdir()?;
        if opts.keep {
            dir.disable_cleanup(true);
            eprintln!("  work dir (kept): {}", dir.path().display());
        }
        let (fakewa, ws_url) = start_fakewa(&bins.fakewa, dir.path(), opts.fakewa_data_dir)?;
        let fakewa_http = admin_base(&ws_url)?;

        let data_dir = dir.path().join("wawp");
        let out = Command::new(&bins.wawp)
            .args(["token", "create", "--name", "bench", "--data-dir"])
            .arg(&data_dir)
            .output()
            .context("run wawp token create")?;
        if !out.status.success() {
            bail!(
                "wawp token create failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let token = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or("")
            .trim()
            .to_string();
        anyhow::ensure!(!token.is_empty(), "wawp token create printed no token");

        let port = free_port()?;
        let log = std::fs::File::create(dir.path().join("wawp.log"))?;
        let mut cmd = Command::new(&bins.wawp);
        cmd.arg("serve")
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--whatsapp-url",
                &ws_url,
                "--data-dir",
            ])
            .arg(&data_dir)
            .env("WAWP_WHATSAPP_VERSION", "2.3000.0")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        for (k, v) in &opts.server_env {
            cmd.env(k, v);
        }
        let wawp = Proc {
            name: "wawp",
            child: cmd.spawn().context("spawn wawp serve")?,
        };
        let mut stack = Stack {
            wawp,
            fakewa,
            api: format!("http://127.0.0.1:{port}"),
            fakewa_http,
            token,
            http: Http::new(),
            dir,
        };
        stack.wait_ready().await?;
        Ok(stack)
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(a) = self
                .http
                .call("GET", &format!("{}/ready", self.api), None, Body::Empty)
                .await
                && a.status == 200
            {
                return Ok(());
            }
            if let Err(e) = self.wawp.check_alive() {
                bail!("{e}; log:\n{}", self.log_tail("wawp.log"));
            }
            if Instant::now() > deadline {
                bail!(
                    "wawp was not ready within 60 s; log:\n{}",
                    self.log_tail("wawp.log")
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn log_tail(&self, file: &str) -> String {
        let text = std::fs::read_to_string(self.dir.path().join(file)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// `POST` (form) or `GET` (query) on the wawp API with the bench's token.
    pub async fn api(
        &self,
        method: &str,
        path: &str,
        params: &[(&str, &str)],
    ) -> anyhow::Result<crate::http::Answer> {
        let url = format!("{}{path}", self.api);
        if method == "GET" {
            let url = if params.is_empty() {
                url
            } else {
                format!("{url}?{}", crate::http::form(params))
            };
            self.http
                .call("GET", &url, Some(&self.token), Body::Empty)
                .await
        } else {
            self.http
                .call(method, &url, Some(&self.token), Body::Form(params))
                .await
        }
    }

    pub async fn create_instance(&self) -> anyhow::Result<String> {
        let v = self
            .api("POST", "/v2/session/create", &[])
            .await?
            .ok("session/create")?;
        v["instance_id"]
            .as_str()
            .map(str::to_string)
            .with_context(|| format!("no instance_id in {v}"))
    }

    /// Polls `/v2/session/info` until the session has `status` (or the step deadline passes).
    pub async fn wait_status(&self, id: &str, status: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + STEP_DEADLINE;
        loop {
            let a = self
                .api("POST", "/v2/session/info", &[("instance_id", id)])
                .await?;
            if a.json["status"] == status {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "{id} did not reach {status} within {STEP_DEADLINE:?}: {}",
                    a.text
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn status(&self, id: &str) -> anyhow::Result<String> {
        let a = self
            .api("POST", "/v2/session/info", &[("instance_id", id)])
            .await?;
        Ok(a.json["status"].as_str().unwrap_or("?").to_string())
    }

    async fn qr_value(&self, id: &str) -> anyhow::Result<String> {
        let v = self
            .api("GET", "/v2/auth/qr", &[("instance_id", id)])
            .await?
            .ok("auth/qr")?;
        let data = v["data"]
            .as_str()
            .with_context(|| format!("no data in {v}"))?;
        let raw = base64::engine::general_purpose::STANDARD.decode(data)?;
        let qr: Value = serde_json::from_slice(&raw)?;
        qr["value"]
            .as_str()
            .map(str::to_string)
            .context("no QR value")
    }

    /// `POST /admin{path}` on fakewa with a JSON body.
    pub async fn fakewa(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let url = format!("{}/admin{path}", self.fakewa_http);
        self.http
            .call("POST", &url, None, Body::Json(body))
            .await?
            .ok(&format!("fakewa {path}"))
    }

    /// A new fakewa phone `number`, a new instance, QR scanned by the phone, WORKING. Returns the id.
    pub async fn link_new_session(&self, number: &str) -> anyhow::Result<String> {
        self.fakewa(
            "/phones",
            &json!({ "number": number, "pushName": format!("Bench {number}") }),
        )
        .await?;
        let id = self.create_instance().await?;
        self.wait_status(&id, "SCAN_QR_CODE").await?;
        // A QR code can rotate between reading and scanning it: read it again and retry.
        let mut last_err = None;
        for _ in 0..3 {
            let qr = self.qr_value(&id).await?;
            match self
                .fakewa(&format!("/phones/{number}/scan"), &json!({ "qr": qr }))
                .await
            {
                Ok(_) => {
                    last_err = None;
                    break;
                }
                Err(e) => last_err = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        if let Some(e) = last_err {
            return Err(e.context(format!("phone {number} scanning {id}")));
        }
        self.wait_status(&id, "WORKING").await?;
        Ok(id)
    }
}

/// Spawns fakewa on port 0 (with `dir/fakewa` as its data dir if `data_dir`, else all in memory)
/// and reads its WebSocket URL from its first lines of output; the rest of its output goes to
/// `fakewa.log`.
fn start_fakewa(bin: &Path, dir: &Path, data_dir: bool) -> anyhow::Result<(Proc, String)> {
    let mut args = vec!["--listen".to_string(), "127.0.0.1:0".to_string()];
    if data_dir {
        args.push("--data-dir".to_string());
        args.push(dir.join("fakewa").to_string_lossy().into_owned());
    }
    spawn_fakewa(bin, dir, &args, &[])
}

/// Spawns fakewa with `args` (which must make it listen on a free port) and `env`; reads its
/// WebSocket URL from its output, whose rest goes to `dir/fakewa.log`.
pub(crate) fn spawn_fakewa(
    bin: &Path,
    dir: &Path,
    args: &[String],
    env: &[(String, String)],
) -> anyhow::Result<(Proc, String)> {
    let log_path = dir.join("fakewa.log");
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .env(
            "RUST_LOG",
            std::env::var("FAKEWA_LOG").unwrap_or_else(|_| "fakewa=warn".into()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("fakewa.err"))?);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().context("spawn fakewa")?;
    let stdout = child.stdout.take().context("fakewa stdout")?;
    let mut proc = Proc {
        name: "fakewa",
        child,
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok(mut log) = std::fs::File::create(log_path) else {
            return;
        };
        let mut sent = false;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = writeln!(log, "{line}");
            if !sent && let Some(url) = line.strip_prefix("websocket:") {
                let _ = tx.send(url.trim().to_string());
                sent = true;
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(url) => Ok((proc, url)),
        Err(_) => {
            proc.check_alive()?;
            bail!("fakewa printed no WebSocket URL within 30 s")
        }
    }
}

/// `http://host:port` of fakewa's admin API, from its WebSocket URL.
pub(crate) fn admin_base(ws_url: &str) -> anyhow::Result<String> {
    ws_url
        .strip_prefix("ws://")
        .and_then(|r| r.split_once('/'))
        .map(|(addr, _)| format!("http://{addr}"))
        .with_context(|| format!("unexpected fakewa URL {ws_url}"))
}

fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}
