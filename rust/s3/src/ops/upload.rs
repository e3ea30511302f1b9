//! Receiving object bytes: streams the decoded payload into a store writer
//! while hashing it (MD5 for the ETag, the requested `x-amz-checksum-*`), then
//! verifies every digest the client sent — before the caller commits, so a
//! body that fails verification is never stored. (`x-amz-content-sha256` and
//! chunk signatures are verified by [`RequestBody`] itself.)

use crate::body::RequestBody;
use crate::checksum::{BodyDigests, BodyHasher, ChecksumAlgorithm};
use crate::dispatch::Ctx;
use crate::error::{S3Error, S3Result};
use crate::xml::MAX_XML_BODY;
use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use smartstorage_store::{ByteStream, Checksums, ObjectWriter, PartWriter, StoreResult};

/// Where received bytes go: an object writer, a part writer, or memory.
#[async_trait]
pub trait BodySink: Send {
    /// Appends a chunk.
    async fn write(&mut self, chunk: Bytes) -> StoreResult<()>;
}

#[async_trait]
impl BodySink for Box<dyn ObjectWriter> {
    async fn write(&mut self, chunk: Bytes) -> StoreResult<()> {
        (**self).write(chunk).await
    }
}

#[async_trait]
impl BodySink for Box<dyn PartWriter> {
    async fn write(&mut self, chunk: Bytes) -> StoreResult<()> {
        (**self).write(chunk).await
    }
}

#[async_trait]
impl BodySink for BytesMut {
    async fn write(&mut self, chunk: Bytes) -> StoreResult<()> {
        self.extend_from_slice(&chunk);
        Ok(())
    }
}

/// What was received: size and digests, all verified.
#[derive(Debug, Clone)]
pub struct ReceivedBody {
    /// Payload bytes.
    pub size: u64,
    /// MD5 of the payload (the ETag of a single PUT).
    pub md5: [u8; 16],
    /// Checksums computed (and, where the client sent values, verified):
    /// algorithm name → base64.
    pub checksums: Checksums,
}

/// The digests a request promises, from its headers.
#[derive(Debug, Default)]
struct Expectations {
    content_md5: Option<[u8; 16]>,
    algorithm: Option<ChecksumAlgorithm>,
    /// The checksum value from a header (`None`: from the trailer or not sent).
    header_value: Option<String>,
    /// The checksum value comes in the aws-chunked trailer.
    in_trailer: bool,
}

fn expectations(ctx: &Ctx) -> S3Result<Expectations> {
    let mut exp = Expectations::default();
    if let Some(md5) = ctx.header("content-md5") {
        exp.content_md5 = Some(crate::checksum::parse_content_md5(md5)?);
    }
    for algo in ChecksumAlgorithm::ALL {
        if let Some(value) = ctx.header(algo.header_name()) {
            if exp.algorithm.is_some() {
                return Err(S3Error::invalid_request(
                    "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
                ));
            }
            crate::checksum::validate_checksum_value(algo, value)?;
            exp.algorithm = Some(algo);
            exp.header_value = Some(value.to_string());
        }
    }
    if let Some(trailer) = ctx.header("x-amz-trailer") {
        for name in trailer.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let algo = name
                .to_ascii_lowercase()
                .strip_prefix("x-amz-checksum-")
                .and_then(ChecksumAlgorithm::from_name)
                .ok_or_else(|| S3Error::invalid_request(format!("The value specified in the x-amz-trailer header is not supported: {name:?}")))?;
            if exp.algorithm.is_some_and(|a| a != algo) {
                return Err(S3Error::invalid_request(
                    "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
                ));
            }
            exp.algorithm = Some(algo);
            exp.in_trailer = true;
        }
    }
    for header in ["x-amz-sdk-checksum-algorithm", "x-amz-checksum-algorithm"] {
        if let Some(name) = ctx.header(header) {
            let algo = ChecksumAlgorithm::from_name(name).ok_or_else(|| {
                S3Error::invalid_request(format!("Checksum algorithm {name:?} given in {header} is not supported"))
            })?;
            match exp.algorithm {
                Some(a) if a != algo => {
                    return Err(S3Error::invalid_request(format!(
                        "Value for {header} header is invalid: {name:?} does not match the checksum sent"
                    )));
                }
                _ => exp.algorithm = Some(algo),
            }
        }
    }
    Ok(exp)
}

/// Bodies declared at least this long are hashed on a blocking thread while
/// the next chunks arrive and earlier ones are written: MD5 runs at ~600 MB/s
/// on one core, so hashing inline would take turns with receiving and make
/// their sum the ceiling of one upload. Smaller bodies are hashed inline,
/// where a thread hop would cost more than the hashing.
const PARALLEL_HASH_MIN_BYTES: u64 = 8 << 20;

/// Bytes of chunks grouped into one message to the hashing thread: one
/// channel hop (and, when either side waits, one thread wake-up) per 1 MiB
/// instead of one per hyper read (at most 128 KiB).
const HASH_GROUP_BYTES: usize = 1 << 20;

/// Groups queued for the hashing thread: bounds what a fast client can pin in
/// memory ahead of the hasher (4 MiB per upload), and keeps ~7 ms of MD5 work
/// waiting for it, so the hasher — the ceiling of a single upload — rides out
/// the receiver's short stalls (page-cache allocation, a 1 MiB write) instead
/// of idling. With 2 groups the hasher waited out ~5% of a 1 GiB upload, with
/// 4 or 8 1–3%: single-stream PUTs went from 407–511 to 478–516 MB/s here
/// (8: 481–530, no clear gain for twice the memory).
const HASH_QUEUE_GROUPS: usize = 4;

/// Where the body hashes are computed.
// One lives on the stack of each upload; boxing the inline hasher would only
// add an allocation per request.
#[allow(clippy::large_enum_variant)]
enum Hashing {
    /// On the request's task, chunk by chunk.
    Inline(BodyHasher),
    /// On a blocking thread fed groups of chunks through a bounded channel.
    /// Dropping the sender (request done, failed or cancelled) ends the thread.
    Thread { tx: tokio::sync::mpsc::Sender<Vec<Bytes>>, task: tokio::task::JoinHandle<BodyDigests>, group: ChunkGroup },
}

impl Hashing {
    fn new(hasher: BodyHasher, declared_len: Option<u64>) -> Self {
        if declared_len.is_none_or(|n| n < PARALLEL_HASH_MIN_BYTES) {
            return Hashing::Inline(hasher);
        }
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Bytes>>(HASH_QUEUE_GROUPS);
        let task = tokio::task::spawn_blocking(move || {
            let mut hasher = hasher;
            while let Some(group) = rx.blocking_recv() {
                for chunk in &group {
                    hasher.update(chunk);
                }
            }
            hasher.finish()
        });
        Hashing::Thread { tx, task, group: ChunkGroup::default() }
    }

    async fn update(&mut self, chunk: &Bytes) -> S3Result<()> {
        match self {
            Hashing::Inline(hasher) => {
                hasher.update(chunk);
                Ok(())
            }
            Hashing::Thread { tx, group, .. } => match group.add(chunk) {
                Some(full) => tx.send(full).await.map_err(|_| hashing_failed()),
                None => Ok(()),
            },
        }
    }

    async fn finish(self) -> S3Result<BodyDigests> {
        match self {
            Hashing::Inline(hasher) => Ok(hasher.finish()),
            Hashing::Thread { tx, task, mut group } => {
                if !group.chunks.is_empty() {
                    tx.send(group.take()).await.map_err(|_| hashing_failed())?;
                }
                drop(tx);
                task.await.map_err(|_| hashing_failed())
            }
        }
    }
}

/// Chunks collected for the next message to the hashing thread.
#[derive(Default)]
struct ChunkGroup {
    /// The chunks, in body order (clones of `Bytes` share the buffers).
    chunks: Vec<Bytes>,
    /// Their total length.
    len: usize,
}

impl ChunkGroup {
    /// Adds `chunk`; returns the group once it holds [`HASH_GROUP_BYTES`].
    fn add(&mut self, chunk: &Bytes) -> Option<Vec<Bytes>> {
        self.len += chunk.len();
        self.chunks.push(chunk.clone());
        (self.len >= HASH_GROUP_BYTES).then(|| self.take())
    }

    /// The chunks collected so far, leaving the group empty.
    fn take(&mut self) -> Vec<Bytes> {
        self.len = 0;
        std::mem::take(&mut self.chunks)
    }
}

fn hashing_failed() -> S3Error {
    S3Error::internal_error("The server could not hash the request body; please retry.")
}

/// Streams the request payload into `sink`, hashing and verifying it. More
/// than `max_size` bytes → EntityTooLarge (checked up front against the
/// declared length, and again as bytes arrive).
pub async fn receive_body(ctx: &Ctx, body: &mut RequestBody, sink: &mut dyn BodySink, max_size: u64) -> S3Result<ReceivedBody> {
    let exp = expectations(ctx)?;
    let too_large = |size: u64| {
        S3Error::entity_too_large("Your proposed upload exceeds the maximum allowed object size.")
            .with_field("ProposedSize", size.to_string())
            .with_field("MaxSizeAllowed", max_size.to_string())
    };
    if let Some(declared) = body.declared_len().filter(|&n| n > max_size) {
        return Err(too_large(declared));
    }
    let algorithms: Vec<ChecksumAlgorithm> = exp.algorithm.into_iter().collect();
    let mut hashing = Hashing::new(BodyHasher::new(true, false, &algorithms), body.declared_len());
    let mut size = 0u64;
    while let Some(chunk) = body.next_chunk().await? {
        size += chunk.len() as u64;
        if size > max_size {
            return Err(too_large(size));
        }
        hashing.update(&chunk).await?;
        sink.write(chunk).await?;
    }
    let digests = hashing.finish().await?;
    let md5 = digests.md5.unwrap_or_default();
    if let Some(expected) = &exp.content_md5 {
        crate::checksum::verify_content_md5(expected, &md5)?;
    }
    if let Some(algo) = exp.algorithm {
        let sent = if exp.in_trailer { Some(trailer_checksum(body, algo)?) } else { exp.header_value.clone() };
        if let Some(sent) = sent {
            crate::checksum::validate_checksum_value(algo, &sent)?;
            digests.verify_checksum(algo, &sent)?;
        }
    }
    let checksums = digests.to_store_checksums();
    Ok(ReceivedBody { size, md5, checksums })
}

/// The checksum the client sent in the aws-chunked trailer it declared.
fn trailer_checksum(body: &RequestBody, algo: ChecksumAlgorithm) -> S3Result<String> {
    body.trailers().get(algo.header_name()).and_then(|v| v.to_str().ok()).map(str::to_string).ok_or_else(|| {
        S3Error::new(
            "MalformedTrailerError",
            http::StatusCode::BAD_REQUEST,
            format!("The request declared x-amz-trailer: {} but the trailer was not sent", algo.header_name()),
        )
    })
}

/// Reads a small request document (XML) into memory, verifying its
/// Content-MD5 / checksums like any other body.
pub async fn receive_document(ctx: &Ctx, mut body: RequestBody) -> S3Result<Bytes> {
    let mut buf = BytesMut::new();
    receive_body(ctx, &mut body, &mut buf, MAX_XML_BODY as u64).await?;
    Ok(buf.freeze())
}

/// Copies a stored object's bytes into `sink`, computing MD5 and `algorithms`.
pub async fn copy_into(mut stream: ByteStream, sink: &mut dyn BodySink, algorithms: &[ChecksumAlgorithm]) -> S3Result<ReceivedBody> {
    let mut hasher = BodyHasher::new(true, false, algorithms);
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        size += chunk.len() as u64;
        hasher.update(&chunk);
        sink.write(chunk).await?;
    }
    let digests = hasher.finish();
    Ok(ReceivedBody { size, md5: digests.md5.unwrap_or_default(), checksums: digests.to_store_checksums() })
}
