//! Object operations: PutObject, GetObject, HeadObject, DeleteObject, CopyObject.

use crate::body::RequestBody;
use crate::conditional::{self, ReadPrecondition};
use crate::dispatch::Ctx;
use crate::error::{S3Error, S3Result};
use crate::ops::meta::{checksum_headers, object_headers, object_meta_from_headers};
use crate::ops::upload::{BodySink, copy_into, receive_body};
use crate::response::{S3Response, empty, set_header, stream_body, xml};
use crate::xml::object::CopyObjectResult;
use crate::xml::{iso8601, to_xml};
use http::{Response, StatusCode};
use smartstorage_store::{ObjectInfo, ObjectReader, WriteCondition, names};

/// Largest source CopyObject copies in one request (S3's limit: 5 GiB).
const MAX_COPY_SOURCE: u64 = 5 * 1024 * 1024 * 1024;

/// Request parameters that override response headers on GET/HEAD.
const RESPONSE_OVERRIDES: &[(&str, &str)] = &[
    ("response-content-type", "content-type"),
    ("response-content-language", "content-language"),
    ("response-expires", "expires"),
    ("response-cache-control", "cache-control"),
    ("response-content-disposition", "content-disposition"),
    ("response-content-encoding", "content-encoding"),
];

/// The write condition of a PUT or CompleteMultipartUpload (`If-None-Match: *`,
/// `If-Match: "etag"`).
pub fn write_condition(ctx: &Ctx) -> S3Result<WriteCondition> {
    if let Some(value) = ctx.header("if-none-match") {
        if value.trim() != "*" {
            return Err(S3Error::not_implemented(format!(
                "If-None-Match on writes supports only \"*\", got {value:?}"
            ))
            .with_field("Header", "If-None-Match"));
        }
        return Ok(WriteCondition::IfNoneMatch);
    }
    if let Some(value) = ctx.header("if-match") {
        return Ok(WriteCondition::IfMatch(value.trim().trim_start_matches("W/").trim_matches('"').to_string()));
    }
    Ok(WriteCondition::None)
}

/// `PUT /bucket/key`.
pub async fn handle_put_object(ctx: &Ctx, mut body: RequestBody) -> S3Result<S3Response> {
    names::validate_key(ctx.key())?;
    if matches!(body.mode(), crate::body::PayloadMode::Plain { .. }) && body.declared_len().is_none() {
        return Err(S3Error::missing_content_length("You must provide the Content-Length HTTP header."));
    }
    let mut meta = object_meta_from_headers(ctx)?;
    let condition = write_condition(ctx)?;
    let mut writer = ctx.store().put_object(ctx.bucket(), ctx.key()).await?;
    let received = receive_body(ctx, &mut body, &mut writer as &mut dyn BodySink, ctx.state.config.limits.max_object_size).await?;
    meta.etag = hex::encode(received.md5);
    if !received.checksums.is_empty() {
        meta.checksum_type = Some("FULL_OBJECT".to_string());
    }
    meta.checksums = received.checksums;
    let info = writer.commit(meta, &condition).await?;
    let mut resp = empty(StatusCode::OK);
    set_header(&mut resp, "etag", &format!("\"{}\"", info.meta.etag));
    checksum_headers(&mut resp, &info);
    Ok(resp)
}

/// `GET /bucket/key`.
pub async fn handle_get_object(ctx: &Ctx) -> S3Result<S3Response> {
    read_object(ctx, true).await
}

/// `HEAD /bucket/key`.
pub async fn handle_head_object(ctx: &Ctx) -> S3Result<S3Response> {
    read_object(ctx, false).await
}

async fn read_object(ctx: &Ctx, with_body: bool) -> S3Result<S3Response> {
    // HEAD needs only the metadata, which the store answers without touching the data files.
    let (info, reader) = if with_body {
        let reader = ctx.store().open_object(ctx.bucket(), ctx.key()).await?;
        (reader.info().clone(), Some(reader))
    } else {
        (ctx.store().head_object(ctx.bucket(), ctx.key()).await?, None)
    };
    match conditional::evaluate_read(&ctx.headers, &info.meta.etag, info.last_modified) {
        ReadPrecondition::Proceed => {}
        ReadPrecondition::NotModified => {
            let mut resp = empty(StatusCode::NOT_MODIFIED);
            set_header(&mut resp, "etag", &format!("\"{}\"", info.meta.etag));
            set_header(&mut resp, "last-modified", &crate::response::http_date(info.last_modified));
            return Ok(resp);
        }
        ReadPrecondition::PreconditionFailed(header) => {
            return Err(S3Error::precondition_failed("At least one of the pre-conditions you specified did not hold")
                .with_field("Condition", header));
        }
    }
    let part_number = parse_part_number(ctx)?;
    let range_header = ctx.header("range");
    let (range, parts_count) = match part_number {
        Some(n) => {
            if range_header.is_some() {
                return Err(S3Error::invalid_request("Cannot specify both Range header and partNumber query parameter"));
            }
            let (range, count) = crate::ops::multipart::part_range(&info, n)?;
            (Some(range), Some(count))
        }
        None => match range_header {
            Some(h) => (crate::range::parse_range(h, info.size)?, None),
            None => (None, None),
        },
    };
    let served = range.clone().unwrap_or(0..info.size);
    let partial = range.is_some();
    let status = if partial { StatusCode::PARTIAL_CONTENT } else { StatusCode::OK };
    let body = match reader {
        Some(reader) if !served.is_empty() => stream_body(reader.stream(served.clone())),
        _ => crate::response::empty_body(),
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    object_headers(&mut resp, &info);
    set_header(&mut resp, "content-length", &(served.end - served.start).to_string());
    if partial {
        let last = served.end.saturating_sub(1);
        set_header(&mut resp, "content-range", &format!("bytes {}-{}/{}", served.start, last, info.size));
    }
    if let Some(count) = parts_count.filter(|_| !info.part_sizes.is_empty()) {
        set_header(&mut resp, "x-amz-mp-parts-count", &count.to_string());
    }
    if ctx.header("x-amz-checksum-mode").is_some_and(|v| v.eq_ignore_ascii_case("ENABLED")) {
        checksum_response_headers(&mut resp, &info, part_number, range.is_some() && part_number.is_none());
    }
    for (param, header) in RESPONSE_OVERRIDES {
        if let Some(value) = ctx.query.get(param) {
            set_header(&mut resp, header, value);
        }
    }
    Ok(resp)
}

/// Checksums are returned only when they describe exactly the bytes served:
/// the whole object, or one part of a multipart object.
fn checksum_response_headers(resp: &mut S3Response, info: &ObjectInfo, part_number: Option<u32>, ranged: bool) {
    if ranged {
        return;
    }
    match part_number {
        Some(n) if !info.part_checksums.is_empty() => {
            if let Some(sums) = info.part_checksums.get(n as usize - 1) {
                for (algo, value) in sums {
                    if let Some(algo) = crate::checksum::ChecksumAlgorithm::from_name(algo) {
                        set_header(resp, algo.header_name(), value);
                    }
                }
            }
        }
        Some(_) => {}
        None => checksum_headers(resp, info),
    }
}

fn parse_part_number(ctx: &Ctx) -> S3Result<Option<u32>> {
    match ctx.query.get("partNumber") {
        None => Ok(None),
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=10_000).contains(&n) => Ok(Some(n)),
            _ => Err(S3Error::invalid_argument(format!("Part number must be an integer between 1 and 10000, inclusive; got {v:?}"))
                .with_field("ArgumentName", "partNumber")
                .with_field("ArgumentValue", v.to_string())),
        },
    }
}

/// `DELETE /bucket/key`: 204 whether or not the key existed (S3 semantics),
/// honouring `If-Match`.
pub async fn handle_delete_object(ctx: &Ctx) -> S3Result<S3Response> {
    let condition = match ctx.header("if-match") {
        Some(v) => WriteCondition::IfMatch(v.trim().trim_matches('"').to_string()),
        None => WriteCondition::None,
    };
    ctx.store().delete_object(ctx.bucket(), ctx.key(), &condition).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// The parsed `x-amz-copy-source` header: `[/]bucket/key[?versionId=null]`, URL-encoded.
pub struct CopySource {
    /// Source bucket.
    pub bucket: String,
    /// Source key.
    pub key: String,
}

/// Parses `x-amz-copy-source`.
pub fn parse_copy_source(ctx: &Ctx) -> S3Result<CopySource> {
    let raw = ctx.header("x-amz-copy-source").unwrap_or_default();
    let (path, version) = match raw.split_once('?') {
        Some((p, q)) => (p, q.strip_prefix("versionId=")),
        None => (raw, None),
    };
    if let Some(v) = version
        && v != "null"
    {
        return Err(S3Error::new("NoSuchVersion", StatusCode::NOT_FOUND, format!(
            "The specified version does not exist: {v:?} (this server keeps only the current version, \"null\")"
        )));
    }
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| S3Error::invalid_argument("x-amz-copy-source is not valid URL-encoded UTF-8").with_field("ArgumentName", "x-amz-copy-source"))?;
    let decoded = decoded.strip_prefix('/').unwrap_or(&decoded);
    match decoded.split_once('/') {
        Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => {
            Ok(CopySource { bucket: bucket.to_string(), key: key.to_string() })
        }
        _ => Err(S3Error::invalid_argument(format!("Invalid copy source {raw:?}: expected /bucket/key"))
            .with_field("ArgumentName", "x-amz-copy-source")
            .with_field("ArgumentValue", raw.to_string())),
    }
}

/// Opens the copy source and checks the `x-amz-copy-source-if-*` conditions.
pub async fn open_copy_source(ctx: &Ctx, source: &CopySource) -> S3Result<Box<dyn ObjectReader>> {
    let reader = ctx.store().open_object(&source.bucket, &source.key).await?;
    let info = reader.info();
    if let Err(header) = conditional::evaluate_copy_source(&ctx.headers, &info.meta.etag, info.last_modified) {
        return Err(S3Error::precondition_failed("At least one of the pre-conditions you specified did not hold")
            .with_field("Condition", header));
    }
    Ok(reader)
}

/// `PUT /bucket/key` with `x-amz-copy-source`.
pub async fn handle_copy_object(ctx: &Ctx) -> S3Result<S3Response> {
    names::validate_key(ctx.key())?;
    let source = parse_copy_source(ctx)?;
    let directive = |name: &str| -> S3Result<bool> {
        match ctx.header(name).map(|v| v.to_ascii_uppercase()) {
            None => Ok(false),
            Some(v) if v == "COPY" => Ok(false),
            Some(v) if v == "REPLACE" => Ok(true),
            Some(v) => Err(S3Error::invalid_argument(format!("Unknown {name} value {v:?}: use COPY or REPLACE"))
                .with_field("ArgumentName", name.to_string())),
        }
    };
    let replace_meta = directive("x-amz-metadata-directive")?;
    let replace_tags = directive("x-amz-tagging-directive")?;
    let same_object = source.bucket == ctx.bucket() && source.key == ctx.key();
    if same_object && !replace_meta && ctx.header("x-amz-checksum-algorithm").is_none() {
        return Err(S3Error::invalid_request(
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
        ));
    }
    let reader = open_copy_source(ctx, &source).await?;
    let src = reader.info().clone();
    if src.size > MAX_COPY_SOURCE {
        return Err(S3Error::invalid_request(format!(
            "The specified copy source is larger than the maximum allowable size for a copy source: {MAX_COPY_SOURCE}"
        )));
    }
    let requested = object_meta_from_headers(ctx)?;
    let mut meta = src.meta.clone();
    if replace_meta {
        meta.headers = requested.headers;
        meta.user = requested.user;
    }
    if replace_tags {
        meta.tags = requested.tags;
    }
    let algorithms = copy_checksum_algorithms(ctx, &src)?;
    let condition = write_condition(ctx)?;
    let mut writer = ctx.store().put_object(ctx.bucket(), ctx.key()).await?;
    let stream = reader.stream(0..src.size);
    let copied = copy_into(stream, &mut writer as &mut dyn BodySink, &algorithms).await?;
    meta.etag = hex::encode(copied.md5);
    meta.checksum_type = if copied.checksums.is_empty() { None } else { Some("FULL_OBJECT".to_string()) };
    meta.checksums = copied.checksums;
    let info = writer.commit(meta, &condition).await?;
    let doc = CopyObjectResult::new(&info.meta.etag, &iso8601(info.last_modified), &info.meta.checksums);
    Ok(xml(to_xml("CopyObjectResult", &doc)?))
}

/// Checksum algorithms of a copy: the one asked for with
/// `x-amz-checksum-algorithm`, else the source's (recomputed over the bytes,
/// so a composite multipart checksum becomes a full-object one).
fn copy_checksum_algorithms(ctx: &Ctx, src: &ObjectInfo) -> S3Result<Vec<crate::checksum::ChecksumAlgorithm>> {
    use crate::checksum::ChecksumAlgorithm;
    if let Some(name) = ctx.header("x-amz-checksum-algorithm") {
        let algo = ChecksumAlgorithm::from_name(name).ok_or_else(|| {
            S3Error::invalid_request(format!("Checksum algorithm {name:?} is not supported"))
        })?;
        return Ok(vec![algo]);
    }
    Ok(src.meta.checksums.keys().filter_map(|name| ChecksumAlgorithm::from_name(name)).collect())
}
