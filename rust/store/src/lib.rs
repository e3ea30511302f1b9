//! Object storage for SmartStorage.
//!
//! [`ObjectStore`] is the one interface the S3 protocol layer talks to. It knows
//! buckets, keys, byte streams and opaque metadata maps — nothing of HTTP, XML or
//! signatures. [`FileStore`] implements it over one local directory; a cluster
//! store implements it over erasure-coded shards on several nodes.

pub mod error;
pub mod names;
pub mod types;

mod file_store;

pub use error::StoreError;
pub use file_store::{FileStore, FileStoreConfig};
pub use types::*;

use async_trait::async_trait;
use bytes::Bytes;
use std::ops::Range;
use std::pin::Pin;
use std::time::SystemTime;

/// A stream of object bytes. Chunks arrive in order; an `Err` ends the stream.
pub type ByteStream =
    Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, StoreError>> + Send + 'static>>;

/// Shorthand for results of store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// Where objects live. Every method is safe to call concurrently; every write
/// is atomic (visible whole or not at all) and, unless the store was configured
/// otherwise, durable once it returns `Ok`.
///
/// Conditions ([`WriteCondition`]) are checked atomically with the change they
/// guard. `IfMatch` on a missing key fails with [`StoreError::NoSuchKey`] (what
/// S3 answers: 404, not 412); `IfNoneMatch` on an existing one, or `IfMatch`
/// with another etag, fails with [`StoreError::PreconditionFailed`].
///
/// Names passed in are already validated by the caller with [`names`]; stores
/// validate again and answer [`StoreError::InvalidBucketName`] /
/// [`StoreError::InvalidKey`] rather than trusting them.
#[async_trait]
pub trait ObjectStore: Send + Sync + 'static {
    // ---- buckets ----

    /// Creates `bucket`, owned by `owner` (an access key id; `None` when auth is off).
    /// Fails with `BucketAlreadyExists { owner }` when the name is taken, so the caller
    /// can tell "yours" from "someone else's".
    async fn create_bucket(&self, bucket: &str, owner: Option<&str>) -> StoreResult<BucketInfo>;

    /// Deletes an empty bucket (`BucketNotEmpty` while it holds objects or uploads),
    /// together with every bucket config document.
    async fn delete_bucket(&self, bucket: &str) -> StoreResult<()>;

    /// Returns the bucket's info, or `NoSuchBucket`.
    async fn head_bucket(&self, bucket: &str) -> StoreResult<BucketInfo>;

    /// All buckets, sorted by name.
    async fn list_buckets(&self) -> StoreResult<Vec<BucketInfo>>;

    /// Reads an opaque per-bucket config document (`kind` is e.g. "policy", "cors",
    /// "tagging"); `Ok(None)` when unset.
    async fn get_bucket_config(&self, bucket: &str, kind: &str) -> StoreResult<Option<Bytes>>;

    /// Stores (`Some`) or removes (`None`) a per-bucket config document, atomically.
    async fn put_bucket_config(&self, bucket: &str, kind: &str, doc: Option<Bytes>) -> StoreResult<()>;

    // ---- objects ----

    /// Starts writing `key`. Nothing is visible until [`ObjectWriter::commit`];
    /// dropping the writer discards everything written.
    async fn put_object(&self, bucket: &str, key: &str) -> StoreResult<Box<dyn ObjectWriter>>;

    /// Metadata of `key` without its bytes, or `NoSuchKey`.
    async fn head_object(&self, bucket: &str, key: &str) -> StoreResult<ObjectInfo>;

    /// Opens `key` for reading: the returned reader is a consistent snapshot — its
    /// info and its bytes belong to the same write, even if the key is overwritten
    /// or deleted while it is being read.
    async fn open_object(&self, bucket: &str, key: &str) -> StoreResult<Box<dyn ObjectReader>>;

    /// Deletes `key`. Deleting a missing key is `Ok(false)`; `Ok(true)` when something
    /// was removed. `condition` is checked atomically against the current object.
    async fn delete_object(&self, bucket: &str, key: &str, condition: &WriteCondition) -> StoreResult<bool>;

    /// Replaces the metadata of `key`'s current version, atomically, without
    /// touching its bytes (used by object tagging). The version keeps its data,
    /// size and `last_modified` (S3 keeps LastModified on tagging changes), and
    /// the fields of `meta` that describe the bytes — `etag`, `checksums`,
    /// `checksum_type` — are ignored: the current values stay. Everything else
    /// (headers, user metadata, tags) is replaced by `meta`'s.
    ///
    /// `condition` is checked atomically against the current object; callers that
    /// read the metadata first should pass `IfMatch(etag)` so a concurrent
    /// overwrite is not clobbered (`PreconditionFailed` then, so they can re-read
    /// and retry). Fails with `NoSuchKey` when the key does not exist. Returns the
    /// updated info. Readers opened before the update keep their snapshot.
    async fn update_object_meta(&self, bucket: &str, key: &str, meta: ObjectMeta, condition: &WriteCondition) -> StoreResult<ObjectInfo>;

    /// One page of keys in UTF-8 byte order, grouped by `delimiter` when given.
    async fn list_objects(&self, bucket: &str, query: &ListQuery) -> StoreResult<ListPage>;

    // ---- multipart ----

    /// Starts a multipart upload; `meta` is what the completed object will carry
    /// (its `etag` is ignored and set at completion).
    async fn create_multipart(&self, bucket: &str, key: &str, meta: ObjectMeta) -> StoreResult<UploadInfo>;

    /// Starts writing part `part_number` (1..=10000) of an upload; a part written
    /// again replaces the earlier one when committed.
    async fn put_part(&self, bucket: &str, key: &str, upload_id: &str, part_number: u32)
        -> StoreResult<Box<dyn PartWriter>>;

    /// The upload's info (key, initiation time, metadata of the future object)
    /// without its parts: a cheap lookup for UploadPart and friends.
    /// `NoSuchUpload` when the id is unknown, belongs to another key, or the
    /// upload was completed or aborted.
    async fn upload_info(&self, bucket: &str, key: &str, upload_id: &str) -> StoreResult<UploadInfo>;

    /// The upload's info and its committed parts, sorted by part number.
    async fn list_parts(&self, bucket: &str, key: &str, upload_id: &str) -> StoreResult<(UploadInfo, Vec<PartInfo>)>;

    /// Turns the chosen parts (in the given ascending order) into the object `key`,
    /// without copying their bytes: the cost is O(parts). Each `(number, etag)` must
    /// match a committed part (`InvalidPart` otherwise). `meta` is the final object
    /// metadata (its etag computed by the caller). The upload is gone afterwards.
    async fn complete_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
        meta: ObjectMeta,
        condition: &WriteCondition,
    ) -> StoreResult<ObjectInfo>;

    /// Discards an upload and all its parts (`NoSuchUpload` if unknown).
    async fn abort_multipart(&self, bucket: &str, key: &str, upload_id: &str) -> StoreResult<()>;

    /// All in-progress uploads of `bucket`, sorted by (key, initiated, upload id).
    async fn list_uploads(&self, bucket: &str) -> StoreResult<Vec<UploadInfo>>;

    /// Aborts every upload initiated before `cutoff`; returns how many were removed.
    async fn cleanup_uploads(&self, cutoff: SystemTime) -> StoreResult<usize>;
}

/// Receives the bytes of one object being written. Dropping it without
/// [`commit`](Self::commit) leaves no trace (no object, no temp file).
#[async_trait]
pub trait ObjectWriter: Send {
    /// Appends bytes. May buffer; errors such as a full disk surface here or at commit.
    async fn write(&mut self, chunk: Bytes) -> StoreResult<()>;

    /// Bytes accepted so far.
    fn written(&self) -> u64;

    /// Makes the object visible atomically with `meta`, replacing any previous version,
    /// after checking `condition` against the current object under the key's lock.
    async fn commit(self: Box<Self>, meta: ObjectMeta, condition: &WriteCondition) -> StoreResult<ObjectInfo>;
}

/// Receives the bytes of one multipart part. Dropping it without commit discards it.
#[async_trait]
pub trait PartWriter: Send {
    /// Appends bytes.
    async fn write(&mut self, chunk: Bytes) -> StoreResult<()>;

    /// Bytes accepted so far.
    fn written(&self) -> u64;

    /// Stores the part under its number with the given etag (hex MD5, unquoted) and
    /// checksums; fails with `NoSuchUpload` if the upload was aborted meanwhile.
    async fn commit(self: Box<Self>, etag: String, checksums: Checksums) -> StoreResult<PartInfo>;
}

/// A consistent, opened snapshot of one object.
pub trait ObjectReader: Send {
    /// The object's metadata at the time it was opened.
    fn info(&self) -> &ObjectInfo;

    /// Streams the bytes in `range` (byte offsets, end exclusive, within `0..size`).
    fn stream(self: Box<Self>, range: Range<u64>) -> ByteStream;
}
