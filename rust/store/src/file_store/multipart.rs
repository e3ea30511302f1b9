//! Multipart uploads: parts written like objects inside the upload's directory,
//! and a completion that links the chosen part files into the object's place
//! instead of copying their bytes.

use super::Inner;
use super::bucket::Bucket;
use super::fsutil::{blocking, create_dirs, io_err, prune_empty_dirs, remove_files, remove_tree, retry_in_dir, write_atomic};
use super::keys::encode_key;
use super::layout::{UPLOAD_FILE, data_name, is_version, new_upload_id, new_version, part_data_name, part_meta_name};
use super::records::{ObjectRecord, PartRecord, Placement, UploadDoc, to_json};
use super::write::{Spool, placement_error, publish};
use crate::{Checksums, ObjectInfo, ObjectMeta, PartInfo, PartWriter, StoreError, StoreResult, UploadInfo, WriteCondition};
use async_trait::async_trait;
use bytes::Bytes;
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::Mutex;

/// The highest part number S3 allows.
pub(crate) const MAX_PART_NUMBER: u32 = 10_000;

/// An upload in progress.
pub(crate) struct Upload {
    /// Id, key, initiation time, metadata of the future object.
    pub info: UploadInfo,
    /// `<root>/.smartstorage/multipart/<bucket>/<uploadId>`.
    pub dir: PathBuf,
    /// Committed parts. Part commits, completion and abort take this lock for
    /// their whole critical section, so they never interleave on one upload.
    state: Arc<Mutex<UploadState>>,
}

/// The mutable side of an upload.
pub(crate) struct UploadState {
    /// False once completed or aborted: later part commits get `NoSuchUpload`.
    alive: bool,
    /// Committed parts by number.
    parts: BTreeMap<u32, PartRecord>,
}

impl Upload {
    /// An upload with the given committed parts.
    pub fn new(info: UploadInfo, dir: PathBuf, parts: BTreeMap<u32, PartRecord>) -> Self {
        Upload { info, dir, state: Arc::new(Mutex::new(UploadState { alive: true, parts })) }
    }

    /// Locks the upload, failing with `NoSuchUpload` once it is gone.
    async fn lock_alive(&self) -> StoreResult<tokio::sync::OwnedMutexGuard<UploadState>> {
        let state = self.state.clone().lock_owned().await;
        if !state.alive {
            return Err(StoreError::NoSuchUpload(self.info.upload_id.clone()));
        }
        Ok(state)
    }
}

/// The upload `upload_id` of `key` (`NoSuchUpload` for ids of another key or of no upload).
fn find_upload(bucket: &Bucket, key: &str, upload_id: &str) -> StoreResult<Arc<Upload>> {
    let missing = || StoreError::NoSuchUpload(upload_id.to_string());
    if !is_version(upload_id) {
        return Err(missing());
    }
    let state = bucket.lock();
    bucket.check_alive(&state)?;
    let upload = state.uploads.get(upload_id).cloned().ok_or_else(missing)?;
    drop(state);
    if upload.info.key != key {
        return Err(missing());
    }
    Ok(upload)
}

/// Starts an upload: its directory and `upload.json`, then registers it.
pub(crate) async fn create(store: &Arc<Inner>, bucket: &Arc<Bucket>, key: &str, mut meta: ObjectMeta) -> StoreResult<UploadInfo> {
    meta.etag.clear();
    let info = UploadInfo { upload_id: new_upload_id(), key: key.to_string(), initiated: SystemTime::now(), meta };
    let dir = bucket.uploads_dir.join(&info.upload_id);
    let (store2, dir2, doc) = (store.clone(), dir.clone(), to_json(&UploadDoc::new(&info)));
    let written = blocking(move || {
        create_dirs(&dir2, store2.fsync).map_err(io_err("creating", &dir2))?;
        write_atomic(&store2.layout.tmp, &dir2.join(UPLOAD_FILE), &doc, store2.fsync)
    })
    .await;
    if let Err(e) = written {
        // A DeleteBucket removing the uploads directory meanwhile makes the
        // write fail with NotFound: that is NoSuchBucket, not an I/O error.
        let gone = bucket.check_alive(&bucket.lock()).err();
        let _ = remove_tree(&dir);
        return Err(gone.unwrap_or(e));
    }
    let mut state = bucket.lock();
    if let Err(e) = bucket.check_alive(&state) {
        drop(state);
        let _ = remove_tree(&dir);
        return Err(e);
    }
    state.uploads.insert(info.upload_id.clone(), Arc::new(Upload::new(info.clone(), dir, BTreeMap::new())));
    Ok(info)
}

/// A writer for part `number` of an upload.
pub(crate) fn part_writer(store: &Arc<Inner>, bucket: &Bucket, key: &str, upload_id: &str, number: u32) -> StoreResult<Box<dyn PartWriter>> {
    if !(1..=MAX_PART_NUMBER).contains(&number) {
        return Err(StoreError::InvalidPart { part_number: number });
    }
    let upload = find_upload(bucket, key, upload_id)?;
    Ok(Box::new(FilePartWriter { store: store.clone(), upload, number, spool: Spool::new(store.layout.tmp.clone(), store.fsync) }))
}

/// [`PartWriter`] of the file store. Dropping it removes its temp file.
struct FilePartWriter {
    /// Temp directory and fsync setting.
    store: Arc<Inner>,
    /// The upload the part belongs to.
    upload: Arc<Upload>,
    /// 1..=10000.
    number: u32,
    /// The bytes so far.
    spool: Spool,
}

#[async_trait]
impl PartWriter for FilePartWriter {
    async fn write(&mut self, chunk: Bytes) -> StoreResult<()> {
        self.spool.write(chunk).await
    }

    fn written(&self) -> u64 {
        self.spool.written()
    }

    async fn commit(self: Box<Self>, etag: String, checksums: Checksums) -> StoreResult<PartInfo> {
        let FilePartWriter { store, upload, number, mut spool } = *self;
        spool.settle().await?;
        let fsync = store.fsync;
        let (temp, size) = blocking(move || spool.finish(fsync)).await?;
        let mut state = upload.lock_alive().await?;
        blocking(move || {
            let version = new_version();
            let data = upload.dir.join(part_data_name(number, &version));
            temp.persist_at(&data).map_err(io_err("renaming into", &data))?;
            if fsync {
                store.dir_syncs.sync(&upload.dir).map_err(io_err("syncing", &upload.dir))?;
            }
            let etag = etag.trim().trim_matches('"').to_string();
            let info = PartInfo { part_number: number, size, etag, last_modified: SystemTime::now(), checksums };
            let record = PartRecord { info: info.clone(), version };
            if let Err(e) = write_atomic(&store.layout.tmp, &upload.dir.join(part_meta_name(number)), &to_json(&record.to_doc()), fsync) {
                remove_files(&[data]);
                return Err(e);
            }
            if let Some(old) = state.parts.insert(number, record) {
                remove_files(&[upload.dir.join(part_data_name(number, &old.version))]);
            }
            Ok(info)
        })
        .await
    }
}

/// The upload's info, from memory. An upload is unregistered right after it is
/// completed or aborted, so a lookup racing that may still see it; a part written
/// to it then fails at commit with `NoSuchUpload`.
pub(crate) fn upload_info(bucket: &Bucket, key: &str, upload_id: &str) -> StoreResult<UploadInfo> {
    Ok(find_upload(bucket, key, upload_id)?.info.clone())
}

/// The upload's info and committed parts.
pub(crate) async fn list_parts(bucket: &Bucket, key: &str, upload_id: &str) -> StoreResult<(UploadInfo, Vec<PartInfo>)> {
    let upload = find_upload(bucket, key, upload_id)?;
    let state = upload.lock_alive().await?;
    Ok((upload.info.clone(), state.parts.values().map(|p| p.info.clone()).collect()))
}

/// In-progress uploads of a bucket, sorted by (key, initiated, upload id).
pub(crate) fn list_uploads(bucket: &Bucket) -> Vec<UploadInfo> {
    let mut uploads: Vec<UploadInfo> = bucket.lock().uploads.values().map(|u| u.info.clone()).collect();
    uploads.sort_by(|a, b| (&a.key, a.initiated, &a.upload_id).cmp(&(&b.key, b.initiated, &b.upload_id)));
    uploads
}

/// Discards an upload: unregisters it, then removes `upload.json` (after which a
/// crash cannot bring it back) and the rest of its directory.
pub(crate) async fn abort(bucket: &Bucket, key: &str, upload_id: &str) -> StoreResult<()> {
    let upload = find_upload(bucket, key, upload_id)?;
    let mut state = upload.lock_alive().await?;
    state.alive = false;
    drop(state);
    bucket.lock().uploads.remove(upload_id);
    let dir = upload.dir.clone();
    blocking(move || remove_upload_dir(&dir)).await
}

/// Aborts the bucket's uploads initiated before `cutoff`; returns how many.
pub(crate) async fn cleanup(bucket: &Bucket, cutoff: SystemTime) -> StoreResult<usize> {
    let stale: Vec<UploadInfo> = list_uploads(bucket).into_iter().filter(|u| u.initiated < cutoff).collect();
    let mut removed = 0;
    for upload in stale {
        match abort(bucket, &upload.key, &upload.upload_id).await {
            Ok(()) => removed += 1,
            Err(StoreError::NoSuchUpload(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(removed)
}

fn remove_upload_dir(dir: &Path) -> StoreResult<()> {
    remove_files(&[dir.join(UPLOAD_FILE)]);
    remove_tree(dir).map_err(io_err("removing", dir))
}

/// Turns the chosen parts into the object `key`. See [`ObjectStore::complete_multipart`](crate::ObjectStore::complete_multipart).
pub(crate) async fn complete(
    store: &Arc<Inner>,
    bucket: &Arc<Bucket>,
    key: &str,
    upload_id: &str,
    parts: &[(u32, String)],
    meta: ObjectMeta,
    condition: &WriteCondition,
) -> StoreResult<ObjectInfo> {
    let upload = find_upload(bucket, key, upload_id)?;
    let mut state = upload.lock_alive().await?;
    let mut chosen = Vec::with_capacity(parts.len());
    let mut previous = 0;
    for (number, etag) in parts {
        let wanted = etag.trim().trim_matches('"');
        match state.parts.get(number) {
            Some(part) if *number > previous && part.info.etag == wanted => chosen.push(part.clone()),
            _ => return Err(StoreError::InvalidPart { part_number: *number }),
        }
        previous = *number;
    }
    // Fail fast, before linking the parts; checked again at the commit point.
    bucket.checked_current(key, condition)?;
    let (store, bucket, key, condition) = (store.clone(), bucket.clone(), key.to_string(), condition.clone());
    blocking(move || {
        let fsync = store.fsync;
        let version = new_version();
        let path = encode_key(&key);
        let mut transfers = Transfers { moved: Vec::with_capacity(chosen.len()), bucket_dir: bucket.dir.clone(), armed: true };
        let mut dir = None;
        for (i, part) in chosen.iter().enumerate() {
            let src = upload.dir.join(part_data_name(part.info.part_number, &part.version));
            let name = data_name(&path.base, &version, Some(i + 1));
            let mut linked = true;
            let placed = retry_in_dir(&bucket.dir, &path.dirs, fsync, |dir| {
                let dst = dir.join(&name);
                match fs::hard_link(&src, &dst) {
                    Err(e) if links_unsupported(&e) => {
                        linked = false;
                        fs::rename(&src, &dst)
                    }
                    other => other,
                }
            })
            .map_err(|e| placement_error(&bucket, e))?;
            transfers.moved.push(Moved { dst: placed.join(&name), src, linked });
            dir = Some(placed);
        }
        if fsync && let Some(dir) = &dir {
            // One sync for all parts: their names must be durable before the metadata naming them.
            store.dir_syncs.sync(dir).map_err(io_err("syncing", dir))?;
        }
        let info = ObjectInfo {
            key,
            size: chosen.iter().map(|p| p.info.size).sum(),
            last_modified: SystemTime::now(),
            meta,
            part_sizes: chosen.iter().map(|p| p.info.size).collect(),
            part_checksums: chosen.iter().map(|p| p.info.checksums.clone()).collect(),
        };
        let record = ObjectRecord { info, version, placement: Placement::Parts(chosen.len()) };
        let result = publish(&store, &bucket, &path, record, &[], &condition, || transfers.undo());
        transfers.armed = false;
        let info = result?;
        state.alive = false;
        drop(state);
        bucket.lock().uploads.remove(&upload.info.upload_id);
        // Without upload.json the upload is gone for good; its part files (the
        // object's data files now hold their own links) go after the answer.
        remove_files(&[upload.dir.join(UPLOAD_FILE)]);
        let dir = upload.dir.clone();
        tokio::runtime::Handle::current().spawn_blocking(move || {
            if let Err(e) = remove_tree(&dir) {
                tracing::warn!(error = %e, "completed upload left files behind; they are removed at the next load");
            }
        });
        Ok(info)
    })
    .await
}

/// True when hard links cannot be made here (FAT/exFAT, some network filesystems).
fn links_unsupported(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Unsupported
        || matches!(e.raw_os_error(), Some(code) if code == libc::EPERM || code == libc::EXDEV || code == libc::EMLINK || code == libc::EOPNOTSUPP)
}

/// A part file placed as an object data file.
struct Moved {
    /// The part file in the upload directory.
    src: PathBuf,
    /// The object data file.
    dst: PathBuf,
    /// Hard-linked (undo: unlink `dst`) rather than renamed (undo: rename back).
    linked: bool,
}

/// Part files placed so far; put back (unlinked, or renamed back) on drop unless disarmed.
struct Transfers {
    /// What was placed, in order.
    moved: Vec<Moved>,
    /// Where pruning of emptied directories stops.
    bucket_dir: PathBuf,
    /// Undo on drop (cleared once the object is committed or already undone).
    armed: bool,
}

impl Transfers {
    fn undo(&mut self) {
        self.armed = false;
        for moved in self.moved.drain(..).rev() {
            let result = if moved.linked { fs::remove_file(&moved.dst) } else { fs::rename(&moved.dst, &moved.src) };
            if let Err(e) = result {
                tracing::warn!(path = %moved.dst.display(), error = %e, "could not undo placing a part");
            }
            if let Some(dir) = moved.dst.parent() {
                prune_empty_dirs(&self.bucket_dir, dir);
            }
        }
    }
}

impl Drop for Transfers {
    fn drop(&mut self) {
        if self.armed {
            self.undo();
        }
    }
}
