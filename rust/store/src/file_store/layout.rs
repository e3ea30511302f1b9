//! The on-disk layout of a [`FileStore`](super::FileStore) directory.
//!
//! ```text
//! <root>/
//! ├── <bucket>/                         one directory per bucket (S3 bucket names never start with '.')
//! │   ├── notes.txt.s3meta              a small object: its JSON document, `\n`, its bytes (no data file)
//! │   ├── hello.txt.s3meta              metadata of key "hello.txt" (JSON; the commit point)
//! │   ├── hello.txt.s3data-<version>    its bytes
//! │   └── photos/                       key "photos/cat.jpg" lives one level down …
//! │       ├── cat.jpg.s3meta
//! │       ├── cat.jpg.s3data-<version>-1   … and, as a multipart object, one data file per part
//! │       └── cat.jpg.s3data-<version>-2
//! └── .smartstorage/                    the store's own state
//!     ├── lock                          held (flock) while a store has the directory open
//!     ├── tmp/<shard>/                  files being written (16 shards); wiped at open
//!     ├── buckets/<bucket>/bucket.json  creation time and owner
//!     ├── buckets/<bucket>/config/<kind>   bucket config documents (policy, cors, tagging, …), raw bytes
//!     └── multipart/<bucket>/<uploadId>/
//!         ├── upload.json               key, initiation time, metadata of the future object
//!         ├── part-<N>.json             size, etag, checksums and version of committed part N
//!         └── part-<N>-<version>        its bytes
//! ```
//!
//! **Keys to paths.** A key is split on `/`; each segment is one directory level
//! and the last one names the object's files, so `a` and `a/b` coexist (`a.s3meta`
//! next to the directory `a/`). Segments are kept readable and escaped only where
//! needed: `%XX` for `%`, `\`, control characters, a `.` starting a path component
//! (so no component is ever `.`, `..` or hidden) and the `.` of `.s3`; a lone `%` for an
//! empty segment (`a//b`, leading or trailing `/`); segments over 200 bytes continue
//! in deeper directories named `<chunk>%+`. Every valid key round-trips and no key
//! can name a path outside its bucket directory.
//!
//! **Atomic writes.** Bytes are written to `.smartstorage/tmp/`, fsynced, and renamed
//! to a data file with a fresh version in its name; then the metadata file, which
//! names that version, is written the same way and renamed over the old one (the
//! single commit point), and the directory is fsynced. Only after that is the
//! previous version's data deleted (or, while a reader still streams it, when the
//! last reader finishes). A crash therefore leaves the old object or the new one;
//! data files no metadata names are swept when the bucket is first loaded.
//!
//! **Small objects** (≤ 64 KiB, [`metafile`](super::metafile)) are stored inline:
//! the bytes follow the JSON document in the `.s3meta` file, so a PUT is one file
//! written, made durable and renamed. With fsync on (on Linux), concurrent small
//! PUTs are committed in batches ([`small_commits`](super::small_commits)): all
//! their temp files, one filesystem flush, all the renames, one more flush, then
//! the answers. Elsewhere each file is fsynced and writers into one directory
//! share its fsync ([`dirsync`](super::dirsync)).
//!
//! **Retiring files.** The rename that commits an overwrite exchanges the old
//! metadata file out (`RENAME_EXCHANGE`, so it lands at the temp path) and a
//! delete renames it into `.smartstorage/tmp/`; nothing is unlinked under the
//! bucket lock. The [`reaper`](super::reaper) thread unlinks retired files after
//! the answer; a crash first leaves them in `tmp/` (wiped at open) or as
//! unnamed data files (swept at load).
//!
//! **Metadata updates** (object tagging) write a new `.s3meta` naming the *same*
//! version, renamed over the old one under the bucket lock: the data files stay
//! and nothing is retired, so a crash leaves the old metadata or the new one.
//!
//! **Multipart.** Parts are written like objects inside the upload's directory.
//! Completing hard-links the chosen part files into the object's directory as its
//! data files (no bytes copied; a rename where links are unsupported), commits the
//! metadata, then removes the upload (its `upload.json` first).
//!
//! Files the store does not recognise are never served and never deleted (except by
//! `clean_slate`), and directories under the root whose names are not valid bucket
//! names are ignored.

use super::keys::{KeyPath, RESERVED};
use super::records::Placement;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Name of the store's own directory under the root. Bucket names cannot start
/// with `.`, so it never collides with a bucket.
pub(crate) const SYS_DIR: &str = ".smartstorage";
/// Lock file inside [`SYS_DIR`], held while a store has the directory open.
pub(crate) const LOCK_FILE: &str = "lock";
/// Suffix of an object's metadata file (starts with [`RESERVED`]).
pub(crate) const META_SUFFIX: &str = ".s3meta";
/// Infix of an object's data files: `<base>.s3data-<version>[-<i>]` (starts with [`RESERVED`]).
pub(crate) const DATA_INFIX: &str = ".s3data-";
/// An upload's own metadata file.
pub(crate) const UPLOAD_FILE: &str = "upload.json";

/// The store's paths, derived once from the root.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// The storage directory.
    pub root: PathBuf,
    /// `<root>/.smartstorage`.
    pub sys: PathBuf,
    /// `<root>/.smartstorage/tmp`: every temp file, so startup can wipe them in one place.
    pub tmp: PathBuf,
}

impl Layout {
    /// Paths under `root`.
    pub fn new(root: PathBuf) -> Self {
        let sys = root.join(SYS_DIR);
        Layout { tmp: sys.join("tmp"), sys, root }
    }

    /// `<root>/<bucket>`: the bucket's objects.
    pub fn bucket_dir(&self, bucket: &str) -> PathBuf {
        self.root.join(bucket)
    }

    /// `<root>/.smartstorage/buckets/<bucket>`: bucket.json and config documents.
    pub fn bucket_sys_dir(&self, bucket: &str) -> PathBuf {
        self.sys.join("buckets").join(bucket)
    }

    /// `<root>/.smartstorage/buckets/<bucket>/bucket.json`.
    pub fn bucket_file(&self, bucket: &str) -> PathBuf {
        self.bucket_sys_dir(bucket).join("bucket.json")
    }

    /// `<root>/.smartstorage/buckets/<bucket>/config`.
    pub fn config_dir(&self, bucket: &str) -> PathBuf {
        self.bucket_sys_dir(bucket).join("config")
    }

    /// `<root>/.smartstorage/multipart/<bucket>`: the bucket's uploads.
    pub fn uploads_dir(&self, bucket: &str) -> PathBuf {
        self.sys.join("multipart").join(bucket)
    }
}

/// A file of an object, recognised by its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ObjectFile<'a> {
    /// `<base>.s3meta`.
    Meta { base: &'a str },
    /// `<base>.s3data-<version>[-<part>]`.
    Data { base: &'a str, version: &'a str, part: Option<u32> },
}

/// `<base>.s3meta`.
pub(crate) fn meta_name(base: &str) -> String {
    format!("{base}{META_SUFFIX}")
}

/// `<base>.s3data-<version>` for a single write, `…-<part>` (1-based) for a multipart object.
pub(crate) fn data_name(base: &str, version: &str, part: Option<usize>) -> String {
    match part {
        None => format!("{base}{DATA_INFIX}{version}"),
        Some(i) => format!("{base}{DATA_INFIX}{version}-{i}"),
    }
}

/// Recognises the store's object files; `None` for anything else.
pub(crate) fn parse_object_file(name: &str) -> Option<ObjectFile<'_>> {
    let at = name.find(RESERVED)?;
    let (base, suffix) = name.split_at(at);
    if base.is_empty() {
        return None;
    }
    if suffix == META_SUFFIX {
        return Some(ObjectFile::Meta { base });
    }
    let rest = suffix.strip_prefix(DATA_INFIX)?;
    let (version, part) = match rest.split_once('-') {
        None => (rest, None),
        Some((version, part)) => (version, Some(parse_number(part)?)),
    };
    is_version(version).then_some(ObjectFile::Data { base, version, part })
}

/// A new version token: 32 lowercase hex digits, unique per write — a random
/// 64-bit prefix drawn once per process, then a counter. Uniqueness is all a
/// version needs, and 128 fresh random bits per write would cost every PUT a
/// `getrandom` syscall. Upload ids, which clients see, stay random ([`new_upload_id`]).
pub(crate) fn new_version() -> String {
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
    let mut version = String::with_capacity(32);
    let _ = write!(version, "{prefix:016x}{:016x}", NEXT.fetch_add(1, Ordering::Relaxed));
    version
}

/// A new upload id: 128 random bits as 32 lowercase hex digits (shaped like a
/// version, see [`is_version`]), so one client cannot guess another's upload.
pub(crate) fn new_upload_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// True for text shaped like [`new_version`]'s output (also how upload ids look).
pub(crate) fn is_version(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `part-<N>.json`: the commit point of part N.
pub(crate) fn part_meta_name(number: u32) -> String {
    format!("part-{number}.json")
}

/// `part-<N>-<version>`: the bytes of one write of part N.
pub(crate) fn part_data_name(number: u32, version: &str) -> String {
    format!("part-{number}-{version}")
}

/// A file inside an upload directory, recognised by its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PartFile<'a> {
    /// `part-<N>.json`.
    Meta(u32),
    /// `part-<N>-<version>`.
    Data(u32, &'a str),
}

/// Recognises `part-<N>.json` and `part-<N>-<version>`.
pub(crate) fn parse_part_file(name: &str) -> Option<PartFile<'_>> {
    let rest = name.strip_prefix("part-")?;
    if let Some(number) = rest.strip_suffix(".json") {
        return Some(PartFile::Meta(parse_number(number)?));
    }
    let (number, version) = rest.split_once('-')?;
    is_version(version).then_some(())?;
    Some(PartFile::Data(parse_number(number)?, version))
}

/// Parses a canonical decimal number (no sign, no leading zero).
fn parse_number(text: &str) -> Option<u32> {
    if text.is_empty() || text.len() > 6 || text.starts_with('0') || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The data files of an object version, in order (none for an inline object).
pub(crate) fn data_paths(bucket_dir: &Path, path: &KeyPath, version: &str, placement: Placement) -> Vec<PathBuf> {
    let dir = path.dir(bucket_dir);
    match placement {
        Placement::Inline => Vec::new(),
        Placement::Single => vec![dir.join(data_name(&path.base, version, None))],
        Placement::Parts(n) => (1..=n).map(|i| dir.join(data_name(&path.base, version, Some(i)))).collect(),
    }
}

/// `<bucket_dir>/<dirs…>/<base>.s3meta`: the metadata file of a key.
pub(crate) fn meta_path(bucket_dir: &Path, path: &KeyPath) -> PathBuf {
    path.dir(bucket_dir).join(meta_name(&path.base))
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn object_file_names_parse_back() {
        assert_eq!(parse_object_file(&meta_name("cat.jpg")), Some(ObjectFile::Meta { base: "cat.jpg" }));
        assert_eq!(parse_object_file(&data_name("a.b", V, None)), Some(ObjectFile::Data { base: "a.b", version: V, part: None }));
        assert_eq!(parse_object_file(&data_name("x.", V, Some(12))), Some(ObjectFile::Data { base: "x.", version: V, part: Some(12) }));
        for foreign in ["cat.jpg", ".s3meta", "a.s3data-xyz", "a.s3data-", "a.s3metax", &format!("a.s3data-{V}-0"), &format!("a.s3data-{V}-01")] {
            assert_eq!(parse_object_file(foreign), None, "{foreign}");
        }
    }

    #[test]
    fn part_file_names_parse_back() {
        assert_eq!(parse_part_file(&part_meta_name(7)), Some(PartFile::Meta(7)));
        assert_eq!(parse_part_file(&part_data_name(10000, V)), Some(PartFile::Data(10000, V)));
        for foreign in ["part-0.json", "part-x.json", "part-1", "part-1-abc", "upload.json"] {
            assert_eq!(parse_part_file(foreign), None, "{foreign}");
        }
    }
}
