//! Group commit for small objects with fsync on: many concurrent PUTs made
//! durable by one flush, each acknowledged only after it.
//!
//! An fsync per small file costs one device flush per file, and the flush is
//! the expensive part: with 32 writers this disk tops out near 7,000 fsynced
//! 4 KiB creations per second. Here one thread commits small objects in
//! cycles. Each cycle writes the metadata file (document and bytes) of every
//! PUT that arrived to a temp file, flushes the filesystem once ([`flush`]:
//! Linux `syncfs`), answers the PUTs the previous cycle renamed, and renames
//! this cycle's files into place, each holding its key's lock (the commit
//! point, with each PUT's condition checked there as always). So every PUT
//! sees two flushes: the first makes its bytes durable before the rename names
//! them, the second (the next cycle's) makes the rename durable before the PUT
//! is acknowledged and the version it replaced removed; and each flush serves
//! two batches. While a cycle runs the next batch gathers, so the batches grow
//! with the load.
//!
//! One thread does the file work so creations do not run beside the flush
//! (measured: 32 writers each creating, flushing and renaming kept the groups
//! at one or two files; files written by the request tasks and only flushed
//! and renamed here ran 15% slower than this). The cost: `syncfs` also writes
//! back whatever other processes left dirty on the same filesystem.

use super::bucket::Bucket;
use super::fsutil::TempFile;
use super::keys::KeyPath;
use super::records::ObjectRecord;
use super::write::commit_meta_file;
use crate::{ObjectInfo, StoreError, StoreResult, WriteCondition};
use std::fs::File;
use std::io;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use tokio::sync::oneshot;

/// Most PUTs in one batch: bounds how long the first of them waits behind the
/// others' file creations (~30 µs each), about 4 ms at this size.
const MAX_BATCH: usize = 128;

/// What a committed PUT gets back: its info and the files retired with the
/// version it replaced, for the reaper.
pub(crate) type Committed = (ObjectInfo, Vec<PathBuf>);

/// The handle to the committing thread; dropping it (with the store) ends the
/// thread once its queue is empty.
pub(crate) struct SmallCommits {
    /// Jobs for the thread.
    jobs: Sender<Job>,
}

/// One small PUT waiting to be committed.
struct Job {
    bucket: Arc<Bucket>,
    path: KeyPath,
    record: ObjectRecord,
    /// The whole metadata file: document, newline, bytes.
    contents: Vec<u8>,
    condition: WriteCondition,
    /// Where the outcome goes (the PUT may have given up waiting: then nobody reads it).
    done: oneshot::Sender<StoreResult<Committed>>,
}

impl SmallCommits {
    /// Starts the committing thread for the storage directory `root` (temp
    /// files in `tmp_dir`, on the same filesystem), or `None` where the
    /// platform cannot flush a whole filesystem at once (writers then fsync
    /// each file and directory themselves).
    pub fn start(root: &Path, tmp_dir: &Path) -> io::Result<Option<SmallCommits>> {
        if !cfg!(target_os = "linux") {
            return Ok(None);
        }
        let root = Root { file: File::open(root)?, path: root.to_path_buf() };
        let tmp_dir = tmp_dir.to_path_buf();
        let (jobs, queue) = channel();
        std::thread::Builder::new().name("smartstorage-commit".into()).spawn(move || run(&queue, &root, &tmp_dir))?;
        Ok(Some(SmallCommits { jobs }))
    }

    /// Commits `record` (the new version of the key at `path`, whose metadata
    /// file is `contents`) if `condition` holds, and returns once it is durable.
    pub async fn commit(
        &self,
        bucket: Arc<Bucket>,
        path: KeyPath,
        record: ObjectRecord,
        contents: Vec<u8>,
        condition: WriteCondition,
    ) -> StoreResult<Committed> {
        let (done, outcome) = oneshot::channel();
        let job = Job { bucket, path, record, contents, condition, done };
        self.jobs.send(job).map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::io("committing a small object", io::Error::other("the batch holding it was not committed (the commit thread stopped or failed)"))
}

/// The storage directory, open: `syncfs` flushes the filesystem it is on.
struct Root {
    file: File,
    /// For error messages.
    path: PathBuf,
}

/// PUTs renamed into place, waiting for the flush that makes their renames
/// durable, with what each will be answered.
type Renamed = Vec<(oneshot::Sender<StoreResult<Committed>>, Committed)>;

/// The thread: runs commit cycles until the store is dropped and nothing is
/// left to answer. It waits for work only when no renamed PUT awaits a flush.
fn run(queue: &Receiver<Job>, root: &Root, tmp_dir: &Path) {
    let mut renamed = Renamed::new();
    loop {
        let mut batch = Vec::new();
        if renamed.is_empty() {
            match queue.recv() {
                Ok(job) => batch.push(job),
                Err(_) => return,
            }
        }
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let waiting = std::mem::take(&mut renamed);
        // A panic fails only this cycle's PUTs (they see their answer channel
        // dropped); the thread goes on serving the next ones.
        match std::panic::catch_unwind(AssertUnwindSafe(|| cycle(batch, waiting, root, tmp_dir))) {
            Ok(next) => renamed = next,
            Err(_) => tracing::error!("committing a batch of small objects panicked; its PUTs failed"),
        }
    }
}

/// One commit cycle (see the module doc): writes the temp files of `batch`,
/// flushes once (the new files' bytes, and the renames of the previous cycle,
/// whose PUTs, `waiting`, are then answered), then renames the new files into
/// place. Returns the PUTs just renamed: the next cycle's flush makes them durable.
fn cycle(batch: Vec<Job>, waiting: Renamed, root: &Root, tmp_dir: &Path) -> Renamed {
    let mut written = Vec::with_capacity(batch.len());
    for job in batch {
        match TempFile::with_contents(tmp_dir, &job.contents, false) {
            Ok(temp) => written.push((job, temp)),
            Err(e) => answer(job.done, Err(e)),
        }
    }
    if written.is_empty() && waiting.is_empty() {
        return Renamed::new();
    }
    let flushed = flush(root);
    for (done, outcome) in waiting {
        // On a failed flush the retired files stay (swept when the bucket is next
        // loaded): the old version may only go once the new one is durable.
        answer(done, flushed.as_ref().map(|()| outcome).map_err(|e| flush_error(root, e)));
    }
    if let Err(e) = flushed {
        // Nothing of this batch was renamed: its temp files remove themselves.
        for (job, _temp) in written {
            answer(job.done, Err(flush_error(root, &e)));
        }
        return Renamed::new();
    }
    let mut renamed = Renamed::with_capacity(written.len());
    for (job, temp) in written {
        let Job { bucket, path, record, condition, done, .. } = job;
        let info = record.info.clone();
        // No directory syncs: the next flush covers directories created here.
        match commit_meta_file(&bucket, &path, record, temp, &condition, false) {
            Ok((_dir, retired)) => renamed.push((done, (info, retired))),
            Err(e) => answer(done, Err(e)),
        }
    }
    renamed
}

fn answer(done: oneshot::Sender<StoreResult<Committed>>, outcome: StoreResult<Committed>) {
    // The PUT may have stopped waiting (client gone); the commit stands regardless.
    let _ = done.send(outcome);
}

fn flush_error(root: &Root, e: &io::Error) -> StoreError {
    StoreError::io(format!("flushing the filesystem of {}", root.path.display()), io::Error::new(e.kind(), e.to_string()))
}

/// Blocking: makes everything written on the filesystem of `root` before the
/// call durable. `syncfs` writes back all dirty data and metadata and flushes
/// the device, but on ext4 without a journal it issues that flush before its
/// last pass over the block device's buffers (inode tables, directory
/// blocks); an fsync of the root directory, clean by then, issues one more
/// device flush after them.
fn flush(root: &Root) -> io::Result<()> {
    syncfs(&root.file)?;
    root.file.sync_all()
}

#[cfg(target_os = "linux")]
fn syncfs(file: &File) -> io::Result<()> {
    rustix::fs::syncfs(file).map_err(io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn syncfs(_file: &File) -> io::Result<()> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "syncfs is Linux-only"))
}
