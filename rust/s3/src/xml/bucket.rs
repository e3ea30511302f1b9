//! XML of the bucket operations.

use super::S3_XMLNS;
use serde::{Deserialize, Serialize};

/// The owner element of listings.
#[derive(Debug, Serialize)]
pub struct Owner {
    /// Canonical id (here: the access key id, or `smartstorage` with auth off).
    #[serde(rename = "ID")]
    pub id: String,
    /// Display name (same as the id).
    #[serde(rename = "DisplayName")]
    pub display_name: String,
}

impl Owner {
    /// The owner element for an access key (or the anonymous owner).
    pub fn for_principal(principal: Option<&str>) -> Owner {
        let id = principal.unwrap_or(ANONYMOUS_OWNER).to_string();
        Owner { display_name: id.clone(), id }
    }
}

/// Owner id reported for buckets created while auth is off.
pub const ANONYMOUS_OWNER: &str = "smartstorage";

/// `ListAllMyBucketsResult`.
#[derive(Debug, Serialize)]
pub struct ListAllMyBucketsResult {
    /// Namespace attribute.
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    /// The caller.
    #[serde(rename = "Owner")]
    pub owner: Owner,
    /// The buckets.
    #[serde(rename = "Buckets")]
    pub buckets: Buckets,
}

/// The `Buckets` wrapper.
#[derive(Debug, Serialize)]
pub struct Buckets {
    /// One element per bucket.
    #[serde(rename = "Bucket", default)]
    pub bucket: Vec<BucketEntry>,
}

/// One bucket in a listing.
#[derive(Debug, Serialize)]
pub struct BucketEntry {
    /// Bucket name.
    #[serde(rename = "Name")]
    pub name: String,
    /// ISO 8601 creation time.
    #[serde(rename = "CreationDate")]
    pub creation_date: String,
    /// The region the bucket lives in.
    #[serde(rename = "BucketRegion")]
    pub bucket_region: String,
}

/// `LocationConstraint` (GetBucketLocation answer).
#[derive(Debug, Serialize)]
pub struct LocationConstraint {
    /// Namespace attribute.
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    /// The region; empty for us-east-1, as S3 answers.
    #[serde(rename = "$text")]
    pub region: String,
}

/// `VersioningConfiguration` (GetBucketVersioning answer for an unversioned bucket).
#[derive(Debug, Serialize)]
pub struct VersioningConfiguration {
    /// Namespace attribute.
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
}

/// `CreateBucketConfiguration` request body (optional).
#[derive(Debug, Deserialize, Default)]
pub struct CreateBucketConfiguration {
    /// The requested region.
    #[serde(rename = "LocationConstraint", default)]
    pub location_constraint: Option<String>,
}

impl LocationConstraint {
    /// The answer for `region`.
    pub fn new(region: &str) -> Self {
        let region = if region == "us-east-1" { String::new() } else { region.to_string() };
        LocationConstraint { xmlns: S3_XMLNS, region }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::to_xml;

    #[test]
    fn list_buckets_xml_matches_s3() {
        let doc = ListAllMyBucketsResult {
            xmlns: S3_XMLNS,
            owner: Owner::for_principal(None),
            buckets: Buckets {
                bucket: vec![BucketEntry {
                    name: "b1".into(),
                    creation_date: "2026-01-01T00:00:00.000Z".into(),
                    bucket_region: "us-east-1".into(),
                }],
            },
        };
        assert_eq!(
            to_xml("ListAllMyBucketsResult", &doc).unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Owner><ID>smartstorage</ID><DisplayName>smartstorage</DisplayName></Owner><Buckets><Bucket><Name>b1</Name><CreationDate>2026-01-01T00:00:00.000Z</CreationDate><BucketRegion>us-east-1</BucketRegion></Bucket></Buckets></ListAllMyBucketsResult>"
        );
    }

    #[test]
    fn location_is_empty_for_us_east_1() {
        assert_eq!(
            to_xml("LocationConstraint", &LocationConstraint::new("us-east-1")).unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"
        );
        assert_eq!(
            to_xml("LocationConstraint", &LocationConstraint::new("eu-west-1")).unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">eu-west-1</LocationConstraint>"
        );
    }

    #[test]
    fn empty_bucket_list_and_versioning() {
        let doc = ListAllMyBucketsResult { xmlns: S3_XMLNS, owner: Owner::for_principal(Some("AK")), buckets: Buckets { bucket: vec![] } };
        assert!(to_xml("ListAllMyBucketsResult", &doc).unwrap().ends_with("<Buckets/></ListAllMyBucketsResult>"));
        assert_eq!(
            to_xml("VersioningConfiguration", &VersioningConfiguration { xmlns: S3_XMLNS }).unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"
        );
    }
}
