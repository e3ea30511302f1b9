//! Object metadata on the wire: reading it from request headers (PUT, copy
//! with REPLACE, CreateMultipartUpload) and writing it to GET/HEAD responses.

use crate::dispatch::Ctx;
use crate::error::{S3Error, S3Result};
use crate::response::{S3Response, http_date, set_header};
use http::HeaderMap;
use percent_encoding::percent_decode_str;
use smartstorage_store::{ObjectInfo, ObjectMeta};
use std::collections::BTreeMap;

/// Standard content headers stored with an object and returned on GET/HEAD.
pub const CONTENT_HEADERS: &[&str] =
    &["content-type", "content-encoding", "content-disposition", "content-language", "cache-control", "expires"];

/// The user metadata header prefix.
const META_PREFIX: &str = "x-amz-meta-";

/// S3's default content type for objects stored without one.
pub const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";

/// Reads content headers, `x-amz-meta-*` and `x-amz-tagging` from the request.
/// `aws-chunked` is a transfer detail, so it is removed from Content-Encoding.
pub fn object_meta_from_headers(ctx: &Ctx) -> S3Result<ObjectMeta> {
    let mut meta = ObjectMeta::default();
    for name in CONTENT_HEADERS {
        if let Some(value) = header_text(&ctx.headers, name) {
            let value = if *name == "content-encoding" { strip_aws_chunked(&value) } else { value };
            if !value.is_empty() {
                meta.headers.insert(name.to_string(), value);
            }
        }
    }
    meta.user = user_metadata(&ctx.headers, ctx.state.config.limits.max_metadata_size)?;
    if let Some(tagging) = header_text(&ctx.headers, "x-amz-tagging") {
        meta.tags = parse_tagging_header(&tagging)?;
    }
    Ok(meta)
}

/// A header value as text; non-ASCII bytes (sent raw by some clients) are
/// read as UTF-8, falling back to Latin-1 the way browsers send them.
fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<String> = headers
        .get_all(name)
        .iter()
        .map(|v| match std::str::from_utf8(v.as_bytes()) {
            Ok(s) => s.to_string(),
            Err(_) => v.as_bytes().iter().map(|&b| b as char).collect(),
        })
        .collect();
    if values.is_empty() { None } else { Some(values.join(",")) }
}

fn strip_aws_chunked(value: &str) -> String {
    value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.eq_ignore_ascii_case("aws-chunked") && !v.is_empty())
        .collect::<Vec<_>>()
        .join(",")
}

/// Collects `x-amz-meta-*` headers (names lowercased, repeated headers joined
/// with `,` as S3 does) and enforces the metadata size limit the way S3 counts
/// it: the sum of the UTF-8 lengths of every name (without the prefix) and value.
pub fn user_metadata(headers: &HeaderMap, max_size: usize) -> S3Result<BTreeMap<String, String>> {
    let mut user = BTreeMap::new();
    let mut size = 0usize;
    for name in headers.keys() {
        let Some(short) = name.as_str().strip_prefix(META_PREFIX) else { continue };
        if user.contains_key(short) {
            continue;
        }
        let value = header_text(headers, name.as_str()).unwrap_or_default();
        size += short.len() + value.len();
        user.insert(short.to_string(), value);
    }
    if size > max_size {
        return Err(S3Error::metadata_too_large(format!(
            "Your metadata headers exceed the maximum allowed metadata size: {size} bytes sent, {max_size} allowed"
        ))
        .with_field("Size", size.to_string())
        .with_field("MaxSizeAllowed", max_size.to_string()));
    }
    Ok(user)
}

/// Parses `x-amz-tagging: k1=v1&k2=v2` (URL-encoded).
pub fn parse_tagging_header(value: &str) -> S3Result<BTreeMap<String, String>> {
    let mut tags = BTreeMap::new();
    for pair in value.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            percent_decode_str(&s.replace('+', " "))
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| S3Error::invalid_argument("The x-amz-tagging header is not valid URL-encoded UTF-8"))
        };
        let (k, v) = (decode(k)?, decode(v)?);
        validate_tag(&k, &v)?;
        if tags.insert(k.clone(), v).is_some() {
            return Err(S3Error::invalid_argument(format!("Cannot provide multiple Tags with the same key: {k:?}")));
        }
    }
    crate::ops::tagging::check_tag_count(tags.len(), crate::ops::tagging::TagTarget::Object)?;
    Ok(tags)
}

/// Checks one tag against S3's rules (length, characters, the reserved `aws:`
/// prefix): see [`crate::ops::tagging::validate_tag`].
pub fn validate_tag(key: &str, value: &str) -> S3Result<()> {
    crate::ops::tagging::validate_tag(key, value)
}

/// Writes the object's headers on a GET/HEAD response (not Content-Length or
/// Content-Range, which depend on the range served).
pub fn object_headers(resp: &mut S3Response, info: &ObjectInfo) {
    set_header(resp, "etag", &format!("\"{}\"", info.meta.etag));
    set_header(resp, "last-modified", &http_date(info.last_modified));
    set_header(resp, "accept-ranges", "bytes");
    if !info.meta.headers.contains_key("content-type") {
        set_header(resp, "content-type", DEFAULT_CONTENT_TYPE);
    }
    for (name, value) in &info.meta.headers {
        if let Some(static_name) = CONTENT_HEADERS.iter().find(|n| *n == name) {
            set_header(resp, static_name, value);
        }
    }
    for (name, value) in &info.meta.user {
        if let (Ok(n), Ok(v)) =
            (http::HeaderName::from_bytes(format!("{META_PREFIX}{name}").as_bytes()), http::HeaderValue::from_str(value))
        {
            resp.headers_mut().insert(n, v);
        }
    }
    if !info.meta.tags.is_empty() {
        set_header(resp, "x-amz-tagging-count", &info.meta.tags.len().to_string());
    }
}

/// Writes `x-amz-checksum-*` (and `x-amz-checksum-type`) for the stored checksums.
pub fn checksum_headers(resp: &mut S3Response, info: &ObjectInfo) {
    for (algo, value) in &info.meta.checksums {
        if value.is_empty() {
            continue;
        }
        if let (Ok(n), Ok(v)) =
            (http::HeaderName::from_bytes(format!("x-amz-checksum-{algo}").as_bytes()), http::HeaderValue::from_str(value))
        {
            resp.headers_mut().insert(n, v);
        }
    }
    if let Some(t) = &info.meta.checksum_type {
        set_header(resp, "x-amz-checksum-type", t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_chunked_is_removed_from_content_encoding() {
        assert_eq!(strip_aws_chunked("aws-chunked"), "");
        assert_eq!(strip_aws_chunked("aws-chunked,gzip"), "gzip");
        assert_eq!(strip_aws_chunked("gzip, aws-chunked"), "gzip");
    }

    #[test]
    fn user_metadata_counts_names_and_values() {
        let mut h = HeaderMap::new();
        h.insert("x-amz-meta-Color", "blue".parse().unwrap());
        h.insert("x-amz-meta-big", "x".repeat(2040).parse().unwrap());
        let err = user_metadata(&h, 2048).unwrap_err();
        assert_eq!(err.code, "MetadataTooLarge");
        h.remove("x-amz-meta-big");
        let meta = user_metadata(&h, 2048).unwrap();
        assert_eq!(meta.get("color").map(String::as_str), Some("blue"));
    }

    #[test]
    fn tagging_header_is_url_decoded_and_validated() {
        let tags = parse_tagging_header("a=1&b%20c=d+e").unwrap();
        assert_eq!(tags.get("b c").map(String::as_str), Some("d e"));
        assert!(parse_tagging_header("a=1&a=2").is_err());
        assert!(parse_tagging_header(&format!("{}=v", "k".repeat(129))).is_err());
    }
}
