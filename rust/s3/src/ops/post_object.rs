//! POST Object: browser form uploads (`POST /bucket` with
//! multipart/form-data). The fields before the `file` part are read into
//! memory (bounded); the file part is streamed into the store as it arrives
//! and committed only once the whole form has been read and every check
//! passed. Fields after the file are ignored, as S3 does.
//!
//! Authentication: with auth enabled, a form carrying `policy` must carry the
//! SigV4 fields (`x-amz-algorithm`, `x-amz-credential`, `x-amz-date`,
//! `x-amz-signature` = hex HMAC of the base64 policy under the derived signing
//! key); its access key is the principal. A form with neither is anonymous
//! (or, for a request signed in its headers, that request's principal).
//! Either way the bucket policy then decides `s3:PutObject` on the key. With
//! auth disabled signatures are not checked, but a policy that is sent is
//! still enforced (expiration and conditions), so tests see S3's answers.

use super::post_policy::{FormFields, PostPolicy};
use crate::auth::header::UNSUPPORTED_MECHANISM;
use crate::auth::sigv4::{ALGORITHM, AmzDate, SERVICE, TERMINATOR, sign};
use crate::body::RequestBody;
use crate::dispatch::Ctx;
use crate::error::{S3Error, S3Result};
use crate::form::{FormEvent, FormParser, PartHeaders, boundary_from_content_type};
use crate::ops::meta::{CONTENT_HEADERS, validate_tag};
use crate::response::{S3Response, empty, set_header, xml};
use crate::xml::post_object::PostResponse;
use crate::xml::to_xml;
use http::StatusCode;
use md5::{Digest, Md5};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use smartstorage_store::{ObjectMeta, WriteCondition, names};
use subtle::ConstantTimeEq;

/// Most bytes of form fields (names and values) accepted before the file
/// part, and after it: a policy document, its signature and a few dozen
/// metadata fields fit many times over, and the server never holds more than
/// this of a form in memory.
pub const MAX_FORM_FIELDS: usize = 64 * 1024;

/// Characters kept as they are in redirect query values and object URLs.
const URL_SAFE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The same, keeping `/` (object keys in paths).
const PATH_SAFE: &AsciiSet = &URL_SAFE.remove(b'/');

fn malformed(detail: impl std::fmt::Display) -> S3Error {
    S3Error::new(
        "MalformedPOSTRequest",
        StatusCode::BAD_REQUEST,
        format!("The body of your POST request is not well-formed multipart/form-data. ({detail})"),
    )
}

fn missing_field(name: &str) -> S3Error {
    S3Error::invalid_argument(format!(
        "Bucket POST must contain a field named '{name}'.  If it is specified, please check the order of the fields."
    ))
    .with_field("ArgumentName", name.to_string())
    .with_field("ArgumentValue", "")
}

/// Pulls form events, reading the body as needed.
struct FormReader<'a> {
    parser: FormParser,
    body: &'a mut RequestBody,
    finished: bool,
}

impl FormReader<'_> {
    async fn next(&mut self) -> S3Result<FormEvent> {
        loop {
            if let Some(event) = self.parser.next_event().map_err(malformed)? {
                return Ok(event);
            }
            if self.finished {
                return Err(malformed("the body ended early"));
            }
            match self.body.next_chunk().await? {
                Some(chunk) => self.parser.push(&chunk),
                None => {
                    self.parser.finish();
                    self.finished = true;
                }
            }
        }
    }

    /// Reads the rest of the current part into memory, counting against `budget`.
    async fn value(&mut self, budget: &mut usize) -> S3Result<Vec<u8>> {
        let mut value = Vec::new();
        loop {
            match self.next().await? {
                FormEvent::Data(d) => {
                    *budget = budget.checked_sub(d.len()).ok_or_else(too_many_fields)?;
                    value.extend_from_slice(&d);
                }
                FormEvent::PartEnd => return Ok(value),
                _ => return Err(malformed("unexpected event inside a part")),
            }
        }
    }
}

fn too_many_fields() -> S3Error {
    S3Error::new(
        "MaxPostPreDataLengthExceeded",
        StatusCode::BAD_REQUEST,
        format!("Your POST request fields preceding the upload file were too large (limit {MAX_FORM_FIELDS} bytes)."),
    )
}

/// `POST /bucket` (multipart/form-data).
pub async fn handle_post_object(ctx: &Ctx, mut body: RequestBody) -> S3Result<S3Response> {
    let bucket = ctx.bucket().to_string();
    ctx.store().head_bucket(&bucket).await?;
    let boundary = boundary_from_content_type(ctx.header("content-type").unwrap_or_default()).map_err(malformed)?;
    let mut form = FormReader { parser: FormParser::new(&boundary).map_err(malformed)?, body: &mut body, finished: false };
    let (fields, file) = read_fields(&mut form).await?;
    let raw_key = fields.get("key").ok_or_else(|| missing_field("key"))?;
    let (principal, policy) = verify(ctx, &fields, &bucket)?;
    let filename = file.filename.as_deref().unwrap_or_default();
    let basename = filename.rsplit(['/', '\\']).next().unwrap_or_default();
    let key = raw_key.replace("${filename}", basename);
    if key.is_empty() {
        return Err(S3Error::invalid_argument("User key must have a length greater than 0.")
            .with_field("ArgumentName", "key")
            .with_field("ArgumentValue", ""));
    }
    names::validate_key(&key)?;
    crate::policy::authorize_action(ctx, principal.as_deref(), "s3:PutObject", &bucket, Some(&key), false).await?;
    let mut meta = meta_from_fields(ctx, &fields)?;
    let (min, max) = policy.as_ref().and_then(PostPolicy::length_range).unwrap_or((0, u64::MAX));
    let limit = max.min(ctx.state.config.limits.max_object_size);
    let mut writer = ctx.store().put_object(&bucket, &key).await?;
    let mut md5 = Md5::new();
    let mut size = 0u64;
    loop {
        match form.next().await? {
            FormEvent::Data(chunk) => {
                size += chunk.len() as u64;
                if size > limit {
                    return Err(S3Error::entity_too_large("Your proposed upload exceeds the maximum allowed size")
                        .with_field("ProposedSize", size.to_string())
                        .with_field("MaxSizeAllowed", limit.to_string()));
                }
                md5.update(&chunk);
                writer.write(chunk).await?;
            }
            FormEvent::PartEnd => break,
            _ => return Err(malformed("unexpected event inside the file part")),
        }
    }
    if size < min {
        return Err(S3Error::entity_too_small("Your proposed upload is smaller than the minimum allowed size")
            .with_field("ProposedSize", size.to_string())
            .with_field("MinSizeAllowed", min.to_string()));
    }
    drain(&mut form).await?;
    meta.etag = hex::encode(md5.finalize());
    let info = writer.commit(meta, &WriteCondition::None).await?;
    respond(ctx, &fields, &bucket, &key, &info.meta.etag)
}

/// Reads the fields up to the `file` part; returns them and the file part's headers.
async fn read_fields(form: &mut FormReader<'_>) -> S3Result<(FormFields, PartHeaders)> {
    let mut fields = FormFields::default();
    let mut budget = MAX_FORM_FIELDS;
    loop {
        match form.next().await? {
            FormEvent::Part(part) if part.name.eq_ignore_ascii_case("file") => return Ok((fields, part)),
            FormEvent::Part(part) => {
                budget = budget.checked_sub(part.name.len()).ok_or_else(too_many_fields)?;
                let value = form.value(&mut budget).await?;
                let value = String::from_utf8(value).map_err(|_| {
                    S3Error::invalid_argument(format!("The POST form field {:?} is not valid UTF-8", part.name))
                        .with_field("ArgumentName", part.name.clone())
                })?;
                fields.add(part.name, value)?;
            }
            FormEvent::End => {
                return Err(S3Error::invalid_argument("POST requires exactly one file upload per request.")
                    .with_field("ArgumentName", "file")
                    .with_field("ArgumentValue", "0"));
            }
            FormEvent::Data(_) | FormEvent::PartEnd => return Err(malformed("data outside a part")),
        }
    }
}

/// Consumes the fields after the file (ignored) up to the closing boundary.
async fn drain(form: &mut FormReader<'_>) -> S3Result<()> {
    let mut budget = MAX_FORM_FIELDS;
    loop {
        match form.next().await? {
            FormEvent::End => return Ok(()),
            FormEvent::Data(d) => budget = budget.checked_sub(d.len()).ok_or_else(|| malformed("too much data after the file"))?,
            FormEvent::Part(_) | FormEvent::PartEnd => {}
        }
    }
}

/// Checks the signature (auth enabled) and the policy; returns the principal
/// (`None`: anonymous or auth off) and the policy, if one was sent.
fn verify(ctx: &Ctx, fields: &FormFields, bucket: &str) -> S3Result<(Option<String>, Option<PostPolicy>)> {
    if fields.get("AWSAccessKeyId").is_some() || fields.get("signature").is_some() {
        return Err(S3Error::invalid_request(UNSUPPORTED_MECHANISM));
    }
    let encoded = fields.get("policy").filter(|p| !p.trim().is_empty());
    let signature = fields.get("x-amz-signature");
    let principal = if ctx.state.config.auth.enabled {
        match (encoded, signature) {
            // An unsigned form is anonymous, unless the request itself was
            // signed in a header (then that credential is the principal).
            (None, None) => ctx.principal.clone(),
            (None, Some(_)) => return Err(missing_field("policy")),
            (Some(_), None) => return Err(missing_field("x-amz-signature")),
            (Some(policy), Some(sig)) => Some(verify_signature(ctx, fields, policy, sig)?),
        }
    } else {
        None
    };
    let policy = encoded.map(PostPolicy::parse).transpose()?;
    if let Some(policy) = &policy {
        policy.check_fields(fields, bucket, time::OffsetDateTime::now_utc())?;
    }
    Ok((principal, policy))
}

/// Verifies `x-amz-signature` over the base64 policy; returns the access key.
fn verify_signature(ctx: &Ctx, fields: &FormFields, policy: &str, signature: &str) -> S3Result<String> {
    let arg = |name: &str, value: &str, message: String| {
        S3Error::invalid_argument(message).with_field("ArgumentName", name.to_string()).with_field("ArgumentValue", value.to_string())
    };
    let algorithm = fields.get("x-amz-algorithm").ok_or_else(|| missing_field("x-amz-algorithm"))?;
    if algorithm != ALGORITHM {
        return Err(arg("x-amz-algorithm", algorithm, format!("Unsupported x-amz-algorithm {algorithm:?}: use {ALGORITHM}")));
    }
    let credential = fields.get("x-amz-credential").ok_or_else(|| missing_field("x-amz-credential"))?;
    let parts: Vec<&str> = credential.split('/').collect();
    let [access_key, date, region, service, terminator] = parts.as_slice() else {
        return Err(arg("x-amz-credential", credential, format!(
            "Invalid x-amz-credential {credential:?}: expected <access key>/<YYYYMMDD>/<region>/s3/aws4_request"
        )));
    };
    if *service != SERVICE || *terminator != TERMINATOR {
        return Err(arg("x-amz-credential", credential, format!("Invalid credential scope in {credential:?}: expected .../s3/aws4_request")));
    }
    let expected_region = &ctx.state.config.region;
    if region != expected_region {
        return Err(arg("x-amz-credential", credential, format!(
            "The region '{region}' in x-amz-credential is wrong; expecting '{expected_region}'"
        )));
    }
    let amz_date = fields.get("x-amz-date").ok_or_else(|| missing_field("x-amz-date"))?;
    let parsed = AmzDate::parse(amz_date)
        .ok_or_else(|| arg("x-amz-date", amz_date, format!("Invalid x-amz-date {amz_date:?}: expected YYYYMMDD'T'HHMMSS'Z'")))?;
    if parsed.short() != *date {
        return Err(arg("x-amz-date", amz_date, format!(
            "The date {amz_date} does not match the credential scope date {date}"
        )));
    }
    let key = ctx.state.credentials.signing_key(access_key, date, region, SERVICE).ok_or_else(|| {
        S3Error::invalid_access_key_id("The AWS Access Key Id you provided does not exist in our records.")
            .with_field("AWSAccessKeyId", access_key.to_string())
    })?;
    let expected = sign(&key, policy.as_bytes());
    let provided = signature.trim().to_ascii_lowercase();
    if !bool::from(expected.as_bytes().ct_eq(provided.as_bytes())) {
        return Err(S3Error::signature_does_not_match(
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        )
        .with_field("AWSAccessKeyId", access_key.to_string())
        .with_field("StringToSign", policy.to_string())
        .with_field("SignatureProvided", signature.to_string()));
    }
    Ok(access_key.to_string())
}

/// Object metadata from the form: content headers, `x-amz-meta-*`, `tagging`.
fn meta_from_fields(ctx: &Ctx, fields: &FormFields) -> S3Result<ObjectMeta> {
    let mut meta = ObjectMeta::default();
    let mut user_size = 0usize;
    for (name, value) in fields.iter() {
        let lower = name.to_ascii_lowercase();
        if let Some(header) = CONTENT_HEADERS.iter().find(|h| **h == lower) {
            if !value.is_empty() {
                meta.headers.insert(header.to_string(), value.to_string());
            }
        } else if let Some(short) = lower.strip_prefix("x-amz-meta-") {
            user_size += short.len() + value.len();
            meta.user.insert(short.to_string(), value.to_string());
        }
    }
    let max = ctx.state.config.limits.max_metadata_size;
    if user_size > max {
        return Err(S3Error::metadata_too_large(format!(
            "Your metadata headers exceed the maximum allowed metadata size: {user_size} bytes sent, {max} allowed"
        )));
    }
    if let Some(tagging) = fields.get("tagging") {
        for tag in crate::xml::tagging::parse_tagging(tagging.as_bytes())? {
            validate_tag(&tag.key, &tag.value)?;
            meta.tags.insert(tag.key, tag.value);
        }
    }
    Ok(meta)
}

/// The success answer: a 303 redirect, or `success_action_status` (200, 201
/// with PostResponse XML, or 204 by default).
fn respond(ctx: &Ctx, fields: &FormFields, bucket: &str, key: &str, etag: &str) -> S3Result<S3Response> {
    let quoted = format!("\"{etag}\"");
    let encoded_key = utf8_percent_encode(key, PATH_SAFE).to_string();
    let location = match ctx.header("host") {
        Some(host) => format!("http://{host}/{bucket}/{encoded_key}"),
        None => format!("/{bucket}/{encoded_key}"),
    };
    let redirect = fields
        .get("success_action_redirect")
        .or_else(|| fields.get("redirect"))
        .map(str::trim)
        .filter(|r| r.starts_with("http://") || r.starts_with("https://"));
    let mut resp = if let Some(redirect) = redirect {
        let sep = if redirect.contains('?') { '&' } else { '?' };
        let q = |v: &str| utf8_percent_encode(v, URL_SAFE).to_string();
        let target = format!("{redirect}{sep}bucket={}&key={}&etag={}", q(bucket), q(key), q(&quoted));
        let mut r = empty(StatusCode::SEE_OTHER);
        set_header(&mut r, "location", &target);
        r
    } else {
        match fields.get("success_action_status").map(str::trim) {
            Some("200") => empty(StatusCode::OK),
            Some("201") => {
                let doc = PostResponse { location: location.clone(), bucket: bucket.to_string(), key: key.to_string(), etag: quoted.clone() };
                let mut r = xml(to_xml("PostResponse", &doc)?);
                *r.status_mut() = StatusCode::CREATED;
                r
            }
            _ => empty(StatusCode::NO_CONTENT),
        }
    };
    set_header(&mut resp, "etag", &quoted);
    if !resp.headers().contains_key("location") {
        set_header(&mut resp, "location", &location);
    }
    Ok(resp)
}
