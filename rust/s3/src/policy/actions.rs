//! THE permission table: every routed [`Endpoint`] → the IAM action a bucket
//! policy names for it and the kind of resource it acts on. The match is
//! exhaustive, so a new endpoint in the router does not compile until it has
//! a row here.

use super::parse::S3_ARN_PREFIX;
use crate::router::Endpoint;

/// What an action is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// The service itself (ListBuckets): no bucket policy applies.
    Service,
    /// `arn:aws:s3:::bucket`.
    Bucket,
    /// `arn:aws:s3:::bucket/key`.
    Object,
    /// Every object of the bucket at once (DeleteObjects, whose keys are in
    /// the body): allowed only when allowed for any key, denied when denied
    /// for some key.
    AllObjects,
}

/// An endpoint's row in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IamAction {
    /// The IAM action name, e.g. `s3:GetObject`.
    pub name: &'static str,
    /// The resource it is checked against.
    pub resource: ResourceKind,
}

const fn row(name: &'static str, resource: ResourceKind) -> Option<IamAction> {
    Some(IamAction { name, resource })
}

/// The IAM action of `endpoint`; `None` for requests no policy governs
/// (health checks, CORS preflights, and operations answered 501).
///
/// Copy operations also read their source: [`source_action`] names that check.
pub fn iam_action(endpoint: &Endpoint) -> Option<IamAction> {
    use Endpoint::*;
    use ResourceKind::*;
    match endpoint {
        Health | Preflight | NotImplemented(_) => None,
        ListBuckets => row("s3:ListAllMyBuckets", Service),
        CreateBucket => row("s3:CreateBucket", Bucket),
        DeleteBucket => row("s3:DeleteBucket", Bucket),
        HeadBucket | ListObjects | ListObjectsV2 => row("s3:ListBucket", Bucket),
        ListObjectVersions => row("s3:ListBucketVersions", Bucket),
        ListMultipartUploads => row("s3:ListBucketMultipartUploads", Bucket),
        GetBucketLocation => row("s3:GetBucketLocation", Bucket),
        GetBucketVersioning => row("s3:GetBucketVersioning", Bucket),
        PutBucketVersioning => row("s3:PutBucketVersioning", Bucket),
        GetBucketPolicy => row("s3:GetBucketPolicy", Bucket),
        PutBucketPolicy => row("s3:PutBucketPolicy", Bucket),
        DeleteBucketPolicy => row("s3:DeleteBucketPolicy", Bucket),
        GetBucketCors => row("s3:GetBucketCORS", Bucket),
        // S3 has no separate delete permission for CORS and tagging.
        PutBucketCors | DeleteBucketCors => row("s3:PutBucketCORS", Bucket),
        GetBucketTagging => row("s3:GetBucketTagging", Bucket),
        PutBucketTagging | DeleteBucketTagging => row("s3:PutBucketTagging", Bucket),
        DeleteObjects => row("s3:DeleteObject", AllObjects),
        GetObject | HeadObject => row("s3:GetObject", Object),
        // PostObject's key is in the form body: its handler checks this row
        // itself once the key is known.
        PutObject | CopyObject | PostObject => row("s3:PutObject", Object),
        CreateMultipartUpload | UploadPart | UploadPartCopy | CompleteMultipartUpload => row("s3:PutObject", Object),
        AbortMultipartUpload => row("s3:AbortMultipartUpload", Object),
        ListParts => row("s3:ListMultipartUploadParts", Object),
        DeleteObject => row("s3:DeleteObject", Object),
        GetObjectTagging => row("s3:GetObjectTagging", Object),
        PutObjectTagging => row("s3:PutObjectTagging", Object),
        DeleteObjectTagging => row("s3:DeleteObjectTagging", Object),
    }
}

/// The action checked on the *source* object of a copy (`x-amz-copy-source`).
pub fn source_action(endpoint: &Endpoint) -> Option<&'static str> {
    matches!(endpoint, Endpoint::CopyObject | Endpoint::UploadPartCopy).then_some("s3:GetObject")
}

/// Whether the `s3:prefix` / `s3:delimiter` / `s3:max-keys` condition keys
/// apply (the listing actions).
pub fn is_listing(endpoint: &Endpoint) -> bool {
    matches!(endpoint, Endpoint::ListObjects | Endpoint::ListObjectsV2 | Endpoint::ListObjectVersions)
}

/// Operations only the bucket owner may perform, even when a policy allows
/// someone else (S3 answers 405 to a permitted non-owner), and that the owner
/// may always perform, even against an explicit Deny (so an owner cannot lock
/// themselves out of their own policy).
pub fn is_owner_only(endpoint: &Endpoint) -> bool {
    matches!(endpoint, Endpoint::GetBucketPolicy | Endpoint::PutBucketPolicy | Endpoint::DeleteBucketPolicy)
}

/// `arn:aws:s3:::bucket`.
pub fn bucket_arn(bucket: &str) -> String {
    format!("{S3_ARN_PREFIX}{bucket}")
}

/// `arn:aws:s3:::bucket/key`.
pub fn object_arn(bucket: &str, key: &str) -> String {
    format!("{S3_ARN_PREFIX}{bucket}/{key}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_the_documented_actions() {
        use Endpoint::*;
        let cases: &[(Endpoint, &str, ResourceKind)] = &[
            (GetObject, "s3:GetObject", ResourceKind::Object),
            (HeadObject, "s3:GetObject", ResourceKind::Object),
            (ListObjects, "s3:ListBucket", ResourceKind::Bucket),
            (ListObjectsV2, "s3:ListBucket", ResourceKind::Bucket),
            (HeadBucket, "s3:ListBucket", ResourceKind::Bucket),
            (ListObjectVersions, "s3:ListBucketVersions", ResourceKind::Bucket),
            (ListMultipartUploads, "s3:ListBucketMultipartUploads", ResourceKind::Bucket),
            (PutObject, "s3:PutObject", ResourceKind::Object),
            (CopyObject, "s3:PutObject", ResourceKind::Object),
            (UploadPart, "s3:PutObject", ResourceKind::Object),
            (CompleteMultipartUpload, "s3:PutObject", ResourceKind::Object),
            (AbortMultipartUpload, "s3:AbortMultipartUpload", ResourceKind::Object),
            (ListParts, "s3:ListMultipartUploadParts", ResourceKind::Object),
            (DeleteObject, "s3:DeleteObject", ResourceKind::Object),
            (DeleteObjects, "s3:DeleteObject", ResourceKind::AllObjects),
            (GetBucketPolicy, "s3:GetBucketPolicy", ResourceKind::Bucket),
            (DeleteBucketCors, "s3:PutBucketCORS", ResourceKind::Bucket),
            (ListBuckets, "s3:ListAllMyBuckets", ResourceKind::Service),
        ];
        for (endpoint, name, kind) in cases {
            let row = iam_action(endpoint).unwrap();
            assert_eq!((row.name, row.resource), (*name, *kind), "{endpoint:?}");
        }
        assert_eq!(iam_action(&Preflight), None);
        assert_eq!(iam_action(&Health), None);
        assert_eq!(source_action(&CopyObject), Some("s3:GetObject"));
        assert_eq!(source_action(&PutObject), None);
    }

    #[test]
    fn arns_are_built_as_s3_does() {
        assert_eq!(bucket_arn("b"), "arn:aws:s3:::b");
        assert_eq!(object_arn("b", "a/b c"), "arn:aws:s3:::b/a/b c");
    }
}
