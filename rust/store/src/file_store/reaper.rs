//! Removing files nobody needs any more, after the request that retired them
//! was answered.
//!
//! Unlinking a file frees its blocks, and on a filesystem mounted with
//! `discard` (common on VMs) ext4 without a journal waits for the device to
//! trim them inside `unlink(2)`. Done in a request, that wait lands in the
//! client's latency; done under a bucket lock, it serialises every writer of
//! the bucket. So commits and deletes only *retire* files (rename them out of
//! the way, or drop them from the index) and hand them to the reaper, one
//! thread that unlinks them in order. A crash before it gets to them leaves
//! files the next start sweeps: retired metadata sits in the temp directory
//! (wiped at open) and unnamed data files are swept when the bucket loads.

use super::fsutil::{prune_empty_dirs, remove_files};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

/// Removal jobs that may wait for the reaper. Beyond this the caller removes
/// its files itself: deletes outpacing the disk's trims slow down instead of
/// queueing without bound. 4096 jobs of a few paths each is well under 1 MiB.
const QUEUE_JOBS: usize = 4096;

/// Files to remove, then a directory to prune up to a base (if left empty).
struct Job {
    /// Files, in order.
    files: Vec<PathBuf>,
    /// `(base, dir)`: remove `dir` and its parents below `base` while empty.
    prune: Option<(PathBuf, PathBuf)>,
}

impl Job {
    fn run(self) {
        remove_files(&self.files);
        if let Some((base, dir)) = self.prune {
            prune_empty_dirs(&base, &dir);
        }
    }
}

/// The removal thread's queue. Dropping it lets the thread finish the queue and exit.
pub(crate) struct Reaper {
    /// `None` when the thread could not be started: callers remove files themselves.
    queue: Option<SyncSender<Job>>,
}

impl Reaper {
    /// Starts the removal thread.
    pub fn start() -> Self {
        let (queue, jobs) = sync_channel(QUEUE_JOBS);
        let started = std::thread::Builder::new().name("smartstorage-reaper".into()).spawn(move || drain(jobs));
        if let Err(e) = &started {
            tracing::warn!(error = %e, "could not start the file removal thread; files are removed in requests");
        }
        Reaper { queue: started.ok().map(|_| queue) }
    }

    /// Removes `files`, then prunes `prune.1` up to `prune.0` while empty,
    /// soon, on the removal thread (or right now, when its queue is full).
    pub fn remove(&self, files: Vec<PathBuf>, prune: Option<(PathBuf, PathBuf)>) {
        if files.is_empty() && prune.is_none() {
            return;
        }
        let job = Job { files, prune };
        let Some(queue) = &self.queue else { return job.run() };
        match queue.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => job.run(),
        }
    }
}

/// After emptying its queue the reaper rests this long before it waits for
/// the next job. A thread blocked in `recv` must be woken by each sender (a
/// futex wake, an IPI, on a VM a VM exit): at thousands of deletes per second
/// that costs more than the unlinks. Resting lets jobs pile up and be taken
/// in one go; 2 ms delays a removal by no more than that.
const REST: std::time::Duration = std::time::Duration::from_millis(2);

fn drain(jobs: Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        first.run();
        while let Ok(job) = jobs.try_recv() {
            job.run();
        }
        std::thread::sleep(REST);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_files_are_removed_and_empty_directories_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        let file = sub.join("f");
        std::fs::write(&file, b"x").unwrap();
        let reaper = Reaper::start();
        reaper.remove(vec![file.clone()], Some((dir.path().to_path_buf(), sub.clone())));
        drop(reaper);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while dir.path().join("a").exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(!file.exists() && !dir.path().join("a").exists());
    }
}
