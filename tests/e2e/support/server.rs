//! A wawp server running in this process, on 127.0.0.1:0, stoppable and restartable.

use std::path::PathBuf;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use wawp::Config;

pub struct WawpServer {
    pub base: String,
    pub data_dir: PathBuf,
    config: Option<Config>,
    shutdown: Option<oneshot::Sender<()>>,
    join: Option<JoinHandle<anyhow::Result<()>>>,
}

impl WawpServer {
    pub async fn start(data_dir: PathBuf, whatsapp_url: &str) -> WawpServer {
        Self::start_with(data_dir, whatsapp_url, |_| {}).await
    }

    /// As [`WawpServer::start`], with the test configuration changed by `tweak` first.
    pub async fn start_with(
        data_dir: PathBuf,
        whatsapp_url: &str,
        tweak: impl FnOnce(&mut Config),
    ) -> WawpServer {
        let mut config = Config {
            data_dir: data_dir.clone(),
            whatsapp_url: whatsapp_url.to_string(),
            whatsapp_version: "2.3000.0".into(),
            // Webhook receivers in the tests listen on loopback.
            allow_private_urls: Some("127.0.0.1".into()),
            ..Config::default()
        };
        tweak(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = oneshot::channel::<()>();
        let join = tokio::spawn(wawp::serve(config.clone(), listener, async move {
            let _ = rx.await;
        }));
        let server = WawpServer {
            base,
            data_dir,
            config: Some(config),
            shutdown: Some(tx),
            join: Some(join),
        };
        server.wait_ready().await;
        server
    }

    pub fn placeholder() -> WawpServer {
        WawpServer {
            base: String::new(),
            data_dir: PathBuf::new(),
            config: None,
            shutdown: None,
            join: None,
        }
    }

    async fn wait_ready(&self) {
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + super::DEADLINE;
        loop {
            if let Ok(res) = http.get(format!("{}/ready", self.base)).send().await
                && res.status().is_success()
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "wawp never became ready"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Creates an access token the way `wawp token create` does, and returns it.
    pub async fn create_token(&self, name: &str, max_instances: Option<u32>) -> String {
        let config = self.config.as_ref().expect("running server");
        let out = wawp::token::create(config, name, max_instances)
            .await
            .expect("token created");
        out.lines().last().expect("token line").trim().to_string()
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(join) = self.join.take() {
            join.await
                .expect("server task")
                .expect("server stopped cleanly");
        }
    }
}
