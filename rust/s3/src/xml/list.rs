//! XML of the listing operations: ListObjects (v1), ListObjectsV2 and
//! ListObjectVersions. Element order follows what S3 sends.

use super::bucket::Owner;
use serde::Serialize;

/// The storage class every object of this server reports.
pub const STORAGE_CLASS: &str = "STANDARD";

/// One `<Contents>` entry of ListObjects / ListObjectsV2.
#[derive(Debug, Serialize)]
pub struct ObjectEntry {
    /// The key (URL-encoded when `encoding-type=url`).
    #[serde(rename = "Key")]
    pub key: String,
    /// ISO 8601 modification time.
    #[serde(rename = "LastModified")]
    pub last_modified: String,
    /// The quoted entity tag.
    #[serde(rename = "ETag")]
    pub etag: String,
    /// Checksum algorithms stored with the object (`CRC32`, `SHA256`, …).
    #[serde(rename = "ChecksumAlgorithm", default)]
    pub checksum_algorithm: Vec<String>,
    /// `FULL_OBJECT` or `COMPOSITE`, when the object has checksums.
    #[serde(rename = "ChecksumType", skip_serializing_if = "Option::is_none")]
    pub checksum_type: Option<String>,
    /// Size in bytes.
    #[serde(rename = "Size")]
    pub size: u64,
    /// The owner (always in v1; in v2 only with `fetch-owner=true`).
    #[serde(rename = "Owner", skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    /// Always [`STORAGE_CLASS`].
    #[serde(rename = "StorageClass")]
    pub storage_class: &'static str,
}

/// One `<CommonPrefixes>` entry.
#[derive(Debug, Serialize)]
pub struct CommonPrefix {
    /// The prefix, ending with the delimiter (URL-encoded when asked).
    #[serde(rename = "Prefix")]
    pub prefix: String,
}

/// `ListBucketResult` of ListObjects (v1).
#[derive(Debug, Serialize)]
pub struct ListBucketResultV1 {
    /// Namespace attribute.
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    /// The bucket.
    #[serde(rename = "Name")]
    pub name: String,
    /// The requested prefix (empty when none).
    #[serde(rename = "Prefix")]
    pub prefix: String,
    /// The requested marker (empty when none).
    #[serde(rename = "Marker")]
    pub marker: String,
    /// Where the next page starts; only with a delimiter and a truncated page.
    #[serde(rename = "NextMarker", skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    /// The effective page size.
    #[serde(rename = "MaxKeys")]
    pub max_keys: usize,
    /// The delimiter, when one was given.
    #[serde(rename = "Delimiter", skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// `url` when the response values are URL-encoded.
    #[serde(rename = "EncodingType", skip_serializing_if = "Option::is_none")]
    pub encoding_type: Option<&'static str>,
    /// Whether more entries follow.
    #[serde(rename = "IsTruncated")]
    pub is_truncated: bool,
    /// The objects.
    #[serde(rename = "Contents", default)]
    pub contents: Vec<ObjectEntry>,
    /// The common prefixes.
    #[serde(rename = "CommonPrefixes", default)]
    pub common_prefixes: Vec<CommonPrefix>,
}

/// `ListBucketResult` of ListObjectsV2.
#[derive(Debug, Serialize)]
pub struct ListBucketResultV2 {
    /// Namespace attribute.
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    /// The bucket.
    #[serde(rename = "Name")]
    pub name: String,
    /// The requested prefix (empty when none).
    #[serde(rename = "Prefix")]
    pub prefix: String,
    /// The continuation token of the request, echoed.
    #[serde(rename = "ContinuationToken", skip_serializing_if = "Option::is_none")]
    pub continuation_token: Option<String>,
    /// The token for the next page, when truncated.
    #[serde(rename = "NextContinuationToken", skip_serializing_if = "Option::is_none")]
    pub next_continuation_token: Option<String>,
    /// The requested start-after, echoed.
    #[serde(rename = "StartAfter", skip_serializing_if = "Option::is_none")]
    pub start_after: Option<String>,
    /// Keys plus common prefixes in this page.
    #[serde(rename = "KeyCount")]
    pub key_count: usize,
    /// The effective page size.
    #[serde(rename = "MaxKeys")]
    pub max_keys: usize,
    /// The delimiter, when one was given.
    #[serde(rename = "Delimiter", skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// `url` when the response values are URL-encoded.
    #[serde(rename = "EncodingType", skip_serializing_if = "Option::is_none")]
    pub encoding_type: Option<&'static str>,
    /// Whether more entries follow.
    #[serde(rename = "IsTruncated")]
    pub is_truncated: bool,
    /// The objects.
    #[serde(rename = "Contents", default)]
    pub contents: Vec<ObjectEntry>,
    /// The common prefixes.
    #[serde(rename = "CommonPrefixes", default)]
    pub common_prefixes: Vec<CommonPrefix>,
}

/// One `<Version>` entry of ListObjectVersions.
#[derive(Debug, Serialize)]
pub struct VersionEntry {
    /// The key (URL-encoded when asked).
    #[serde(rename = "Key")]
    pub key: String,
    /// Always `null`: this server is unversioned.
    #[serde(rename = "VersionId")]
    pub version_id: &'static str,
    /// Always true: each key has exactly one version.
    #[serde(rename = "IsLatest")]
    pub is_latest: bool,
    /// ISO 8601 modification time.
    #[serde(rename = "LastModified")]
    pub last_modified: String,
    /// The quoted entity tag.
    #[serde(rename = "ETag")]
    pub etag: String,
    /// Checksum algorithms stored with the object.
    #[serde(rename = "ChecksumAlgorithm", default)]
    pub checksum_algorithm: Vec<String>,
    /// `FULL_OBJECT` or `COMPOSITE`, when the object has checksums.
    #[serde(rename = "ChecksumType", skip_serializing_if = "Option::is_none")]
    pub checksum_type: Option<String>,
    /// Size in bytes.
    #[serde(rename = "Size")]
    pub size: u64,
    /// Always [`STORAGE_CLASS`].
    #[serde(rename = "StorageClass")]
    pub storage_class: &'static str,
    /// The bucket owner.
    #[serde(rename = "Owner")]
    pub owner: Owner,
}

/// `ListVersionsResult` of ListObjectVersions.
#[derive(Debug, Serialize)]
pub struct ListVersionsResult {
    /// Namespace attribute.
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    /// The bucket.
    #[serde(rename = "Name")]
    pub name: String,
    /// The requested prefix (empty when none).
    #[serde(rename = "Prefix")]
    pub prefix: String,
    /// The requested key marker (empty when none).
    #[serde(rename = "KeyMarker")]
    pub key_marker: String,
    /// The requested version id marker (empty when none).
    #[serde(rename = "VersionIdMarker")]
    pub version_id_marker: String,
    /// Where the next page starts, when truncated.
    #[serde(rename = "NextKeyMarker", skip_serializing_if = "Option::is_none")]
    pub next_key_marker: Option<String>,
    /// `null` when the page ends on an object version.
    #[serde(rename = "NextVersionIdMarker", skip_serializing_if = "Option::is_none")]
    pub next_version_id_marker: Option<&'static str>,
    /// The effective page size.
    #[serde(rename = "MaxKeys")]
    pub max_keys: usize,
    /// The delimiter, when one was given.
    #[serde(rename = "Delimiter", skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// `url` when the response values are URL-encoded.
    #[serde(rename = "EncodingType", skip_serializing_if = "Option::is_none")]
    pub encoding_type: Option<&'static str>,
    /// Whether more entries follow.
    #[serde(rename = "IsTruncated")]
    pub is_truncated: bool,
    /// The versions (one per object).
    #[serde(rename = "Version", default)]
    pub versions: Vec<VersionEntry>,
    /// The common prefixes.
    #[serde(rename = "CommonPrefixes", default)]
    pub common_prefixes: Vec<CommonPrefix>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{S3_XMLNS, to_xml};

    const DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

    fn entry(key: &str, owner: Option<Owner>, algos: Vec<String>) -> ObjectEntry {
        ObjectEntry {
            key: key.into(),
            last_modified: "2026-01-02T03:04:05.006Z".into(),
            etag: "\"d41d8cd98f00b204e9800998ecf8427e\"".into(),
            checksum_type: (!algos.is_empty()).then(|| "FULL_OBJECT".to_string()),
            checksum_algorithm: algos,
            size: 0,
            owner,
            storage_class: STORAGE_CLASS,
        }
    }

    #[test]
    fn list_objects_v1_xml_matches_s3() {
        let doc = ListBucketResultV1 {
            xmlns: S3_XMLNS,
            name: "b1".into(),
            prefix: String::new(),
            marker: String::new(),
            next_marker: Some("a/".into()),
            max_keys: 2,
            delimiter: Some("/".into()),
            encoding_type: None,
            is_truncated: true,
            contents: vec![entry("a", Some(Owner::for_principal(None)), vec![])],
            common_prefixes: vec![CommonPrefix { prefix: "a/".into() }],
        };
        assert_eq!(
            to_xml("ListBucketResult", &doc).unwrap(),
            format!(
                "{DECL}<ListBucketResult xmlns=\"{S3_XMLNS}\"><Name>b1</Name><Prefix/><Marker/><NextMarker>a/</NextMarker><MaxKeys>2</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated><Contents><Key>a</Key><LastModified>2026-01-02T03:04:05.006Z</LastModified><ETag>\"d41d8cd98f00b204e9800998ecf8427e\"</ETag><Size>0</Size><Owner><ID>smartstorage</ID><DisplayName>smartstorage</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Contents><CommonPrefixes><Prefix>a/</Prefix></CommonPrefixes></ListBucketResult>"
            )
        );
    }

    #[test]
    fn list_objects_v2_xml_matches_s3() {
        let doc = ListBucketResultV2 {
            xmlns: S3_XMLNS,
            name: "b1".into(),
            prefix: "p".into(),
            continuation_token: Some("tok".into()),
            next_continuation_token: None,
            start_after: None,
            key_count: 1,
            max_keys: 1000,
            delimiter: None,
            encoding_type: Some("url"),
            is_truncated: false,
            contents: vec![entry("p+q", None, vec!["CRC32".into()])],
            common_prefixes: vec![],
        };
        assert_eq!(
            to_xml("ListBucketResult", &doc).unwrap(),
            format!(
                "{DECL}<ListBucketResult xmlns=\"{S3_XMLNS}\"><Name>b1</Name><Prefix>p</Prefix><ContinuationToken>tok</ContinuationToken><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated><Contents><Key>p+q</Key><LastModified>2026-01-02T03:04:05.006Z</LastModified><ETag>\"d41d8cd98f00b204e9800998ecf8427e\"</ETag><ChecksumAlgorithm>CRC32</ChecksumAlgorithm><ChecksumType>FULL_OBJECT</ChecksumType><Size>0</Size><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>"
            )
        );
    }

    #[test]
    fn list_versions_xml_matches_s3() {
        let doc = ListVersionsResult {
            xmlns: S3_XMLNS,
            name: "b1".into(),
            prefix: String::new(),
            key_marker: "k0".into(),
            version_id_marker: String::new(),
            next_key_marker: Some("k1".into()),
            next_version_id_marker: Some("null"),
            max_keys: 1,
            delimiter: None,
            encoding_type: None,
            is_truncated: true,
            versions: vec![VersionEntry {
                key: "k1".into(),
                version_id: "null",
                is_latest: true,
                last_modified: "2026-01-02T03:04:05.006Z".into(),
                etag: "\"abc-2\"".into(),
                checksum_algorithm: vec!["CRC32C".into()],
                checksum_type: Some("COMPOSITE".into()),
                size: 7,
                storage_class: STORAGE_CLASS,
                owner: Owner::for_principal(Some("AK")),
            }],
            common_prefixes: vec![],
        };
        assert_eq!(
            to_xml("ListVersionsResult", &doc).unwrap(),
            format!(
                "{DECL}<ListVersionsResult xmlns=\"{S3_XMLNS}\"><Name>b1</Name><Prefix/><KeyMarker>k0</KeyMarker><VersionIdMarker/><NextKeyMarker>k1</NextKeyMarker><NextVersionIdMarker>null</NextVersionIdMarker><MaxKeys>1</MaxKeys><IsTruncated>true</IsTruncated><Version><Key>k1</Key><VersionId>null</VersionId><IsLatest>true</IsLatest><LastModified>2026-01-02T03:04:05.006Z</LastModified><ETag>\"abc-2\"</ETag><ChecksumAlgorithm>CRC32C</ChecksumAlgorithm><ChecksumType>COMPOSITE</ChecksumType><Size>7</Size><StorageClass>STANDARD</StorageClass><Owner><ID>AK</ID><DisplayName>AK</DisplayName></Owner></Version></ListVersionsResult>"
            )
        );
    }

    #[test]
    fn empty_listing_has_no_contents() {
        let doc = ListBucketResultV1 {
            xmlns: S3_XMLNS,
            name: "b1".into(),
            prefix: String::new(),
            marker: String::new(),
            next_marker: None,
            max_keys: 1000,
            delimiter: None,
            encoding_type: None,
            is_truncated: false,
            contents: vec![],
            common_prefixes: vec![],
        };
        assert_eq!(
            to_xml("ListBucketResult", &doc).unwrap(),
            format!("{DECL}<ListBucketResult xmlns=\"{S3_XMLNS}\"><Name>b1</Name><Prefix/><Marker/><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>")
        );
    }
}
