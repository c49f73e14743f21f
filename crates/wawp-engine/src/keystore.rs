//! Where a session's WhatsApp key material lives: one SQLite file per session
//! (`<keys_dir>/<key>.db`, whatsapp-rust's own diesel store), never opened by wawp's sqlx pool.
//!
//! One file per session rather than many devices in one file: erasing a session's keys is then
//! deleting its files, with nothing left behind, and sessions never contend for one SQLite writer.

use std::path::{Path, PathBuf};

use whatsapp_rust::store::{SqliteStoreConfig, Synchronous};

use crate::EngineError;

pub fn path(keys_dir: &Path, key: &str) -> PathBuf {
    keys_dir.join(format!("{key}.db"))
}

/// Page cache of a key store's connection, in KiB. whatsapp-rust's default is 512 KiB; a received
/// message reads pages spread over the file (the sender's Signal session and identity, device
/// list, sender keys, LID mapping, message secrets), so once a store outgrows the cache those
/// reads go back to the OS (a system call and a copy per page) on every message. SQLite fills the
/// cache only with pages it read, so a small store costs no more than before; a large one costs at
/// most this much per session.
const CACHE_SIZE_KIB: u32 = 8 * 1024;

/// Connection settings of a key store.
///
/// - One connection (`pool_size` 1, the default): the store serializes its writes, and a second
///   writer would only deadlock on SQLite's lock upgrade.
/// - No reader connections (`read_pool_size` 0, the default): whatsapp-rust's own operations never
///   use them (only `SharedSqlite::read` does, which nothing in wawp or whatsapp-rust calls), so
///   each would be an idle connection with its own page cache.
/// - `synchronous = NORMAL` (the default, spelled out because durability depends on it): in WAL
///   mode a commit survives a process crash, which is what acknowledging WhatsApp and keeping the
///   Signal state of sent messages rely on; FULL would add an fsync per commit for power loss only.
fn config() -> SqliteStoreConfig {
    SqliteStoreConfig {
        cache_size_kib: CACHE_SIZE_KIB,
        synchronous: Synchronous::Normal,
        ..SqliteStoreConfig::default()
    }
}

/// Opens (creating when missing) the key store at `path`.
pub(crate) async fn open(path: &Path) -> Result<whatsapp_rust::store::SqliteStore, EngineError> {
    let url = path
        .to_str()
        .ok_or_else(|| EngineError::Store(format!("path is not UTF-8: {}", path.display())))?;
    whatsapp_rust::store::SqliteStore::with_config(url, config())
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
