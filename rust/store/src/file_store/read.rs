//! Reading objects: a reader pins the version it opened, so its data files
//! outlive any overwrite or delete until it is done; its stream reads the files
//! in chunks on the blocking pool, one chunk ahead of the consumer. An inline
//! object's bytes are read whole from its metadata file when it is opened.

use super::bucket::{Bucket, PinGuard};
use super::fsutil::{blocking, io_err};
use super::keys::{KeyPath, encode_key};
use super::layout::data_paths;
use super::records::{ObjectRecord, Placement};
use super::write::read_inline;
use crate::{ByteStream, ObjectInfo, ObjectReader, StoreError, StoreResult};
use bytes::Bytes;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::task::JoinHandle;

/// Bytes per chunk of a stream. Large enough that the hop to the blocking pool
/// per chunk is negligible; small enough that a reader holds at most two chunks
/// (the one being consumed and the one read ahead), ~1 MiB, whatever the object size.
pub(crate) const READ_CHUNK_BYTES: usize = 512 * 1024;

/// Objects up to this size (in one data file) are read whole when opened, in
/// the same trip to the blocking pool as the open: a small GET then costs one
/// hop instead of two, and a thread hop costs more than reading 64 KiB from
/// the page cache.
pub(crate) const PREFETCH_BYTES: u64 = 64 * 1024;

/// How often opening an inline object reads its metadata file without the
/// key's lock, looking the key up again when the version it found was replaced
/// meanwhile. Each miss needs an overwrite landing within microseconds of the
/// lookup; after these the read is made holding the key's lock, which always
/// gives an answer.
const OPTIMISTIC_INLINE_READS: usize = 3;

/// [`ObjectReader`] of the file store.
pub(crate) struct FileObjectReader {
    /// The version's metadata.
    info: ObjectInfo,
    /// Data files and their sizes, in order.
    segments: Vec<(PathBuf, u64)>,
    /// The first data file, opened (and its size checked) by [`open`](Self::open).
    first: Option<File>,
    /// The whole object, read by [`open`](Self::open) when it is small (see [`PREFETCH_BYTES`]).
    prefetched: Option<Bytes>,
    /// Keeps the version's data files on disk (`None` for an inline version,
    /// whose bytes were read at open).
    pin: Option<PinGuard>,
}

impl FileObjectReader {
    /// Snapshots the current version of `key` in a loaded bucket: a version in
    /// data files is pinned under the same lock that found it; an inline
    /// version is read whole, and looked up again if it was replaced before
    /// its metadata file could be read.
    pub async fn open(bucket: Arc<Bucket>, key: &str) -> StoreResult<Self> {
        let path = encode_key(key);
        for _ in 0..OPTIMISTIC_INLINE_READS {
            let (record, pin) = lookup(&bucket, key)?;
            if let Some(pin) = pin {
                return Self::open_data_files(&bucket, &path, &record, pin).await;
            }
            let (bucket2, path2, record2) = (bucket.clone(), path.clone(), record.clone());
            match blocking(move || read_inline(&bucket2, &path2, &record2)).await {
                Ok(bytes) => return Ok(Self::inline(&record, bytes)),
                // Replaced or deleted since the index was read: look again.
                Err(StoreError::Corrupt { .. }) if !is_current(&bucket, key, &record) => continue,
                // Perhaps a commit between its rename and its index update: look again under the key's lock.
                Err(StoreError::Corrupt { .. }) => break,
                Err(e) => return Err(e),
            }
        }
        // Holding the key's lock, the index entry and the file agree.
        let (bucket2, key2, path2) = (bucket.clone(), key.to_string(), path.clone());
        let (record, opened) = blocking(move || {
            let _key_lock = bucket2.key_lock(&key2);
            let (record, pin) = lookup(&bucket2, &key2)?;
            let opened = match pin {
                Some(pin) => Opened::Files(pin),
                None => Opened::Inline(read_inline(&bucket2, &path2, &record)?),
            };
            Ok((record, opened))
        })
        .await?;
        match opened {
            Opened::Files(pin) => Self::open_data_files(&bucket, &path, &record, pin).await,
            Opened::Inline(bytes) => Ok(Self::inline(&record, bytes)),
        }
    }

    /// A reader of an inline version whose bytes were read.
    fn inline(record: &ObjectRecord, bytes: Bytes) -> Self {
        FileObjectReader { info: record.info.clone(), segments: Vec::new(), first: None, prefetched: Some(bytes), pin: None }
    }

    /// Opens `record`, a version kept in data files and already pinned.
    async fn open_data_files(bucket: &Bucket, path: &KeyPath, record: &ObjectRecord, pin: PinGuard) -> StoreResult<Self> {
        let files = data_paths(&bucket.dir, path, &record.version, record.placement);
        let segments: Vec<(PathBuf, u64)> = files.into_iter().zip(record.segment_sizes()).collect();
        let small = segments.len() == 1 && record.info.size <= PREFETCH_BYTES;
        let (first, prefetched) = match segments.first().cloned() {
            Some((path, size)) => {
                blocking(move || {
                    let mut file = open_segment(&path, size)?;
                    if !small {
                        return Ok((Some(file), None));
                    }
                    let mut buf = Vec::with_capacity(size as usize);
                    (&mut file).take(size).read_to_end(&mut buf).map_err(io_err("reading", &path))?;
                    if buf.len() as u64 != size {
                        return Err(StoreError::Corrupt { path: path.display().to_string(), reason: "data file ended before its recorded size".into() });
                    }
                    Ok((None, Some(Bytes::from(buf))))
                })
                .await?
            }
            None => (None, None),
        };
        Ok(FileObjectReader { info: record.info.clone(), segments, first, prefetched, pin: Some(pin) })
    }
}

/// A version found and opened under the key's lock.
enum Opened {
    /// In data files, pinned.
    Files(PinGuard),
    /// Inline, with its bytes.
    Inline(Bytes),
}

/// The current version of `key`, and a pin on it when it is kept in data files
/// (taken under the same lock that found it).
fn lookup(bucket: &Arc<Bucket>, key: &str) -> StoreResult<(Arc<ObjectRecord>, Option<PinGuard>)> {
    let mut state = bucket.lock();
    bucket.check_alive(&state)?;
    let record = state.objects.get(key).cloned().ok_or_else(|| StoreError::NoSuchKey(key.to_string()))?;
    if record.placement == Placement::Inline {
        return Ok((record, None));
    }
    state.pin(&record.version);
    drop(state);
    let pin = PinGuard::new(bucket.clone(), record.version.clone());
    Ok((record, Some(pin)))
}

/// True when `record` is still the current version of `key`.
fn is_current(bucket: &Bucket, key: &str, record: &Arc<ObjectRecord>) -> bool {
    bucket.lock().objects.get(key).is_some_and(|current| Arc::ptr_eq(current, record))
}

impl ObjectReader for FileObjectReader {
    fn info(&self) -> &ObjectInfo {
        &self.info
    }

    fn stream(self: Box<Self>, range: Range<u64>) -> ByteStream {
        let size = self.info.size;
        if range.start > range.end || range.end > size {
            let error = StoreError::Io {
                context: format!("range {}..{} is outside the object's {size} bytes", range.start, range.end),
                source: io::Error::from(io::ErrorKind::InvalidInput),
            };
            return Box::pin(futures_util::stream::once(async move { Err(error) }));
        }
        if let Some(bytes) = &self.prefetched {
            let chunk = bytes.slice(range.start as usize..range.end as usize);
            return Box::pin(futures_util::stream::iter((!chunk.is_empty()).then_some(Ok(chunk))));
        }
        let cursor = Cursor::new(*self, range);
        Box::pin(futures_util::stream::unfold(Step::Start(cursor), |step| async move {
            let handle = match step {
                Step::Done => return None,
                Step::Start(cursor) => read_ahead(cursor),
                Step::Reading(handle) => handle,
            };
            match handle.await {
                Ok((cursor, Ok(Some(chunk)))) => {
                    let next = if cursor.remaining == 0 { Step::Done } else { Step::Reading(read_ahead(cursor)) };
                    Some((Ok(chunk), next))
                }
                Ok((_, Ok(None))) => None,
                Ok((_, Err(e))) => Some((Err(e), Step::Done)),
                Err(e) => Some((Err(StoreError::Io { context: "reading object data".into(), source: io::Error::other(e.to_string()) }), Step::Done)),
            }
        }))
    }
}

/// Where a stream is.
enum Step {
    /// Nothing read yet (spawning needs the runtime, so it waits for the first poll).
    Start(Cursor),
    /// The next chunk is being read.
    Reading(JoinHandle<(Cursor, StoreResult<Option<Bytes>>)>),
    /// Finished or failed.
    Done,
}

/// Reads the next chunk on the blocking pool.
fn read_ahead(mut cursor: Cursor) -> JoinHandle<(Cursor, StoreResult<Option<Bytes>>)> {
    tokio::task::spawn_blocking(move || {
        let chunk = cursor.read_chunk();
        (cursor, chunk)
    })
}

/// A position in the data files of a pinned version.
struct Cursor {
    /// Data files and their sizes, in order.
    segments: Vec<(PathBuf, u64)>,
    /// The data file being read.
    index: usize,
    /// Position inside it.
    offset: u64,
    /// Bytes of the range still to read.
    remaining: u64,
    /// `segments[index]`, open at `offset`.
    file: Option<File>,
    /// The first data file, opened when the reader was.
    first: Option<File>,
    /// Keeps the data files from being deleted until the stream is done.
    _pin: Option<PinGuard>,
}

impl Cursor {
    fn new(reader: FileObjectReader, range: Range<u64>) -> Self {
        let FileObjectReader { segments, first, pin, .. } = reader;
        let (mut index, mut offset) = (0, range.start);
        while offset > 0 && index < segments.len() && offset >= segments[index].1 {
            offset -= segments[index].1;
            index += 1;
        }
        Cursor { segments, index, offset, remaining: range.end - range.start, file: None, first, _pin: pin }
    }

    /// The next chunk (never spanning two data files), or `None` at the end of the range.
    fn read_chunk(&mut self) -> StoreResult<Option<Bytes>> {
        while self.remaining > 0 {
            let Some((path, size)) = self.segments.get(self.index) else {
                return Err(StoreError::Corrupt { path: String::new(), reason: "object metadata lists fewer bytes than its size".into() });
            };
            let left = size - self.offset;
            if left == 0 {
                self.index += 1;
                self.offset = 0;
                self.file = None;
                continue;
            }
            let file = match &mut self.file {
                Some(file) => file,
                None => {
                    let mut file = match self.first.take() {
                        Some(file) if self.index == 0 => file,
                        _ => open_segment(path, *size)?,
                    };
                    if self.offset > 0 {
                        file.seek(SeekFrom::Start(self.offset)).map_err(io_err("seeking in", path))?;
                    }
                    self.file.insert(file)
                }
            };
            let n = (READ_CHUNK_BYTES as u64).min(self.remaining).min(left);
            let mut buf = Vec::with_capacity(n as usize);
            file.take(n).read_to_end(&mut buf).map_err(io_err("reading", path))?;
            if buf.len() as u64 != n {
                return Err(StoreError::Corrupt { path: path.display().to_string(), reason: "data file ended before its recorded size".into() });
            }
            self.offset += n;
            self.remaining -= n;
            return Ok(Some(Bytes::from(buf)));
        }
        Ok(None)
    }
}

/// Opens a data file and checks it holds the recorded number of bytes.
fn open_segment(path: &Path, size: u64) -> StoreResult<File> {
    let corrupt = |reason: String| StoreError::Corrupt { path: path.display().to_string(), reason };
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // A FIFO (or device) put in place of a data file would block open(2)
    // forever and pin a blocking thread per request; O_NONBLOCK makes that
    // open return at once (it changes nothing for regular files), and the
    // is_file check below rejects it.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(corrupt("data file is missing".into())),
        Err(e) => return Err(StoreError::io(format!("opening {}", path.display()), e)),
    };
    let metadata = file.metadata().map_err(io_err("inspecting", path))?;
    if !metadata.is_file() {
        return Err(corrupt("data file is not a regular file".into()));
    }
    let len = metadata.len();
    if len != size {
        return Err(corrupt(format!("data file holds {len} bytes, metadata says {size}")));
    }
    Ok(file)
}
