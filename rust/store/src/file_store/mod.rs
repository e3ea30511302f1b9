//! `FileStore`: the [`ObjectStore`] over one local directory.
//!
//! See [`layout`] for what lives where on disk and why a crash never tears an
//! object. In memory, each bucket keeps an index of its keys (loaded on first
//! use, updated by every commit and delete) that answers listings and metadata
//! reads without touching the disk; object bytes always stream.
//!
//! Module map: [`keys`] (key ↔ path escaping), [`layout`] (file names and
//! directories), [`records`] (the JSON documents), [`bucket`] (per-bucket state,
//! pins), [`scan`] (loading a bucket, sweeping leftovers), [`buckets`] (bucket
//! operations and config documents), [`write`] (writers and the commit), [`read`]
//! (readers and streams), [`list`] (listing), [`multipart`] (uploads), [`fsutil`]
//! (temp files, fsync, renames), [`dirsync`] and [`small_commits`] (group commit).

mod bucket;
mod buckets;
mod dirsync;
mod fsutil;
mod keys;
pub(crate) mod layout;
mod list;
mod metafile;
mod multipart;
mod read;
mod reaper;
mod records;
mod scan;
mod small_commits;
mod write;

use crate::names::validate_key;
use crate::{
    BucketInfo, ListPage, ListQuery, ObjectInfo, ObjectMeta, ObjectReader, ObjectStore, ObjectSummary, ObjectWriter, PartInfo, PartWriter,
    StoreError, StoreResult, UploadInfo, WriteCondition,
};
use async_trait::async_trait;
use bucket::Bucket;
use bytes::Bytes;
use fsutil::{blocking, io_err};
use layout::Layout;
use std::collections::HashMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

/// How a [`FileStore`] is set up.
#[derive(Debug, Clone)]
pub struct FileStoreConfig {
    /// The storage directory (created if missing).
    pub root: PathBuf,
    /// fsync files and directories on every write (crash durability). When false,
    /// writes stay atomic for readers but a power loss may lose recent ones (a
    /// small new object is then written in place, see `write::publish_unsynced_inline`).
    pub fsync: bool,
    /// Wipe the directory's contents at open.
    pub clean_slate: bool,
}

/// The object store over one directory. Cheap to share behind an `Arc`; every
/// method may be called concurrently.
pub struct FileStore {
    inner: Arc<Inner>,
}

/// State shared by the store and its writers.
pub(crate) struct Inner {
    /// Where everything lives.
    pub layout: Layout,
    /// Whether writes are fsynced.
    pub fsync: bool,
    /// Directory syncs shared by concurrent writers (group commit).
    pub dir_syncs: dirsync::DirSyncs,
    /// Removes retired files after the requests that retired them are answered.
    pub reaper: reaper::Reaper,
    /// Commits small objects in batches made durable by one flush (group
    /// commit); `Some` when `fsync` is on and the platform has `syncfs`.
    pub small_commits: Option<small_commits::SmallCommits>,
    /// Held for the store's lifetime: the advisory lock on `.smartstorage/lock`.
    _lock: File,
    /// Buckets looked up so far, by name.
    buckets: Mutex<HashMap<String, Arc<Bucket>>>,
    /// Serialises bucket creation, deletion, listing and first lookups.
    bucket_ops: tokio::sync::Mutex<()>,
}

impl Inner {
    fn registry(&self) -> MutexGuard<'_, HashMap<String, Arc<Bucket>>> {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore").field("root", &self.inner.layout.root).field("fsync", &self.inner.fsync).finish()
    }
}

impl FileStore {
    /// Opens (creating it if needed) the storage directory `config.root`.
    ///
    /// Takes an exclusive advisory lock on `<root>/.smartstorage/lock`, so a second
    /// store on the same directory, in this process or another, fails here instead
    /// of corrupting the first one's data. With `clean_slate` everything under the
    /// root is removed. Temp files of writes interrupted by a crash are removed;
    /// other leftovers are swept when each bucket is first used, so opening costs a
    /// few syscalls whatever the directory holds.
    pub async fn open(config: FileStoreConfig) -> StoreResult<FileStore> {
        let layout = Layout::new(config.root.clone());
        let prepared = layout.clone();
        let fsync = config.fsync;
        let (lock, small_commits) = blocking(move || {
            let lock = prepare(&prepared, config.clean_slate)?;
            let commits = match fsync {
                true => small_commits::SmallCommits::start(&prepared.root, &prepared.tmp).map_err(io_err("starting the commit thread for", &prepared.root))?,
                false => None,
            };
            Ok((lock, commits))
        })
        .await?;
        let inner = Inner {
            layout,
            fsync,
            dir_syncs: dirsync::DirSyncs::default(),
            reaper: reaper::Reaper::start(),
            small_commits,
            _lock: lock,
            buckets: Mutex::new(HashMap::new()),
            bucket_ops: tokio::sync::Mutex::new(()),
        };
        Ok(FileStore { inner: Arc::new(inner) })
    }

    /// The storage directory.
    pub fn root(&self) -> &Path {
        &self.inner.layout.root
    }
}

/// Creates the directory skeleton, takes the lock, applies `clean_slate` and
/// removes stale temp files.
fn prepare(layout: &Layout, clean_slate: bool) -> StoreResult<File> {
    fs::create_dir_all(&layout.sys).map_err(io_err("creating", &layout.sys))?;
    let lock_path = layout.sys.join(layout::LOCK_FILE);
    let lock = fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).map_err(io_err("opening", &lock_path))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            return Err(StoreError::Io {
                context: format!(
                    "storage directory {} is in use by another SmartStorage store; stop it or choose another directory",
                    layout.root.display()
                ),
                source: io::Error::from(io::ErrorKind::WouldBlock),
            });
        }
        Err(fs::TryLockError::Error(e)) => return Err(StoreError::io(format!("locking {}", lock_path.display()), e)),
    }
    if clean_slate {
        fsutil::wipe_dir(&layout.root, &[layout::SYS_DIR]).map_err(io_err("wiping", &layout.root))?;
        fsutil::wipe_dir(&layout.sys, &[layout::LOCK_FILE]).map_err(io_err("wiping", &layout.sys))?;
    }
    fsutil::remove_tree(&layout.tmp).map_err(io_err("removing", &layout.tmp))?;
    fsutil::create_tmp_dir(&layout.tmp).map_err(io_err("creating", &layout.tmp))?;
    Ok(lock)
}

#[async_trait]
impl ObjectStore for FileStore {
    async fn create_bucket(&self, bucket: &str, owner: Option<&str>) -> StoreResult<BucketInfo> {
        self.inner.create_bucket(bucket, owner).await
    }

    async fn delete_bucket(&self, bucket: &str) -> StoreResult<()> {
        self.inner.delete_bucket(bucket).await
    }

    async fn head_bucket(&self, bucket: &str) -> StoreResult<BucketInfo> {
        Ok(self.inner.bucket(bucket).await?.info.clone())
    }

    async fn list_buckets(&self) -> StoreResult<Vec<BucketInfo>> {
        self.inner.list_buckets().await
    }

    async fn get_bucket_config(&self, bucket: &str, kind: &str) -> StoreResult<Option<Bytes>> {
        self.inner.get_bucket_config(bucket, kind).await
    }

    async fn put_bucket_config(&self, bucket: &str, kind: &str, doc: Option<Bytes>) -> StoreResult<()> {
        self.inner.put_bucket_config(bucket, kind, doc).await
    }

    async fn put_object(&self, bucket: &str, key: &str) -> StoreResult<Box<dyn ObjectWriter>> {
        validate_key(key)?;
        let bucket = self.inner.loaded_bucket(bucket).await?;
        let path = storable_path(&bucket, key)?;
        Ok(Box::new(write::FileObjectWriter::new(self.inner.clone(), bucket, key.to_string(), path)))
    }

    async fn head_object(&self, bucket: &str, key: &str) -> StoreResult<ObjectInfo> {
        validate_key(key)?;
        let bucket = self.inner.loaded_bucket(bucket).await?;
        let state = bucket.lock();
        bucket.check_alive(&state)?;
        state.objects.get(key).map(|r| r.info.clone()).ok_or_else(|| StoreError::NoSuchKey(key.to_string()))
    }

    async fn open_object(&self, bucket: &str, key: &str) -> StoreResult<Box<dyn ObjectReader>> {
        validate_key(key)?;
        let bucket = self.inner.loaded_bucket(bucket).await?;
        Ok(Box::new(read::FileObjectReader::open(bucket, key).await?))
    }

    async fn delete_object(&self, bucket: &str, key: &str, condition: &WriteCondition) -> StoreResult<bool> {
        validate_key(key)?;
        let bucket = self.inner.loaded_bucket(bucket).await?;
        let (store, key, condition) = (self.inner.clone(), key.to_string(), condition.clone());
        fsutil::small_op(store.fsync, move || delete_object(&store, &bucket, &key, &condition)).await
    }

    async fn list_objects(&self, bucket: &str, query: &ListQuery) -> StoreResult<ListPage> {
        let bucket = self.inner.loaded_bucket(bucket).await?;
        let state = bucket.lock();
        bucket.check_alive(&state)?;
        Ok(list::list_page(&state.objects, query, |key, record| ObjectSummary {
            key: key.to_string(),
            size: record.info.size,
            last_modified: record.info.last_modified,
            etag: record.info.meta.etag.clone(),
            checksum_algorithms: record.info.meta.checksums.keys().cloned().collect(),
            checksum_type: record.info.meta.checksum_type.clone(),
        }))
    }

    async fn update_object_meta(&self, bucket: &str, key: &str, meta: ObjectMeta, condition: &WriteCondition) -> StoreResult<ObjectInfo> {
        validate_key(key)?;
        let bucket = self.inner.loaded_bucket(bucket).await?;
        let (store, key, condition) = (self.inner.clone(), key.to_string(), condition.clone());
        blocking(move || write::update_meta(&store, &bucket, &key, meta, &condition)).await
    }

    async fn create_multipart(&self, bucket: &str, key: &str, meta: ObjectMeta) -> StoreResult<UploadInfo> {
        validate_key(key)?;
        let bucket = self.inner.loaded_bucket(bucket).await?;
        storable_path(&bucket, key)?;
        multipart::create(&self.inner, &bucket, key, meta).await
    }

    async fn put_part(&self, bucket: &str, key: &str, upload_id: &str, part_number: u32) -> StoreResult<Box<dyn PartWriter>> {
        validate_key(key)?;
        let bucket = self.inner.loaded_bucket(bucket).await?;
        multipart::part_writer(&self.inner, &bucket, key, upload_id, part_number)
    }

    async fn upload_info(&self, bucket: &str, key: &str, upload_id: &str) -> StoreResult<UploadInfo> {
        validate_key(key)?;
        let bucket = self.inner.loaded_bucket(bucket).await?;
        multipart::upload_info(&bucket, key, upload_id)
    }

    async fn list_parts(&self, bucket: &str, key: &str, upload_id: &str) -> StoreResult<(UploadInfo, Vec<PartInfo>)> {
        validate_key(key)?;
        let bucket = self.inner.loaded_bucket(bucket).await?;
        multipart::list_parts(&bucket, key, upload_id).await
    }

    async fn complete_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
        meta: ObjectMeta,
        condition: &WriteCondition,
    ) -> StoreResult<ObjectInfo> {
        validate_key(key)?;
        let bucket = self.inner.loaded_bucket(bucket).await?;
        multipart::complete(&self.inner, &bucket, key, upload_id, parts, meta, condition).await
    }

    async fn abort_multipart(&self, bucket: &str, key: &str, upload_id: &str) -> StoreResult<()> {
        validate_key(key)?;
        let bucket = self.inner.loaded_bucket(bucket).await?;
        multipart::abort(&bucket, key, upload_id).await
    }

    async fn list_uploads(&self, bucket: &str) -> StoreResult<Vec<UploadInfo>> {
        let bucket = self.inner.loaded_bucket(bucket).await?;
        bucket.check_alive(&bucket.lock())?;
        Ok(multipart::list_uploads(&bucket))
    }

    async fn cleanup_uploads(&self, cutoff: SystemTime) -> StoreResult<usize> {
        let mut removed = 0;
        for info in self.inner.list_buckets().await? {
            let bucket = match self.inner.loaded_bucket(&info.name).await {
                Ok(bucket) => bucket,
                Err(StoreError::NoSuchBucket(_)) => continue,
                Err(e) => return Err(e),
            };
            removed += multipart::cleanup(&bucket, cutoff).await?;
        }
        Ok(removed)
    }
}

/// The place of `key` in `bucket`; refuses, before any bytes are received, a
/// key whose escaped path would exceed the OS path limit (only possible with a
/// long root path, or on macOS whose limit is 1 KiB).
fn storable_path(bucket: &Bucket, key: &str) -> StoreResult<keys::KeyPath> {
    let path = keys::encode_key(key);
    if path.longest_path_len(&bucket.dir) > keys::MAX_PATH_BYTES {
        return Err(StoreError::InvalidKey {
            key: key.to_string(),
            reason: "is too long to store in this directory: its escaped path exceeds the operating system's path limit; use a shorter key or a storage directory with a shorter path",
        });
    }
    Ok(path)
}

/// Blocking: removes `key` if `condition` holds. Holding the key's lock, the
/// metadata file is moved into the temp directory (the commit point; a rename
/// frees nothing, so it never waits for the disk) and the key leaves the index;
/// the reaper then removes the file and the data, or the data waits for the
/// last reader of that version.
fn delete_object(store: &Inner, bucket: &Arc<Bucket>, key: &str, condition: &WriteCondition) -> StoreResult<bool> {
    let path = keys::encode_key(key);
    let dir = path.dir(&bucket.dir);
    let (tomb, mut retired) = {
        let _key_lock = bucket.key_lock(key);
        let Some(current) = bucket.checked_current(key, condition)? else { return Ok(false) };
        let tomb = fsutil::temp_path(&store.layout.tmp, "deleted");
        let meta_path = dir.join(layout::meta_name(&path.base));
        match fs::rename(&meta_path, &tomb) {
            Ok(()) => {}
            // Already gone (someone removed the file by hand): nothing to move.
            Err(e) if e.kind() == io::ErrorKind::NotFound && !meta_path.exists() => {}
            Err(e) => return Err(StoreError::io(format!("removing {}", meta_path.display()), e)),
        }
        // Still as checked: the key's other commits and the bucket's deletion wait for its lock.
        let mut state = bucket.lock();
        state.objects.remove(key);
        let files = layout::data_paths(&bucket.dir, &path, &current.version, current.placement);
        (tomb, state.retire(&current.version, files))
    };
    if store.fsync {
        store.dir_syncs.sync(&dir).map_err(io_err("syncing", &dir))?;
    }
    retired.push(tomb);
    let prune = (dir != bucket.dir).then(|| (bucket.dir.clone(), dir));
    store.reaper.remove(retired, prune);
    Ok(true)
}
