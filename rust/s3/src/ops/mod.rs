//! One `handle_*` function per S3 operation, grouped by family, and the
//! dispatch `match` that picks one for a routed request.

use crate::body::RequestBody;
use crate::dispatch::{Ctx, not_implemented};
use crate::error::S3Result;
use crate::response::S3Response;
use crate::router::Endpoint;

pub mod bucket;
pub mod cors;
pub mod delete_objects;
pub mod health;
pub mod list;
pub mod meta;
pub mod multipart;
pub mod object;
pub mod policy;
pub mod post_object;
pub mod post_policy;
pub mod tagging;
pub mod upload;

/// Runs the handler for `ctx.endpoint`.
pub async fn dispatch(ctx: &Ctx, body: RequestBody) -> S3Result<S3Response> {
    use Endpoint::*;
    match &ctx.endpoint {
        Health => health::handle_health(ctx).await,
        ListBuckets => bucket::handle_list_buckets(ctx).await,
        CreateBucket => bucket::handle_create_bucket(ctx, body).await,
        DeleteBucket => bucket::handle_delete_bucket(ctx).await,
        HeadBucket => bucket::handle_head_bucket(ctx).await,
        GetBucketLocation => bucket::handle_get_bucket_location(ctx).await,
        GetBucketVersioning => bucket::handle_get_bucket_versioning(ctx).await,
        DeleteObjects => delete_objects::handle_delete_objects(ctx, body).await,
        PutObject => object::handle_put_object(ctx, body).await,
        CopyObject => object::handle_copy_object(ctx).await,
        GetObject => object::handle_get_object(ctx).await,
        HeadObject => object::handle_head_object(ctx).await,
        DeleteObject => object::handle_delete_object(ctx).await,
        ListObjects => list::handle_list_objects(ctx).await,
        ListObjectsV2 => list::handle_list_objects_v2(ctx).await,
        ListObjectVersions => list::handle_list_object_versions(ctx).await,
        ListMultipartUploads => list::handle_list_multipart_uploads(ctx).await,
        ListParts => list::handle_list_parts(ctx).await,
        CreateMultipartUpload => multipart::handle_create_multipart_upload(ctx).await,
        UploadPart => multipart::handle_upload_part(ctx, body).await,
        UploadPartCopy => multipart::handle_upload_part_copy(ctx).await,
        CompleteMultipartUpload => multipart::handle_complete_multipart_upload(ctx, body).await,
        AbortMultipartUpload => multipart::handle_abort_multipart_upload(ctx).await,
        GetObjectTagging => tagging::handle_get_object_tagging(ctx).await,
        PutObjectTagging => tagging::handle_put_object_tagging(ctx, body).await,
        DeleteObjectTagging => tagging::handle_delete_object_tagging(ctx).await,
        GetBucketTagging => tagging::handle_get_bucket_tagging(ctx).await,
        PutBucketTagging => tagging::handle_put_bucket_tagging(ctx, body).await,
        DeleteBucketTagging => tagging::handle_delete_bucket_tagging(ctx).await,
        GetBucketPolicy => policy::handle_get_bucket_policy(ctx).await,
        PutBucketPolicy => policy::handle_put_bucket_policy(ctx, body).await,
        DeleteBucketPolicy => policy::handle_delete_bucket_policy(ctx).await,
        GetBucketCors => cors::handle_get_bucket_cors(ctx).await,
        PutBucketCors => cors::handle_put_bucket_cors(ctx, body).await,
        DeleteBucketCors => cors::handle_delete_bucket_cors(ctx).await,
        Preflight => cors::handle_preflight(ctx).await,
        PostObject => post_object::handle_post_object(ctx, body).await,
        other => not_implemented(other),
    }
}
