//! The JSON documents the store keeps on disk, and their in-memory forms.
//!
//! Times are stored as nanoseconds since the Unix epoch, so a value read back
//! equals the value written. Every document carries `format` so a later version
//! of the layout can recognise (and migrate) older files.

use crate::{BucketInfo, Checksums, ObjectInfo, ObjectMeta, PartInfo, StoreError, StoreResult, UploadInfo};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The layout version written into every document; documents with a higher one are rejected.
pub(crate) const FORMAT: u32 = 1;

/// Nanoseconds since the Unix epoch (0 for earlier times, which a sane clock never gives).
pub(crate) fn to_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

/// The inverse of [`to_nanos`].
pub(crate) fn from_nanos(nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(nanos)
}

/// `<base>.s3meta`: one object version. It is the commit point: it names the
/// version whose data files hold the bytes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ObjectDoc {
    /// Layout version ([`FORMAT`]).
    pub format: u32,
    /// The key (also encoded in the path; kept here for people and recovery tools).
    pub key: String,
    /// Names the data files: `<base>.s3data-<version>[-<i>]`.
    pub version: String,
    /// Total size in bytes.
    pub size: u64,
    /// Commit time.
    pub last_modified_ns: u64,
    /// The object's metadata.
    pub meta: ObjectMeta,
    /// For multipart objects, one entry per data file, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<Vec<PartEntry>>,
    /// The bytes follow this document in the same file (small objects; see
    /// [`metafile`](super::metafile)), and there are no data files.
    #[serde(default, skip_serializing_if = "is_false")]
    pub inline: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// One part of a multipart object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PartEntry {
    /// Bytes in this part's data file.
    pub size: u64,
    /// Checksums the client sent with the part.
    #[serde(default, skip_serializing_if = "Checksums::is_empty")]
    pub checksums: Checksums,
}

/// `part-<N>.json`: one committed part of an upload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PartDoc {
    /// Layout version.
    pub format: u32,
    /// 1..=10000.
    pub part_number: u32,
    /// Names the data file `part-<N>-<version>`.
    pub version: String,
    /// Size in bytes.
    pub size: u64,
    /// Hex MD5 without quotes.
    pub etag: String,
    /// Commit time.
    pub last_modified_ns: u64,
    /// Checksums sent with the part.
    #[serde(default)]
    pub checksums: Checksums,
}

/// `upload.json`: an upload in progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct UploadDoc {
    /// Layout version.
    pub format: u32,
    /// Also the directory name.
    pub upload_id: String,
    /// The key the upload will create.
    pub key: String,
    /// Creation time.
    pub initiated_ns: u64,
    /// Metadata the object will carry.
    pub meta: ObjectMeta,
}

/// `bucket.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BucketDoc {
    /// Layout version.
    pub format: u32,
    /// The bucket name.
    pub name: String,
    /// Creation time.
    pub created_ns: u64,
    /// Access key id of the owner.
    #[serde(default)]
    pub owner: Option<String>,
}

impl BucketDoc {
    /// The document for `info`.
    pub fn new(info: &BucketInfo) -> Self {
        BucketDoc { format: FORMAT, name: info.name.clone(), created_ns: to_nanos(info.created), owner: info.owner.clone() }
    }
}

/// Serialises a document (pretty, so the files are pleasant to read).
pub(crate) fn to_json<T: Serialize>(doc: &T) -> Vec<u8> {
    let mut bytes = Vec::new();
    write_json(&mut bytes, doc);
    bytes
}

/// Appends `doc` to `bytes` as pretty-printed JSON (as [`to_json`]).
pub(crate) fn write_json<T: Serialize>(bytes: &mut Vec<u8>, doc: &T) {
    serde_json::to_writer_pretty(bytes, doc).expect("store documents always serialise");
}

/// Parses a document read from `path`, checking its format version.
pub(crate) fn from_json<T: for<'de> Deserialize<'de> + HasFormat>(path: &Path, bytes: &[u8]) -> StoreResult<T> {
    let corrupt = |reason: String| StoreError::Corrupt { path: path.display().to_string(), reason };
    let doc: T = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
    if doc.format() > FORMAT {
        return Err(corrupt(format!("written by a newer layout (format {}, this build reads {FORMAT})", doc.format())));
    }
    Ok(doc)
}

/// Documents carrying a layout version.
pub(crate) trait HasFormat {
    /// The `format` field.
    fn format(&self) -> u32;
}

macro_rules! has_format {
    ($($t:ty),*) => { $(impl HasFormat for $t { fn format(&self) -> u32 { self.format } })* };
}
has_format!(ObjectDoc, PartDoc, UploadDoc, BucketDoc);

/// Where the bytes of an object version are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// In the metadata file itself, after the document (small objects).
    Inline,
    /// In one data file, `<base>.s3data-<version>`.
    Single,
    /// In this many data files, `<base>.s3data-<version>-<i>` (multipart objects).
    Parts(usize),
}

/// An object version as the in-memory index holds it: everything `head_object`
/// and `open_object` need, so neither touches the disk for metadata.
#[derive(Debug, Clone)]
pub(crate) struct ObjectRecord {
    /// The info handed out.
    pub info: ObjectInfo,
    /// Names the data files (and tells versions apart, inline ones too).
    pub version: String,
    /// Where the bytes are.
    pub placement: Placement,
}

impl ObjectRecord {
    /// The record of a stored document.
    pub fn from_doc(doc: ObjectDoc) -> Self {
        let placement = match (&doc.parts, doc.inline) {
            (Some(parts), _) => Placement::Parts(parts.len()),
            (None, true) => Placement::Inline,
            (None, false) => Placement::Single,
        };
        let (part_sizes, part_checksums) = doc.parts.unwrap_or_default().into_iter().map(|p| (p.size, p.checksums)).unzip();
        ObjectRecord {
            info: ObjectInfo {
                key: doc.key,
                size: doc.size,
                last_modified: from_nanos(doc.last_modified_ns),
                meta: doc.meta,
                part_sizes,
                part_checksums,
            },
            version: doc.version,
            placement,
        }
    }

    /// The document to store for this record.
    pub fn to_doc(&self) -> ObjectDoc {
        let info = &self.info;
        ObjectDoc {
            format: FORMAT,
            key: info.key.clone(),
            version: self.version.clone(),
            size: info.size,
            last_modified_ns: to_nanos(info.last_modified),
            meta: info.meta.clone(),
            parts: matches!(self.placement, Placement::Parts(_)).then(|| {
                info.part_sizes.iter().zip(&info.part_checksums).map(|(&size, c)| PartEntry { size, checksums: c.clone() }).collect()
            }),
            inline: self.placement == Placement::Inline,
        }
    }

    /// Sizes of the data files, in order (none for an inline object).
    pub fn segment_sizes(&self) -> Vec<u64> {
        match self.placement {
            Placement::Inline => Vec::new(),
            Placement::Single => vec![self.info.size],
            Placement::Parts(_) => self.info.part_sizes.clone(),
        }
    }
}

/// A committed part as an upload holds it in memory.
#[derive(Debug, Clone)]
pub(crate) struct PartRecord {
    /// What `list_parts` reports.
    pub info: PartInfo,
    /// Names the data file.
    pub version: String,
}

impl PartRecord {
    /// The record of a stored document.
    pub fn from_doc(doc: PartDoc) -> Self {
        PartRecord {
            info: PartInfo {
                part_number: doc.part_number,
                size: doc.size,
                etag: doc.etag,
                last_modified: from_nanos(doc.last_modified_ns),
                checksums: doc.checksums,
            },
            version: doc.version,
        }
    }

    /// The document to store for this record.
    pub fn to_doc(&self) -> PartDoc {
        PartDoc {
            format: FORMAT,
            part_number: self.info.part_number,
            version: self.version.clone(),
            size: self.info.size,
            etag: self.info.etag.clone(),
            last_modified_ns: to_nanos(self.info.last_modified),
            checksums: self.info.checksums.clone(),
        }
    }
}

impl UploadDoc {
    /// The document for `info`.
    pub fn new(info: &UploadInfo) -> Self {
        UploadDoc {
            format: FORMAT,
            upload_id: info.upload_id.clone(),
            key: info.key.clone(),
            initiated_ns: to_nanos(info.initiated),
            meta: info.meta.clone(),
        }
    }

    /// The info this document describes.
    pub fn into_info(self) -> UploadInfo {
        UploadInfo { upload_id: self.upload_id, key: self.key, initiated: from_nanos(self.initiated_ns), meta: self.meta }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_records_survive_a_trip_through_json() {
        let mut meta = ObjectMeta { etag: "abc-2".into(), ..Default::default() };
        meta.headers.insert("content-type".into(), "text/plain".into());
        let record = ObjectRecord {
            info: ObjectInfo {
                key: "a/b".into(),
                size: 7,
                last_modified: from_nanos(1_700_000_000_123_456_789),
                meta,
                part_sizes: vec![5, 2],
                part_checksums: vec![[("crc32".to_string(), "AAAA".to_string())].into(), Checksums::new()],
            },
            version: "0".repeat(32),
            placement: Placement::Parts(2),
        };
        let bytes = to_json(&record.to_doc());
        let back = ObjectRecord::from_doc(from_json(Path::new("x"), &bytes).unwrap());
        assert_eq!(back.info, record.info);
        assert_eq!(back.placement, Placement::Parts(2));
    }

    #[test]
    fn documents_from_a_newer_layout_are_rejected() {
        let doc = BucketDoc { format: FORMAT + 1, name: "b".into(), created_ns: 0, owner: None };
        let err = from_json::<BucketDoc>(Path::new("bucket.json"), &to_json(&doc)).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    }
}
