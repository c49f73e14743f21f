//! A read-through cache of instance rows. Every API call on an instance reads its row (owner,
//! configuration, linked account); without this each call costs SQLite round trips that dominate
//! the request (see `benches/README.md`). Every write of an instance row goes through a component
//! that holds this cache and invalidates the entry right after writing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use wawp_store::{InstanceRow, Store, StoreError};

#[derive(Clone, Default)]
pub struct InstanceCache {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    rows: Mutex<HashMap<String, Arc<InstanceRow>>>,
    /// Bumped by every invalidation: a read that started before one must not fill the cache.
    generation: AtomicU64,
}

impl InstanceCache {
    /// The row of instance `id`, from memory when cached.
    pub async fn get(
        &self,
        store: &Store,
        id: &str,
    ) -> Result<Option<Arc<InstanceRow>>, StoreError> {
        if let Some(row) = self.lock().get(id) {
            return Ok(Some(row.clone()));
        }
        let generation = self.inner.generation.load(Ordering::Acquire);
        let Some(row) = store.get_instance(id).await? else {
            return Ok(None);
        };
        let row = Arc::new(row);
        let mut rows = self.lock();
        if self.inner.generation.load(Ordering::Acquire) == generation {
            rows.insert(id.to_string(), row.clone());
        }
        Ok(Some(row))
    }

    /// Forgets instance `id`; call right after writing its row.
    pub fn invalidate(&self, id: &str) {
        let mut rows = self.lock();
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
        rows.remove(id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<InstanceRow>>> {
        self.inner.rows.lock().unwrap_or_else(|p| p.into_inner())
    }
}
