//! XML of the object operations: CopyObjectResult, DeleteObjects request and result.

use super::multipart::ChecksumElements;
use serde::{Deserialize, Serialize};
use smartstorage_store::Checksums;

/// `CopyObjectResult` (also the shape of `CopyPartResult`).
#[derive(Debug, Serialize)]
pub struct CopyObjectResult {
    /// Quoted ETag of the new object.
    #[serde(rename = "ETag")]
    pub etag: String,
    /// ISO 8601 time of the copy.
    #[serde(rename = "LastModified")]
    pub last_modified: String,
    /// The new object's stored checksums.
    #[serde(flatten)]
    pub checksums: ChecksumElements,
}

impl CopyObjectResult {
    /// The result for an object with `etag` (unquoted), modified at `last_modified`.
    pub fn new(etag: &str, last_modified: &str, checksums: &Checksums) -> Self {
        CopyObjectResult {
            etag: format!("\"{etag}\""),
            last_modified: last_modified.to_string(),
            checksums: ChecksumElements::from_checksums(checksums),
        }
    }
}

/// The `Delete` request body of DeleteObjects.
#[derive(Debug, Deserialize)]
pub struct Delete {
    /// Only report errors.
    #[serde(rename = "Quiet", default)]
    pub quiet: Option<bool>,
    /// The keys to delete.
    #[serde(rename = "Object", default)]
    pub objects: Vec<DeleteObjectEntry>,
}

/// One key in a DeleteObjects request.
#[derive(Debug, Deserialize)]
pub struct DeleteObjectEntry {
    /// The key.
    #[serde(rename = "Key")]
    pub key: String,
    /// A version id (only `null` exists on this server).
    #[serde(rename = "VersionId", default)]
    pub version_id: Option<String>,
    /// Delete only if the current ETag matches.
    #[serde(rename = "ETag", default)]
    pub etag: Option<String>,
}

/// `DeleteResult`.
#[derive(Debug, Serialize)]
pub struct DeleteResult {
    /// Namespace attribute.
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    /// Keys deleted (omitted in quiet mode).
    #[serde(rename = "Deleted", default)]
    pub deleted: Vec<Deleted>,
    /// Keys that failed.
    #[serde(rename = "Error", default)]
    pub errors: Vec<DeleteError>,
}

/// A deleted key.
#[derive(Debug, Serialize)]
pub struct Deleted {
    /// The key.
    #[serde(rename = "Key")]
    pub key: String,
    /// Echoed version id, if one was given.
    #[serde(rename = "VersionId", skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
}

/// A key that could not be deleted.
#[derive(Debug, Serialize)]
pub struct DeleteError {
    /// The key.
    #[serde(rename = "Key")]
    pub key: String,
    /// Echoed version id, if one was given.
    #[serde(rename = "VersionId", skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// The S3 error code.
    #[serde(rename = "Code")]
    pub code: String,
    /// The error message.
    #[serde(rename = "Message")]
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{S3_XMLNS, from_xml, to_xml};

    #[test]
    fn copy_result_xml_has_quoted_etag_and_checksums() {
        let mut sums = Checksums::new();
        sums.insert("crc32".into(), "NhCmhg==".into());
        let doc = CopyObjectResult::new("abc", "2026-01-01T00:00:00.000Z", &sums);
        assert_eq!(
            to_xml("CopyObjectResult", &doc).unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CopyObjectResult><ETag>\"abc\"</ETag><LastModified>2026-01-01T00:00:00.000Z</LastModified><ChecksumCRC32>NhCmhg==</ChecksumCRC32></CopyObjectResult>"
        );
    }

    #[test]
    fn delete_request_parses_quiet_and_objects() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet><Object><Key>a&amp;b</Key></Object><Object><Key>c</Key><VersionId>null</VersionId></Object></Delete>"#;
        let d: Delete = from_xml(body).unwrap();
        assert_eq!(d.quiet, Some(true));
        assert_eq!(d.objects.len(), 2);
        assert_eq!(d.objects[0].key, "a&b");
        assert_eq!(d.objects[1].version_id.as_deref(), Some("null"));
    }

    #[test]
    fn delete_result_xml_lists_deleted_and_errors() {
        let doc = DeleteResult {
            xmlns: S3_XMLNS,
            deleted: vec![Deleted { key: "a".into(), version_id: None }],
            errors: vec![DeleteError { key: "b".into(), version_id: None, code: "AccessDenied".into(), message: "Access Denied".into() }],
        };
        assert_eq!(
            to_xml("DeleteResult", &doc).unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Deleted><Key>a</Key></Deleted><Error><Key>b</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>"
        );
    }
}
