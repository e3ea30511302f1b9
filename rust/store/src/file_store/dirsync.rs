//! Group commit for directory syncs.
//!
//! Every durable write ends with an fsync of the directory it renamed a file
//! into, and on most disks that flush costs as much as the file's own. When 32
//! clients write into one directory at once, one flush that starts after all
//! their renames makes all of them durable: [`DirSyncs::sync`] lets the writers
//! that arrive while a flush is running share the next one, instead of queueing
//! one flush each. Each caller still returns only once a flush that started
//! after its own change has completed, so nothing is acknowledged early.

use super::fsutil::fsync_dir;
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// The directories being synced, each with its own sequence of flushes.
#[derive(Default)]
pub(crate) struct DirSyncs {
    /// One entry per directory with a caller inside [`sync`](Self::sync);
    /// removed by the last one out, so the map stays as small as the concurrency.
    dirs: Mutex<HashMap<PathBuf, Arc<DirSync>>>,
}

/// The flushes of one directory.
#[derive(Default)]
struct DirSync {
    /// Tickets handed out: a caller takes one after its change is made.
    requested: AtomicU64,
    /// Held while a flush runs; holds the highest ticket known durable.
    synced: Mutex<u64>,
}

impl DirSyncs {
    /// Blocking: returns once `dir` was fsynced by a flush that started after
    /// the caller's change (rename, link, unlink) in it. Concurrent callers
    /// share flushes. If `dir` is gone (emptied and pruned meanwhile, or its
    /// bucket deleted), its nearest existing ancestor is synced instead: that
    /// directory's entry recorded the removal, and with it the caller's change.
    pub fn sync(&self, dir: &Path) -> io::Result<()> {
        let mut target = dir;
        loop {
            match self.sync_one(target) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => match target.parent() {
                    Some(parent) if !parent.as_os_str().is_empty() => target = parent,
                    _ => return Err(e),
                },
                done => return done,
            }
        }
    }

    fn sync_one(&self, dir: &Path) -> io::Result<()> {
        let entry = self.lock().entry(dir.to_path_buf()).or_default().clone();
        let ticket = entry.requested.fetch_add(1, Ordering::SeqCst) + 1;
        let result = {
            let mut synced = entry.synced.lock().unwrap_or_else(|e| e.into_inner());
            if *synced >= ticket {
                Ok(())
            } else {
                // Every ticket up to here belongs to a change made before this
                // flush starts, so the flush covers them all.
                let covered = entry.requested.load(Ordering::SeqCst);
                let result = fsync_dir(dir);
                if result.is_ok() {
                    *synced = covered;
                }
                result
            }
        };
        let mut dirs = self.lock();
        // The map's reference and ours: nobody else is waiting on this directory.
        if Arc::strong_count(&entry) == 2 {
            dirs.remove(dir);
        }
        result
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<PathBuf, Arc<DirSync>>> {
        self.dirs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_syncs_of_one_directory_all_return_and_leave_no_entry() {
        let dir = tempfile::tempdir().unwrap();
        let syncs = Arc::new(DirSyncs::default());
        let threads: Vec<_> = (0..16)
            .map(|i| {
                let (syncs, path) = (syncs.clone(), dir.path().to_path_buf());
                std::thread::spawn(move || {
                    for j in 0..20 {
                        std::fs::write(path.join(format!("f{i}-{j}")), b"x").unwrap();
                        syncs.sync(&path).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(syncs.lock().is_empty());
    }

    #[test]
    fn a_pruned_directory_syncs_its_nearest_existing_ancestor() {
        let dir = tempfile::tempdir().unwrap();
        let syncs = DirSyncs::default();
        syncs.sync(&dir.path().join("gone/deeper")).unwrap();
        assert!(syncs.lock().is_empty());
    }
}
