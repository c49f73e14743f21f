//! Uploaded blobs, content-addressed by the SHA-256 of their bytes (which is the `file_enc_sha256` the
//! client names them by). In memory, and with a data directory also in `<data-dir>/media/<hex>.enc`, read
//! back lazily after a restart.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use bytes::Bytes;
use sha2::{Digest as _, Sha256};

pub(crate) struct BlobStore {
    dir: Option<PathBuf>,
    blobs: Mutex<HashMap<String, Bytes>>,
}

/// A blob id: the lowercase hex SHA-256 of its bytes.
pub(crate) fn blob_id(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Only 64 lowercase hex digits name a blob (nothing else may reach the file system).
pub(crate) fn is_blob_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl BlobStore {
    pub fn new(data_dir: Option<PathBuf>) -> Self {
        Self {
            dir: data_dir.map(|d| d.join("media")),
            blobs: Mutex::new(HashMap::new()),
        }
    }

    fn blobs(&self) -> std::sync::MutexGuard<'_, HashMap<String, Bytes>> {
        self.blobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores the bytes; returns their id.
    pub async fn put(&self, bytes: Bytes) -> std::io::Result<String> {
        let id = blob_id(&bytes);
        self.write_file(&id, &bytes).await?;
        self.blobs().insert(id.clone(), bytes);
        Ok(id)
    }

    /// Keeps the bytes in memory at once (a synchronous stanza handler can answer with their id);
    /// [`BlobStore::write_file`] then persists them.
    pub fn insert(&self, bytes: Bytes) -> String {
        let id = blob_id(&bytes);
        self.blobs().insert(id.clone(), bytes);
        id
    }

    /// Writes a blob to the data directory (a no-op without one, or when already there).
    pub async fn write_file(&self, id: &str, bytes: &[u8]) -> std::io::Result<()> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        let path = dir.join(format!("{id}.enc"));
        if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
            tokio::fs::create_dir_all(dir).await?;
            let tmp = dir.join(format!("{id}.tmp"));
            tokio::fs::write(&tmp, bytes).await?;
            tokio::fs::rename(&tmp, &path).await?;
        }
        Ok(())
    }

    /// The bytes of a blob, from memory or the data directory.
    pub async fn get(&self, id: &str) -> Option<Bytes> {
        if !is_blob_id(id) {
            return None;
        }
        if let Some(b) = self.blobs().get(id) {
            return Some(b.clone());
        }
        let path = self.dir.as_ref()?.join(format!("{id}.enc"));
        let bytes = Bytes::from(tokio::fs::read(&path).await.ok()?);
        self.blobs().insert(id.to_string(), bytes.clone());
        Some(bytes)
    }
}
