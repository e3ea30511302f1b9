//! `FileStore`: the [`ObjectStore`](crate::ObjectStore) over one local directory.
//! (Being implemented: see the store crate's README section in the top-level README.)

use std::path::PathBuf;

/// How a [`FileStore`] is set up.
#[derive(Debug, Clone)]
pub struct FileStoreConfig {
    /// The storage directory (created if missing).
    pub root: PathBuf,
    /// fsync files and directories on every write (crash durability). When false,
    /// writes stay atomic (temp file + rename) but a power loss may lose recent ones.
    pub fsync: bool,
    /// Wipe the directory's contents at open.
    pub clean_slate: bool,
}

/// The object store over one directory.
pub struct FileStore {
    #[allow(dead_code)]
    config: FileStoreConfig,
}
