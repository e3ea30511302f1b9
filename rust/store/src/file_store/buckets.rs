//! Bucket operations: the registry of known buckets, create/delete/list, and
//! bucket config documents.

use super::Inner;
use super::bucket::Bucket;
use super::fsutil::{blocking, fsync_dir, io_err, read_optional, remove_tree, write_atomic};
use super::layout::{self, Layout};
use super::records::{BucketDoc, from_json, from_nanos, to_json};
use crate::names::validate_bucket_name;
use crate::{BucketInfo, StoreError, StoreResult};
use bytes::Bytes;
use std::fs;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

/// The longest config kind accepted; kinds are short names like `policy` or `lifecycle`.
const MAX_KIND_LEN: usize = 32;

impl Inner {
    /// The bucket `name` (validated), from the registry or, the first time, from disk.
    pub(crate) async fn bucket(&self, name: &str) -> StoreResult<Arc<Bucket>> {
        validate_bucket_name(name)?;
        if let Some(bucket) = self.cached(name) {
            return Ok(bucket);
        }
        let _ops = self.bucket_ops.lock().await;
        self.bucket_from_disk(name).await
    }

    /// The bucket with its index loaded.
    pub(crate) async fn loaded_bucket(&self, name: &str) -> StoreResult<Arc<Bucket>> {
        let bucket = self.bucket(name).await?;
        bucket.ensure_loaded().await?;
        Ok(bucket)
    }

    fn cached(&self, name: &str) -> Option<Arc<Bucket>> {
        self.registry().get(name).cloned()
    }

    /// Looks the bucket up on disk; the caller holds `bucket_ops`.
    async fn bucket_from_disk(&self, name: &str) -> StoreResult<Arc<Bucket>> {
        if let Some(bucket) = self.cached(name) {
            return Ok(bucket);
        }
        let (layout, owned) = (self.layout.clone(), name.to_string());
        let info = blocking(move || read_bucket_info(&layout, &owned)).await?.ok_or_else(|| StoreError::NoSuchBucket(name.to_string()))?;
        let bucket = Arc::new(Bucket::new(info, &self.layout));
        self.registry().insert(name.to_string(), bucket.clone());
        Ok(bucket)
    }

    /// See [`ObjectStore::create_bucket`](crate::ObjectStore::create_bucket).
    pub(crate) async fn create_bucket(&self, name: &str, owner: Option<&str>) -> StoreResult<BucketInfo> {
        validate_bucket_name(name)?;
        let _ops = self.bucket_ops.lock().await;
        let info = BucketInfo { name: name.to_string(), created: SystemTime::now(), owner: owner.map(str::to_string) };
        let (layout, fsync, created) = (self.layout.clone(), self.fsync, info.clone());
        blocking(move || {
            let name = &created.name;
            if let Some(existing) = read_bucket_info(&layout, name)? {
                return Err(StoreError::BucketAlreadyExists { bucket: name.clone(), owner: existing.owner });
            }
            // Leftovers of a delete interrupted by a crash must not leak into the new bucket.
            for dir in [layout.bucket_sys_dir(name), layout.uploads_dir(name)] {
                remove_tree(&dir).map_err(io_err("removing", &dir))?;
            }
            write_atomic(&layout.tmp, &layout.bucket_file(name), &to_json(&BucketDoc::new(&created)), fsync)?;
            // Creating the directory is the commit point: the bucket exists from here on.
            let dir = layout.bucket_dir(name);
            match fs::create_dir(&dir) {
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(StoreError::BucketAlreadyExists { bucket: name.clone(), owner: None });
                }
                other => other.map_err(io_err("creating", &dir))?,
            }
            if fsync {
                fsync_dir(&layout.root).map_err(io_err("syncing", &layout.root))?;
            }
            Ok(())
        })
        .await?;
        self.registry().insert(name.to_string(), Arc::new(Bucket::new(info.clone(), &self.layout)));
        Ok(info)
    }

    /// See [`ObjectStore::delete_bucket`](crate::ObjectStore::delete_bucket).
    pub(crate) async fn delete_bucket(&self, name: &str) -> StoreResult<()> {
        validate_bucket_name(name)?;
        let _ops = self.bucket_ops.lock().await;
        let bucket = self.bucket_from_disk(name).await?;
        bucket.ensure_loaded().await?;
        let _configs = bucket.configs.lock().await;
        // Under every key lock no commit is between its check and its index
        // update: once marked, none can land in the bucket found empty.
        let marking = bucket.clone();
        blocking(move || {
            let _key_locks = marking.lock_all_keys();
            let mut state = marking.lock();
            if !state.objects.is_empty() || !state.uploads.is_empty() {
                return Err(StoreError::BucketNotEmpty(marking.name().to_string()));
            }
            state.deleted = true;
            Ok(())
        })
        .await?;
        let dir = bucket.dir.clone();
        let removed = blocking(move || remove_bucket_tree(&dir).map_err(io_err("removing", &dir))).await;
        if !matches!(removed, Ok(true)) {
            bucket.lock().deleted = false;
            return Err(removed.err().unwrap_or_else(|| StoreError::BucketNotEmpty(name.to_string())));
        }
        self.registry().remove(name);
        let (layout, fsync, owned) = (self.layout.clone(), self.fsync, name.to_string());
        blocking(move || {
            for dir in [layout.bucket_sys_dir(&owned), layout.uploads_dir(&owned)] {
                // A CreateMultipartUpload that lost the race may still be
                // writing (then removing) its directory in there: start over.
                let mut attempt = 1;
                while let Err(e) = remove_tree(&dir) {
                    if e.kind() != io::ErrorKind::DirectoryNotEmpty || attempt >= REMOVE_ATTEMPTS {
                        return Err(StoreError::io(format!("removing {}", dir.display()), e));
                    }
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            }
            if fsync {
                fsync_dir(&layout.root).map_err(io_err("syncing", &layout.root))?;
            }
            Ok(())
        })
        .await
    }

    /// See [`ObjectStore::list_buckets`](crate::ObjectStore::list_buckets).
    pub(crate) async fn list_buckets(&self) -> StoreResult<Vec<BucketInfo>> {
        let _ops = self.bucket_ops.lock().await;
        let layout = self.layout.clone();
        let mut buckets = blocking(move || {
            let mut buckets = Vec::new();
            for entry in fs::read_dir(&layout.root).map_err(io_err("listing", &layout.root))? {
                let entry = entry.map_err(io_err("listing", &layout.root))?;
                let Ok(name) = entry.file_name().into_string() else { continue };
                if validate_bucket_name(&name).is_ok()
                    && let Some(info) = read_bucket_info(&layout, &name)?
                {
                    buckets.push(info);
                }
            }
            Ok(buckets)
        })
        .await?;
        buckets.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(buckets)
    }

    /// See [`ObjectStore::get_bucket_config`](crate::ObjectStore::get_bucket_config).
    pub(crate) async fn get_bucket_config(&self, name: &str, kind: &str) -> StoreResult<Option<Bytes>> {
        validate_kind(kind)?;
        let bucket = self.bucket(name).await?;
        let mut cache = bucket.configs.lock().await;
        if let Some(doc) = cache.get(kind) {
            return Ok(doc.clone());
        }
        let path = self.layout.config_dir(name).join(kind);
        let doc = blocking(move || read_optional(&path)).await?.map(Bytes::from);
        cache.insert(kind.to_string(), doc.clone());
        Ok(doc)
    }

    /// See [`ObjectStore::put_bucket_config`](crate::ObjectStore::put_bucket_config).
    pub(crate) async fn put_bucket_config(&self, name: &str, kind: &str, doc: Option<Bytes>) -> StoreResult<()> {
        validate_kind(kind)?;
        let bucket = self.bucket(name).await?;
        let mut cache = bucket.configs.lock().await;
        bucket.check_alive(&bucket.lock())?;
        let (dir, tmp, fsync, stored) = (self.layout.config_dir(name), self.layout.tmp.clone(), self.fsync, doc.clone());
        let kind_owned = kind.to_string();
        blocking(move || {
            let path = dir.join(&kind_owned);
            match stored {
                Some(bytes) => write_atomic(&tmp, &path, &bytes, fsync),
                None => match fs::remove_file(&path) {
                    Ok(()) if fsync => fsync_dir(&dir).map_err(io_err("syncing", &dir)),
                    Err(e) if e.kind() != io::ErrorKind::NotFound => Err(StoreError::io(format!("removing {}", path.display()), e)),
                    _ => Ok(()),
                },
            }
        })
        .await?;
        cache.insert(kind.to_string(), doc);
        Ok(())
    }
}

/// A config kind is a short lowercase identifier (`policy`, `cors`, `public-access-block`):
/// it becomes a file name, so nothing else is accepted.
fn validate_kind(kind: &str) -> StoreResult<()> {
    let ok = !kind.is_empty()
        && kind.len() <= MAX_KIND_LEN
        && kind.starts_with(|c: char| c.is_ascii_lowercase())
        && kind.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        return Ok(());
    }
    Err(StoreError::Io {
        context: format!("bucket config kind {kind:?} is invalid: use 1 to {MAX_KIND_LEN} lowercase letters, digits, '-' or '_', starting with a letter"),
        source: io::Error::from(io::ErrorKind::InvalidInput),
    })
}

/// The bucket's info when `<root>/<name>` is a directory: from `bucket.json`, or,
/// for a directory without one (created by hand, or a create interrupted by a
/// crash), its timestamps and no owner.
fn read_bucket_info(layout: &Layout, name: &str) -> StoreResult<Option<BucketInfo>> {
    let dir = layout.bucket_dir(name);
    let meta = match fs::metadata(&dir) {
        Ok(meta) if meta.is_dir() => meta,
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io(format!("inspecting {}", dir.display()), e)),
    };
    let path = layout.bucket_file(name);
    if let Some(bytes) = read_optional(&path)? {
        match from_json::<BucketDoc>(&path, &bytes) {
            Ok(doc) if doc.name == name => return Ok(Some(BucketInfo { name: doc.name, created: from_nanos(doc.created_ns), owner: doc.owner })),
            Ok(_) => tracing::warn!(path = %path.display(), "bucket.json names another bucket; ignoring it"),
            Err(e) => tracing::warn!(error = %e, "ignoring unreadable bucket.json"),
        }
    }
    let created = meta.created().or_else(|_| meta.modified()).unwrap_or_else(|_| SystemTime::now());
    Ok(Some(BucketInfo { name: name.to_string(), created, owner: None }))
}

/// How often [`remove_bucket_tree`] starts over when writes still in flight
/// put files into the tree while it is being removed. Such writes cannot
/// commit (the bucket is marked deleted) and soon undo their files, so a few
/// rounds, 1 ms apart, always converge.
const REMOVE_ATTEMPTS: usize = 50;

/// Removes an empty bucket's directory tree: the store's own files (data a
/// reader still held, leftovers of interrupted writes, data of writes still in
/// flight, which fail at commit) and the directories.
///
/// Returns `false` and removes nothing when the tree holds a file the store
/// does not own: nothing may be deleted before that is known, because the
/// caller then un-deletes the bucket, and a write in flight whose data file was
/// removed would commit metadata naming a missing file. When files appear
/// while the tree is removed (ENOTEMPTY), the removal starts over.
fn remove_bucket_tree(dir: &Path) -> io::Result<bool> {
    if holds_foreign_files(dir)? {
        return Ok(false);
    }
    let mut attempt = 1;
    loop {
        match remove_store_tree(dir) {
            Ok(()) => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::DirectoryNotEmpty && attempt < REMOVE_ATTEMPTS => {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether `dir` holds anything but the store's object files and key directories.
fn holds_foreign_files(dir: &Path) -> io::Result<bool> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let file_type = entry.file_type()?;
        let name = entry.file_name().into_string().ok();
        if file_type.is_dir() && name.as_deref().is_some_and(|n| !n.starts_with('.')) {
            if holds_foreign_files(&entry.path())? {
                return Ok(true);
            }
        } else if !(file_type.is_file() && name.as_deref().is_some_and(|n| layout::parse_object_file(n).is_some())) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Removes the object files and directories under `dir`, then `dir`. A file
/// the store does not own that appeared meanwhile makes it fail with
/// ENOTEMPTY, like a file of a write in flight does.
fn remove_store_tree(dir: &Path) -> io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let file_type = entry.file_type()?;
        let name = entry.file_name().into_string().ok();
        let path = entry.path();
        if file_type.is_dir() && name.as_deref().is_some_and(|n| !n.starts_with('.')) {
            remove_store_tree(&path)?;
        } else if file_type.is_file() && name.as_deref().is_some_and(|n| layout::parse_object_file(n).is_some()) {
            match fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
    }
    match fs::remove_dir(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}
