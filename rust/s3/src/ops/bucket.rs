//! Bucket operations: ListBuckets, CreateBucket, DeleteBucket, HeadBucket,
//! GetBucketLocation, GetBucketVersioning.

use crate::body::RequestBody;
use crate::dispatch::Ctx;
use crate::error::{S3Error, S3Result};
use crate::response::{S3Response, empty, set_header, xml};
use crate::xml::bucket::*;
use crate::xml::{MAX_XML_BODY, S3_XMLNS, from_xml, iso8601, to_xml};
use http::StatusCode;
use smartstorage_store::{StoreError, names};

/// `GET /`: the caller's buckets.
pub async fn handle_list_buckets(ctx: &Ctx) -> S3Result<S3Response> {
    let buckets = ctx.store().list_buckets().await?;
    let region = &ctx.state.config.region;
    let visible = buckets.into_iter().filter(|b| owns(ctx, b.owner.as_deref()));
    let doc = ListAllMyBucketsResult {
        xmlns: S3_XMLNS,
        owner: Owner::for_principal(ctx.principal.as_deref()),
        buckets: Buckets {
            bucket: visible
                .map(|b| BucketEntry { name: b.name, creation_date: iso8601(b.created), bucket_region: region.clone() })
                .collect(),
        },
    };
    Ok(xml(to_xml("ListAllMyBucketsResult", &doc)?))
}

/// Whether the caller owns a bucket with `owner`. With auth off everything is
/// everyone's; with auth on, buckets belong to the access key that created them.
fn owns(ctx: &Ctx, owner: Option<&str>) -> bool {
    !ctx.state.config.auth.enabled || owner.is_none() || owner == ctx.principal.as_deref()
}

/// `PUT /bucket`: creates the bucket (optional CreateBucketConfiguration body).
pub async fn handle_create_bucket(ctx: &Ctx, body: RequestBody) -> S3Result<S3Response> {
    let bucket = ctx.bucket();
    names::validate_bucket_name(bucket)?;
    let doc = body
        .read_to_bytes(MAX_XML_BODY, || S3Error::malformed_xml("The CreateBucketConfiguration document is too large"))
        .await?;
    if !doc.iter().all(|b| b.is_ascii_whitespace()) {
        let config: CreateBucketConfiguration = from_xml(&doc)?;
        if let Some(region) = config.location_constraint.filter(|r| !r.is_empty() && r != &ctx.state.config.region) {
            tracing::debug!(requested = %region, "CreateBucket LocationConstraint differs from the server region; accepted");
        }
    }
    match ctx.store().create_bucket(bucket, ctx.principal.as_deref()).await {
        Ok(_) => {
            let mut resp = empty(StatusCode::OK);
            set_header(&mut resp, "location", &format!("/{bucket}"));
            Ok(resp)
        }
        Err(StoreError::BucketAlreadyExists { owner, .. }) if owns(ctx, owner.as_deref()) => {
            Err(S3Error::bucket_already_owned_by_you(
                "Your previous request to create the named bucket succeeded and you already own it.",
            )
            .with_field("BucketName", bucket.to_string()))
        }
        Err(e) => Err(e.into()),
    }
}

/// `DELETE /bucket`: deletes an empty bucket.
pub async fn handle_delete_bucket(ctx: &Ctx) -> S3Result<S3Response> {
    ctx.store().delete_bucket(ctx.bucket()).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `HEAD /bucket`: 200 with the region, or 404.
pub async fn handle_head_bucket(ctx: &Ctx) -> S3Result<S3Response> {
    ctx.store().head_bucket(ctx.bucket()).await?;
    let mut resp = empty(StatusCode::OK);
    set_header(&mut resp, "x-amz-bucket-region", &ctx.state.config.region);
    Ok(resp)
}

/// `GET /bucket?location`.
pub async fn handle_get_bucket_location(ctx: &Ctx) -> S3Result<S3Response> {
    ctx.store().head_bucket(ctx.bucket()).await?;
    Ok(xml(to_xml("LocationConstraint", &LocationConstraint::new(&ctx.state.config.region))?))
}

/// `GET /bucket?versioning`: this server is unversioned, so the status is empty.
pub async fn handle_get_bucket_versioning(ctx: &Ctx) -> S3Result<S3Response> {
    ctx.store().head_bucket(ctx.bucket()).await?;
    Ok(xml(to_xml("VersioningConfiguration", &VersioningConfiguration { xmlns: S3_XMLNS })?))
}
