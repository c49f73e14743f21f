//! The file store behind `GET /v2/files/<name>`: converted media and downloaded received media,
//! each under an unguessable name (128 random bits) with its MIME type, original file name and
//! an expiry in a sidecar `<name>.json`. Expired files are removed as new ones arrive, and never
//! served.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::MediaError;

#[derive(Clone, Debug)]
pub struct FileStore {
    dir: PathBuf,
    ttl: Duration,
}

/// A stored file: its public name and what it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFile {
    /// The name in `/v2/files/<name>`.
    pub name: String,
    pub filename: String,
    pub mimetype: String,
    /// Epoch milliseconds after which the file is gone.
    pub expires_at: i64,
}

impl FileStore {
    pub fn open(dir: PathBuf, ttl: Duration) -> Result<FileStore, MediaError> {
        std::fs::create_dir_all(&dir)?;
        Ok(FileStore { dir, ttl })
    }

    /// Stores `bytes`; answers the entry (its name is new and unguessable).
    pub async fn put(
        &self,
        bytes: &[u8],
        filename: &str,
        mimetype: &str,
    ) -> Result<StoredFile, MediaError> {
        self.sweep().await;
        let mut random = [0u8; 16];
        rand::fill(&mut random);
        let ext = filename
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .filter(|e| {
                !e.is_empty() && e.len() <= 8 && e.bytes().all(|b| b.is_ascii_alphanumeric())
            });
        let name = match ext {
            Some(ext) => format!("{}.{ext}", hex::encode(random)),
            None => hex::encode(random),
        };
        let entry = StoredFile {
            name: name.clone(),
            filename: filename.to_string(),
            mimetype: mimetype.to_string(),
            expires_at: now_ms().saturating_add(self.ttl.as_millis() as i64),
        };
        let meta = serde_json::to_vec(&entry).map_err(|e| MediaError::Internal(e.to_string()))?;
        tokio::fs::write(self.dir.join(&name), bytes).await?;
        tokio::fs::write(self.meta_path(&name), meta).await?;
        Ok(entry)
    }

    /// The file called `name` and its bytes, unless unknown or expired.
    pub async fn get(&self, name: &str) -> Result<(StoredFile, Vec<u8>), MediaError> {
        if !valid_name(name) {
            return Err(MediaError::NoSuchFile);
        }
        let meta = tokio::fs::read(self.meta_path(name))
            .await
            .map_err(|_| MediaError::NoSuchFile)?;
        let entry: StoredFile =
            serde_json::from_slice(&meta).map_err(|_| MediaError::NoSuchFile)?;
        if entry.expires_at <= now_ms() {
            self.remove(name).await;
            return Err(MediaError::NoSuchFile);
        }
        let bytes = tokio::fs::read(self.dir.join(name))
            .await
            .map_err(|_| MediaError::NoSuchFile)?;
        Ok((entry, bytes))
    }

    fn meta_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    async fn remove(&self, name: &str) {
        let _ = tokio::fs::remove_file(self.dir.join(name)).await;
        let _ = tokio::fs::remove_file(self.meta_path(name)).await;
    }

    /// Removes every expired file.
    async fn sweep(&self) {
        let Ok(mut entries) = tokio::fs::read_dir(&self.dir).await else {
            return;
        };
        let now = now_ms();
        while let Ok(Some(entry)) = entries.next_entry().await {
            let path = entry.path();
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".json"))
            else {
                continue;
            };
            let expired = match tokio::fs::read(&path).await {
                Ok(meta) => serde_json::from_slice::<StoredFile>(&meta)
                    .map(|e| e.expires_at <= now)
                    .unwrap_or(true),
                Err(_) => false,
            };
            if expired {
                self.remove(name).await;
            }
        }
    }
}

/// Names we hand out: 32 hex digits, optionally `.ext` (alphanumeric). Nothing else is looked
/// up, so no path can escape the folder.
fn valid_name(name: &str) -> bool {
    let (stem, ext) = name.split_once('.').unwrap_or((name, ""));
    stem.len() == 32
        && stem.bytes().all(|b| b.is_ascii_hexdigit())
        && ext.len() <= 8
        && ext.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_round_trip_and_expire() {
        let dir = tempfile::tempdir().expect("dir");
        let store =
            FileStore::open(dir.path().join("files"), Duration::from_secs(60)).expect("store");
        let f = store
            .put(b"abc", "voice.ogg", "audio/ogg")
            .await
            .expect("put");
        assert!(f.name.ends_with(".ogg") && f.name.len() == 36, "{}", f.name);
        let (entry, bytes) = store.get(&f.name).await.expect("get");
        assert_eq!(
            (entry.mimetype.as_str(), bytes.as_slice()),
            ("audio/ogg", &b"abc"[..])
        );
        assert!(matches!(
            store.get("../wawp.db").await,
            Err(MediaError::NoSuchFile)
        ));
        assert!(matches!(
            store.get(&"0".repeat(32)).await,
            Err(MediaError::NoSuchFile)
        ));

        let short = FileStore::open(dir.path().join("files"), Duration::ZERO).expect("store");
        let gone = short
            .put(b"x", "x.bin", "application/octet-stream")
            .await
            .expect("put");
        assert!(matches!(
            short.get(&gone.name).await,
            Err(MediaError::NoSuchFile)
        ));
    }
}
