//! Where a session's WhatsApp key material lives: one SQLite file per session
//! (`<keys_dir>/<key>.db`, whatsapp-rust's own diesel store), never opened by wawp's sqlx pool.
//!
//! One file per session rather than many devices in one file: erasing a session's keys is then
//! deleting its files, with nothing left behind, and sessions never contend for one SQLite writer.

use std::path::{Path, PathBuf};

use crate::EngineError;

pub fn path(keys_dir: &Path, key: &str) -> PathBuf {
    keys_dir.join(format!("{key}.db"))
}

/// Opens (creating when missing) the key store at `path`.
pub(crate) async fn open(path: &Path) -> Result<whatsapp_rust::store::SqliteStore, EngineError> {
    let url = path
        .to_str()
        .ok_or_else(|| EngineError::Store(format!("path is not UTF-8: {}", path.display())))?;
    whatsapp_rust::store::SqliteStore::new(url)
        .await
        .map_err(|e| EngineError::Store(e.to_string()))
}

/// Whether the store at `path` holds a linked device.
pub async fn is_linked(path: &Path) -> Result<bool, EngineError> {
    if !path.exists() {
        return Ok(false);
    }
    let store = open(path).await?;
    let device = store
        .load_device_data_for_device(store.device_id())
        .await
        .map_err(|e| EngineError::Store(e.to_string()))?;
    Ok(device.is_some_and(|d| d.pn.is_some()))
}

/// Deletes the store at `path` with its WAL and shared-memory files.
pub fn erase(path: &Path) -> Result<(), EngineError> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(EngineError::Store(format!(
                    "cannot erase {}: {e}",
                    Path::new(&p).display()
                )));
            }
        }
    }
    Ok(())
}
