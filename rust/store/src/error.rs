//! The one error type of the store crate.

/// Why a store operation failed. The protocol layer maps each variant to an S3 error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The bucket does not exist.
    #[error("bucket {0:?} does not exist")]
    NoSuchBucket(String),
    /// The key does not exist.
    #[error("key {0:?} does not exist")]
    NoSuchKey(String),
    /// The multipart upload does not exist (never did, completed or aborted).
    #[error("upload {0:?} does not exist")]
    NoSuchUpload(String),
    /// The bucket name is taken; `owner` is the current owner's access key id.
    #[error("bucket {bucket:?} already exists")]
    BucketAlreadyExists {
        /// The bucket name.
        bucket: String,
        /// Who owns it.
        owner: Option<String>,
    },
    /// The bucket still holds objects or uploads.
    #[error("bucket {0:?} is not empty")]
    BucketNotEmpty(String),
    /// The bucket name breaks S3's naming rules; the message says which.
    #[error("invalid bucket name {name:?}: {reason}")]
    InvalidBucketName {
        /// The rejected name.
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// The key cannot be stored (empty, over 1024 bytes, NUL byte, …).
    #[error("invalid key {key:?}: {reason}")]
    InvalidKey {
        /// The rejected key (lossy for display).
        key: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// A [`WriteCondition`](crate::WriteCondition) did not hold.
    #[error("precondition failed")]
    PreconditionFailed,
    /// A part listed for completion is missing or its etag differs.
    #[error("part {part_number} is missing or its etag differs")]
    InvalidPart {
        /// The offending part number.
        part_number: u32,
    },
    /// The filesystem is full (ENOSPC / EDQUOT).
    #[error("storage is full: {0}")]
    StorageFull(std::io::Error),
    /// Any other I/O failure, with what the store was doing.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, naming the path.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Stored metadata could not be read back (corrupt or foreign file).
    #[error("corrupt metadata at {path}: {reason}")]
    Corrupt {
        /// The file.
        path: String,
        /// What was wrong.
        reason: String,
    },
}

impl StoreError {
    /// Wraps an I/O error with context, classifying "disk full" separately.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        match source.raw_os_error() {
            Some(code) if code == libc::ENOSPC || code == libc::EDQUOT => StoreError::StorageFull(source),
            _ => StoreError::Io { context: context.into(), source },
        }
    }
}
