//! One bucket in memory: its info, the lazily loaded object index and uploads,
//! and the pins that keep a version's data alive while readers stream it.

use super::fsutil::{blocking, prune_empty_dirs, remove_files};
use super::layout::Layout;
use super::multipart::Upload;
use super::records::ObjectRecord;
use super::scan;
use crate::{BucketInfo, StoreError, StoreResult, WriteCondition};
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

/// Key locks per bucket (see [`Bucket::key_lock`]). Commits of different keys
/// share a lock only when their keys hash alike: with 64, two async workers
/// and a few blocking threads committing at once rarely meet, and the locks
/// cost 64 futex words per bucket.
const KEY_LOCKS: usize = 64;

/// A bucket known to the store.
pub(crate) struct Bucket {
    /// Name, creation time, owner.
    pub info: BucketInfo,
    /// `<root>/<bucket>`.
    pub dir: PathBuf,
    /// `<root>/.smartstorage/multipart/<bucket>`.
    pub uploads_dir: PathBuf,
    /// Index, uploads and pins. Held only for memory updates, never across I/O.
    state: Mutex<BucketState>,
    /// Orders the commits of each key: see [`key_lock`](Self::key_lock).
    key_locks: Box<[Mutex<()>]>,
    /// Picks a key's lock; seeded per bucket, so clients cannot aim many keys at one lock.
    key_hasher: RandomState,
    /// Set once the index and uploads have been loaded from disk.
    loaded: tokio::sync::OnceCell<()>,
    /// Held by the blocking scan. If the task awaiting a load is cancelled, its scan
    /// still runs to the end; the retry's scan waits here, so no scan (which removes
    /// unreferenced data files) can still be running once writers are let in.
    scan_lock: Arc<Mutex<()>>,
    /// Cache of config documents by kind (`None` = known to be unset); the async
    /// lock also serialises config writes so cache and disk agree.
    pub configs: tokio::sync::Mutex<HashMap<String, Option<Bytes>>>,
}

/// Everything behind a bucket's lock.
#[derive(Default)]
pub(crate) struct BucketState {
    /// Set (under the lock) by `delete_bucket` once the bucket was found empty;
    /// commits that see it fail with `NoSuchBucket` instead of resurrecting it.
    pub deleted: bool,
    /// Current version of every key, in UTF-8 byte order.
    pub objects: BTreeMap<String, Arc<ObjectRecord>>,
    /// Uploads in progress by upload id.
    pub uploads: BTreeMap<String, Arc<Upload>>,
    /// Versions being read, by version token.
    pins: HashMap<String, Pinned>,
}

/// Readers of one version, and its files to delete once the last one is done.
#[derive(Default)]
struct Pinned {
    /// Open readers of the version.
    readers: usize,
    /// Its data files, once it was replaced or deleted.
    doomed: Vec<PathBuf>,
}

impl BucketState {
    /// Keeps `version`'s data files until the returned pin is released.
    pub fn pin(&mut self, version: &str) {
        self.pins.entry(version.to_string()).or_default().readers += 1;
    }

    /// Hands over the files of a version that was replaced or deleted: returns
    /// them for deletion now, or keeps them for the last reader to delete.
    pub fn retire(&mut self, version: &str, files: Vec<PathBuf>) -> Vec<PathBuf> {
        match self.pins.get_mut(version) {
            Some(pinned) => {
                pinned.doomed.extend(files);
                Vec::new()
            }
            None => files,
        }
    }

    fn unpin(&mut self, version: &str) -> Vec<PathBuf> {
        let Some(pinned) = self.pins.get_mut(version) else { return Vec::new() };
        pinned.readers -= 1;
        if pinned.readers > 0 {
            return Vec::new();
        }
        self.pins.remove(version).map(|p| p.doomed).unwrap_or_default()
    }
}

impl Bucket {
    /// A bucket whose index is not loaded yet.
    pub fn new(info: BucketInfo, layout: &Layout) -> Self {
        Bucket {
            dir: layout.bucket_dir(&info.name),
            uploads_dir: layout.uploads_dir(&info.name),
            info,
            state: Mutex::new(BucketState::default()),
            key_locks: (0..KEY_LOCKS).map(|_| Mutex::new(())).collect(),
            key_hasher: RandomState::new(),
            loaded: tokio::sync::OnceCell::new(),
            scan_lock: Arc::new(Mutex::new(())),
            configs: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The bucket name.
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// Locks the state (a panic elsewhere never leaves it half-updated, so a
    /// poisoned lock is still usable).
    pub fn lock(&self) -> MutexGuard<'_, BucketState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The lock a commit of `key` holds from checking the index, through the
    /// rename (or unlink) that changes the key on disk, to updating the index.
    /// So the rename runs outside the state lock (other keys commit meanwhile)
    /// while the index still changes in the order the files did, and whoever
    /// holds it sees the key's file and index entry agree. Taken before the
    /// state lock, never while holding it, and one at a time.
    pub fn key_lock(&self, key: &str) -> MutexGuard<'_, ()> {
        let slot = (self.key_hasher.hash_one(key) % KEY_LOCKS as u64) as usize;
        self.key_locks[slot].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every key lock, in order: no commit is between its check and its index
    /// update while they are held (`delete_bucket` marks the bucket deleted
    /// under them, so no commit can land in a bucket found empty).
    pub fn lock_all_keys(&self) -> Vec<MutexGuard<'_, ()>> {
        self.key_locks.iter().map(|lock| lock.lock().unwrap_or_else(|e| e.into_inner())).collect()
    }

    /// Loads the index and uploads from disk on first use, sweeping orphaned
    /// data files as it goes. Every object and upload operation calls this first,
    /// so no commit can race the sweep.
    pub async fn ensure_loaded(&self) -> StoreResult<()> {
        self.loaded
            .get_or_try_init(|| async {
                let (dir, uploads_dir, scan_lock) = (self.dir.clone(), self.uploads_dir.clone(), self.scan_lock.clone());
                let loaded = blocking(move || {
                    let _scanning = scan_lock.lock().unwrap_or_else(|e| e.into_inner());
                    scan::load_bucket(&dir, &uploads_dir)
                })
                .await?;
                let mut state = self.lock();
                state.objects = loaded.objects;
                state.uploads = loaded.uploads.into_iter().map(|u| (u.info.upload_id.clone(), Arc::new(u))).collect();
                Ok::<_, StoreError>(())
            })
            .await?;
        Ok(())
    }

    /// The current version of `key` (if any) after checking, under the state
    /// lock, that the bucket is alive and `condition` holds for it: what every
    /// change of a key checks first (and again at its commit point).
    pub fn checked_current(&self, key: &str, condition: &WriteCondition) -> StoreResult<Option<Arc<ObjectRecord>>> {
        let state = self.lock();
        self.check_alive(&state)?;
        let current = state.objects.get(key).cloned();
        check_condition(current.as_deref(), key, condition)?;
        Ok(current)
    }

    /// Fails with `NoSuchBucket` once the bucket was deleted.
    pub fn check_alive(&self, state: &BucketState) -> StoreResult<()> {
        if state.deleted { Err(StoreError::NoSuchBucket(self.name().to_string())) } else { Ok(()) }
    }
}

/// Keeps a version's data files on disk while a reader may still open them.
pub(crate) struct PinGuard {
    /// Where the pin is recorded.
    bucket: Arc<Bucket>,
    /// The pinned version.
    version: String,
}

impl PinGuard {
    /// Wraps a pin already taken with [`BucketState::pin`].
    pub fn new(bucket: Arc<Bucket>, version: String) -> Self {
        PinGuard { bucket, version }
    }
}

impl Drop for PinGuard {
    fn drop(&mut self) {
        let doomed = self.bucket.lock().unpin(&self.version);
        if doomed.is_empty() {
            return;
        }
        let bucket_dir = self.bucket.dir.clone();
        let remove = move || {
            remove_files(&doomed);
            if let Some(dir) = doomed[0].parent() {
                prune_empty_dirs(&bucket_dir, dir);
            }
        };
        // A multipart version can have thousands of files: keep them off async threads.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(remove)),
            Err(_) => remove(),
        }
    }
}

/// Checks a write condition against the key's current version. `IfMatch` on a
/// missing key is `NoSuchKey` (what S3 answers: 404, not 412); `IfMatch("*")`
/// matches any existing object.
fn check_condition(current: Option<&ObjectRecord>, key: &str, condition: &WriteCondition) -> StoreResult<()> {
    match (condition, current) {
        (WriteCondition::None, _) | (WriteCondition::IfNoneMatch, None) => Ok(()),
        (WriteCondition::IfNoneMatch, Some(_)) => Err(StoreError::PreconditionFailed),
        (WriteCondition::IfMatch(_), None) => Err(StoreError::NoSuchKey(key.to_string())),
        (WriteCondition::IfMatch(etag), Some(record)) => {
            let wanted = etag.trim().trim_matches('"');
            if wanted == "*" || wanted == record.info.meta.etag { Ok(()) } else { Err(StoreError::PreconditionFailed) }
        }
    }
}
