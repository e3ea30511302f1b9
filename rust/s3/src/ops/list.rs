//! Listing operations: ListObjects (v1), ListObjectsV2, ListObjectVersions,
//! and the multipart listings ListParts and ListMultipartUploads, with their
//! shared parameter parsing (`max-*` limits, `encoding-type`, S3's URL
//! encoding of keys, continuation tokens).

use crate::dispatch::Ctx;
use crate::error::{S3Error, S3Result};
use crate::response::{S3Response, xml};
use crate::router::Query;
use crate::xml::bucket::Owner;
use crate::ops::multipart::{upload_checksum, upload_id};
use crate::xml::list::*;
use crate::xml::multipart::{ChecksumElements, ListMultipartUploadsResult, ListPartsResult, PartEntry, UploadEntry};
use crate::xml::{S3_XMLNS, iso8601, to_xml};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use smartstorage_store::{ListPage, ListQuery, ObjectSummary, UploadInfo};

/// Default and largest page size of every S3 listing (`max-keys`,
/// `max-uploads`, `max-parts`): S3 never returns more than 1000 entries.
pub const MAX_PAGE: usize = 1000;

/// Largest value S3 accepts for a `max-*` parameter (a Java `int`); larger
/// values are rejected rather than capped, as S3 does.
const MAX_PAGE_ARGUMENT: i64 = i32::MAX as i64;

/// Prefix inside a v2 continuation token, so a token from another server or a
/// hand-written string is recognised as foreign rather than used as a key.
const TOKEN_TAG: &str = "ss1:";

/// Reads a `max-keys` style parameter: absent → [`MAX_PAGE`]; not an integer
/// or outside `0..=2147483647` → InvalidArgument; otherwise capped at [`MAX_PAGE`].
pub fn parse_max(query: &Query, name: &'static str) -> S3Result<usize> {
    let Some(raw) = query.get(name) else { return Ok(MAX_PAGE) };
    let value: i64 = raw.trim().parse().map_err(|_| {
        S3Error::invalid_argument(format!("Provided {name} not an integer or within integer range: {raw:?}"))
            .with_field("ArgumentName", name)
            .with_field("ArgumentValue", raw.to_string())
    })?;
    if !(0..=MAX_PAGE_ARGUMENT).contains(&value) {
        return Err(S3Error::invalid_argument(format!(
            "Argument {name} must be an integer between 0 and {MAX_PAGE_ARGUMENT}; got {value}"
        ))
        .with_field("ArgumentName", name)
        .with_field("ArgumentValue", raw.to_string()));
    }
    Ok((value as usize).min(MAX_PAGE))
}

/// Reads `encoding-type`: absent → `None`, `url` → `Some("url")`, anything
/// else → InvalidArgument (S3 knows no other encoding).
pub fn parse_encoding_type(query: &Query) -> S3Result<Option<&'static str>> {
    match query.get("encoding-type") {
        None => Ok(None),
        Some("url") => Ok(Some("url")),
        Some(other) => Err(S3Error::invalid_argument(format!(
            "Invalid Encoding Method specified in Request: {other:?} (the only valid value is url)"
        ))
        .with_field("ArgumentName", "encoding-type")
        .with_field("ArgumentValue", other.to_string())),
    }
}

/// A non-empty query parameter (S3 treats `delimiter=` like no delimiter).
pub fn non_empty(query: &Query, name: &str) -> Option<String> {
    query.get(name).filter(|v| !v.is_empty()).map(str::to_string)
}

/// URL-encodes a key the way S3 does for `encoding-type=url`: form encoding
/// (space → `+`, other bytes `%XX` upper-case) except that letters, digits,
/// `-`, `_`, `.`, `*` and `/` stay as they are.
pub fn s3_url_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for &b in value.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' | b'/' => out.push(b as char),
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(b"0123456789ABCDEF"[(b >> 4) as usize]));
                out.push(char::from(b"0123456789ABCDEF"[(b & 15) as usize]));
            }
        }
    }
    out
}

/// Applies `encoding-type` to one response value.
pub fn encode(encoding: Option<&'static str>, value: &str) -> String {
    if encoding.is_some() { s3_url_encode(value) } else { value.to_string() }
}

/// The opaque ListObjectsV2 continuation token for "after `marker`".
pub fn encode_continuation_token(marker: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{TOKEN_TAG}{marker}"))
}

/// Reads a continuation token back into its marker; anything this server did
/// not issue → InvalidArgument, as S3 answers.
pub fn decode_continuation_token(token: &str) -> S3Result<String> {
    let invalid = || {
        S3Error::invalid_argument("The continuation token provided is incorrect")
            .with_field("ArgumentName", "continuation-token")
            .with_field("ArgumentValue", token.to_string())
    };
    let bytes = URL_SAFE_NO_PAD.decode(token.trim_end_matches('=')).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    match text.strip_prefix(TOKEN_TAG) {
        Some(marker) if !marker.is_empty() => Ok(marker.to_string()),
        _ => Err(invalid()),
    }
}

/// The owner element for objects of the request's bucket (the bucket owner).
async fn bucket_owner(ctx: &Ctx) -> S3Result<Option<String>> {
    Ok(ctx.store().head_bucket(ctx.bucket()).await?.owner)
}

/// S3's upper-case checksum algorithm names for `ChecksumAlgorithm`.
fn algorithm_names(summary: &ObjectSummary) -> Vec<String> {
    summary.checksum_algorithms.iter().map(|a| a.to_ascii_uppercase()).collect()
}

/// `ChecksumType` of a listed object: only alongside its `ChecksumAlgorithm`s.
fn checksum_type(summary: &ObjectSummary) -> Option<String> {
    summary.checksum_type.clone().filter(|_| !summary.checksum_algorithms.is_empty())
}

/// One `<Contents>` entry; takes the summary so its key moves instead of being copied.
fn object_entry(o: ObjectSummary, encoding: Option<&'static str>, owner: Option<&Option<String>>) -> ObjectEntry {
    ObjectEntry {
        last_modified: iso8601(o.last_modified),
        etag: quoted(&o.etag),
        checksum_algorithm: algorithm_names(&o),
        checksum_type: checksum_type(&o),
        key: if encoding.is_some() { s3_url_encode(&o.key) } else { o.key },
        size: o.size,
        owner: owner.map(|id| Owner::for_principal(id.as_deref())),
        storage_class: STORAGE_CLASS,
    }
}

/// `"etag"`, without the formatting machinery of `format!` (one per listed key).
fn quoted(etag: &str) -> String {
    let mut out = String::with_capacity(etag.len() + 2);
    out.push('"');
    out.push_str(etag);
    out.push('"');
    out
}

fn common_prefixes(page: &ListPage, encoding: Option<&'static str>) -> Vec<CommonPrefix> {
    page.common_prefixes.iter().map(|p| CommonPrefix { prefix: encode(encoding, p) }).collect()
}

/// `GET /bucket`: ListObjects (v1) with prefix, delimiter, marker, max-keys and
/// encoding-type. `NextMarker` is only sent with a delimiter, as S3 does
/// (without one, clients continue from the last key).
pub async fn handle_list_objects(ctx: &Ctx) -> S3Result<S3Response> {
    let q = &ctx.query;
    let max_keys = parse_max(q, "max-keys")?;
    let encoding = parse_encoding_type(q)?;
    let prefix = q.get("prefix").unwrap_or("").to_string();
    let delimiter = non_empty(q, "delimiter");
    let marker = non_empty(q, "marker");
    let owner = bucket_owner(ctx).await?;
    let query = ListQuery { prefix: prefix.clone(), delimiter: delimiter.clone(), start_after: marker.clone(), max_keys };
    let page = ctx.store().list_objects(ctx.bucket(), &query).await?;
    let next_marker = match (&delimiter, page.is_truncated) {
        (Some(_), true) => page.next_marker.as_deref().map(|m| encode(encoding, m)),
        _ => None,
    };
    let doc = ListBucketResultV1 {
        xmlns: S3_XMLNS,
        name: ctx.bucket().to_string(),
        prefix: encode(encoding, &prefix),
        marker: encode(encoding, marker.as_deref().unwrap_or("")),
        next_marker,
        max_keys,
        delimiter: delimiter.as_deref().map(|d| encode(encoding, d)),
        encoding_type: encoding,
        is_truncated: page.is_truncated,
        common_prefixes: common_prefixes(&page, encoding),
        contents: page.objects.into_iter().map(|o| object_entry(o, encoding, Some(&owner))).collect(),
    };
    Ok(xml(doc.to_fast_xml()))
}

/// `GET /bucket?list-type=2`: ListObjectsV2 with continuation-token (opaque,
/// wins over start-after; an empty one counts as absent), start-after,
/// fetch-owner, KeyCount (keys plus common prefixes, as S3 counts) and
/// encoding-type. The token is base64url of a tag plus the last key or common
/// prefix returned, so pages stay correct whatever is written between them.
pub async fn handle_list_objects_v2(ctx: &Ctx) -> S3Result<S3Response> {
    let q = &ctx.query;
    let max_keys = parse_max(q, "max-keys")?;
    let encoding = parse_encoding_type(q)?;
    let prefix = q.get("prefix").unwrap_or("").to_string();
    let delimiter = non_empty(q, "delimiter");
    let token = non_empty(q, "continuation-token");
    let start_after = non_empty(q, "start-after");
    let fetch_owner = q.get("fetch-owner").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let from = match &token {
        Some(t) => Some(decode_continuation_token(t)?),
        None => start_after.clone(),
    };
    let owner = if fetch_owner { Some(bucket_owner(ctx).await?) } else { None };
    let query = ListQuery { prefix: prefix.clone(), delimiter: delimiter.clone(), start_after: from, max_keys };
    let page = ctx.store().list_objects(ctx.bucket(), &query).await?;
    let next_token = if page.is_truncated { page.next_marker.as_deref().map(encode_continuation_token) } else { None };
    let doc = ListBucketResultV2 {
        xmlns: S3_XMLNS,
        name: ctx.bucket().to_string(),
        prefix: encode(encoding, &prefix),
        continuation_token: token,
        next_continuation_token: next_token,
        start_after: start_after.as_deref().map(|s| encode(encoding, s)),
        key_count: page.objects.len() + page.common_prefixes.len(),
        max_keys,
        delimiter: delimiter.as_deref().map(|d| encode(encoding, d)),
        encoding_type: encoding,
        is_truncated: page.is_truncated,
        common_prefixes: common_prefixes(&page, encoding),
        contents: page.objects.into_iter().map(|o| object_entry(o, encoding, owner.as_ref())).collect(),
    };
    Ok(xml(doc.to_fast_xml()))
}

/// `GET /bucket?versions`: ListObjectVersions for this unversioned server —
/// every object once, `VersionId` `null`, `IsLatest` true. Since each key has a
/// single version, `key-marker` (with or without `version-id-marker=null`)
/// continues strictly after that key.
pub async fn handle_list_object_versions(ctx: &Ctx) -> S3Result<S3Response> {
    let q = &ctx.query;
    let max_keys = parse_max(q, "max-keys")?;
    let encoding = parse_encoding_type(q)?;
    let prefix = q.get("prefix").unwrap_or("").to_string();
    let delimiter = non_empty(q, "delimiter");
    let key_marker = non_empty(q, "key-marker");
    let version_id_marker = non_empty(q, "version-id-marker");
    if let Some(v) = &version_id_marker {
        if key_marker.is_none() {
            return Err(S3Error::invalid_argument("A version-id marker cannot be specified without a key marker.")
                .with_field("ArgumentName", "version-id-marker")
                .with_field("ArgumentValue", v.clone()));
        }
        if v != "null" {
            return Err(S3Error::invalid_argument(format!(
                "Invalid version id specified: {v:?} (this server is unversioned; the only version id is null)"
            ))
            .with_field("ArgumentName", "version-id-marker")
            .with_field("ArgumentValue", v.clone()));
        }
    }
    let owner = bucket_owner(ctx).await?;
    let query = ListQuery { prefix: prefix.clone(), delimiter: delimiter.clone(), start_after: key_marker.clone(), max_keys };
    let page = ctx.store().list_objects(ctx.bucket(), &query).await?;
    let (next_key_marker, next_version_id_marker) = match (&page.next_marker, page.is_truncated) {
        (Some(m), true) => {
            // A key never equals a common prefix (it would have been grouped).
            let ends_on_prefix = page.common_prefixes.last() == Some(m);
            (Some(encode(encoding, m)), if ends_on_prefix { None } else { Some("null") })
        }
        _ => (None, None),
    };
    let versions = page
        .objects
        .iter()
        .map(|o| VersionEntry {
            key: encode(encoding, &o.key),
            version_id: "null",
            is_latest: true,
            last_modified: iso8601(o.last_modified),
            etag: quoted(&o.etag),
            checksum_algorithm: algorithm_names(o),
            checksum_type: checksum_type(o),
            size: o.size,
            storage_class: STORAGE_CLASS,
            owner: Owner::for_principal(owner.as_deref()),
        })
        .collect();
    let doc = ListVersionsResult {
        xmlns: S3_XMLNS,
        name: ctx.bucket().to_string(),
        prefix: encode(encoding, &prefix),
        key_marker: encode(encoding, key_marker.as_deref().unwrap_or("")),
        version_id_marker: version_id_marker.unwrap_or_default(),
        next_key_marker,
        next_version_id_marker,
        max_keys,
        delimiter: delimiter.as_deref().map(|d| encode(encoding, d)),
        encoding_type: encoding,
        is_truncated: page.is_truncated,
        versions,
        common_prefixes: common_prefixes(&page, encoding),
    };
    Ok(xml(to_xml("ListVersionsResult", &doc)?))
}

/// `GET /bucket/key?uploadId=U`: ListParts with max-parts and
/// part-number-marker (parts strictly after it).
pub async fn handle_list_parts(ctx: &Ctx) -> S3Result<S3Response> {
    let q = &ctx.query;
    let upload_id = upload_id(ctx)?;
    let max_parts = parse_max(q, "max-parts")?;
    let marker = match q.get("part-number-marker") {
        None | Some("") => 0,
        Some(raw) => raw.trim().parse::<u32>().map_err(|_| {
            S3Error::invalid_argument(format!("Provided part-number-marker not an integer or within integer range: {raw:?}"))
                .with_field("ArgumentName", "part-number-marker")
                .with_field("ArgumentValue", raw.to_string())
        })?,
    };
    let (info, parts) = ctx.store().list_parts(ctx.bucket(), ctx.key(), upload_id).await?;
    let owner = bucket_owner(ctx).await?;
    let after: Vec<_> = parts.iter().filter(|p| p.part_number > marker).collect();
    let page = &after[..after.len().min(max_parts)];
    let checksum = upload_checksum(&info.meta);
    let doc = ListPartsResult {
        xmlns: S3_XMLNS,
        bucket: ctx.bucket().to_string(),
        key: ctx.key().to_string(),
        upload_id: upload_id.to_string(),
        initiator: Owner::for_principal(owner.as_deref()),
        owner: Owner::for_principal(owner.as_deref()),
        storage_class: STORAGE_CLASS,
        part_number_marker: marker,
        next_part_number_marker: page.last().map(|p| p.part_number),
        max_parts,
        is_truncated: after.len() > page.len(),
        parts: page
            .iter()
            .map(|p| PartEntry {
                part_number: p.part_number,
                last_modified: iso8601(p.last_modified),
                etag: format!("\"{}\"", p.etag),
                checksums: ChecksumElements::from_checksums(&p.checksums),
                size: p.size,
            })
            .collect(),
        checksum_algorithm: checksum.map(|c| c.algorithm.api_name()),
        checksum_type: checksum.map(|c| c.checksum_type.name().to_string()),
    };
    Ok(xml(to_xml("ListPartsResult", &doc)?))
}

/// One entry of a ListMultipartUploads page.
enum UploadListing<'a> {
    Upload(&'a UploadInfo),
    Prefix(String),
}

/// Pages through `uploads` (sorted by key, then initiation) S3's way: keys
/// under `prefix`, grouped by `delimiter`, after (`key_marker`,
/// `upload_id_marker`). With only a key marker, uploads of that key are
/// skipped; with both, those up to and including the marked upload are (by
/// position, or by id order if the marked upload is gone). Returns the page
/// and whether it is truncated.
fn page_uploads<'a>(
    uploads: &'a [UploadInfo],
    prefix: &str,
    delimiter: Option<&str>,
    key_marker: Option<&str>,
    upload_id_marker: Option<&str>,
    max: usize,
) -> (Vec<UploadListing<'a>>, bool) {
    let marked = key_marker
        .zip(upload_id_marker)
        .and_then(|(k, u)| uploads.iter().position(|x| x.key == k && x.upload_id == u));
    let mut page: Vec<UploadListing<'a>> = Vec::new();
    for (i, upload) in uploads.iter().enumerate() {
        let Some(rest) = upload.key.strip_prefix(prefix) else { continue };
        let group = delimiter.and_then(|d| rest.find(d).map(|pos| &upload.key[..prefix.len() + pos + d.len()]));
        let entry = match group {
            Some(common) => {
                if key_marker.is_some_and(|m| common <= m)
                    || matches!(page.last(), Some(UploadListing::Prefix(p)) if p == common)
                {
                    continue;
                }
                UploadListing::Prefix(common.to_string())
            }
            None => {
                let after_marker = match key_marker {
                    None => true,
                    Some(m) if upload.key.as_str() != m => upload.key.as_str() > m,
                    Some(_) => match (marked, upload_id_marker) {
                        (Some(pos), _) => i > pos,
                        (None, Some(u)) => upload.upload_id.as_str() > u,
                        (None, None) => false,
                    },
                };
                if !after_marker {
                    continue;
                }
                UploadListing::Upload(upload)
            }
        };
        if page.len() == max {
            return (page, true);
        }
        page.push(entry);
    }
    (page, false)
}

/// `GET /bucket?uploads`: ListMultipartUploads with prefix, delimiter
/// (CommonPrefixes), key-marker, upload-id-marker, max-uploads and encoding-type.
pub async fn handle_list_multipart_uploads(ctx: &Ctx) -> S3Result<S3Response> {
    let q = &ctx.query;
    let max_uploads = parse_max(q, "max-uploads")?;
    let encoding = parse_encoding_type(q)?;
    let prefix = q.get("prefix").unwrap_or("").to_string();
    let delimiter = non_empty(q, "delimiter");
    let key_marker = non_empty(q, "key-marker");
    // S3 ignores upload-id-marker without key-marker.
    let upload_id_marker = non_empty(q, "upload-id-marker").filter(|_| key_marker.is_some());
    let owner = bucket_owner(ctx).await?;
    let uploads = ctx.store().list_uploads(ctx.bucket()).await?;
    let (page, is_truncated) =
        page_uploads(&uploads, &prefix, delimiter.as_deref(), key_marker.as_deref(), upload_id_marker.as_deref(), max_uploads);
    let (next_key_marker, next_upload_id_marker) = match page.last().filter(|_| is_truncated) {
        Some(UploadListing::Upload(u)) => (Some(encode(encoding, &u.key)), Some(u.upload_id.clone())),
        Some(UploadListing::Prefix(p)) => (Some(encode(encoding, p)), None),
        None => (None, None),
    };
    let mut entries = Vec::new();
    let mut prefixes = Vec::new();
    for item in page {
        match item {
            UploadListing::Prefix(p) => prefixes.push(CommonPrefix { prefix: encode(encoding, &p) }),
            UploadListing::Upload(u) => {
                let checksum = upload_checksum(&u.meta);
                entries.push(UploadEntry {
                    key: encode(encoding, &u.key),
                    upload_id: u.upload_id.clone(),
                    initiator: Owner::for_principal(owner.as_deref()),
                    owner: Owner::for_principal(owner.as_deref()),
                    storage_class: STORAGE_CLASS,
                    initiated: iso8601(u.initiated),
                    checksum_algorithm: checksum.map(|c| c.algorithm.api_name()),
                    checksum_type: checksum.map(|c| c.checksum_type.name().to_string()),
                });
            }
        }
    }
    let doc = ListMultipartUploadsResult {
        xmlns: S3_XMLNS,
        bucket: ctx.bucket().to_string(),
        key_marker: encode(encoding, key_marker.as_deref().unwrap_or("")),
        upload_id_marker: upload_id_marker.unwrap_or_default(),
        next_key_marker,
        next_upload_id_marker,
        delimiter: delimiter.as_deref().map(|d| encode(encoding, d)),
        prefix: encode(encoding, &prefix),
        max_uploads,
        encoding_type: encoding,
        is_truncated,
        uploads: entries,
        common_prefixes: prefixes,
    };
    Ok(xml(to_xml("ListMultipartUploadsResult", &doc)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(raw: &str) -> Query {
        Query::parse(Some(raw)).unwrap()
    }

    #[test]
    fn max_keys_defaults_caps_and_rejects_garbage() {
        assert_eq!(parse_max(&q(""), "max-keys").unwrap(), 1000);
        assert_eq!(parse_max(&q("max-keys=0"), "max-keys").unwrap(), 0);
        assert_eq!(parse_max(&q("max-keys=7"), "max-keys").unwrap(), 7);
        assert_eq!(parse_max(&q("max-keys=5000"), "max-keys").unwrap(), 1000);
        assert_eq!(parse_max(&q("max-keys=2147483647"), "max-keys").unwrap(), 1000);
        for bad in ["max-keys=-1", "max-keys=abc", "max-keys=", "max-keys=2147483648", "max-keys=1.5"] {
            let err = parse_max(&q(bad), "max-keys").unwrap_err();
            assert_eq!(err.code, "InvalidArgument", "{bad}");
        }
    }

    #[test]
    fn encoding_type_accepts_only_url() {
        assert_eq!(parse_encoding_type(&q("")).unwrap(), None);
        assert_eq!(parse_encoding_type(&q("encoding-type=url")).unwrap(), Some("url"));
        assert_eq!(parse_encoding_type(&q("encoding-type=base64")).unwrap_err().code, "InvalidArgument");
        assert_eq!(parse_encoding_type(&q("encoding-type=")).unwrap_err().code, "InvalidArgument");
    }

    #[test]
    fn url_encoding_matches_s3() {
        assert_eq!(s3_url_encode("a b/c+d"), "a+b/c%2Bd");
        assert_eq!(s3_url_encode("100%.csv"), "100%25.csv");
        assert_eq!(s3_url_encode("한/x.txt"), "%ED%95%9C/x.txt");
        assert_eq!(s3_url_encode("a-_.*~\n&"), "a-_.*%7E%0A%26");
        assert_eq!(encode(None, "a b"), "a b");
    }

    #[test]
    fn continuation_tokens_round_trip_and_reject_foreign_ones() {
        for marker in ["a", "a/b/", "ü 名前+x", "\u{1}"] {
            let token = encode_continuation_token(marker);
            assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{token}");
            assert_eq!(decode_continuation_token(&token).unwrap(), marker);
        }
        for bad in ["", "!!!", "YWJj", &URL_SAFE_NO_PAD.encode("ss1:"), &URL_SAFE_NO_PAD.encode([0xff, 0xfe])] {
            let err = decode_continuation_token(bad).unwrap_err();
            assert_eq!(err.code, "InvalidArgument", "{bad}");
        }
    }

    fn uploads(specs: &[(&str, &str)]) -> Vec<UploadInfo> {
        specs
            .iter()
            .map(|(k, u)| UploadInfo {
                upload_id: u.to_string(),
                key: k.to_string(),
                initiated: std::time::SystemTime::UNIX_EPOCH,
                meta: Default::default(),
            })
            .collect()
    }

    fn names(page: &[UploadListing<'_>]) -> Vec<String> {
        page.iter()
            .map(|e| match e {
                UploadListing::Upload(u) => format!("{}#{}", u.key, u.upload_id),
                UploadListing::Prefix(p) => p.clone(),
            })
            .collect()
    }

    #[test]
    fn uploads_page_by_key_and_upload_id_markers() {
        let all = uploads(&[("a", "u2"), ("a", "u1"), ("b", "u3"), ("c/d", "u4"), ("c/e", "u5"), ("d", "u6")]);
        let (page, truncated) = page_uploads(&all, "", None, None, None, 2);
        assert_eq!((names(&page), truncated), (vec!["a#u2".to_string(), "a#u1".into()], true));
        // Marker on the first upload of "a": continue with the second (by position).
        let (page, _) = page_uploads(&all, "", None, Some("a"), Some("u2"), 2);
        assert_eq!(names(&page), vec!["a#u1", "b#u3"]);
        // Key marker alone skips every upload of that key.
        let (page, _) = page_uploads(&all, "", None, Some("a"), None, 10);
        assert_eq!(names(&page), vec!["b#u3", "c/d#u4", "c/e#u5", "d#u6"]);
        // Vanished upload id: fall back to id order.
        let (page, _) = page_uploads(&all, "", None, Some("a"), Some("u15"), 10);
        assert_eq!(names(&page)[0], "a#u2");
        // Delimiter groups, prefixes count toward the page, marker on a prefix skips it.
        let (page, truncated) = page_uploads(&all, "", Some("/"), None, None, 4);
        assert_eq!((names(&page), truncated), (vec!["a#u2".to_string(), "a#u1".into(), "b#u3".into(), "c/".into()], true));
        let (page, truncated) = page_uploads(&all, "", Some("/"), Some("c/"), None, 4);
        assert_eq!((names(&page), truncated), (vec!["d#u6".to_string()], false));
        let (page, _) = page_uploads(&all, "c/", Some("/"), None, None, 10);
        assert_eq!(names(&page), vec!["c/d#u4", "c/e#u5"]);
        let (page, truncated) = page_uploads(&all, "", None, None, None, 0);
        assert_eq!((page.len(), truncated), (0, true));
    }
}
