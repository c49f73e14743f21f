//! `wawp sandbox`: wawp on an embedded fakewa network, with virtual contacts that answer every
//! text ("echo: …") and a virtual phone of your own to link sessions with. No real phone, no real
//! WhatsApp: this build accepts fakewa's certificate chain, so it refuses any non-loopback URL.

use std::future::Future;
use std::net::SocketAddr;

use fakewa::{FakeWa, FakeWaConfig};

use crate::config::Config;

/// The virtual phone that links sandbox sessions (yours).
pub const OWN_PHONE: (&str, &str) = ("12015550199", "Sandbox You");
/// Virtual contacts that answer every text.
pub const CONTACTS: [(&str, &str); 2] =
    [("12015550101", "Echo Alice"), ("12015550102", "Echo Bob")];

pub async fn run(
    mut config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)?;
    let fakewa = FakeWa::start(FakeWaConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: Some(config.data_dir.join("fakewa")),
        ..FakeWaConfig::default()
    })
    .await?;
    fakewa.create_phone(OWN_PHONE.0, OWN_PHONE.1).await?;
    for (number, name) in CONTACTS {
        fakewa.create_phone(number, name).await?;
        fakewa.set_echo(number, true).await?;
    }
    config.whatsapp_url = fakewa.ws_url();
    // fakewa serves media over TLS with its own CA: trust it (and only it) for media.
    if config.whatsapp_ca.is_none() {
        let ca = config.data_dir.join("fakewa-media-ca.pem");
        std::fs::write(&ca, fakewa.media_ca_pem())?;
        config.whatsapp_ca = Some(ca);
    }
    if config.whatsapp_version == Config::default().whatsapp_version {
        config.whatsapp_version = "2.3000.0".into();
    }

    let token = sandbox_token(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    let api = format!("http://{}", listener.local_addr()?);
    print_welcome(&api, &fakewa.admin_url(), &token);
    let result = crate::serve(config, listener, shutdown).await;
    fakewa.shutdown().await;
    result
}

/// The sandbox's access token: created once and kept in `<data_dir>/sandbox-token` (a convenience
/// of the sandbox only; a real server shows a token once and stores only its hash).
async fn sandbox_token(config: &Config) -> anyhow::Result<String> {
    let path = config.data_dir.join("sandbox-token");
    if let Ok(saved) = std::fs::read_to_string(&path) {
        let saved = saved.trim().to_string();
        let store = crate::open_store(config).await?;
        let tenancy = wawp_core::tenancy::Tenancy::new(store, config.core()?.limits);
        if tenancy.authenticate(&saved).await.is_ok() {
            return Ok(saved);
        }
    }
    let out = crate::token::create(config, "sandbox", None).await?;
    let token = out.lines().last().unwrap_or_default().trim().to_string();
    std::fs::write(&path, &token)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(token)
}

fn print_welcome(api: &str, fakewa: &str, token: &str) {
    let (own, _) = OWN_PHONE;
    let (alice, _) = CONTACTS[0];
    println!(
        r#"
wawp sandbox is running: wawp on a fake WhatsApp network (fakewa). Nothing here reaches WhatsApp.

  API:          {api}            (docs: {api}/docs)
  fakewa admin: {fakewa}
  your token:   {token}
  your phone:   +{own} (virtual)   contacts that echo every text: +{alice}, +{bob}

Try it:
  export TOKEN={token}
  # 1. create a session (it starts and shows a QR code)
  curl -s -X POST {api}/v2/session/create -H "Authorization: Bearer $TOKEN"
  export ID=<instance_id from the answer>
  # 2. read the QR code and let your virtual phone scan it
  QR=$(curl -s "{api}/v2/auth/qr?instance_id=$ID" -H "Authorization: Bearer $TOKEN" | python3 -c 'import sys,json,base64; print(json.loads(base64.b64decode(json.load(sys.stdin)["data"]))["value"])')
  curl -s -X POST {fakewa}/admin/phones/{own}/scan -H 'Content-Type: application/json' -d "{{\"qr\":\"$QR\"}}"
  # 3. the session is WORKING
  curl -s -X POST {api}/v2/session/info -H "Authorization: Bearer $TOKEN" -d instance_id=$ID
"#,
        bob = CONTACTS[1].0
    );
}
