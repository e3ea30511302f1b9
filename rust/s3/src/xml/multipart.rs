//! XML of the multipart operations: InitiateMultipartUploadResult, the
//! CompleteMultipartUpload request and result, ListPartsResult and
//! ListMultipartUploadsResult. (CopyPartResult reuses
//! [`CopyObjectResult`](super::object::CopyObjectResult), which has its shape.)

use super::bucket::Owner;
use super::list::CommonPrefix;
use serde::{Deserialize, Serialize};
use smartstorage_store::Checksums;

/// The `Checksum<ALGO>` elements of a part or object, flattened into the
/// enclosing element; only stored (non-empty) values are written.
#[derive(Debug, Default, Serialize)]
pub struct ChecksumElements {
    /// Base64 CRC32.
    #[serde(rename = "ChecksumCRC32", skip_serializing_if = "Option::is_none")]
    pub crc32: Option<String>,
    /// Base64 CRC32C.
    #[serde(rename = "ChecksumCRC32C", skip_serializing_if = "Option::is_none")]
    pub crc32c: Option<String>,
    /// Base64 CRC64NVME.
    #[serde(rename = "ChecksumCRC64NVME", skip_serializing_if = "Option::is_none")]
    pub crc64nvme: Option<String>,
    /// Base64 SHA1.
    #[serde(rename = "ChecksumSHA1", skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    /// Base64 SHA256.
    #[serde(rename = "ChecksumSHA256", skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl ChecksumElements {
    /// The elements for stored checksums (lowercase algorithm → base64).
    pub fn from_checksums(checksums: &Checksums) -> Self {
        let get = |k: &str| checksums.get(k).filter(|v| !v.is_empty()).cloned();
        ChecksumElements {
            crc32: get("crc32"),
            crc32c: get("crc32c"),
            crc64nvme: get("crc64nvme"),
            sha1: get("sha1"),
            sha256: get("sha256"),
        }
    }
}

/// `InitiateMultipartUploadResult` (CreateMultipartUpload answer).
#[derive(Debug, Serialize)]
pub struct InitiateMultipartUploadResult {
    /// Namespace attribute.
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    /// The bucket.
    #[serde(rename = "Bucket")]
    pub bucket: String,
    /// The key the upload creates.
    #[serde(rename = "Key")]
    pub key: String,
    /// The new upload's id.
    #[serde(rename = "UploadId")]
    pub upload_id: String,
}

/// The `CompleteMultipartUpload` request body.
#[derive(Debug, Deserialize)]
pub struct CompleteMultipartUpload {
    /// The chosen parts, in the order given.
    #[serde(rename = "Part", default)]
    pub parts: Vec<CompletedPart>,
}

/// One `<Part>` of a CompleteMultipartUpload request.
#[derive(Debug, Deserialize)]
pub struct CompletedPart {
    /// The part number (1..=10000).
    #[serde(rename = "PartNumber")]
    pub part_number: u32,
    /// The ETag UploadPart returned (quotes optional).
    #[serde(rename = "ETag")]
    pub etag: String,
    /// The part's CRC32, if the client sends it.
    #[serde(rename = "ChecksumCRC32", default)]
    pub crc32: Option<String>,
    /// The part's CRC32C.
    #[serde(rename = "ChecksumCRC32C", default)]
    pub crc32c: Option<String>,
    /// The part's CRC64NVME.
    #[serde(rename = "ChecksumCRC64NVME", default)]
    pub crc64nvme: Option<String>,
    /// The part's SHA1.
    #[serde(rename = "ChecksumSHA1", default)]
    pub sha1: Option<String>,
    /// The part's SHA256.
    #[serde(rename = "ChecksumSHA256", default)]
    pub sha256: Option<String>,
}

impl CompletedPart {
    /// The part checksums the client listed: (lowercase algorithm, base64).
    pub fn checksums(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("crc32", &self.crc32),
            ("crc32c", &self.crc32c),
            ("crc64nvme", &self.crc64nvme),
            ("sha1", &self.sha1),
            ("sha256", &self.sha256),
        ]
        .into_iter()
        .filter_map(|(name, v)| v.as_deref().map(|v| (name, v.trim())))
    }
}

/// `CompleteMultipartUploadResult`.
#[derive(Debug, Serialize)]
pub struct CompleteMultipartUploadResult {
    /// Namespace attribute.
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    /// URL of the new object.
    #[serde(rename = "Location")]
    pub location: String,
    /// The bucket.
    #[serde(rename = "Bucket")]
    pub bucket: String,
    /// The key.
    #[serde(rename = "Key")]
    pub key: String,
    /// Quoted multipart ETag (`"<hex>-<N>"`).
    #[serde(rename = "ETag")]
    pub etag: String,
    /// The object's checksum, when the upload has one.
    #[serde(flatten)]
    pub checksums: ChecksumElements,
    /// `COMPOSITE` or `FULL_OBJECT`, with a checksum.
    #[serde(rename = "ChecksumType", skip_serializing_if = "Option::is_none")]
    pub checksum_type: Option<String>,
}

/// One `<Part>` of ListPartsResult.
#[derive(Debug, Serialize)]
pub struct PartEntry {
    /// The part number.
    #[serde(rename = "PartNumber")]
    pub part_number: u32,
    /// ISO 8601 upload time.
    #[serde(rename = "LastModified")]
    pub last_modified: String,
    /// Quoted ETag (hex MD5 of the part).
    #[serde(rename = "ETag")]
    pub etag: String,
    /// The part's checksums.
    #[serde(flatten)]
    pub checksums: ChecksumElements,
    /// Size in bytes.
    #[serde(rename = "Size")]
    pub size: u64,
}

/// `ListPartsResult`.
#[derive(Debug, Serialize)]
pub struct ListPartsResult {
    /// Namespace attribute.
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    /// The bucket.
    #[serde(rename = "Bucket")]
    pub bucket: String,
    /// The key.
    #[serde(rename = "Key")]
    pub key: String,
    /// The upload id.
    #[serde(rename = "UploadId")]
    pub upload_id: String,
    /// Who started the upload.
    #[serde(rename = "Initiator")]
    pub initiator: Owner,
    /// Who will own the object.
    #[serde(rename = "Owner")]
    pub owner: Owner,
    /// Always `STANDARD`.
    #[serde(rename = "StorageClass")]
    pub storage_class: &'static str,
    /// The requested part-number-marker (0 when none).
    #[serde(rename = "PartNumberMarker")]
    pub part_number_marker: u32,
    /// The last part number listed: the marker for the next page.
    #[serde(rename = "NextPartNumberMarker", skip_serializing_if = "Option::is_none")]
    pub next_part_number_marker: Option<u32>,
    /// The effective page size.
    #[serde(rename = "MaxParts")]
    pub max_parts: usize,
    /// Whether more parts follow.
    #[serde(rename = "IsTruncated")]
    pub is_truncated: bool,
    /// The parts.
    #[serde(rename = "Part", default)]
    pub parts: Vec<PartEntry>,
    /// The upload's checksum algorithm, when it has one.
    #[serde(rename = "ChecksumAlgorithm", skip_serializing_if = "Option::is_none")]
    pub checksum_algorithm: Option<&'static str>,
    /// The upload's checksum type, when it has one.
    #[serde(rename = "ChecksumType", skip_serializing_if = "Option::is_none")]
    pub checksum_type: Option<String>,
}

/// One `<Upload>` of ListMultipartUploadsResult.
#[derive(Debug, Serialize)]
pub struct UploadEntry {
    /// The key (URL-encoded when asked).
    #[serde(rename = "Key")]
    pub key: String,
    /// The upload id.
    #[serde(rename = "UploadId")]
    pub upload_id: String,
    /// Who started the upload.
    #[serde(rename = "Initiator")]
    pub initiator: Owner,
    /// Who will own the object.
    #[serde(rename = "Owner")]
    pub owner: Owner,
    /// Always `STANDARD`.
    #[serde(rename = "StorageClass")]
    pub storage_class: &'static str,
    /// ISO 8601 creation time.
    #[serde(rename = "Initiated")]
    pub initiated: String,
    /// The upload's checksum algorithm, when it has one.
    #[serde(rename = "ChecksumAlgorithm", skip_serializing_if = "Option::is_none")]
    pub checksum_algorithm: Option<&'static str>,
    /// The upload's checksum type, when it has one.
    #[serde(rename = "ChecksumType", skip_serializing_if = "Option::is_none")]
    pub checksum_type: Option<String>,
}

/// `ListMultipartUploadsResult`.
#[derive(Debug, Serialize)]
pub struct ListMultipartUploadsResult {
    /// Namespace attribute.
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    /// The bucket.
    #[serde(rename = "Bucket")]
    pub bucket: String,
    /// The requested key-marker (empty when none).
    #[serde(rename = "KeyMarker")]
    pub key_marker: String,
    /// The requested upload-id-marker (empty when none).
    #[serde(rename = "UploadIdMarker")]
    pub upload_id_marker: String,
    /// The key-marker of the next page, when truncated.
    #[serde(rename = "NextKeyMarker", skip_serializing_if = "Option::is_none")]
    pub next_key_marker: Option<String>,
    /// The upload-id-marker of the next page, when it ends on an upload.
    #[serde(rename = "NextUploadIdMarker", skip_serializing_if = "Option::is_none")]
    pub next_upload_id_marker: Option<String>,
    /// The delimiter, when one was given.
    #[serde(rename = "Delimiter", skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// The requested prefix (empty when none).
    #[serde(rename = "Prefix")]
    pub prefix: String,
    /// The effective page size.
    #[serde(rename = "MaxUploads")]
    pub max_uploads: usize,
    /// `url` when keys are URL-encoded.
    #[serde(rename = "EncodingType", skip_serializing_if = "Option::is_none")]
    pub encoding_type: Option<&'static str>,
    /// Whether more entries follow.
    #[serde(rename = "IsTruncated")]
    pub is_truncated: bool,
    /// The uploads.
    #[serde(rename = "Upload", default)]
    pub uploads: Vec<UploadEntry>,
    /// Keys grouped by the delimiter.
    #[serde(rename = "CommonPrefixes", default)]
    pub common_prefixes: Vec<CommonPrefix>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{S3_XMLNS, from_xml, to_xml};

    const DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

    #[test]
    fn initiate_result_xml_matches_s3() {
        let doc = InitiateMultipartUploadResult { xmlns: S3_XMLNS, bucket: "b1".into(), key: "a/b c".into(), upload_id: "U1".into() };
        assert_eq!(
            to_xml("InitiateMultipartUploadResult", &doc).unwrap(),
            format!("{DECL}<InitiateMultipartUploadResult xmlns=\"{S3_XMLNS}\"><Bucket>b1</Bucket><Key>a/b c</Key><UploadId>U1</UploadId></InitiateMultipartUploadResult>")
        );
    }

    #[test]
    fn complete_request_parses_with_namespace_quotes_and_checksums() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Part><ETag>"etag1"</ETag><PartNumber>1</PartNumber><ChecksumCRC32>DUoRhQ==</ChecksumCRC32></Part>
  <Part><PartNumber>2</PartNumber><ETag>etag2</ETag></Part>
</CompleteMultipartUpload>"#;
        let doc: CompleteMultipartUpload = from_xml(body).unwrap();
        assert_eq!(doc.parts.len(), 2);
        assert_eq!((doc.parts[0].part_number, doc.parts[0].etag.as_str()), (1, "\"etag1\""));
        assert_eq!(doc.parts[0].checksums().collect::<Vec<_>>(), vec![("crc32", "DUoRhQ==")]);
        assert_eq!((doc.parts[1].part_number, doc.parts[1].etag.as_str()), (2, "etag2"));
        let empty: CompleteMultipartUpload = from_xml(b"<CompleteMultipartUpload/>").unwrap();
        assert!(empty.parts.is_empty());
        for bad in [&b"<CompleteMultipartUpload><Part><ETag>x</ETag></Part></CompleteMultipartUpload>"[..], b"<Complete", b"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>"] {
            assert_eq!(from_xml::<CompleteMultipartUpload>(bad).unwrap_err().code, "MalformedXML");
        }
    }

    #[test]
    fn complete_result_xml_matches_s3() {
        let mut sums = Checksums::new();
        sums.insert("crc32".into(), "AAAAAA==-2".into());
        let doc = CompleteMultipartUploadResult {
            xmlns: S3_XMLNS,
            location: "http://127.0.0.1:9000/b1/k".into(),
            bucket: "b1".into(),
            key: "k".into(),
            etag: "\"abc-2\"".into(),
            checksums: ChecksumElements::from_checksums(&sums),
            checksum_type: Some("COMPOSITE".into()),
        };
        assert_eq!(
            to_xml("CompleteMultipartUploadResult", &doc).unwrap(),
            format!("{DECL}<CompleteMultipartUploadResult xmlns=\"{S3_XMLNS}\"><Location>http://127.0.0.1:9000/b1/k</Location><Bucket>b1</Bucket><Key>k</Key><ETag>\"abc-2\"</ETag><ChecksumCRC32>AAAAAA==-2</ChecksumCRC32><ChecksumType>COMPOSITE</ChecksumType></CompleteMultipartUploadResult>")
        );
        let plain = CompleteMultipartUploadResult { checksums: ChecksumElements::default(), checksum_type: None, ..doc };
        assert!(to_xml("CompleteMultipartUploadResult", &plain).unwrap().ends_with("<ETag>\"abc-2\"</ETag></CompleteMultipartUploadResult>"));
    }

    #[test]
    fn list_parts_xml_matches_s3() {
        let mut sums = Checksums::new();
        sums.insert("sha256".into(), "x=".into());
        let doc = ListPartsResult {
            xmlns: S3_XMLNS,
            bucket: "b1".into(),
            key: "k".into(),
            upload_id: "U1".into(),
            initiator: Owner::for_principal(None),
            owner: Owner::for_principal(None),
            storage_class: "STANDARD",
            part_number_marker: 0,
            next_part_number_marker: Some(2),
            max_parts: 1,
            is_truncated: true,
            parts: vec![PartEntry {
                part_number: 2,
                last_modified: "2026-01-02T03:04:05.006Z".into(),
                etag: "\"e\"".into(),
                checksums: ChecksumElements::from_checksums(&sums),
                size: 5,
            }],
            checksum_algorithm: Some("SHA256"),
            checksum_type: Some("COMPOSITE".into()),
        };
        let owner = "<ID>smartstorage</ID><DisplayName>smartstorage</DisplayName>";
        assert_eq!(
            to_xml("ListPartsResult", &doc).unwrap(),
            format!("{DECL}<ListPartsResult xmlns=\"{S3_XMLNS}\"><Bucket>b1</Bucket><Key>k</Key><UploadId>U1</UploadId><Initiator>{owner}</Initiator><Owner>{owner}</Owner><StorageClass>STANDARD</StorageClass><PartNumberMarker>0</PartNumberMarker><NextPartNumberMarker>2</NextPartNumberMarker><MaxParts>1</MaxParts><IsTruncated>true</IsTruncated><Part><PartNumber>2</PartNumber><LastModified>2026-01-02T03:04:05.006Z</LastModified><ETag>\"e\"</ETag><ChecksumSHA256>x=</ChecksumSHA256><Size>5</Size></Part><ChecksumAlgorithm>SHA256</ChecksumAlgorithm><ChecksumType>COMPOSITE</ChecksumType></ListPartsResult>")
        );
    }

    #[test]
    fn list_uploads_xml_matches_s3() {
        let doc = ListMultipartUploadsResult {
            xmlns: S3_XMLNS,
            bucket: "b1".into(),
            key_marker: String::new(),
            upload_id_marker: String::new(),
            next_key_marker: Some("k".into()),
            next_upload_id_marker: Some("U1".into()),
            delimiter: Some("/".into()),
            prefix: String::new(),
            max_uploads: 2,
            encoding_type: None,
            is_truncated: true,
            uploads: vec![UploadEntry {
                key: "k".into(),
                upload_id: "U1".into(),
                initiator: Owner::for_principal(Some("AK")),
                owner: Owner::for_principal(Some("AK")),
                storage_class: "STANDARD",
                initiated: "2026-01-02T03:04:05.006Z".into(),
                checksum_algorithm: None,
                checksum_type: None,
            }],
            common_prefixes: vec![CommonPrefix { prefix: "a/".into() }],
        };
        let owner = "<ID>AK</ID><DisplayName>AK</DisplayName>";
        assert_eq!(
            to_xml("ListMultipartUploadsResult", &doc).unwrap(),
            format!("{DECL}<ListMultipartUploadsResult xmlns=\"{S3_XMLNS}\"><Bucket>b1</Bucket><KeyMarker/><UploadIdMarker/><NextKeyMarker>k</NextKeyMarker><NextUploadIdMarker>U1</NextUploadIdMarker><Delimiter>/</Delimiter><Prefix/><MaxUploads>2</MaxUploads><IsTruncated>true</IsTruncated><Upload><Key>k</Key><UploadId>U1</UploadId><Initiator>{owner}</Initiator><Owner>{owner}</Owner><StorageClass>STANDARD</StorageClass><Initiated>2026-01-02T03:04:05.006Z</Initiated></Upload><CommonPrefixes><Prefix>a/</Prefix></CommonPrefixes></ListMultipartUploadsResult>")
        );
    }
}
