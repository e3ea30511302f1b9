//! Small blocking filesystem helpers: temp files that clean up after themselves,
//! directory fsync, renames into directories that may be pruned concurrently.
//! Everything here runs on blocking threads (see [`blocking`]).

use crate::{StoreError, StoreResult};
use bytes::Bytes;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{MAIN_SEPARATOR_STR, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// How often a rename into a directory is retried when a concurrent delete pruned
/// the (then empty) directory in between. Each retry recreates it, so losing the race
/// repeatedly needs that many deletes landing in a few microseconds; 8 is plenty.
const RENAME_ATTEMPTS: usize = 8;

/// Runs filesystem work on tokio's blocking pool.
pub(crate) async fn blocking<T, F>(work: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> StoreResult<T> + Send + 'static,
{
    tokio::task::spawn_blocking(work).await.map_err(|e| StoreError::Io {
        context: "filesystem task failed".into(),
        source: io::Error::other(e.to_string()),
    })?
}

/// Runs a short filesystem operation that syncs nothing (a few page-cache
/// syscalls: create, write, rename; unlinks go to the reaper) in place on the calling async
/// thread, and one that fsyncs on the blocking pool. A hop to the blocking
/// pool costs two cross-thread wake-ups, which on a VM (each is an IPI, a VM
/// exit) cost more CPU than the operation itself; an fsync blocks for
/// milliseconds and must never hold an async thread.
pub(crate) async fn small_op<T, F>(fsyncs: bool, work: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> StoreResult<T> + Send + 'static,
{
    if fsyncs { blocking(work).await } else { work() }
}

/// The error of a blocking task that panicked or was cancelled.
pub(crate) fn task_failed(e: tokio::task::JoinError) -> StoreError {
    StoreError::Io { context: "filesystem task failed".into(), source: io::Error::other(e.to_string()) }
}

/// Shorthand for `StoreError::io` with a path in the context.
pub(crate) fn io_err(what: &str, path: &Path) -> impl FnOnce(io::Error) -> StoreError + use<> {
    let context = format!("{what} {}", path.display());
    move |e| StoreError::io(context, e)
}

/// Sub-directories of the temp directory that temp files are spread over.
/// Creating a file locks its directory, and with 32 writers in one directory
/// they queue (and spin) on that lock while each allocates an inode; 16
/// shards leave a queue of about two. A power of two, so the shard is a mask.
pub(crate) const TMP_SHARDS: usize = 16;

/// A fresh path `<tmp_dir>/<shard>/<n>.<extension>`, the shards taken in turn.
/// A counter is unique enough: the temp directory is wiped at open and the
/// store's lock keeps other processes out (and it costs no random syscall).
pub(crate) fn temp_path(tmp_dir: &Path, extension: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    // Built in one allocation (this runs for every small PUT): room for two
    // separators, the shard (2 digits), the counter (up to 20) and the dot.
    let mut path = OsString::with_capacity(tmp_dir.as_os_str().len() + 2 * MAIN_SEPARATOR_STR.len() + 23 + extension.len());
    path.push(tmp_dir);
    let _ = write!(path, "{MAIN_SEPARATOR_STR}{}{MAIN_SEPARATOR_STR}{n}.{extension}", n & (TMP_SHARDS - 1));
    PathBuf::from(path)
}

/// Creates the temp directory and its shards (see [`TMP_SHARDS`]).
pub(crate) fn create_tmp_dir(tmp_dir: &Path) -> io::Result<()> {
    fs::create_dir(tmp_dir)?;
    (0..TMP_SHARDS).try_for_each(|shard| fs::create_dir(tmp_dir.join(shard.to_string())))
}

/// A file in the temp directory that is deleted on drop unless persisted.
#[derive(Debug)]
pub(crate) struct TempFile {
    /// Where it is.
    path: PathBuf,
    /// Open while being written.
    file: Option<File>,
    /// Delete on drop (cleared once renamed into place).
    armed: bool,
}

impl TempFile {
    /// Creates a new, uniquely named file in a shard of `tmp_dir` (see [`temp_path`]).
    pub fn create(tmp_dir: &Path) -> StoreResult<Self> {
        let path = temp_path(tmp_dir, "tmp");
        let file = match File::create_new(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // The shard directory was removed under us: recreate it once.
                let shard = path.parent().expect("temp paths have a shard directory");
                fs::create_dir_all(shard).map_err(io_err("creating", shard))?;
                File::create_new(&path)
            }
            other => other,
        };
        let file = file.map_err(io_err("creating temp file", &path))?;
        Ok(TempFile { path, file: Some(file), armed: true })
    }

    /// Creates a temp file holding `bytes`, fsynced when `fsync`, and closed.
    pub fn with_contents(tmp_dir: &Path, bytes: &[u8], fsync: bool) -> StoreResult<Self> {
        let mut temp = Self::create(tmp_dir)?;
        let file = temp.file.as_mut().ok_or_else(|| closed(&temp.path))?;
        file.write_all(bytes).map_err(io_err("writing", &temp.path))?;
        temp.close(fsync)?;
        Ok(temp)
    }

    /// The temp file's path.
    #[cfg(test)]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `chunks`.
    pub fn write_chunks(&mut self, chunks: &[Bytes]) -> StoreResult<()> {
        let file = self.file.as_mut().ok_or_else(|| closed(&self.path))?;
        for chunk in chunks {
            file.write_all(chunk).map_err(io_err("writing", &self.path))?;
        }
        Ok(())
    }

    /// A second descriptor of the open file, to sync it while writes go on.
    pub fn clone_handle(&self) -> StoreResult<File> {
        let file = self.file.as_ref().ok_or_else(|| closed(&self.path))?;
        file.try_clone().map_err(io_err("duplicating the descriptor of", &self.path))
    }

    /// Flushes to disk when `fsync` and closes the descriptor.
    pub fn close(&mut self, fsync: bool) -> StoreResult<()> {
        let file = self.file.take().ok_or_else(|| closed(&self.path))?;
        if fsync {
            file.sync_all().map_err(io_err("syncing", &self.path))?;
        }
        Ok(())
    }

    /// Renames the file to `dir_of(base)/<rel_dirs…>/name`, creating missing
    /// directories below `base` (never `base` itself: if it is gone, the bucket was
    /// deleted and the result is `NotFound`). Returns the destination directory.
    pub fn persist_into(mut self, base: &Path, rel_dirs: &[String], name: &str, fsync: bool) -> io::Result<PathBuf> {
        self.file = None;
        let dir = rename_into(&self.path, base, rel_dirs, name, fsync)?;
        self.armed = false;
        Ok(dir)
    }

    /// Like [`persist_into`](Self::persist_into), but when a file already has
    /// that name (`existing`: the caller knows one should) it is swapped out
    /// instead of freed inside the rename (see [`exchange_or_rename`]): the old
    /// file is left at this temp file's path, which is returned for the caller
    /// to remove later. Returns the destination directory and the displaced
    /// file, if any.
    pub fn persist_over(mut self, base: &Path, rel_dirs: &[String], name: &str, existing: bool, fsync: bool) -> io::Result<(PathBuf, Option<PathBuf>)> {
        self.file = None;
        let mut exchanged = false;
        let dir = retry_in_dir(base, rel_dirs, fsync, |dir| {
            let dest = dir.join(name);
            exchanged = if existing { exchange_or_rename(&self.path, &dest)? } else { fs::rename(&self.path, &dest).map(|()| false)? };
            Ok(())
        })?;
        self.armed = false;
        Ok((dir, exchanged.then(|| self.path.clone())))
    }

    /// Renames the file to `dest`, whose directory must exist.
    pub fn persist_at(mut self, dest: &Path) -> io::Result<()> {
        self.file = None;
        fs::rename(&self.path, dest)?;
        self.armed = false;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            self.file = None;
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn closed(path: &Path) -> StoreError {
    StoreError::Io { context: format!("temp file {} already closed", path.display()), source: io::Error::other("closed") }
}

/// Moves `src` to `dest` atomically. When `dest` exists, the two are exchanged
/// (Linux `renameat2(RENAME_EXCHANGE)`) and `true` is returned: the old `dest`
/// is now at `src`. A plain rename over it would free the old file inside the
/// call, which on ext4 without a journal mounted with `discard` waits for the
/// device. Where exchanging is unsupported, or `dest` does not exist, it is a
/// plain rename (`false`).
pub(crate) fn exchange_or_rename(src: &Path, dest: &Path) -> io::Result<bool> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        match renameat_with(CWD, src, CWD, dest, RenameFlags::EXCHANGE) {
            Ok(()) => return Ok(true),
            // `dest` (or its directory) is missing, or the filesystem cannot exchange.
            Err(rustix::io::Errno::NOENT | rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS | rustix::io::Errno::OPNOTSUPP) => {}
            Err(e) => return Err(e.into()),
        }
    }
    fs::rename(src, dest).map(|()| false)
}

/// fsyncs a directory so renames and unlinks inside it are durable.
pub(crate) fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates `base/<rel…>` level by level (never `base` itself) and returns it; with
/// `fsync`, the parent of every directory created is fsynced.
pub(crate) fn ensure_dirs(base: &Path, rel: &[String], fsync: bool) -> io::Result<PathBuf> {
    let mut dir = base.to_path_buf();
    for component in rel {
        let parent = dir.clone();
        dir.push(component);
        match fs::create_dir(&dir) {
            Ok(()) if fsync => fsync_dir(&parent)?,
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(dir)
}

/// Like `create_dir_all`, but with `fsync` the parent of every directory
/// created is fsynced, so the new entries survive a power loss.
pub(crate) fn create_dirs(path: &Path, fsync: bool) -> io::Result<()> {
    let mut missing = Vec::new();
    let mut current = path;
    while !current.is_dir() {
        missing.push(current);
        match current.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => current = parent,
            _ => break,
        }
    }
    for dir in missing.into_iter().rev() {
        match fs::create_dir(dir) {
            Ok(()) if fsync => match dir.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => fsync_dir(parent)?,
                _ => fsync_dir(Path::new("."))?,
            },
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Renames `src` to `base/<rel…>/name`, recreating directories a concurrent
/// delete may have pruned. Returns the destination directory.
pub(crate) fn rename_into(src: &Path, base: &Path, rel: &[String], name: &str, fsync: bool) -> io::Result<PathBuf> {
    retry_in_dir(base, rel, fsync, |dir| fs::rename(src, dir.join(name)))
}

/// Runs `op` on the directory `base/<rel…>`; when it fails with `NotFound`
/// because the directory does not exist (yet, or any more: a concurrent delete
/// prunes empty directories), creates it and tries again, up to
/// [`RENAME_ATTEMPTS`] times. Returns the directory.
pub(crate) fn retry_in_dir(base: &Path, rel: &[String], fsync: bool, mut op: impl FnMut(&Path) -> io::Result<()>) -> io::Result<PathBuf> {
    let mut dir = base.to_path_buf();
    dir.extend(rel);
    let mut attempt = 0;
    loop {
        match op(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::NotFound && attempt < RENAME_ATTEMPTS && base.is_dir() => {
                attempt += 1;
                match ensure_dirs(base, rel, fsync) {
                    // Pruned again while being recreated: the next attempt recreates it.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                    Ok(_) => {}
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// Removes `dir` and then its parents while they are empty, stopping at `base`.
pub(crate) fn prune_empty_dirs(base: &Path, dir: &Path) {
    let mut dir = dir.to_path_buf();
    while dir != base && dir.starts_with(base) {
        if fs::remove_dir(&dir).is_err() {
            return;
        }
        if !dir.pop() {
            return;
        }
    }
}

/// Removes files, ignoring those already gone.
pub(crate) fn remove_files(paths: &[PathBuf]) {
    for path in paths {
        if let Err(e) = fs::remove_file(path)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %path.display(), error = %e, "could not remove file");
        }
    }
}

/// Removes a directory tree, ignoring a missing one.
pub(crate) fn remove_tree(path: &Path) -> io::Result<()> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Removes everything inside `dir` except the entries named in `keep`.
pub(crate) fn wipe_dir(dir: &Path, keep: &[&str]) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if keep.iter().any(|k| entry.file_name() == *k) {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() { remove_tree(&path)? } else { fs::remove_file(&path)? }
    }
    Ok(())
}

/// Writes `bytes` to `dest` atomically: temp file, fsync, rename, directory fsync
/// (the syncs only when `fsync`). Creates `dest`'s directory if needed.
pub(crate) fn write_atomic(tmp_dir: &Path, dest: &Path, bytes: &[u8], fsync: bool) -> StoreResult<()> {
    let dir = dest.parent().expect("destination has a parent");
    create_dirs(dir, fsync).map_err(io_err("creating", dir))?;
    let temp = TempFile::with_contents(tmp_dir, bytes, fsync)?;
    temp.persist_at(dest).map_err(io_err("renaming into", dest))?;
    if fsync {
        fsync_dir(dir).map_err(io_err("syncing", dir))?;
    }
    Ok(())
}

/// Reads a small file; `Ok(None)` when it does not exist.
pub(crate) fn read_optional(path: &Path) -> StoreResult<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io(format!("reading {}", path.display()), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_temp_file_is_removed_and_persisted_one_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let temp = TempFile::with_contents(dir.path(), b"x", false).unwrap();
        let path = temp.path().to_path_buf();
        assert!(path.exists());
        drop(temp);
        assert!(!path.exists());

        let temp = TempFile::with_contents(dir.path(), b"y", false).unwrap();
        let rel = vec!["a".to_string(), "b".to_string()];
        let dest_dir = temp.persist_into(dir.path(), &rel, "f", false).unwrap();
        assert_eq!(fs::read(dest_dir.join("f")).unwrap(), b"y");
    }

    #[test]
    fn rename_into_a_deleted_base_fails_instead_of_recreating_it() {
        let dir = tempfile::tempdir().unwrap();
        let temp = TempFile::with_contents(dir.path(), b"x", false).unwrap();
        let gone = dir.path().join("gone");
        let err = temp.persist_into(&gone, &["a".to_string()], "f", false).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(!gone.exists());
    }

    #[test]
    fn create_dirs_makes_every_missing_level() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b/c");
        create_dirs(&deep, true).unwrap();
        assert!(deep.is_dir());
        create_dirs(&deep, true).unwrap();
    }

    #[test]
    fn pruning_stops_at_the_base_and_at_non_empty_directories() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("bucket");
        fs::create_dir_all(base.join("a/b/c")).unwrap();
        fs::write(base.join("a/keep"), b"").unwrap();
        prune_empty_dirs(&base, &base.join("a/b/c"));
        assert!(!base.join("a/b").exists());
        assert!(base.join("a").exists());
        fs::remove_file(base.join("a/keep")).unwrap();
        prune_empty_dirs(&base, &base.join("a"));
        assert!(base.exists() && !base.join("a").exists());
    }
}
