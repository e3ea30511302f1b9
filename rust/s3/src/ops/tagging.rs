//! Tagging operations: GetObjectTagging, PutObjectTagging, DeleteObjectTagging
//! (the tags live in the object's metadata, replaced in place with
//! [`ObjectStore::update_object_meta`](smartstorage_store::ObjectStore::update_object_meta)),
//! and GetBucketTagging, PutBucketTagging, DeleteBucketTagging (the bucket config
//! document of kind [`BUCKET_TAGGING_CONFIG`]), plus the tag rules S3 enforces.

use crate::body::RequestBody;
use crate::dispatch::Ctx;
use crate::error::{S3Error, S3Result};
use crate::ops::upload::receive_document;
use crate::response::{S3Response, empty, xml};
use crate::xml::tagging::{TAGGING_ROOT, Tag, Tagging, parse_tagging};
use crate::xml::to_xml;
use bytes::Bytes;
use http::StatusCode;
use smartstorage_store::{ObjectInfo, StoreError, WriteCondition};
use std::collections::BTreeMap;

/// Most tags an object may carry.
pub const MAX_OBJECT_TAGS: usize = 10;

/// Most tags a bucket may carry.
pub const MAX_BUCKET_TAGS: usize = 50;

/// Longest tag key, in UTF-16 code units (S3 stores tags as UTF-16).
pub const MAX_TAG_KEY_LEN: usize = 128;

/// Longest tag value, in UTF-16 code units.
pub const MAX_TAG_VALUE_LEN: usize = 256;

/// The bucket config kind holding a bucket's tags (the canonical `Tagging` XML).
pub const BUCKET_TAGGING_CONFIG: &str = "tagging";

/// How often a tag update is retried when the object is overwritten between
/// reading its metadata and replacing it.
const UPDATE_ATTEMPTS: usize = 5;

/// `GET /bucket/key?tagging`: the object's tags (an empty `TagSet` when it has none).
pub async fn handle_get_object_tagging(ctx: &Ctx) -> S3Result<S3Response> {
    check_version_id(ctx)?;
    let info = ctx.store().head_object(ctx.bucket(), ctx.key()).await?;
    Ok(xml(to_xml(TAGGING_ROOT, &Tagging::new(info.meta.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))))?))
}

/// `PUT /bucket/key?tagging`: replaces the object's whole tag set (an empty
/// `TagSet` removes them all). The object's bytes, ETag and Last-Modified stay.
pub async fn handle_put_object_tagging(ctx: &Ctx, body: RequestBody) -> S3Result<S3Response> {
    check_version_id(ctx)?;
    let doc = receive_document(ctx, body).await?;
    let tags = validate_tag_set(parse_tagging(&doc)?, TagTarget::Object)?;
    set_object_tags(ctx, tags.into_iter().collect()).await?;
    Ok(empty(StatusCode::OK))
}

/// `DELETE /bucket/key?tagging`: removes every tag of the object (204).
pub async fn handle_delete_object_tagging(ctx: &Ctx) -> S3Result<S3Response> {
    check_version_id(ctx)?;
    set_object_tags(ctx, BTreeMap::new()).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `GET /bucket?tagging`: the bucket's tags, or 404 NoSuchTagSet when it has none.
pub async fn handle_get_bucket_tagging(ctx: &Ctx) -> S3Result<S3Response> {
    let stored = ctx.store().get_bucket_config(ctx.bucket(), BUCKET_TAGGING_CONFIG).await?;
    let Some(doc) = stored else {
        return Err(S3Error::new("NoSuchTagSet", StatusCode::NOT_FOUND, "The TagSet does not exist")
            .with_field("BucketName", ctx.bucket().to_string()));
    };
    // Stored by PutBucketTagging in canonical form; parsed again so a damaged
    // file is an internal error rather than garbage sent to the client.
    let tags = parse_tagging(&doc).map_err(|e| {
        tracing::error!(bucket = ctx.bucket(), error = %e, "stored bucket tagging document is unreadable");
        S3Error::internal_error("We encountered an internal error. Please try again.")
    })?;
    Ok(xml(to_xml(TAGGING_ROOT, &Tagging::new(tags.into_iter().map(|t| (t.key, t.value))))?))
}

/// `PUT /bucket?tagging`: replaces the bucket's tag set (204). An empty `TagSet`
/// removes it, so GetBucketTagging answers NoSuchTagSet afterwards.
pub async fn handle_put_bucket_tagging(ctx: &Ctx, body: RequestBody) -> S3Result<S3Response> {
    ctx.store().head_bucket(ctx.bucket()).await?;
    let doc = receive_document(ctx, body).await?;
    let tags = validate_tag_set(parse_tagging(&doc)?, TagTarget::Bucket)?;
    let stored = if tags.is_empty() { None } else { Some(Bytes::from(to_xml(TAGGING_ROOT, &Tagging::new(tags))?)) };
    ctx.store().put_bucket_config(ctx.bucket(), BUCKET_TAGGING_CONFIG, stored).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `DELETE /bucket?tagging`: removes the bucket's tags (204, also when it had none).
pub async fn handle_delete_bucket_tagging(ctx: &Ctx) -> S3Result<S3Response> {
    ctx.store().put_bucket_config(ctx.bucket(), BUCKET_TAGGING_CONFIG, None).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// Replaces the object's tags, keeping everything else about it. Reads the
/// metadata, then replaces it under `If-Match: <etag>` so an object overwritten
/// in between is never given the old object's headers; on such a race it reads
/// again, and after [`UPDATE_ATTEMPTS`] lost races answers OperationAborted.
async fn set_object_tags(ctx: &Ctx, tags: BTreeMap<String, String>) -> S3Result<ObjectInfo> {
    for _ in 0..UPDATE_ATTEMPTS {
        let info = ctx.store().head_object(ctx.bucket(), ctx.key()).await?;
        if info.meta.tags == tags {
            return Ok(info);
        }
        let mut meta = info.meta.clone();
        meta.tags = tags.clone();
        let condition = WriteCondition::IfMatch(info.meta.etag.clone());
        match ctx.store().update_object_meta(ctx.bucket(), ctx.key(), meta, &condition).await {
            Ok(updated) => return Ok(updated),
            Err(StoreError::PreconditionFailed) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(S3Error::new(
        "OperationAborted",
        StatusCode::CONFLICT,
        "A conflicting conditional operation is currently in progress against this resource. Please try again.",
    ))
}

/// This server keeps one version per key, whose id is `null`: `versionId=null`
/// (or none) addresses it, any other id does not exist.
fn check_version_id(ctx: &Ctx) -> S3Result<()> {
    match ctx.query.get("versionId") {
        None | Some("null") => Ok(()),
        Some(v) => Err(S3Error::new(
            "NoSuchVersion",
            StatusCode::NOT_FOUND,
            format!("The specified version does not exist: {v:?} (this server keeps only the current version, \"null\")"),
        )
        .with_field("VersionId", v.to_string())),
    }
}

/// What a tag set is for: the limits differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagTarget {
    /// An object: at most [`MAX_OBJECT_TAGS`].
    Object,
    /// A bucket: at most [`MAX_BUCKET_TAGS`].
    Bucket,
}

/// Checks a tag set from a request body: the count (BadRequest, as S3
/// answers), every tag ([`validate_tag`]) and unique keys (InvalidTag).
/// Returns the tags as `(key, value)` in request order.
pub fn validate_tag_set(tags: Vec<Tag>, target: TagTarget) -> S3Result<Vec<(String, String)>> {
    check_tag_count(tags.len(), target)?;
    let mut seen = std::collections::HashSet::with_capacity(tags.len());
    let mut out = Vec::with_capacity(tags.len());
    for Tag { key, value } in tags {
        validate_tag(&key, &value)?;
        if !seen.insert(key.clone()) {
            return Err(duplicate_tag_key(&key));
        }
        out.push((key, value));
    }
    Ok(out)
}

/// Fails with S3's BadRequest when a tag set is over its target's limit.
pub fn check_tag_count(count: usize, target: TagTarget) -> S3Result<()> {
    let message = match target {
        TagTarget::Object if count > MAX_OBJECT_TAGS => format!("Object tags cannot be greater than {MAX_OBJECT_TAGS} (got {count})"),
        TagTarget::Bucket if count > MAX_BUCKET_TAGS => format!("Bucket tag count cannot be greater than {MAX_BUCKET_TAGS} (got {count})"),
        _ => return Ok(()),
    };
    Err(S3Error::new("BadRequest", StatusCode::BAD_REQUEST, message))
}

/// The InvalidTag error for a key given twice.
pub fn duplicate_tag_key(key: &str) -> S3Error {
    invalid_tag(format!("Cannot provide multiple Tags with the same key: {key:?}"))
}

/// Checks one tag against S3's rules (InvalidTag otherwise): a key of 1 to 128
/// and a value of 0 to 256 characters, counted in UTF-16 code units as S3 does;
/// only Unicode letters, digits, spaces and `_ . : / = + - @`; and no key
/// starting with the reserved `aws:` prefix (in any case).
pub fn validate_tag(key: &str, value: &str) -> S3Result<()> {
    let key_len = key.encode_utf16().count();
    if key_len == 0 || key_len > MAX_TAG_KEY_LEN {
        return Err(invalid_tag(format!(
            "The TagKey you have provided is invalid: {key:?} must be 1 to {MAX_TAG_KEY_LEN} characters long, it has {key_len}"
        )));
    }
    if let Some(c) = key.chars().find(|&c| !allowed_tag_char(c)) {
        return Err(invalid_tag(format!(
            "The TagKey you have provided is invalid: {key:?} contains {c:?}; tags may hold only letters, digits, spaces and _ . : / = + - @"
        )));
    }
    if key.get(..4).is_some_and(|prefix| prefix.eq_ignore_ascii_case("aws:")) {
        return Err(invalid_tag(format!("Your TagKey cannot be prefixed with aws: {key:?}")));
    }
    let value_len = value.encode_utf16().count();
    if value_len > MAX_TAG_VALUE_LEN {
        return Err(invalid_tag(format!(
            "The TagValue you have provided is invalid: it must be at most {MAX_TAG_VALUE_LEN} characters long, it has {value_len}"
        )));
    }
    if let Some(c) = value.chars().find(|&c| !allowed_tag_char(c)) {
        return Err(invalid_tag(format!(
            "The TagValue you have provided is invalid: {value:?} contains {c:?}; tags may hold only letters, digits, spaces and _ . : / = + - @"
        )));
    }
    Ok(())
}

/// `[\p{L}\p{Z}\p{N}_.:/=+\-@]`: the characters AWS allows in tags.
fn allowed_tag_char(c: char) -> bool {
    c.is_alphanumeric() || (c.is_whitespace() && !c.is_control()) || "_.:/=+-@".contains(c)
}

fn invalid_tag(message: String) -> S3Error {
    S3Error::new("InvalidTag", StatusCode::BAD_REQUEST, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> Tag {
        Tag { key: k.into(), value: v.into() }
    }

    #[test]
    fn valid_tags_pass() {
        for (k, v) in [("a", ""), ("Project Name", "x+y=z"), ("path/to:thing", "user@example.com"), ("ключ", "値 1.0_-"), (&"k".repeat(128), &"v".repeat(256))] {
            validate_tag(k, v).unwrap_or_else(|e| panic!("{k:?}={v:?}: {e}"));
        }
    }

    #[test]
    fn invalid_tags_are_invalid_tag() {
        let long_key = "k".repeat(129);
        let long_value = "v".repeat(257);
        // 128 characters, 129 UTF-16 code units.
        let astral_key = format!("{}𝔸", "k".repeat(127));
        for (k, v) in [("", "v"), (long_key.as_str(), "v"), ("k", long_value.as_str()), (astral_key.as_str(), "v"), ("a,b", "v"), ("k", "a,b"), ("k", "tab\there"), ("k", "new\nline"), ("k", "😀"), ("aws:x", "v"), ("AWS:x", "v")] {
            let err = validate_tag(k, v).unwrap_err();
            assert_eq!((err.code, err.status), ("InvalidTag", StatusCode::BAD_REQUEST), "{k:?}={v:?}");
        }
        assert!(validate_tag("awsome", "v").is_ok());
        assert!(validate_tag("x", "aws:allowed-in-values").is_ok());
    }

    #[test]
    fn tag_sets_check_count_and_duplicates() {
        let ten: Vec<Tag> = (0..10).map(|i| tag(&format!("k{i}"), "v")).collect();
        assert_eq!(validate_tag_set(ten.clone(), TagTarget::Object).unwrap().len(), 10);
        let mut eleven = ten.clone();
        eleven.push(tag("k10", "v"));
        let err = validate_tag_set(eleven.clone(), TagTarget::Object).unwrap_err();
        assert_eq!(err.code, "BadRequest");
        assert!(err.message.starts_with("Object tags cannot be greater than 10"), "{}", err.message);
        assert!(validate_tag_set(eleven, TagTarget::Bucket).is_ok());
        let fifty_one: Vec<Tag> = (0..51).map(|i| tag(&format!("k{i}"), "v")).collect();
        assert!(validate_tag_set(fifty_one[..50].to_vec(), TagTarget::Bucket).is_ok());
        let err = validate_tag_set(fifty_one, TagTarget::Bucket).unwrap_err();
        assert_eq!(err.code, "BadRequest");
        assert!(err.message.starts_with("Bucket tag count cannot be greater than 50"), "{}", err.message);
        let err = validate_tag_set(vec![tag("a", "1"), tag("b", "2"), tag("a", "3")], TagTarget::Object).unwrap_err();
        assert_eq!(err.code, "InvalidTag");
        assert!(err.message.starts_with("Cannot provide multiple Tags with the same key"), "{}", err.message);
        // Order is kept.
        let pairs = validate_tag_set(vec![tag("z", "1"), tag("a", "2")], TagTarget::Bucket).unwrap();
        assert_eq!(pairs, vec![("z".to_string(), "1".to_string()), ("a".to_string(), "2".to_string())]);
    }
}
