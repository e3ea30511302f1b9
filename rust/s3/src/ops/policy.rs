//! Bucket policy operations: GetBucketPolicy, PutBucketPolicy,
//! DeleteBucketPolicy. The document is validated with the full grammar
//! before it is stored, and stored verbatim (GET returns what was PUT).

use crate::body::RequestBody;
use crate::dispatch::Ctx;
use crate::error::{S3Error, S3Result};
use crate::ops::upload::receive_document;
use crate::policy::parse::{MAX_POLICY_SIZE, Policy};
use crate::policy::{POLICY_KIND, malformed_policy};
use crate::response::{S3Response, empty, full_body};
use http::{HeaderValue, Response, StatusCode};

/// `GET /bucket?policy`: the stored JSON, or NoSuchBucketPolicy.
pub async fn handle_get_bucket_policy(ctx: &Ctx) -> S3Result<S3Response> {
    let bucket = ctx.bucket();
    ctx.store().head_bucket(bucket).await?;
    let doc = ctx.store().get_bucket_config(bucket, POLICY_KIND).await?.ok_or_else(|| {
        S3Error::new("NoSuchBucketPolicy", StatusCode::NOT_FOUND, "The bucket policy does not exist")
            .with_field("BucketName", bucket.to_string())
    })?;
    let mut resp = Response::new(full_body(doc));
    resp.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(resp)
}

/// `PUT /bucket?policy`: validates and stores the policy (204).
pub async fn handle_put_bucket_policy(ctx: &Ctx, body: RequestBody) -> S3Result<S3Response> {
    let bucket = ctx.bucket();
    ctx.store().head_bucket(bucket).await?;
    if body.declared_len().is_some_and(|n| n > MAX_POLICY_SIZE as u64) {
        return Err(malformed_policy(format!(
            "Policy exceeds the maximum allowed document size: {} bytes sent, {MAX_POLICY_SIZE} allowed",
            body.declared_len().unwrap_or_default()
        )));
    }
    let doc = receive_document(ctx, body).await?;
    if doc.iter().all(u8::is_ascii_whitespace) {
        return Err(malformed_policy("Policies must be valid JSON and the first byte must be '{'"));
    }
    Policy::parse(&doc, bucket)?;
    ctx.store().put_bucket_config(bucket, POLICY_KIND, Some(doc)).await?;
    ctx.state.policies.invalidate(bucket);
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `DELETE /bucket?policy`: removes the policy (204, also when there was none).
pub async fn handle_delete_bucket_policy(ctx: &Ctx) -> S3Result<S3Response> {
    let bucket = ctx.bucket();
    ctx.store().head_bucket(bucket).await?;
    ctx.store().put_bucket_config(bucket, POLICY_KIND, None).await?;
    ctx.state.policies.invalidate(bucket);
    Ok(empty(StatusCode::NO_CONTENT))
}
