//! Bucket CORS operations: GetBucketCors, PutBucketCors, DeleteBucketCors,
//! and the preflight (`OPTIONS`) answer. Matching lives in [`crate::cors`].

use crate::body::RequestBody;
use crate::cors::{CORS_KIND, cors_document, parse_cors_xml};
use crate::dispatch::Ctx;
use crate::error::{S3Error, S3Result};
use crate::ops::upload::receive_document;
use crate::response::{S3Response, empty, xml};
use bytes::Bytes;
use http::StatusCode;

/// `GET /bucket?cors`: the stored configuration, or NoSuchCORSConfiguration.
pub async fn handle_get_bucket_cors(ctx: &Ctx) -> S3Result<S3Response> {
    let bucket = ctx.bucket();
    ctx.store().head_bucket(bucket).await?;
    let doc = ctx.store().get_bucket_config(bucket, CORS_KIND).await?.ok_or_else(|| {
        S3Error::new("NoSuchCORSConfiguration", StatusCode::NOT_FOUND, "The CORS configuration does not exist")
            .with_field("BucketName", bucket.to_string())
    })?;
    Ok(xml(String::from_utf8_lossy(&doc).into_owned()))
}

/// `PUT /bucket?cors`: validates the rules and stores them (200).
pub async fn handle_put_bucket_cors(ctx: &Ctx, body: RequestBody) -> S3Result<S3Response> {
    let bucket = ctx.bucket();
    ctx.store().head_bucket(bucket).await?;
    let doc = receive_document(ctx, body).await?;
    let rules = parse_cors_xml(&doc)?;
    let canonical = cors_document(rules)?;
    ctx.store().put_bucket_config(bucket, CORS_KIND, Some(Bytes::from(canonical))).await?;
    ctx.state.cors.cache.invalidate(bucket);
    Ok(empty(StatusCode::OK))
}

/// `DELETE /bucket?cors`: removes the configuration (204, also when there was none).
pub async fn handle_delete_bucket_cors(ctx: &Ctx) -> S3Result<S3Response> {
    let bucket = ctx.bucket();
    ctx.store().head_bucket(bucket).await?;
    ctx.store().put_bucket_config(bucket, CORS_KIND, None).await?;
    ctx.state.cors.cache.invalidate(bucket);
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `OPTIONS /bucket[/key]`: see [`crate::cors::handle_preflight`].
pub async fn handle_preflight(ctx: &Ctx) -> S3Result<S3Response> {
    crate::cors::handle_preflight(ctx).await
}
