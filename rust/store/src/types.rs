//! Plain data passed across the [`ObjectStore`](crate::ObjectStore) boundary.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::SystemTime;

/// A bucket as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketInfo {
    /// The bucket name (already validated).
    pub name: String,
    /// When the bucket was created.
    pub created: SystemTime,
    /// Access key id of the owner; `None` for buckets created with auth off.
    pub owner: Option<String>,
}

/// Checksums of an object or part: algorithm name (lowercase, as in the
/// `x-amz-checksum-<algorithm>` header: `crc32`, `crc32c`, `crc64nvme`, `sha1`,
/// `sha256`) → base64 value as the client sees it.
pub type Checksums = BTreeMap<String, String>;

/// Everything stored alongside an object's bytes. The store persists it
/// verbatim and never interprets it beyond `etag`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMeta {
    /// Entity tag without quotes: hex MD5 for single writes, `<hex>-<N>` for multipart.
    pub etag: String,
    /// Standard content headers by lowercase name (`content-type`, `content-encoding`,
    /// `content-disposition`, `content-language`, `cache-control`, `expires`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// User metadata (`x-amz-meta-*`) by lowercase name without the prefix.
    #[serde(default)]
    pub user: BTreeMap<String, String>,
    /// Whole-object checksums.
    #[serde(default)]
    pub checksums: Checksums,
    /// `FULL_OBJECT` or `COMPOSITE` when `checksums` is not empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_type: Option<String>,
    /// Object tags (`key` → `value`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// An object's metadata as returned by reads and listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// The object key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// When the current version was committed.
    pub last_modified: SystemTime,
    /// Stored metadata (etag, headers, user metadata, checksums).
    pub meta: ObjectMeta,
    /// Sizes of the parts of a multipart object, in order; empty for single writes.
    pub part_sizes: Vec<u64>,
    /// Per-part checksums of a multipart object (same order as `part_sizes`).
    pub part_checksums: Vec<Checksums>,
}

/// An entry in a listing page: an object's summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSummary {
    /// The object key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// When the current version was committed.
    pub last_modified: SystemTime,
    /// Entity tag without quotes.
    pub etag: String,
    /// Checksum algorithm names stored with the object (for `ChecksumAlgorithm`).
    pub checksum_algorithms: Vec<String>,
    /// `FULL_OBJECT` or `COMPOSITE` when the object has checksums (for
    /// `ChecksumType`), from [`ObjectMeta::checksum_type`].
    pub checksum_type: Option<String>,
}

/// What to list: the S3 listing semantics in store terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// Only keys starting with this.
    pub prefix: String,
    /// Group keys sharing `prefix + … + delimiter` into one common prefix.
    pub delimiter: Option<String>,
    /// Return only keys (and common prefixes) strictly greater than this.
    pub start_after: Option<String>,
    /// At most this many entries (keys plus common prefixes); 0 returns an empty page.
    pub max_keys: usize,
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPage {
    /// Objects, in UTF-8 byte order.
    pub objects: Vec<ObjectSummary>,
    /// Common prefixes (each ending with the delimiter), in byte order.
    pub common_prefixes: Vec<String>,
    /// True when more entries follow.
    pub is_truncated: bool,
    /// The last key or common prefix in this page (the marker for the next page),
    /// set when `is_truncated`.
    pub next_marker: Option<String>,
}

/// A condition checked atomically with a write or delete against the current object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum WriteCondition {
    /// No condition.
    #[default]
    None,
    /// Only if no object exists under the key (`If-None-Match: *`).
    IfNoneMatch,
    /// Only if the current object's etag (unquoted) equals this (`If-Match`);
    /// `*` matches any existing object. On a missing key the operation fails
    /// with `NoSuchKey`, not `PreconditionFailed` (S3 answers 404 there).
    IfMatch(String),
}

/// An in-progress multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadInfo {
    /// The upload id (opaque, URL-safe).
    pub upload_id: String,
    /// The key the upload will create.
    pub key: String,
    /// When it was created.
    pub initiated: SystemTime,
    /// Metadata the completed object will carry.
    pub meta: ObjectMeta,
}

/// A committed part of a multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartInfo {
    /// 1..=10000.
    pub part_number: u32,
    /// Size in bytes.
    pub size: u64,
    /// Hex MD5 without quotes.
    pub etag: String,
    /// When the part was committed.
    pub last_modified: SystemTime,
    /// Checksums sent with the part.
    pub checksums: Checksums,
}
