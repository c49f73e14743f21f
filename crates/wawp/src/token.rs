//! `wawp token create|list|revoke`: manages access tokens in the same store the server uses (works
//! while the server runs: SQLite in WAL mode, or PostgreSQL).

use wawp_core::tenancy::Tenancy;

use crate::config::Config;

async fn tenancy(config: &Config) -> anyhow::Result<Tenancy> {
    let store = crate::open_store(config).await?;
    Ok(Tenancy::new(store, config.core()?.limits))
}

/// Creates a token and returns what to print: details, then the token alone on the last line.
pub async fn create(
    config: &Config,
    name: &str,
    max_instances: Option<u32>,
) -> anyhow::Result<String> {
    let (info, token) = tenancy(config)
        .await?
        .create_token(name, max_instances)
        .await?;
    let limit = info
        .max_instances
        .map(|m| m.to_string())
        .unwrap_or_else(|| "unlimited".into());
    Ok(format!(
        "Created token {} ({}), instances: {limit}.\nIt is shown only once; keep it secret:\n{token}",
        info.id, info.name
    ))
}

pub async fn list(config: &Config) -> anyhow::Result<String> {
    let tokens = tenancy(config).await?.list_tokens().await?;
    let mut out = format!(
        "{:<16} {:<24} {:<10} {}\n",
        "ID", "NAME", "INSTANCES", "STATUS"
    );
    for t in tokens {
        let limit = t
            .max_instances
            .map(|m| m.to_string())
            .unwrap_or_else(|| "unlimited".into());
        let status = if t.revoked_at.is_some() {
            "revoked"
        } else {
            "active"
        };
        out.push_str(&format!(
            "{:<16} {:<24} {:<10} {status}\n",
            t.id, t.name, limit
        ));
    }
    Ok(out)
}

pub async fn revoke(config: &Config, id: &str) -> anyhow::Result<String> {
    tenancy(config).await?.revoke_token(id).await?;
    Ok(format!("Revoked token {id}."))
}
