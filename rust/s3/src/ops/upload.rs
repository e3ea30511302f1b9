//! Receiving object bytes: streams the decoded payload into a store writer
//! while hashing it (MD5 for the ETag, the requested `x-amz-checksum-*`), then
//! verifies every digest the client sent — before the caller commits, so a
//! body that fails verification is never stored. (`x-amz-content-sha256` and
//! chunk signatures are verified by [`RequestBody`] itself.)

use crate::body::RequestBody;
use crate::checksum::{BodyHasher, ChecksumAlgorithm};
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
    let mut hasher = BodyHasher::new(true, false, &algorithms);
    let mut size = 0u64;
    while let Some(chunk) = body.next_chunk().await? {
        size += chunk.len() as u64;
        if size > max_size {
            return Err(too_large(size));
        }
        hasher.update(&chunk);
        sink.write(chunk).await?;
    }
    let digests = hasher.finish();
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
