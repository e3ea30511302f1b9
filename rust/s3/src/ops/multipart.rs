//! Multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy,
//! CompleteMultipartUpload and AbortMultipartUpload (ListParts and
//! ListMultipartUploads live with the other listings in [`super::list`]),
//! plus [`part_range`] for GET/HEAD with `partNumber`.
//!
//! **Upload checksum settings.** `x-amz-checksum-algorithm` /
//! `x-amz-checksum-type` of CreateMultipartUpload are recorded in the upload's
//! [`ObjectMeta`]: the algorithm as an entry of `meta.checksums` with an
//! *empty* value (e.g. `"crc32" → ""`), the type in `meta.checksum_type`.
//! [`upload_checksum`] reads them back. Completion replaces the placeholder
//! with the object's real checksum, so no empty value ever reaches an object.
//!
//! When an upload has an algorithm, every part gets that checksum: verified
//! if the client sent it, computed here while the part streams in if not. So
//! completion can always derive the object checksum from part checksums alone,
//! and completing stays O(parts): no part byte is read again.

use crate::body::{PayloadMode, RequestBody};
use crate::checksum::{
    BodyHasher, ChecksumAlgorithm, ChecksumType, composite_checksum, full_object_checksum, parse_content_md5,
    validate_checksum_type, verify_content_md5,
};
use crate::dispatch::Ctx;
use crate::error::{S3Error, S3Result};
use crate::ops::meta::object_meta_from_headers;
use crate::ops::object::{open_copy_source, parse_copy_source, write_condition};
use crate::ops::upload::{BodySink, copy_into, receive_body};
use crate::response::{S3Response, empty, set_header, xml};
use crate::xml::multipart::*;
use crate::xml::object::CopyObjectResult;
use crate::xml::{S3_XMLNS, from_xml, iso8601, to_xml};
use async_trait::async_trait;
use bytes::Bytes;
use http::StatusCode;
use md5::{Digest, Md5};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use smartstorage_store::{Checksums, ObjectInfo, ObjectMeta, PartInfo, StoreError, StoreResult, WriteCondition, names};
use std::ops::Range;

/// Largest part number S3 accepts.
pub const MAX_PART_NUMBER: u32 = 10_000;

/// Smallest size of every part but the last (S3: 5 MiB), checked at completion.
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

/// Largest part (S3: 5 GiB), for UploadPart bodies and UploadPartCopy ranges.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// Largest CompleteMultipartUpload body: 10000 `<Part>` elements carrying every
/// checksum element stay under 3 MiB; more is abuse.
pub const MAX_COMPLETE_BODY: usize = 4 * 1024 * 1024;

/// Characters escaped in the `Location` URL path: all but RFC 3986 unreserved and `/`.
const LOCATION_ESCAPES: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');

/// The checksum settings an upload was created with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadChecksum {
    /// `x-amz-checksum-algorithm`.
    pub algorithm: ChecksumAlgorithm,
    /// `x-amz-checksum-type` (or the algorithm's default).
    pub checksum_type: ChecksumType,
}

/// Reads back the settings CreateMultipartUpload recorded in the upload's meta
/// (see the module docs): the algorithm whose `checksums` value is empty.
pub fn upload_checksum(meta: &ObjectMeta) -> Option<UploadChecksum> {
    let (name, _) = meta.checksums.iter().find(|(_, v)| v.is_empty())?;
    let algorithm = ChecksumAlgorithm::from_name(name)?;
    let checksum_type = meta
        .checksum_type
        .as_deref()
        .and_then(ChecksumType::from_name)
        .unwrap_or_else(|| algorithm.default_checksum_type());
    Some(UploadChecksum { algorithm, checksum_type })
}

/// Parses a part number: an integer in 1..=10000, else InvalidArgument.
pub fn parse_part_number(value: &str) -> S3Result<u32> {
    match value.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_PART_NUMBER).contains(&n) => Ok(n),
        _ => Err(S3Error::invalid_argument(format!(
            "Part number must be an integer between 1 and 10000, inclusive; got {value:?}"
        ))
        .with_field("ArgumentName", "partNumber")
        .with_field("ArgumentValue", value.to_string())),
    }
}

/// The `uploadId` query parameter; missing or empty → NoSuchUpload.
pub fn upload_id(ctx: &Ctx) -> S3Result<&str> {
    match ctx.query.get("uploadId") {
        Some(id) if !id.is_empty() => Ok(id),
        _ => Err(StoreError::NoSuchUpload(String::new()).into()),
    }
}

/// The byte range of part `part_number` of an object, and its number of
/// parts, for GET/HEAD with `partNumber`. A single-part object has one part:
/// the whole object (callers send `x-amz-mp-parts-count` only for multipart
/// objects). A part past the end → 416 InvalidPartNumber, as S3 answers.
pub fn part_range(info: &ObjectInfo, part_number: u32) -> S3Result<(Range<u64>, u32)> {
    let sizes: &[u64] = if info.part_sizes.is_empty() { std::slice::from_ref(&info.size) } else { &info.part_sizes };
    let index = (part_number as usize).wrapping_sub(1);
    let Some(&size) = sizes.get(index) else {
        return Err(S3Error::new("InvalidPartNumber", StatusCode::RANGE_NOT_SATISFIABLE, format!(
            "The requested partnumber is not satisfiable: part {part_number} of an object with {} part(s)",
            sizes.len()
        ))
        .with_field("PartNumberRequested", part_number.to_string())
        .with_field("ActualPartCount", sizes.len().to_string()));
    };
    let start: u64 = sizes[..index].iter().sum();
    Ok((start..start + size, sizes.len() as u32))
}

/// The multipart ETag (unquoted): hex MD5 of the concatenated binary MD5s of
/// the parts, then `-<part count>`. `part_etags` are the parts' hex MD5s.
pub fn multipart_etag<S: AsRef<str>>(part_etags: &[S]) -> S3Result<String> {
    let mut hasher = Md5::new();
    for etag in part_etags {
        let raw = hex::decode(etag.as_ref())
            .map_err(|_| S3Error::internal_error(format!("stored part etag {:?} is not hex", etag.as_ref())))?;
        hasher.update(&raw);
    }
    Ok(format!("{}-{}", hex::encode(hasher.finalize()), part_etags.len()))
}

/// The checksum algorithm the request's body declares (`x-amz-checksum-*`
/// header, `x-amz-trailer`, `x-amz-sdk-checksum-algorithm`), as
/// [`receive_body`] will compute it.
fn declared_checksum(ctx: &Ctx) -> Option<ChecksumAlgorithm> {
    if let Some(algo) = ChecksumAlgorithm::ALL.into_iter().find(|a| ctx.headers.contains_key(a.header_name())) {
        return Some(algo);
    }
    let trailer = ctx.header("x-amz-trailer").and_then(|t| t.split(',').find_map(ChecksumAlgorithm::from_header_name));
    trailer.or_else(|| {
        ["x-amz-sdk-checksum-algorithm", "x-amz-checksum-algorithm"]
            .into_iter()
            .find_map(|h| ctx.header(h).and_then(ChecksumAlgorithm::from_name))
    })
}

/// A sink that also hashes what passes through (for the upload's checksum
/// when the client did not send one).
struct HashingSink<'a> {
    inner: &'a mut dyn BodySink,
    hasher: BodyHasher,
}

#[async_trait]
impl BodySink for HashingSink<'_> {
    async fn write(&mut self, chunk: Bytes) -> StoreResult<()> {
        self.hasher.update(&chunk);
        self.inner.write(chunk).await
    }
}

/// Sets `x-amz-checksum-<algo>` for each stored (non-empty) checksum.
fn set_checksum_headers(resp: &mut S3Response, checksums: &Checksums) {
    for (name, value) in checksums.iter().filter(|(_, v)| !v.is_empty()) {
        if let Some(algo) = ChecksumAlgorithm::from_name(name) {
            set_header(resp, algo.header_name(), value);
        }
    }
}

/// `POST /bucket/key?uploads`: starts an upload with the metadata of the
/// request headers and the requested checksum settings.
pub async fn handle_create_multipart_upload(ctx: &Ctx) -> S3Result<S3Response> {
    names::validate_key(ctx.key())?;
    let mut meta = object_meta_from_headers(ctx)?;
    let algorithm = ctx.header("x-amz-checksum-algorithm").map(ChecksumAlgorithm::parse).transpose()?;
    let checksum_type = ctx.header("x-amz-checksum-type").map(ChecksumType::parse).transpose()?;
    let checksum = match (algorithm, checksum_type) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(S3Error::invalid_request(
                "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.",
            ));
        }
        (Some(algorithm), t) => {
            let checksum_type = t.unwrap_or_else(|| algorithm.default_checksum_type());
            validate_checksum_type(algorithm, checksum_type)?;
            Some(UploadChecksum { algorithm, checksum_type })
        }
    };
    meta.checksums.clear();
    meta.checksum_type = None;
    if let Some(c) = checksum {
        meta.checksums.insert(c.algorithm.name().to_string(), String::new());
        meta.checksum_type = Some(c.checksum_type.name().to_string());
    }
    let upload = ctx.store().create_multipart(ctx.bucket(), ctx.key(), meta).await?;
    let doc = InitiateMultipartUploadResult {
        xmlns: S3_XMLNS,
        bucket: ctx.bucket().to_string(),
        key: ctx.key().to_string(),
        upload_id: upload.upload_id,
    };
    let mut resp = xml(to_xml("InitiateMultipartUploadResult", &doc)?);
    if let Some(c) = checksum {
        set_header(&mut resp, "x-amz-checksum-algorithm", c.algorithm.api_name());
        set_header(&mut resp, "x-amz-checksum-type", c.checksum_type.name());
    }
    Ok(resp)
}

/// The part number and upload (with its checksum settings) an UploadPart or
/// UploadPartCopy writes to; NoSuchUpload when the upload is unknown.
async fn target_upload(ctx: &Ctx) -> S3Result<(u32, String, Option<UploadChecksum>)> {
    let part_number = parse_part_number(ctx.query.get("partNumber").unwrap_or(""))?;
    let upload_id = upload_id(ctx)?.to_string();
    let info = ctx.store().upload_info(ctx.bucket(), ctx.key(), &upload_id).await?;
    Ok((part_number, upload_id, upload_checksum(&info.meta)))
}

/// `PUT /bucket/key?partNumber=N&uploadId=U`: stores one part, verifying
/// Content-MD5 and checksums; answers its ETag and checksum headers.
pub async fn handle_upload_part(ctx: &Ctx, mut body: RequestBody) -> S3Result<S3Response> {
    if matches!(body.mode(), PayloadMode::Plain { .. }) && body.declared_len().is_none() {
        return Err(S3Error::missing_content_length("You must provide the Content-Length HTTP header."));
    }
    let (part_number, upload_id, checksum) = target_upload(ctx).await?;
    let declared = declared_checksum(ctx);
    if let (Some(c), Some(sent)) = (checksum, declared)
        && c.algorithm != sent
    {
        return Err(S3Error::invalid_request(format!(
            "Checksum Type mismatch occurred, expected checksum Type: {}, actual checksum Type: {}",
            c.algorithm.name(),
            sent.name()
        )));
    }
    let mut writer = ctx.store().put_part(ctx.bucket(), ctx.key(), &upload_id, part_number).await?;
    let received = match checksum.map(|c| c.algorithm).filter(|a| declared != Some(*a)) {
        None => receive_body(ctx, &mut body, &mut writer as &mut dyn BodySink, MAX_PART_SIZE).await?,
        Some(algo) => {
            let mut sink = HashingSink { inner: &mut writer, hasher: BodyHasher::new(false, false, [algo]) };
            let mut received = receive_body(ctx, &mut body, &mut sink, MAX_PART_SIZE).await?;
            received.checksums.extend(sink.hasher.finish().to_store_checksums());
            received
        }
    };
    let part = writer.commit(hex::encode(received.md5), received.checksums).await?;
    let mut resp = empty(StatusCode::OK);
    set_header(&mut resp, "etag", &format!("\"{}\"", part.etag));
    set_checksum_headers(&mut resp, &part.checksums);
    Ok(resp)
}

/// `PUT /bucket/key?partNumber=N&uploadId=U` with `x-amz-copy-source`: streams
/// (a range of) an existing object into the part, honouring the
/// `x-amz-copy-source-if-*` preconditions; answers CopyPartResult.
pub async fn handle_upload_part_copy(ctx: &Ctx) -> S3Result<S3Response> {
    let (part_number, upload_id, checksum) = target_upload(ctx).await?;
    let source = parse_copy_source(ctx)?;
    let reader = open_copy_source(ctx, &source).await?;
    let size = reader.info().size;
    let range = match ctx.header("x-amz-copy-source-range") {
        Some(h) => crate::range::parse_copy_source_range(h, size)?,
        None => 0..size,
    };
    if range.end - range.start > MAX_PART_SIZE {
        return Err(S3Error::invalid_request(format!(
            "The specified copy range is larger than the maximum allowable size for a part: {} > {MAX_PART_SIZE} bytes",
            range.end - range.start
        )));
    }
    let algorithms: Vec<ChecksumAlgorithm> = checksum.map(|c| c.algorithm).into_iter().collect();
    let mut writer = ctx.store().put_part(ctx.bucket(), ctx.key(), &upload_id, part_number).await?;
    let copied = copy_into(reader.stream(range), &mut writer as &mut dyn BodySink, &algorithms).await?;
    let part = writer.commit(hex::encode(copied.md5), copied.checksums).await?;
    let doc = CopyObjectResult::new(&part.etag, &iso8601(part.last_modified), &part.checksums);
    let mut resp = xml(to_xml("CopyPartResult", &doc)?);
    set_checksum_headers(&mut resp, &part.checksums);
    Ok(resp)
}

/// `DELETE /bucket/key?uploadId=U`: discards the upload and its parts (204).
pub async fn handle_abort_multipart_upload(ctx: &Ctx) -> S3Result<S3Response> {
    ctx.store().abort_multipart(ctx.bucket(), ctx.key(), upload_id(ctx)?).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// Reads and parses the CompleteMultipartUpload body, verifying its Content-MD5.
/// (Its `x-amz-checksum-*` headers describe the *object*, not this document.)
async fn read_completion(ctx: &Ctx, body: RequestBody) -> S3Result<Vec<CompletedPart>> {
    let doc = body
        .read_to_bytes(MAX_COMPLETE_BODY, || {
            S3Error::malformed_xml(format!("The CompleteMultipartUpload document exceeds {MAX_COMPLETE_BODY} bytes"))
        })
        .await?;
    if let Some(md5) = ctx.header("content-md5") {
        let expected = parse_content_md5(md5)?;
        verify_content_md5(&expected, &Md5::digest(&doc).into())?;
    }
    if doc.iter().all(u8::is_ascii_whitespace) {
        return Err(S3Error::malformed_xml(
            "The XML you provided was not well-formed or did not validate against our published schema (empty body)",
        ));
    }
    let parsed: CompleteMultipartUpload = from_xml(&doc)?;
    if parsed.parts.is_empty() {
        return Err(S3Error::malformed_xml(
            "The XML you provided was not well-formed or did not validate against our published schema (no Part listed)",
        ));
    }
    let mut previous = 0u32;
    for part in &parsed.parts {
        parse_part_number(&part.part_number.to_string())?;
        if part.part_number <= previous {
            return Err(S3Error::invalid_part_order(
                "The list of parts was not in ascending order. Parts must be ordered by part number.",
            )
            .with_field("PartNumber", part.part_number.to_string()));
        }
        previous = part.part_number;
    }
    Ok(parsed.parts)
}

fn invalid_part(part: &CompletedPart, why: &str) -> S3Error {
    S3Error::invalid_part(format!(
        "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag. (part {}: {why})",
        part.part_number
    ))
    .with_field("PartNumber", part.part_number.to_string())
    .with_field("ETag", part.etag.clone())
}

/// Matches the requested parts with the committed ones (ETag and any listed
/// checksum must agree → InvalidPart), then checks the 5 MiB minimum of every
/// part but the last (EntityTooSmall). O(requested · log committed).
fn choose_parts<'a>(requested: &[CompletedPart], committed: &'a [PartInfo]) -> S3Result<Vec<&'a PartInfo>> {
    let mut chosen = Vec::with_capacity(requested.len());
    for want in requested {
        let found = committed
            .binary_search_by_key(&want.part_number, |p| p.part_number)
            .map(|idx| &committed[idx])
            .map_err(|_| invalid_part(want, "not uploaded"))?;
        let etag = want.etag.trim().trim_start_matches("W/").trim_matches('"');
        if !etag.eq_ignore_ascii_case(&found.etag) {
            return Err(invalid_part(want, "ETag differs"));
        }
        for (algo, value) in want.checksums() {
            if found.checksums.get(algo).map(String::as_str) != Some(value) {
                return Err(invalid_part(want, &format!("{} checksum differs", algo.to_ascii_uppercase())));
            }
        }
        chosen.push(found);
    }
    let all_but_last = &chosen[..chosen.len().saturating_sub(1)];
    if let Some(small) = all_but_last.iter().find(|p| p.size < MIN_PART_SIZE) {
        return Err(S3Error::entity_too_small("Your proposed upload is smaller than the minimum allowed object size.")
            .with_field("ProposedSize", small.size.to_string())
            .with_field("MinSizeAllowed", MIN_PART_SIZE.to_string())
            .with_field("PartNumber", small.part_number.to_string())
            .with_field("ETag", small.etag.clone()));
    }
    Ok(chosen)
}

/// The object checksum of a completion and its type, from the part checksums:
/// the upload's algorithm combined as its type asks; or, for an upload created
/// without one, a `FULL_OBJECT` CRC when every part carries the same CRC (the
/// SDKs' default per-part CRC32). Any object checksum the client sent in
/// `x-amz-checksum-*` is verified (BadDigest); `x-amz-checksum-type` must match.
fn object_checksum(ctx: &Ctx, upload: Option<UploadChecksum>, parts: &[&PartInfo]) -> S3Result<(Checksums, Option<String>)> {
    let sent_type = ctx.header("x-amz-checksum-type").map(ChecksumType::parse).transpose()?;
    let sent: Vec<(ChecksumAlgorithm, &str)> =
        ChecksumAlgorithm::ALL.into_iter().filter_map(|a| ctx.header(a.header_name()).map(|v| (a, v.trim()))).collect();
    let all_parts_have = |algo: ChecksumAlgorithm| parts.iter().all(|p| p.checksums.get(algo.name()).is_some_and(|v| !v.is_empty()));
    let settings = match upload {
        Some(c) => Some(c),
        None => {
            // Derive from what the parts carry: the requested algorithm, else a common CRC.
            let candidate = sent.first().map(|(a, _)| *a).or_else(|| {
                ChecksumAlgorithm::ALL.into_iter().find(|a| a.is_crc() && all_parts_have(*a))
            });
            match candidate {
                Some(algorithm) if all_parts_have(algorithm) => {
                    let checksum_type = sent_type.unwrap_or(if algorithm.is_crc() { ChecksumType::FullObject } else { ChecksumType::Composite });
                    validate_checksum_type(algorithm, checksum_type)?;
                    Some(UploadChecksum { algorithm, checksum_type })
                }
                Some(algorithm) if !sent.is_empty() => {
                    return Err(S3Error::invalid_request(format!(
                        "The upload was created without a checksum algorithm and not every part carries a {} checksum, so the object's {} cannot be verified.",
                        algorithm.api_name(), algorithm.api_name()
                    )));
                }
                _ => None,
            }
        }
    };
    let Some(c) = settings else { return Ok((Checksums::new(), None)) };
    if let Some(t) = sent_type.filter(|t| *t != c.checksum_type) {
        return Err(S3Error::invalid_request(format!(
            "The upload was created using the {} checksum mode. The complete request must use the same checksum mode, not {t}.",
            c.checksum_type
        )));
    }
    let mut values = Vec::with_capacity(parts.len());
    for p in parts {
        match p.checksums.get(c.algorithm.name()).filter(|v| !v.is_empty()) {
            Some(v) => values.push((v.as_str(), p.size)),
            None => {
                return Err(S3Error::invalid_request(format!(
                    "The upload was created using a {} checksum. The part {} was uploaded using a null checksum.",
                    c.algorithm.name(),
                    p.part_number
                )));
            }
        }
    }
    let value = match c.checksum_type {
        ChecksumType::Composite => composite_checksum(c.algorithm, values.iter().map(|(v, _)| *v))?,
        ChecksumType::FullObject => full_object_checksum(c.algorithm, values.iter().copied())?,
    };
    for (algo, claimed) in sent {
        if algo != c.algorithm {
            return Err(S3Error::invalid_request(format!(
                "The upload was created using a {} checksum; the complete request sent {}",
                c.algorithm.name(),
                algo.header_name()
            )));
        }
        let bare = value.split_once('-').map_or(value.as_str(), |(v, _)| v);
        if claimed != value && claimed != bare {
            return Err(S3Error::bad_digest(format!(
                "The {} you specified did not match the calculated checksum. (sent {claimed}, computed {value})",
                c.algorithm.api_name()
            )));
        }
    }
    let mut checksums = Checksums::new();
    checksums.insert(c.algorithm.name().to_string(), value);
    Ok((checksums, Some(c.checksum_type.name().to_string())))
}

/// The URL of the completed object, in the addressing style of the request.
fn location(ctx: &Ctx) -> String {
    let host = ctx.header("host").unwrap_or("localhost");
    let key = utf8_percent_encode(ctx.key(), LOCATION_ESCAPES);
    let virtual_host = host.strip_prefix(ctx.bucket()).is_some_and(|rest| rest.starts_with('.'));
    if virtual_host { format!("http://{host}/{key}") } else { format!("http://{host}/{}/{key}", ctx.bucket()) }
}

/// `POST /bucket/key?uploadId=U`: assembles the listed parts into the object
/// without copying bytes (O(parts)), with the multipart ETag and checksum,
/// atomically under `If-None-Match: *` / `If-Match`.
pub async fn handle_complete_multipart_upload(ctx: &Ctx, body: RequestBody) -> S3Result<S3Response> {
    let upload_id = upload_id(ctx)?;
    let condition = write_condition(ctx)?;
    let requested = read_completion(ctx, body).await?;
    let (info, committed) = ctx.store().list_parts(ctx.bucket(), ctx.key(), upload_id).await?;
    let chosen = choose_parts(&requested, &committed)?;
    let total: u64 = chosen.iter().map(|p| p.size).sum();
    if let Some(declared) = ctx.header("x-amz-mp-object-size")
        && declared.trim().parse::<u64>().ok() != Some(total)
    {
        return Err(S3Error::invalid_request(format!(
            "The provided 'x-amz-mp-object-size' header value {declared:?} does not match what was computed: {total}"
        )));
    }
    let etags: Vec<&str> = chosen.iter().map(|p| p.etag.as_str()).collect();
    let mut meta = info.meta.clone();
    meta.etag = multipart_etag(&etags)?;
    let (checksums, checksum_type) = object_checksum(ctx, upload_checksum(&info.meta), &chosen)?;
    meta.checksums = checksums;
    meta.checksum_type = checksum_type;
    let list: Vec<(u32, String)> = chosen.iter().map(|p| (p.part_number, p.etag.clone())).collect();
    let object = match ctx.store().complete_multipart(ctx.bucket(), ctx.key(), upload_id, &list, meta, &condition).await {
        Ok(object) => object,
        Err(StoreError::PreconditionFailed) => return Err(precondition_error(ctx, &condition).await),
        Err(e) => return Err(e.into()),
    };
    let doc = CompleteMultipartUploadResult {
        xmlns: S3_XMLNS,
        location: location(ctx),
        bucket: ctx.bucket().to_string(),
        key: ctx.key().to_string(),
        etag: format!("\"{}\"", object.meta.etag),
        checksums: ChecksumElements::from_checksums(&object.meta.checksums),
        checksum_type: object.meta.checksum_type.clone().filter(|_| !object.meta.checksums.is_empty()),
    };
    Ok(xml(to_xml("CompleteMultipartUploadResult", &doc)?))
}

/// The error of a failed conditional completion, as S3 words it: 412 naming
/// the header, or NoSuchKey for `If-Match` when there is no object at all.
async fn precondition_error(ctx: &Ctx, condition: &WriteCondition) -> S3Error {
    let header = match condition {
        WriteCondition::IfNoneMatch => "If-None-Match",
        _ => "If-Match",
    };
    if matches!(condition, WriteCondition::IfMatch(_))
        && let Err(StoreError::NoSuchKey(key)) = ctx.store().head_object(ctx.bucket(), ctx.key()).await
    {
        return StoreError::NoSuchKey(key).into();
    }
    S3Error::precondition_failed("At least one of the pre-conditions you specified did not hold").with_field("Condition", header)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    fn info(size: u64, part_sizes: Vec<u64>) -> ObjectInfo {
        ObjectInfo {
            key: "k".into(),
            size,
            last_modified: SystemTime::UNIX_EPOCH,
            meta: ObjectMeta::default(),
            part_checksums: vec![Checksums::new(); part_sizes.len()],
            part_sizes,
        }
    }

    #[test]
    fn multipart_etag_hashes_binary_part_md5s() {
        // md5("hello"), md5("world") → md5 of their 32 raw bytes.
        let etag = multipart_etag(&["5d41402abc4b2a76b9719d911017c592", "7d793037a0760186574b0282f2f435e7"]).unwrap();
        assert_eq!(etag, "065947336a2f2a95ba8899f3675c3be6-2");
        assert_eq!(multipart_etag(&["zz"]).unwrap_err().code, "InternalError");
    }

    #[test]
    fn part_numbers_are_1_to_10000() {
        assert_eq!(parse_part_number("1").unwrap(), 1);
        assert_eq!(parse_part_number("10000").unwrap(), 10_000);
        for bad in ["0", "10001", "-1", "", "x", "1.0"] {
            assert_eq!(parse_part_number(bad).unwrap_err().code, "InvalidArgument", "{bad}");
        }
    }

    #[test]
    fn part_range_locates_parts_and_rejects_missing_ones() {
        let mp = info(12, vec![5, 5, 2]);
        assert_eq!(part_range(&mp, 1).unwrap(), (0..5, 3));
        assert_eq!(part_range(&mp, 3).unwrap(), (10..12, 3));
        let err = part_range(&mp, 4).unwrap_err();
        assert_eq!((err.code, err.status.as_u16()), ("InvalidPartNumber", 416));
        assert_eq!(part_range(&mp, 0).unwrap_err().code, "InvalidPartNumber");
        let single = info(7, vec![]);
        assert_eq!(part_range(&single, 1).unwrap(), (0..7, 1));
        assert_eq!(part_range(&single, 2).unwrap_err().code, "InvalidPartNumber");
    }

    #[test]
    fn upload_checksum_reads_back_the_recorded_settings() {
        let mut meta = ObjectMeta::default();
        assert_eq!(upload_checksum(&meta), None);
        meta.checksums.insert("sha256".into(), String::new());
        assert_eq!(
            upload_checksum(&meta),
            Some(UploadChecksum { algorithm: ChecksumAlgorithm::Sha256, checksum_type: ChecksumType::Composite })
        );
        meta.checksum_type = Some("FULL_OBJECT".into());
        meta.checksums = [("crc32".to_string(), String::new())].into();
        assert_eq!(upload_checksum(&meta).unwrap().checksum_type, ChecksumType::FullObject);
        // A completed object's real checksum is not an upload setting.
        meta.checksums = [("crc32".to_string(), "AAAAAA==".to_string())].into();
        assert_eq!(upload_checksum(&meta), None);
    }

    fn part(n: u32, size: u64, etag: &str) -> PartInfo {
        PartInfo { part_number: n, size, etag: etag.into(), last_modified: SystemTime::UNIX_EPOCH, checksums: Checksums::new() }
    }

    fn want(n: u32, etag: &str) -> CompletedPart {
        CompletedPart { part_number: n, etag: etag.into(), crc32: None, crc32c: None, crc64nvme: None, sha1: None, sha256: None }
    }

    #[test]
    fn choose_parts_checks_etags_checksums_and_sizes() {
        let committed = [part(1, MIN_PART_SIZE, "aa"), part(2, 1, "bb"), part(3, 1, "cc")];
        let chosen = choose_parts(&[want(1, "\"AA\""), want(3, "cc")], &committed).unwrap();
        assert_eq!(chosen.iter().map(|p| p.part_number).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(choose_parts(&[want(4, "dd")], &committed).unwrap_err().code, "InvalidPart");
        assert_eq!(choose_parts(&[want(1, "bb")], &committed).unwrap_err().code, "InvalidPart");
        let err = choose_parts(&[want(2, "bb"), want(3, "cc")], &committed).unwrap_err();
        assert_eq!(err.code, "EntityTooSmall");
        let mut with_sum = want(3, "cc");
        with_sum.crc32 = Some("AAAAAA==".into());
        assert_eq!(choose_parts(&[with_sum], &committed).unwrap_err().code, "InvalidPart");
    }
}
