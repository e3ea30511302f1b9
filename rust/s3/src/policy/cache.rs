//! A per-bucket cache of parsed bucket config documents (policies, CORS
//! rules), so the hot path neither reads nor parses them per request.
//!
//! Entries are tagged with the bucket's creation time, so a bucket deleted and
//! created again never sees its predecessor's document, and with a generation
//! counter, so a load that raced with a put or delete cannot put a stale
//! document back after [`ConfigCache::invalidate`].

use crate::error::S3Result;
use smartstorage_store::ObjectStore;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

struct Entry<T> {
    created: SystemTime,
    value: Option<Arc<T>>,
}

/// Parsed documents of one kind, by bucket.
pub struct ConfigCache<T> {
    kind: &'static str,
    entries: Mutex<HashMap<String, Entry<T>>>,
    generation: AtomicU64,
}

impl<T> ConfigCache<T> {
    /// An empty cache for documents stored under `kind` ("policy", "cors").
    pub fn new(kind: &'static str) -> Self {
        ConfigCache { kind, entries: Mutex::new(HashMap::new()), generation: AtomicU64::new(0) }
    }

    /// The store kind this cache reads.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Forgets `bucket`'s document; call after storing or removing it.
    pub fn invalidate(&self, bucket: &str) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(bucket);
        }
    }

    fn cached(&self, bucket: &str, created: SystemTime) -> Option<Option<Arc<T>>> {
        let entries = self.entries.lock().ok()?;
        entries.get(bucket).filter(|e| e.created == created).map(|e| e.value.clone())
    }

    /// The parsed document of `bucket` (created at `created`), reading and
    /// parsing it on a miss. A stored document that no longer parses is
    /// treated as absent (and logged): it was validated when stored, so this
    /// only happens if the file was edited by hand.
    pub async fn load(
        &self,
        store: &dyn ObjectStore,
        bucket: &str,
        created: SystemTime,
        parse: impl FnOnce(&[u8]) -> S3Result<T>,
    ) -> S3Result<Option<Arc<T>>> {
        if let Some(hit) = self.cached(bucket, created) {
            return Ok(hit);
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let value = match store.get_bucket_config(bucket, self.kind).await? {
            None => None,
            Some(doc) => match parse(&doc) {
                Ok(v) => Some(Arc::new(v)),
                Err(e) => {
                    tracing::error!(bucket, kind = self.kind, error = %e, "stored bucket document does not parse; ignoring it");
                    None
                }
            },
        };
        if let Ok(mut entries) = self.entries.lock()
            && self.generation.load(Ordering::SeqCst) == generation
        {
            entries.insert(bucket.to_string(), Entry { created, value: value.clone() });
        }
        Ok(value)
    }
}
