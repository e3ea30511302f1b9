//! The `.s3meta` file: the JSON document of an object version and, for a small
//! object, its bytes right after it.
//!
//! An object of at most [`INLINE_MAX_BYTES`] is stored inline: one file, written
//! to a temp file, fsynced and renamed into place, where a separate data file
//! would cost a second file creation, fsync and rename. The file is the JSON
//! document, one `\n`, then exactly `size` bytes; the document says `"inline": true`.
//! Since the metadata file is replaced by rename, a reader that opened it holds
//! that version whatever happens to the key afterwards.

use super::fsutil::io_err;
use super::records::{FORMAT, ObjectDoc, ObjectRecord, Placement, write_json};
use crate::{StoreError, StoreResult};
use bytes::Bytes;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Objects up to this size are stored inline. Below it a second file (its
/// creation, fsync and rename) costs more than the bytes; 64 KiB also bounds
/// what opening or scanning a metadata file reads, and matches what a reader
/// reads whole anyway (`read::PREFETCH_BYTES`).
pub(crate) const INLINE_MAX_BYTES: u64 = 64 * 1024;

/// The most a metadata file may hold: an inline object plus a document with
/// S3's limits on user metadata (2 KiB) and tags (10 × 384 bytes) and JSON escaping.
const MAX_META_FILE_BYTES: u64 = INLINE_MAX_BYTES + 256 * 1024;

/// The contents of the metadata file of `record`, with `inline` (empty unless
/// the record is inline) after the document.
pub(crate) fn contents(record: &ObjectRecord, inline: &[Bytes]) -> Vec<u8> {
    let is_inline = record.placement == Placement::Inline;
    let inline_len = if is_inline { 1 + inline.iter().map(Bytes::len).sum::<usize>() } else { 0 };
    // One allocation for the document and the bytes after it.
    let mut bytes = Vec::with_capacity(DOC_CAPACITY + inline_len);
    write_json(&mut bytes, &record.to_doc());
    if is_inline {
        bytes.push(b'\n');
        for chunk in inline {
            bytes.extend_from_slice(chunk);
        }
    }
    bytes
}

/// Room reserved for the document in [`contents`]: a plain object's document
/// is about 300 bytes; larger ones (user metadata, tags, parts) grow the buffer.
const DOC_CAPACITY: usize = 512;

/// Bytes [`read_doc`] reads first: more than any document the store writes
/// for a key with ordinary metadata, so the rest of the file is an inline
/// object's bytes that loading a bucket does not need.
const DOC_PREFIX_BYTES: u64 = 4096;

/// Blocking: reads the metadata file at `path`; `Ok(None)` when it does not
/// exist. Returns the document and, for an inline object, its bytes (empty
/// otherwise). A FIFO or device in its place is refused without blocking.
pub(crate) fn read(path: &Path) -> StoreResult<Option<(ObjectDoc, Bytes)>> {
    let Some((bytes, _)) = read_regular(path, MAX_META_FILE_BYTES)? else { return Ok(None) };
    parse(path, Bytes::from(bytes)).map(Some)
}

/// Blocking: only the document of the metadata file at `path`, which is all
/// loading a bucket needs: reads the first [`DOC_PREFIX_BYTES`] and the rest
/// only when the document is longer. An inline object's length is checked
/// against the file's size instead of being read.
pub(crate) fn read_doc(path: &Path) -> StoreResult<Option<ObjectDoc>> {
    let Some((head, len)) = read_regular(path, DOC_PREFIX_BYTES)? else { return Ok(None) };
    if head.len() as u64 == len {
        return parse(path, Bytes::from(head)).map(|(doc, _)| Some(doc));
    }
    match split(path, &head)? {
        Some((doc, end)) if doc.inline => {
            check_inline(path, &doc, head.get(end), len - end as u64)?;
            Ok(Some(doc))
        }
        // A document longer than the prefix (or trailing bytes): read it all.
        _ => Ok(read(path)?.map(|(doc, _)| doc)),
    }
}

/// Parses the contents of a metadata file read from `path`.
pub(crate) fn parse(path: &Path, bytes: Bytes) -> StoreResult<(ObjectDoc, Bytes)> {
    let Some((doc, end)) = split(path, &bytes)? else { return Err(corrupt(path, "the document is cut short".into())) };
    let rest = &bytes[end..];
    if !doc.inline {
        if !rest.iter().all(u8::is_ascii_whitespace) {
            return Err(corrupt(path, "trailing bytes after the document".into()));
        }
        return Ok((doc, Bytes::new()));
    }
    check_inline(path, &doc, rest.first(), rest.len() as u64)?;
    Ok((doc, bytes.slice(end + 1..)))
}

/// The document at the start of `bytes` and where it ends; `None` when
/// `bytes` end inside it.
fn split(path: &Path, bytes: &[u8]) -> StoreResult<Option<(ObjectDoc, usize)>> {
    let mut docs = serde_json::Deserializer::from_slice(bytes).into_iter::<ObjectDoc>();
    let doc = match docs.next() {
        Some(Ok(doc)) => doc,
        Some(Err(e)) if e.is_eof() => return Ok(None),
        Some(Err(e)) => return Err(corrupt(path, e.to_string())),
        None => return Err(corrupt(path, "empty metadata file".into())),
    };
    if doc.format > FORMAT {
        return Err(corrupt(path, format!("written by a newer layout (format {}, this build reads {FORMAT})", doc.format)));
    }
    Ok(Some((doc, docs.byte_offset())))
}

/// Checks what follows an inline document: `\n`, then exactly `size` bytes
/// (`rest_len` counts the `\n`).
fn check_inline(path: &Path, doc: &ObjectDoc, first: Option<&u8>, rest_len: u64) -> StoreResult<()> {
    if doc.parts.is_some() || first != Some(&b'\n') || rest_len.saturating_sub(1) != doc.size {
        return Err(corrupt(path, format!("inline object of {} bytes is stored with {} bytes after its document", doc.size, rest_len.saturating_sub(1))));
    }
    Ok(())
}

fn corrupt(path: &Path, reason: String) -> StoreError {
    StoreError::Corrupt { path: path.display().to_string(), reason }
}

/// Reads at most `limit` bytes of a regular file of at most
/// [`MAX_META_FILE_BYTES`]; returns them and the file's size, or `Ok(None)`
/// when it is missing.
fn read_regular(path: &Path, limit: u64) -> StoreResult<Option<(Vec<u8>, u64)>> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // A FIFO in place of the file would block open(2); O_NONBLOCK changes
    // nothing for regular files, and the is_file check refuses the rest.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file: File = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io(format!("opening {}", path.display()), e)),
    };
    let metadata = file.metadata().map_err(io_err("inspecting", path))?;
    if !metadata.is_file() {
        return Err(corrupt(path, "metadata file is not a regular file".into()));
    }
    let len = metadata.len();
    if len > MAX_META_FILE_BYTES {
        return Err(corrupt(path, format!("metadata file holds {len} bytes, more than any the store writes ({MAX_META_FILE_BYTES})")));
    }
    let mut bytes = Vec::with_capacity(len.min(limit) as usize);
    file.take(limit).read_to_end(&mut bytes).map_err(io_err("reading", path))?;
    Ok(Some((bytes, len)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ObjectInfo, ObjectMeta};
    use std::time::SystemTime;

    fn record(size: u64, placement: Placement) -> ObjectRecord {
        let info = ObjectInfo {
            key: "k".into(),
            size,
            last_modified: SystemTime::now(),
            meta: ObjectMeta { etag: "e".into(), ..Default::default() },
            part_sizes: Vec::new(),
            part_checksums: Vec::new(),
        };
        ObjectRecord { info, version: "0".repeat(32), placement }
    }

    #[test]
    fn inline_bytes_round_trip_even_when_they_look_like_json() {
        let data = [Bytes::from_static(b"{\"a\":"), Bytes::from_static(b" 1}\n\n")];
        let bytes = contents(&record(10, Placement::Inline), &data);
        let (doc, inline) = parse(Path::new("m"), Bytes::from(bytes)).unwrap();
        assert!(doc.inline);
        assert_eq!(&inline[..], b"{\"a\": 1}\n\n");
    }

    #[test]
    fn a_document_without_inline_bytes_has_nothing_after_it() {
        let bytes = contents(&record(5, Placement::Single), &[]);
        let (doc, inline) = parse(Path::new("m"), Bytes::from(bytes)).unwrap();
        assert!(!doc.inline && inline.is_empty());
    }

    #[test]
    fn read_doc_skips_the_inline_bytes_but_checks_their_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m");
        let data = Bytes::from(vec![b'x'; 20_000]);
        let bytes = contents(&record(20_000, Placement::Inline), std::slice::from_ref(&data));
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(read_doc(&path).unwrap().unwrap().size, 20_000);
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        assert!(matches!(read_doc(&path), Err(StoreError::Corrupt { .. })));
        // A short document is read whole, like `read` does.
        std::fs::write(&path, contents(&record(5, Placement::Single), &[])).unwrap();
        assert!(!read_doc(&path).unwrap().unwrap().inline);
        assert!(read_doc(&dir.path().join("missing")).unwrap().is_none());
    }

    #[test]
    fn truncated_or_padded_inline_files_are_corrupt() {
        let bytes = contents(&record(3, Placement::Inline), &[Bytes::from_static(b"abc")]);
        for bad in [&bytes[..bytes.len() - 1], &[&bytes[..], b"d"].concat()[..]] {
            let err = parse(Path::new("m"), Bytes::copy_from_slice(bad)).unwrap_err();
            assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        }
        let mut trailing = contents(&record(3, Placement::Single), &[]);
        trailing.extend_from_slice(b"\nabc");
        assert!(parse(Path::new("m"), Bytes::from(trailing)).is_err());
    }
}
