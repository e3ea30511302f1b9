//! Writing objects: buffered, batched writes to a temp file, and the commit that
//! makes a new version visible atomically.

use super::Inner;
use super::bucket::Bucket;
use super::fsutil::{TempFile, blocking, io_err, prune_empty_dirs, remove_files, retry_in_dir, task_failed};
use super::keys::{KeyPath, encode_key};
use super::layout::{self, data_name, new_version};
use super::metafile;
use super::records::{ObjectRecord, Placement};
use crate::{ObjectInfo, ObjectMeta, ObjectWriter, StoreError, StoreResult, WriteCondition};
use async_trait::async_trait;
use bytes::Bytes;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;
use tokio::task::JoinHandle;

/// Bytes a writer collects before one blocking write: big enough that the hop to
/// the blocking pool (~10 µs) is noise next to the write, small enough that an
/// upload's memory stays flat (at most two batches — one being written, one
/// being collected — plus one incoming chunk).
pub(crate) const WRITE_BATCH_BYTES: usize = 1 << 20;

/// With fsync on, a writer starts flushing what it wrote to disk every this
/// many bytes (`fdatasync` on a second descriptor, beside the writes, never
/// in their way), so the sync before the commit only has the tail left: a
/// 1 GiB upload otherwise ends with a multi-second fsync of everything the
/// page cache absorbed. 16 MiB keeps the extra device flushes to 64 per GiB.
pub(crate) const SYNC_EVERY_BYTES: u64 = 16 << 20;

/// Collects incoming chunks and writes them to a temp file in batches. Writes
/// are pipelined: a full batch is written on the blocking pool while the next
/// one is collected (and hashed by the caller), so receiving, hashing and
/// writing overlap instead of taking turns.
pub(crate) struct Spool {
    /// Where the temp file goes.
    tmp_dir: PathBuf,
    /// Sync written data every [`SYNC_EVERY_BYTES`] (the store's fsync setting).
    fsync: bool,
    /// The temp file, when no batch is being written (created with the first batch).
    temp: Option<TempFile>,
    /// The batch being written; it returns the temp file when done.
    in_flight: Option<JoinHandle<StoreResult<TempFile>>>,
    /// A background `fdatasync` of what was written so far, if one is running.
    syncing: Option<JoinHandle<StoreResult<()>>>,
    /// Bytes handed to batch writes since the last background sync started.
    unsynced: u64,
    /// Chunks not yet written (shared `Bytes`, not copied).
    pending: Vec<Bytes>,
    /// Total length of `pending`.
    pending_len: usize,
    /// Bytes accepted so far.
    written: u64,
    /// A batch failed or was cancelled: the temp file is gone, so later writes must fail.
    failed: bool,
}

impl Spool {
    /// An empty spool; the temp file is created with the first batch.
    pub fn new(tmp_dir: PathBuf, fsync: bool) -> Self {
        Spool {
            tmp_dir,
            fsync,
            temp: None,
            in_flight: None,
            syncing: None,
            unsynced: 0,
            pending: Vec::new(),
            pending_len: 0,
            written: 0,
            failed: false,
        }
    }

    /// Bytes accepted so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The whole body, when it is small enough to be stored inline and never
    /// reached a temp file (see [`metafile::INLINE_MAX_BYTES`]). Call
    /// [`settle`](Self::settle) first.
    pub fn take_inline(&mut self) -> Option<Vec<Bytes>> {
        let small = self.temp.is_none() && self.in_flight.is_none() && !self.failed && self.written <= metafile::INLINE_MAX_BYTES;
        small.then(|| std::mem::take(&mut self.pending))
    }

    /// Accepts a chunk, starting a batch write once [`WRITE_BATCH_BYTES`] are pending.
    pub async fn write(&mut self, chunk: Bytes) -> StoreResult<()> {
        self.check()?;
        if chunk.is_empty() {
            return Ok(());
        }
        self.written += chunk.len() as u64;
        self.pending_len += chunk.len();
        self.pending.push(chunk);
        if self.pending_len >= WRITE_BATCH_BYTES {
            self.flush().await?;
        }
        Ok(())
    }

    /// Waits for the batch being written (if any), then starts writing the
    /// pending chunks in the background, and a background sync when due.
    async fn flush(&mut self) -> StoreResult<()> {
        self.settle_batch().await?;
        let temp = self.temp.take();
        if let Some(temp) = &temp
            && self.fsync
            && self.unsynced >= SYNC_EVERY_BYTES
            && self.syncing.as_ref().is_none_or(|s| s.is_finished())
        {
            self.settle_sync().await?;
            let file = temp.clone_handle()?;
            self.syncing = Some(tokio::task::spawn_blocking(move || file.sync_data().map_err(|e| StoreError::io("syncing a temp file", e))));
            self.unsynced = 0;
        }
        let chunks = std::mem::take(&mut self.pending);
        self.unsynced += self.pending_len as u64;
        self.pending_len = 0;
        let tmp_dir = self.tmp_dir.clone();
        self.in_flight = Some(tokio::task::spawn_blocking(move || {
            let mut temp = match temp {
                Some(temp) => temp,
                None => TempFile::create(&tmp_dir)?,
            };
            temp.write_chunks(&chunks)?;
            Ok(temp)
        }));
        Ok(())
    }

    /// Waits for the batch being written, if any. If this future is dropped
    /// midway, the batch completes on its own and its temp file removes itself.
    async fn settle_batch(&mut self) -> StoreResult<()> {
        if let Some(handle) = self.in_flight.take() {
            // Stays set if the batch fails or this future is dropped: the temp file went with it.
            self.failed = true;
            self.temp = Some(handle.await.map_err(task_failed)??);
            self.failed = false;
        }
        Ok(())
    }

    /// Waits for the background sync, if any, and reports its failure.
    async fn settle_sync(&mut self) -> StoreResult<()> {
        if let Some(handle) = self.syncing.take() {
            self.failed = true;
            handle.await.map_err(task_failed)??;
            self.failed = false;
        }
        Ok(())
    }

    /// Waits until no batch write or sync is running. Must be called before
    /// [`finish`](Self::finish).
    pub async fn settle(&mut self) -> StoreResult<()> {
        self.settle_batch().await?;
        self.settle_sync().await
    }

    /// Blocking: writes what is pending, fsyncs when asked and closes the file.
    /// Returns the temp file and the total byte count. Call [`settle`](Self::settle) first.
    pub fn finish(mut self, fsync: bool) -> StoreResult<(TempFile, u64)> {
        self.check()?;
        if self.in_flight.is_some() || self.syncing.is_some() {
            return Err(StoreError::Io { context: "upload finished while a write was in flight".into(), source: io::Error::other("spool not settled") });
        }
        let mut temp = match self.temp.take() {
            Some(temp) => temp,
            None => TempFile::create(&self.tmp_dir)?,
        };
        temp.write_chunks(&self.pending)?;
        temp.close(fsync)?;
        Ok((temp, self.written))
    }

    fn check(&self) -> StoreResult<()> {
        if self.failed {
            return Err(StoreError::Io {
                context: "an earlier write of this upload failed; start it again".into(),
                source: io::Error::other("writer unusable after a failed write"),
            });
        }
        Ok(())
    }
}

/// [`ObjectWriter`] of the file store. Dropping it drops the spool, whose temp
/// file removes itself.
pub(crate) struct FileObjectWriter {
    /// Temp directory and fsync setting.
    store: Arc<Inner>,
    /// The bucket the object goes to.
    bucket: Arc<Bucket>,
    /// The (validated) key.
    key: String,
    /// Where the key lives in the bucket directory.
    path: KeyPath,
    /// The bytes so far.
    spool: Spool,
}

impl FileObjectWriter {
    /// A writer for `key` (already validated, and found storable at `path`) in a loaded bucket.
    pub fn new(store: Arc<Inner>, bucket: Arc<Bucket>, key: String, path: KeyPath) -> Self {
        let spool = Spool::new(store.layout.tmp.clone(), store.fsync);
        FileObjectWriter { store, bucket, key, path, spool }
    }
}

#[async_trait]
impl ObjectWriter for FileObjectWriter {
    async fn write(&mut self, chunk: Bytes) -> StoreResult<()> {
        self.spool.write(chunk).await
    }

    fn written(&self) -> u64 {
        self.spool.written()
    }

    async fn commit(self: Box<Self>, meta: ObjectMeta, condition: &WriteCondition) -> StoreResult<ObjectInfo> {
        let FileObjectWriter { store, bucket, key, path, mut spool } = *self;
        spool.settle().await?;
        let condition = condition.clone();
        let inline = spool.take_inline();
        // Fail fast, before any file work or a wait for a flush; checked again at
        // the commit point. A small object without fsync commits right away.
        if inline.is_none() || store.fsync {
            bucket.checked_current(&key, &condition)?;
        }
        if let Some(inline) = inline {
            let size = inline.iter().map(|c| c.len() as u64).sum();
            let info = ObjectInfo { key, size, last_modified: SystemTime::now(), meta, part_sizes: Vec::new(), part_checksums: Vec::new() };
            let record = ObjectRecord { info, version: new_version(), placement: Placement::Inline };
            if let Some(commits) = &store.small_commits {
                let contents = metafile::contents(&record, &inline);
                let (info, retired) = commits.commit(bucket, path, record, contents, condition).await?;
                store.reaper.remove(retired, None);
                return Ok(info);
            }
            if !store.fsync {
                // Runs in place on this async thread: a few page-cache syscalls.
                return publish_unsynced_inline(&store, &bucket, &path, record, &inline, &condition);
            }
            // fsync on without a group committer (not Linux): this PUT syncs its own file.
            return blocking(move || publish(&store, &bucket, &path, record, &inline, &condition, || {})).await;
        }
        blocking(move || {
            let fsync = store.fsync;
            let (temp, size) = spool.finish(fsync)?;
            let version = new_version();
            let name = data_name(&path.base, &version, None);
            let dir = temp.persist_into(&bucket.dir, &path.dirs, &name, fsync).map_err(|e| placement_error(&bucket, e))?;
            if fsync {
                store.dir_syncs.sync(&dir).map_err(io_err("syncing", &dir))?;
            }
            let data = vec![dir.join(&name)];
            let info = ObjectInfo { key, size, last_modified: SystemTime::now(), meta, part_sizes: Vec::new(), part_checksums: Vec::new() };
            let record = ObjectRecord { info, version, placement: Placement::Single };
            publish(&store, &bucket, &path, record, &[], &condition, || {
                remove_files(&data);
                prune_empty_dirs(&bucket.dir, &dir);
            })
        })
        .await
    }
}

/// Maps a failure to place a file in the bucket: the bucket directory vanishing
/// means the bucket was deleted meanwhile.
pub(crate) fn placement_error(bucket: &Bucket, error: io::Error) -> StoreError {
    if error.kind() == io::ErrorKind::NotFound && !bucket.dir.is_dir() {
        StoreError::NoSuchBucket(bucket.name().to_string())
    } else {
        StoreError::io(format!("placing a file in {}", bucket.dir.display()), error)
    }
}

/// Blocking: makes `record` the current version of its key. Its data files must
/// already be in place (and synced); an inline record's bytes come as `inline`.
/// Writes the metadata file to a temp file; then, holding the key's lock, checks
/// `condition`, renames the metadata over the old one (the commit point) and
/// updates the index; then syncs the directory and hands the replaced
/// version's files to the reaper (or leaves its data to its last reader).
/// When it fails before the commit point it calls `undo` (which removes the new
/// data files); after it, the new version stands whatever happens.
pub(crate) fn publish(
    store: &Inner,
    bucket: &Arc<Bucket>,
    path: &KeyPath,
    record: ObjectRecord,
    inline: &[Bytes],
    condition: &WriteCondition,
    undo: impl FnOnce(),
) -> StoreResult<ObjectInfo> {
    let info = record.info.clone();
    let committed = (|| {
        let temp = TempFile::with_contents(&store.layout.tmp, &metafile::contents(&record, inline), store.fsync)?;
        commit_meta_file(bucket, path, record, temp, condition, store.fsync)
    })();
    let (dir, retired) = match committed {
        Ok(done) => done,
        Err(e) => {
            undo();
            return Err(e);
        }
    };
    if store.fsync {
        // The old data may only go once the new metadata is durable.
        store.dir_syncs.sync(&dir).map_err(io_err("syncing", &dir))?;
    }
    store.reaper.remove(retired, None);
    Ok(info)
}

/// Blocking, fsync off only: makes the inline `record` current. When the key
/// has no current version its metadata file is created in place, holding the
/// key's lock, and then entered in the index: no temp file, no rename. That
/// keeps a write visible whole or not at all because readers go by the index:
/// one finds the file only once the index names it, and one still holding a
/// record of a deleted version that meets the half-written file finds that
/// record no longer current and looks again. After a crash (fsync off promises
/// nothing then) a torn file fails its length check and is skipped at load, as
/// an unsynced renamed one would. A key with a current version, or a name taken
/// by such a stray file, is replaced through a temp file as always.
pub(crate) fn publish_unsynced_inline(
    store: &Inner,
    bucket: &Arc<Bucket>,
    path: &KeyPath,
    record: ObjectRecord,
    inline: &[Bytes],
    condition: &WriteCondition,
) -> StoreResult<ObjectInfo> {
    let key = &record.info.key;
    {
        let _key_lock = bucket.key_lock(key);
        if bucket.checked_current(key, condition)?.is_none() {
            let name = layout::meta_name(&path.base);
            let contents = metafile::contents(&record, inline);
            match retry_in_dir(&bucket.dir, &path.dirs, false, |dir| create_with(&dir.join(&name), &contents)) {
                Ok(_) => {
                    let info = record.info.clone();
                    // Still as checked: the key's other commits and the bucket's deletion wait for its lock.
                    bucket.lock().objects.insert(info.key.clone(), Arc::new(record));
                    return Ok(info);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(placement_error(bucket, e)),
            }
        }
    }
    publish(store, bucket, path, record, inline, condition, || {})
}

/// Creates the file `path` (which must not exist) holding `contents`; a file
/// left half-written by a failed write is removed.
fn create_with(path: &Path, contents: &[u8]) -> io::Result<()> {
    let written = File::create_new(path)?.write_all(contents);
    if written.is_err() {
        let _ = fs::remove_file(path);
    }
    written
}

/// The commit point of a new version: holding the key's lock, checks that the
/// bucket is alive and `condition` holds, renames `temp` (the written metadata
/// file) over the key's current one and updates the index. Returns the
/// directory to sync and the files retired with the replaced version (for the
/// reaper, once the rename is durable). `fsync`: sync the parent of every
/// directory the rename has to create.
pub(crate) fn commit_meta_file(
    bucket: &Arc<Bucket>,
    path: &KeyPath,
    record: ObjectRecord,
    temp: TempFile,
    condition: &WriteCondition,
    fsync: bool,
) -> StoreResult<(PathBuf, Vec<PathBuf>)> {
    let key = record.info.key.clone();
    let _key_lock = bucket.key_lock(&key);
    let existing = bucket.checked_current(&key, condition)?.is_some();
    let (dir, displaced) =
        temp.persist_over(&bucket.dir, &path.dirs, &layout::meta_name(&path.base), existing, fsync).map_err(|e| placement_error(bucket, e))?;
    // Still as checked: the key's other commits and the bucket's deletion wait for its lock.
    let mut state = bucket.lock();
    let mut retired = match state.objects.insert(key, Arc::new(record)) {
        Some(old) => {
            let files = layout::data_paths(&bucket.dir, path, &old.version, old.placement);
            state.retire(&old.version, files)
        }
        None => Vec::new(),
    };
    retired.extend(displaced);
    Ok((dir, retired))
}

/// How often [`update_meta`] prepares its metadata file outside any lock
/// before giving up on racing writers and preparing it holding the key's lock.
const META_UPDATE_ATTEMPTS: usize = 3;

/// Blocking: replaces the metadata of `key`'s current version (see
/// [`ObjectStore::update_object_meta`](crate::ObjectStore::update_object_meta)).
///
/// The new `.s3meta` names the same version, so the data files stay where they
/// are and nothing is retired. It is written to a temp file outside any lock
/// from a snapshot of the current record; holding the key's lock, the snapshot
/// is checked to still be current (the same `Arc`, so a concurrent overwrite or
/// metadata update is noticed) before the rename commits it. If writers keep
/// winning that race, the last attempt writes the small file while holding the
/// key's lock.
pub(crate) fn update_meta(store: &Inner, bucket: &Arc<Bucket>, key: &str, meta: ObjectMeta, condition: &WriteCondition) -> StoreResult<ObjectInfo> {
    let path = encode_key(key);
    let current = || bucket.checked_current(key, condition)?.ok_or_else(|| StoreError::NoSuchKey(key.to_string()));
    let prepare = |snapshot: &ObjectRecord| -> StoreResult<(TempFile, ObjectRecord)> {
        let record = with_meta(snapshot, &meta);
        let inline = match snapshot.placement {
            Placement::Inline => vec![read_inline(bucket, &path, snapshot)?],
            _ => Vec::new(),
        };
        let temp = TempFile::with_contents(&store.layout.tmp, &metafile::contents(&record, &inline), store.fsync)?;
        Ok((temp, record))
    };
    let mut attempt = 1;
    let (dir, info) = loop {
        if attempt < META_UPDATE_ATTEMPTS {
            let snapshot = current()?;
            let prepared = prepare(&snapshot);
            let _key_lock = bucket.key_lock(key);
            if Arc::ptr_eq(&current()?, &snapshot) {
                let (temp, record) = prepared?;
                break commit_meta(store, bucket, &path, temp, record)?;
            }
            attempt += 1;
        } else {
            let _key_lock = bucket.key_lock(key);
            let (temp, record) = prepare(&*current()?)?;
            break commit_meta(store, bucket, &path, temp, record)?;
        }
    };
    if store.fsync {
        store.dir_syncs.sync(&dir).map_err(io_err("syncing", &dir))?;
    }
    Ok(info)
}

/// Blocking: the bytes of `record`, an inline version of the key at `path`,
/// read from its metadata file. Fails with `Corrupt` if the file holds another
/// version (or none): callers read holding the key's lock, or check the record
/// is still current and look again.
pub(crate) fn read_inline(bucket: &Bucket, path: &KeyPath, record: &ObjectRecord) -> StoreResult<Bytes> {
    let file = layout::meta_path(&bucket.dir, path);
    match metafile::read(&file)? {
        Some((doc, bytes)) if doc.version == record.version => Ok(bytes),
        _ => Err(StoreError::Corrupt { path: file.display().to_string(), reason: "metadata file changed while being read".into() }),
    }
}

/// `current` with `meta` in place of its metadata, except the fields that
/// describe the bytes (etag, checksums, checksum type), which are kept.
fn with_meta(current: &ObjectRecord, meta: &ObjectMeta) -> ObjectRecord {
    let mut record = current.clone();
    let kept = &current.info.meta;
    record.info.meta = ObjectMeta {
        etag: kept.etag.clone(),
        checksums: kept.checksums.clone(),
        checksum_type: kept.checksum_type.clone(),
        ..meta.clone()
    };
    record
}

/// Holding the key's lock: renames the prepared metadata file over the old one
/// (the commit point) and updates the index. Returns the directory to sync.
fn commit_meta(store: &Inner, bucket: &Arc<Bucket>, path: &KeyPath, temp: TempFile, record: ObjectRecord) -> StoreResult<(PathBuf, ObjectInfo)> {
    let (dir, displaced) = temp
        .persist_over(&bucket.dir, &path.dirs, &layout::meta_name(&path.base), true, store.fsync)
        .map_err(|e| placement_error(bucket, e))?;
    store.reaper.remove(displaced.into_iter().collect(), None);
    let info = record.info.clone();
    bucket.lock().objects.insert(info.key.clone(), Arc::new(record));
    Ok((dir, info))
}
