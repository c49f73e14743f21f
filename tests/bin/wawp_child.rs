//! wawp as a child process, for the crash tests (`kill -9`): the real server built with the
//! sandbox engine (fakewa's certificates, like every e2e build), on `127.0.0.1:0`.
//!
//! `wawp-child <data-dir> <whatsapp-ws-url>`; prints `listening http://<addr>` once bound, then
//! serves until killed.

use std::io::Write;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(data_dir), Some(whatsapp_url)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: wawp-child <data-dir> <whatsapp-ws-url>");
    };
    let config = wawp::Config {
        data_dir: data_dir.into(),
        whatsapp_url,
        whatsapp_version: "2.3000.0".into(),
        // Webhook receivers in the tests listen on loopback.
        allow_private_urls: Some("127.0.0.1".into()),
        ..wawp::Config::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let mut out = std::io::stdout();
    writeln!(out, "listening http://{}", listener.local_addr()?)?;
    out.flush()?;
    wawp::serve(config, listener, std::future::pending()).await
}
