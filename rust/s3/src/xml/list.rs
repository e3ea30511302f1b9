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

/// Hand-written serialization of the listing documents (ListObjects v1 and
/// v2), byte-for-byte what [`to_xml`](super::to_xml) writes for them (the
/// tests compare both). A listing page is the one large document on a hot
/// path: the generic serializer spends ~2 µs per entry (element-name checks,
/// reallocations), which capped a full listing near 400k keys/s; this path
/// writes a 1000-key page into one pre-sized buffer.
pub trait FastXml {
    /// The document with its XML declaration, as `to_xml("ListBucketResult", self)`.
    fn to_fast_xml(&self) -> String;
}

/// Appends `text` with `<`, `>` and `&` escaped, as quick-xml does in text content.
fn push_escaped(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(at) = rest.find(['<', '>', '&']) {
        out.push_str(&rest[..at]);
        out.push_str(match rest.as_bytes()[at] {
            b'<' => "&lt;",
            b'>' => "&gt;",
            _ => "&amp;",
        });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

/// `<name>text</name>`, or `<name/>` when `text` is empty.
fn push_element(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    if text.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    push_escaped(out, text);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn push_optional(out: &mut String, name: &str, text: Option<&str>) {
    if let Some(text) = text {
        push_element(out, name, text);
    }
}

fn push_number(out: &mut String, name: &str, value: impl std::fmt::Display) {
    use std::fmt::Write;
    let _ = write!(out, "<{name}>{value}</{name}>");
}

fn push_entries(out: &mut String, contents: &[ObjectEntry], common_prefixes: &[CommonPrefix]) {
    for entry in contents {
        out.push_str("<Contents>");
        push_element(out, "Key", &entry.key);
        push_element(out, "LastModified", &entry.last_modified);
        push_element(out, "ETag", &entry.etag);
        for algorithm in &entry.checksum_algorithm {
            push_element(out, "ChecksumAlgorithm", algorithm);
        }
        push_optional(out, "ChecksumType", entry.checksum_type.as_deref());
        push_number(out, "Size", entry.size);
        if let Some(owner) = &entry.owner {
            out.push_str("<Owner>");
            push_element(out, "ID", &owner.id);
            push_element(out, "DisplayName", &owner.display_name);
            out.push_str("</Owner>");
        }
        push_element(out, "StorageClass", entry.storage_class);
        out.push_str("</Contents>");
    }
    for prefix in common_prefixes {
        out.push_str("<CommonPrefixes>");
        push_element(out, "Prefix", &prefix.prefix);
        out.push_str("</CommonPrefixes>");
    }
}

/// Room for a page: ~250 bytes per entry covers keys of ordinary length.
fn page_capacity(entries: usize) -> usize {
    512 + entries * 256
}

fn push_root(out: &mut String, xmlns: &str) {
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"");
    out.push_str(xmlns);
    out.push_str("\">");
}

impl FastXml for ListBucketResultV1 {
    fn to_fast_xml(&self) -> String {
        let mut out = String::with_capacity(page_capacity(self.contents.len() + self.common_prefixes.len()));
        push_root(&mut out, self.xmlns);
        push_element(&mut out, "Name", &self.name);
        push_element(&mut out, "Prefix", &self.prefix);
        push_element(&mut out, "Marker", &self.marker);
        push_optional(&mut out, "NextMarker", self.next_marker.as_deref());
        push_number(&mut out, "MaxKeys", self.max_keys);
        push_optional(&mut out, "Delimiter", self.delimiter.as_deref());
        push_optional(&mut out, "EncodingType", self.encoding_type);
        push_number(&mut out, "IsTruncated", self.is_truncated);
        push_entries(&mut out, &self.contents, &self.common_prefixes);
        out.push_str("</ListBucketResult>");
        out
    }
}

impl FastXml for ListBucketResultV2 {
    fn to_fast_xml(&self) -> String {
        let mut out = String::with_capacity(page_capacity(self.contents.len() + self.common_prefixes.len()));
        push_root(&mut out, self.xmlns);
        push_element(&mut out, "Name", &self.name);
        push_element(&mut out, "Prefix", &self.prefix);
        push_optional(&mut out, "ContinuationToken", self.continuation_token.as_deref());
        push_optional(&mut out, "NextContinuationToken", self.next_continuation_token.as_deref());
        push_optional(&mut out, "StartAfter", self.start_after.as_deref());
        push_number(&mut out, "KeyCount", self.key_count);
        push_number(&mut out, "MaxKeys", self.max_keys);
        push_optional(&mut out, "Delimiter", self.delimiter.as_deref());
        push_optional(&mut out, "EncodingType", self.encoding_type);
        push_number(&mut out, "IsTruncated", self.is_truncated);
        push_entries(&mut out, &self.contents, &self.common_prefixes);
        out.push_str("</ListBucketResult>");
        out
    }
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

    fn tricky_entries() -> Vec<ObjectEntry> {
        vec![
            entry("a<b>&c\"d'e", Some(Owner::for_principal(Some("AK<&>"))), vec!["CRC32".into(), "SHA1".into()]),
            entry("", None, vec![]),
            entry("ünï/çødé\u{1}\t key", None, vec!["CRC64NVME".into()]),
            ObjectEntry { size: u64::MAX, etag: String::new(), ..entry("x", None, vec![]) },
        ]
    }

    #[test]
    fn hand_written_v2_listing_equals_the_serde_document() {
        for (truncated, delimiter, encoding) in [(false, None, None), (true, Some("/".to_string()), Some("url")), (true, Some("<&>".to_string()), None)] {
            let doc = ListBucketResultV2 {
                xmlns: S3_XMLNS,
                name: "b1".into(),
                prefix: if truncated { "p&<".into() } else { String::new() },
                continuation_token: truncated.then(|| "tok&".into()),
                next_continuation_token: truncated.then(|| "next".into()),
                start_after: delimiter.clone(),
                key_count: 7,
                max_keys: 1000,
                delimiter: delimiter.clone(),
                encoding_type: encoding,
                is_truncated: truncated,
                contents: if truncated { tricky_entries() } else { vec![] },
                common_prefixes: vec![CommonPrefix { prefix: "a/".into() }, CommonPrefix { prefix: "<&>/".into() }, CommonPrefix { prefix: String::new() }],
            };
            assert_eq!(doc.to_fast_xml(), to_xml("ListBucketResult", &doc).unwrap());
        }
    }

    #[test]
    fn hand_written_v1_listing_equals_the_serde_document() {
        for truncated in [false, true] {
            let doc = ListBucketResultV1 {
                xmlns: S3_XMLNS,
                name: "b1".into(),
                prefix: String::new(),
                marker: if truncated { "m>".into() } else { String::new() },
                next_marker: truncated.then(|| "n&".into()),
                max_keys: 2,
                delimiter: truncated.then(|| "/".into()),
                encoding_type: truncated.then_some("url"),
                is_truncated: truncated,
                contents: tricky_entries(),
                common_prefixes: vec![CommonPrefix { prefix: "a/".into() }],
            };
            assert_eq!(doc.to_fast_xml(), to_xml("ListBucketResult", &doc).unwrap());
        }
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
