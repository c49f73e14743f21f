//! wawp as a real child process (`bin/wawp_child.rs`), so a test can `kill -9` it mid-work and
//! start it again on the same data dir.

use std::path::Path;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::DEADLINE;

pub struct ChildWawp {
    pub base: String,
    child: Child,
}

impl ChildWawp {
    pub async fn start(data_dir: &Path, whatsapp_url: &str) -> ChildWawp {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wawp-child"))
            .arg(data_dir)
            .arg(whatsapp_url)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("wawp-child starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(DEADLINE, lines.next_line())
            .await
            .expect("wawp-child binds in time")
            .expect("stdout readable")
            .expect("a listening line");
        let base = line
            .strip_prefix("listening ")
            .expect("listening http://…")
            .to_string();
        let server = ChildWawp { base, child };
        wait_ready(&server.base).await;
        server
    }

    /// SIGKILL: no graceful shutdown, nothing flushed.
    pub async fn kill(mut self) {
        self.child.start_kill().expect("kill -9");
        let _ = self.child.wait().await;
    }
}

async fn wait_ready(base: &str) {
    super::eventually("wawp-child to be ready", || async {
        let res = reqwest::get(format!("{base}/ready")).await.ok()?;
        res.status().is_success().then_some(())
    })
    .await;
}
