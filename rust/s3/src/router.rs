//! The S3 router: turns method + host + path + query + headers into an
//! [`Endpoint`]. S3 routes on all of these at once (`?uploads`, `?uploadId`,
//! `x-amz-copy-source`, virtual-hosted buckets), which a path router cannot
//! express, so the table is written out here. The same enum names the
//! operation for logs and for the IAM permission table next to it,
//! [`crate::policy::actions::iam_action`] (every endpoint → its `s3:*` action
//! and resource), which bucket policies are evaluated against.

use crate::error::{S3Error, S3Result};
use http::{HeaderMap, Method};
use percent_encoding::percent_decode_str;

/// The path prefix of SmartStorage's own endpoints. `_smartstorage` is not a
/// valid bucket name, so it can never collide with a bucket.
pub const INTERNAL_PREFIX: &str = "/_smartstorage/";

/// Decoded query parameters, in request order. Keys without `=` have an empty value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query(pub Vec<(String, String)>);

impl Query {
    /// Parses a raw query string (`a=1&b&c=x%20y`). `+` decodes to a space, as
    /// form encoding (and S3) does. Invalid UTF-8 → InvalidURI.
    pub fn parse(raw: Option<&str>) -> S3Result<Query> {
        let mut pairs = Vec::new();
        for part in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            pairs.push((decode_query_component(k)?, decode_query_component(v)?));
        }
        Ok(Query(pairs))
    }

    /// The first value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Whether `name` is present (with or without a value).
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
}

fn decode_query_component(s: &str) -> S3Result<String> {
    let plus_decoded = s.replace('+', " ");
    percent_decode_str(&plus_decoded)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| S3Error::invalid_uri(format!("Couldn't parse the specified URI: query component {s:?} is not valid UTF-8")))
}

/// Every operation this server routes. Unsupported S3 operations route to
/// [`Endpoint::NotImplemented`] so they answer 501 instead of being mistaken
/// for a neighbouring operation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Endpoint {
    /// `GET /_smartstorage/health`: liveness, never authenticated.
    Health,
    ListBuckets,
    CreateBucket,
    DeleteBucket,
    HeadBucket,
    GetBucketLocation,
    GetBucketVersioning,
    PutBucketVersioning,
    ListObjects,
    ListObjectsV2,
    ListObjectVersions,
    ListMultipartUploads,
    DeleteObjects,
    GetBucketPolicy,
    PutBucketPolicy,
    DeleteBucketPolicy,
    GetBucketCors,
    PutBucketCors,
    DeleteBucketCors,
    GetBucketTagging,
    PutBucketTagging,
    DeleteBucketTagging,
    /// Browser form upload (`POST /bucket` with multipart/form-data).
    PostObject,
    PutObject,
    CopyObject,
    GetObject,
    HeadObject,
    DeleteObject,
    GetObjectTagging,
    PutObjectTagging,
    DeleteObjectTagging,
    CreateMultipartUpload,
    UploadPart,
    UploadPartCopy,
    CompleteMultipartUpload,
    AbortMultipartUpload,
    ListParts,
    /// CORS preflight (`OPTIONS`) on a bucket or object.
    Preflight,
    /// A known S3 operation this server does not support (its name).
    NotImplemented(&'static str),
}

impl Endpoint {
    /// The S3 operation name, for logs and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Endpoint::NotImplemented(name) => name,
            other => {
                // Debug of a unit variant is its name; keep a static table instead of allocating.
                ENDPOINT_NAMES.iter().find(|(e, _)| e == other).map(|(_, n)| *n).unwrap_or("Unknown")
            }
        }
    }
}

const ENDPOINT_NAMES: &[(Endpoint, &str)] = &[
    (Endpoint::Health, "Health"),
    (Endpoint::ListBuckets, "ListBuckets"),
    (Endpoint::CreateBucket, "CreateBucket"),
    (Endpoint::DeleteBucket, "DeleteBucket"),
    (Endpoint::HeadBucket, "HeadBucket"),
    (Endpoint::GetBucketLocation, "GetBucketLocation"),
    (Endpoint::GetBucketVersioning, "GetBucketVersioning"),
    (Endpoint::PutBucketVersioning, "PutBucketVersioning"),
    (Endpoint::ListObjects, "ListObjects"),
    (Endpoint::ListObjectsV2, "ListObjectsV2"),
    (Endpoint::ListObjectVersions, "ListObjectVersions"),
    (Endpoint::ListMultipartUploads, "ListMultipartUploads"),
    (Endpoint::DeleteObjects, "DeleteObjects"),
    (Endpoint::GetBucketPolicy, "GetBucketPolicy"),
    (Endpoint::PutBucketPolicy, "PutBucketPolicy"),
    (Endpoint::DeleteBucketPolicy, "DeleteBucketPolicy"),
    (Endpoint::GetBucketCors, "GetBucketCors"),
    (Endpoint::PutBucketCors, "PutBucketCors"),
    (Endpoint::DeleteBucketCors, "DeleteBucketCors"),
    (Endpoint::GetBucketTagging, "GetBucketTagging"),
    (Endpoint::PutBucketTagging, "PutBucketTagging"),
    (Endpoint::DeleteBucketTagging, "DeleteBucketTagging"),
    (Endpoint::PostObject, "PostObject"),
    (Endpoint::PutObject, "PutObject"),
    (Endpoint::CopyObject, "CopyObject"),
    (Endpoint::GetObject, "GetObject"),
    (Endpoint::HeadObject, "HeadObject"),
    (Endpoint::DeleteObject, "DeleteObject"),
    (Endpoint::GetObjectTagging, "GetObjectTagging"),
    (Endpoint::PutObjectTagging, "PutObjectTagging"),
    (Endpoint::DeleteObjectTagging, "DeleteObjectTagging"),
    (Endpoint::CreateMultipartUpload, "CreateMultipartUpload"),
    (Endpoint::UploadPart, "UploadPart"),
    (Endpoint::UploadPartCopy, "UploadPartCopy"),
    (Endpoint::CompleteMultipartUpload, "CompleteMultipartUpload"),
    (Endpoint::AbortMultipartUpload, "AbortMultipartUpload"),
    (Endpoint::ListParts, "ListParts"),
    (Endpoint::Preflight, "Preflight"),
];

/// Bucket subresources S3 has that this server does not implement, with the
/// operation name each maps to per method (GET, PUT, DELETE).
const UNSUPPORTED_BUCKET_SUBRESOURCES: &[(&str, [&str; 3])] = &[
    ("acl", ["GetBucketAcl", "PutBucketAcl", "DeleteBucketAcl"]),
    ("lifecycle", ["GetBucketLifecycleConfiguration", "PutBucketLifecycleConfiguration", "DeleteBucketLifecycle"]),
    ("encryption", ["GetBucketEncryption", "PutBucketEncryption", "DeleteBucketEncryption"]),
    ("object-lock", ["GetObjectLockConfiguration", "PutObjectLockConfiguration", "DeleteObjectLockConfiguration"]),
    ("website", ["GetBucketWebsite", "PutBucketWebsite", "DeleteBucketWebsite"]),
    ("logging", ["GetBucketLogging", "PutBucketLogging", "DeleteBucketLogging"]),
    ("notification", ["GetBucketNotificationConfiguration", "PutBucketNotificationConfiguration", "DeleteBucketNotification"]),
    ("replication", ["GetBucketReplication", "PutBucketReplication", "DeleteBucketReplication"]),
    ("ownershipControls", ["GetBucketOwnershipControls", "PutBucketOwnershipControls", "DeleteBucketOwnershipControls"]),
    ("publicAccessBlock", ["GetPublicAccessBlock", "PutPublicAccessBlock", "DeletePublicAccessBlock"]),
    ("accelerate", ["GetBucketAccelerateConfiguration", "PutBucketAccelerateConfiguration", "DeleteBucketAccelerate"]),
    ("requestPayment", ["GetBucketRequestPayment", "PutBucketRequestPayment", "DeleteBucketRequestPayment"]),
    ("analytics", ["GetBucketAnalyticsConfiguration", "PutBucketAnalyticsConfiguration", "DeleteBucketAnalyticsConfiguration"]),
    ("metrics", ["GetBucketMetricsConfiguration", "PutBucketMetricsConfiguration", "DeleteBucketMetricsConfiguration"]),
    ("inventory", ["GetBucketInventoryConfiguration", "PutBucketInventoryConfiguration", "DeleteBucketInventoryConfiguration"]),
    ("intelligent-tiering", ["GetBucketIntelligentTieringConfiguration", "PutBucketIntelligentTieringConfiguration", "DeleteBucketIntelligentTieringConfiguration"]),
    ("policyStatus", ["GetBucketPolicyStatus", "PutBucketPolicyStatus", "DeleteBucketPolicyStatus"]),
    ("metadataTable", ["GetBucketMetadataTableConfiguration", "CreateBucketMetadataTableConfiguration", "DeleteBucketMetadataTableConfiguration"]),
];

/// Object subresources S3 has that this server does not implement.
const UNSUPPORTED_OBJECT_SUBRESOURCES: &[(&str, [&str; 3])] = &[
    ("acl", ["GetObjectAcl", "PutObjectAcl", "DeleteObjectAcl"]),
    ("retention", ["GetObjectRetention", "PutObjectRetention", "DeleteObjectRetention"]),
    ("legal-hold", ["GetObjectLegalHold", "PutObjectLegalHold", "DeleteObjectLegalHold"]),
    ("torrent", ["GetObjectTorrent", "PutObjectTorrent", "DeleteObjectTorrent"]),
    ("attributes", ["GetObjectAttributes", "PutObjectAttributes", "DeleteObjectAttributes"]),
    ("restore", ["RestoreObject", "RestoreObject", "RestoreObject"]),
    ("select", ["SelectObjectContent", "SelectObjectContent", "SelectObjectContent"]),
];

/// A routed request: the operation and the resource it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The operation.
    pub endpoint: Endpoint,
    /// The bucket, if the request names one.
    pub bucket: Option<String>,
    /// The decoded object key, if the request names one.
    pub key: Option<String>,
    /// The decoded query.
    pub query: Query,
}

/// Routes a request. `domain` is the base domain for virtual-hosted buckets
/// (`bucket.<domain>`).
pub fn route(method: &Method, path: &str, raw_query: Option<&str>, headers: &HeaderMap, domain: &str) -> S3Result<Route> {
    let query = Query::parse(raw_query)?;
    if path == "/_smartstorage/health" && (method == Method::GET || method == Method::HEAD) {
        return Ok(Route { endpoint: Endpoint::Health, bucket: None, key: None, query });
    }
    let (bucket, key) = split_resource(path, headers, domain)?;
    let endpoint = match (&bucket, &key) {
        (None, _) => match *method {
            Method::GET => Endpoint::ListBuckets,
            // CORS preflight of ListBuckets (answered from the server-wide config).
            Method::OPTIONS => Endpoint::Preflight,
            _ => return Err(method_not_allowed(method, "the service")),
        },
        (Some(_), None) => bucket_endpoint(method, &query, headers)?,
        (Some(_), Some(_)) => object_endpoint(method, &query, headers)?,
    };
    Ok(Route { endpoint, bucket, key, query })
}

/// Splits a request into (bucket, key), from the Host header (virtual-hosted
/// style) or the first path segment (path style). The key is percent-decoded
/// and must be UTF-8; an empty key means "no key".
fn split_resource(path: &str, headers: &HeaderMap, domain: &str) -> S3Result<(Option<String>, Option<String>)> {
    let path = path.strip_prefix('/').unwrap_or(path);
    let decode = |s: &str| -> S3Result<String> {
        percent_decode_str(s).decode_utf8().map(|c| c.into_owned()).map_err(|_| {
            S3Error::invalid_uri(format!("Couldn't parse the specified URI: {s:?} is not valid UTF-8 once decoded"))
        })
    };
    if let Some(bucket) = virtual_host_bucket(headers, domain) {
        let key = if path.is_empty() { None } else { Some(decode(path)?) };
        return Ok((Some(bucket), key));
    }
    if path.is_empty() {
        return Ok((None, None));
    }
    let (bucket, key) = match path.split_once('/') {
        Some((b, k)) => (b, k),
        None => (path, ""),
    };
    let bucket = decode(bucket)?;
    let key = if key.is_empty() { None } else { Some(decode(key)?) };
    Ok((Some(bucket), key))
}

/// The bucket named by a `Host: <bucket>.<domain>[:port]` header, if any.
fn virtual_host_bucket(headers: &HeaderMap, domain: &str) -> Option<String> {
    let host = headers.get(http::header::HOST)?.to_str().ok()?;
    let host = match host.rsplit_once(':') {
        // Strip a port, but not the colons of a bracketed IPv6 literal.
        Some((h, port)) if !h.ends_with(']') || host.starts_with('[') => {
            if port.bytes().all(|b| b.is_ascii_digit()) { h } else { host }
        }
        _ => host,
    };
    let bucket = host.strip_suffix(domain)?.strip_suffix('.')?;
    if bucket.is_empty() { None } else { Some(bucket.to_ascii_lowercase()) }
}

fn method_not_allowed(method: &Method, what: &str) -> S3Error {
    S3Error::method_not_allowed(format!("The specified method {method} is not allowed against {what}."))
        .with_field("Method", method.as_str().to_string())
        .with_field("ResourceType", what.to_string())
}

fn unsupported(query: &Query, table: &[(&str, [&'static str; 3])], method: &Method) -> Option<Endpoint> {
    let idx = match *method {
        Method::GET | Method::HEAD => 0,
        Method::PUT | Method::POST => 1,
        Method::DELETE => 2,
        _ => return None,
    };
    table.iter().find(|(sub, _)| query.has(sub)).map(|(_, names)| Endpoint::NotImplemented(names[idx]))
}

fn bucket_endpoint(method: &Method, q: &Query, headers: &HeaderMap) -> S3Result<Endpoint> {
    if let Some(e) = unsupported(q, UNSUPPORTED_BUCKET_SUBRESOURCES, method) {
        return Ok(e);
    }
    let e = match *method {
        Method::GET => {
            if q.has("location") {
                Endpoint::GetBucketLocation
            } else if q.has("versioning") {
                Endpoint::GetBucketVersioning
            } else if q.has("versions") {
                Endpoint::ListObjectVersions
            } else if q.has("uploads") {
                Endpoint::ListMultipartUploads
            } else if q.has("policy") {
                Endpoint::GetBucketPolicy
            } else if q.has("cors") {
                Endpoint::GetBucketCors
            } else if q.has("tagging") {
                Endpoint::GetBucketTagging
            } else if q.get("list-type") == Some("2") {
                Endpoint::ListObjectsV2
            } else if let Some(other) = q.get("list-type") {
                return Err(S3Error::invalid_argument(format!("Invalid list-type {other:?}: only 2 is supported"))
                    .with_field("ArgumentName", "list-type")
                    .with_field("ArgumentValue", other.to_string()));
            } else {
                Endpoint::ListObjects
            }
        }
        Method::HEAD => Endpoint::HeadBucket,
        Method::PUT => {
            if q.has("versioning") {
                Endpoint::PutBucketVersioning
            } else if q.has("policy") {
                Endpoint::PutBucketPolicy
            } else if q.has("cors") {
                Endpoint::PutBucketCors
            } else if q.has("tagging") {
                Endpoint::PutBucketTagging
            } else {
                Endpoint::CreateBucket
            }
        }
        Method::DELETE => {
            if q.has("policy") {
                Endpoint::DeleteBucketPolicy
            } else if q.has("cors") {
                Endpoint::DeleteBucketCors
            } else if q.has("tagging") {
                Endpoint::DeleteBucketTagging
            } else {
                Endpoint::DeleteBucket
            }
        }
        Method::POST => {
            if q.has("delete") {
                Endpoint::DeleteObjects
            } else if is_form_upload(headers) {
                Endpoint::PostObject
            } else {
                return Err(method_not_allowed(method, "the bucket"));
            }
        }
        Method::OPTIONS => Endpoint::Preflight,
        _ => return Err(method_not_allowed(method, "the bucket")),
    };
    Ok(e)
}

fn is_form_upload(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"))
}

fn object_endpoint(method: &Method, q: &Query, headers: &HeaderMap) -> S3Result<Endpoint> {
    if let Some(e) = unsupported(q, UNSUPPORTED_OBJECT_SUBRESOURCES, method) {
        return Ok(e);
    }
    let copy_source = headers.contains_key("x-amz-copy-source");
    let e = match *method {
        Method::GET => {
            if q.has("uploadId") {
                Endpoint::ListParts
            } else if q.has("tagging") {
                Endpoint::GetObjectTagging
            } else {
                Endpoint::GetObject
            }
        }
        Method::HEAD => Endpoint::HeadObject,
        Method::PUT => {
            if q.has("tagging") {
                Endpoint::PutObjectTagging
            } else if q.has("partNumber") || q.has("uploadId") {
                if copy_source { Endpoint::UploadPartCopy } else { Endpoint::UploadPart }
            } else if copy_source {
                Endpoint::CopyObject
            } else {
                Endpoint::PutObject
            }
        }
        Method::POST => {
            if q.has("uploads") {
                Endpoint::CreateMultipartUpload
            } else if q.has("uploadId") {
                Endpoint::CompleteMultipartUpload
            } else {
                return Err(method_not_allowed(method, "the object"));
            }
        }
        Method::DELETE => {
            if q.has("uploadId") {
                Endpoint::AbortMultipartUpload
            } else if q.has("tagging") {
                Endpoint::DeleteObjectTagging
            } else {
                Endpoint::DeleteObject
            }
        }
        Method::OPTIONS => Endpoint::Preflight,
        _ => return Err(method_not_allowed(method, "the object")),
    };
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(method: Method, uri: &str, headers: &[(&str, &str)]) -> S3Result<Route> {
        let (path, query) = match uri.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (uri, None),
        };
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        route(&method, path, query, &map, "localhost")
    }

    fn ep(method: Method, uri: &str) -> Endpoint {
        r(method, uri, &[]).unwrap().endpoint
    }

    #[test]
    fn router_table_maps_each_operation() {
        use Endpoint::*;
        let table: &[(Method, &str, Endpoint)] = &[
            (Method::GET, "/", ListBuckets),
            (Method::GET, "/_smartstorage/health", Health),
            (Method::PUT, "/b1", CreateBucket),
            (Method::DELETE, "/b1", DeleteBucket),
            (Method::HEAD, "/b1", HeadBucket),
            (Method::GET, "/b1?location", GetBucketLocation),
            (Method::GET, "/b1?versioning", GetBucketVersioning),
            (Method::GET, "/b1?versions", ListObjectVersions),
            (Method::GET, "/b1?uploads", ListMultipartUploads),
            (Method::GET, "/b1", ListObjects),
            (Method::GET, "/b1/", ListObjects),
            (Method::GET, "/b1?list-type=2&prefix=a", ListObjectsV2),
            (Method::POST, "/b1?delete", DeleteObjects),
            (Method::GET, "/b1?policy", GetBucketPolicy),
            (Method::PUT, "/b1?cors", PutBucketCors),
            (Method::PUT, "/b1/k", PutObject),
            (Method::GET, "/b1/k", GetObject),
            (Method::HEAD, "/b1/k", HeadObject),
            (Method::DELETE, "/b1/k", DeleteObject),
            (Method::POST, "/b1/k?uploads", CreateMultipartUpload),
            (Method::PUT, "/b1/k?partNumber=1&uploadId=u", UploadPart),
            (Method::POST, "/b1/k?uploadId=u", CompleteMultipartUpload),
            (Method::DELETE, "/b1/k?uploadId=u", AbortMultipartUpload),
            (Method::GET, "/b1/k?uploadId=u", ListParts),
            (Method::GET, "/b1/k?tagging", GetObjectTagging),
            (Method::GET, "/b1?acl", NotImplemented("GetBucketAcl")),
            (Method::PUT, "/b1/k?acl", NotImplemented("PutObjectAcl")),
            (Method::PUT, "/b1?lifecycle", NotImplemented("PutBucketLifecycleConfiguration")),
        ];
        for (method, uri, want) in table {
            assert_eq!(&ep(method.clone(), uri), want, "{method} {uri}");
        }
    }

    #[test]
    fn copy_source_header_selects_copy_operations() {
        let h = [("x-amz-copy-source", "/src/k")];
        assert_eq!(r(Method::PUT, "/b1/k", &h).unwrap().endpoint, Endpoint::CopyObject);
        assert_eq!(r(Method::PUT, "/b1/k?partNumber=2&uploadId=u", &h).unwrap().endpoint, Endpoint::UploadPartCopy);
    }

    #[test]
    fn keys_are_percent_decoded_and_keep_slashes_and_dots() {
        let route = r(Method::GET, "/b1/a/%2e%2e/b//c/", &[]).unwrap();
        assert_eq!(route.bucket.as_deref(), Some("b1"));
        assert_eq!(route.key.as_deref(), Some("a/../b//c/"));
        let route = r(Method::GET, "/b1/caf%C3%A9+x%2Fy", &[]).unwrap();
        assert_eq!(route.key.as_deref(), Some("café+x/y"));
    }

    #[test]
    fn invalid_utf8_in_key_is_invalid_uri() {
        let err = r(Method::GET, "/b1/%ff", &[]).unwrap_err();
        assert_eq!(err.code, "InvalidURI");
    }

    #[test]
    fn virtual_host_style_takes_bucket_from_host() {
        let route = r(Method::GET, "/photos/cat.jpg", &[("host", "my-bucket.localhost:3000")]).unwrap();
        assert_eq!(route.bucket.as_deref(), Some("my-bucket"));
        assert_eq!(route.key.as_deref(), Some("photos/cat.jpg"));
        assert_eq!(route.endpoint, Endpoint::GetObject);
        let route = r(Method::GET, "/", &[("host", "my-bucket.localhost")]).unwrap();
        assert_eq!(route.endpoint, Endpoint::ListObjects);
        // Plain localhost and IPs are path style.
        let route = r(Method::GET, "/b1/k", &[("host", "localhost:3000")]).unwrap();
        assert_eq!(route.bucket.as_deref(), Some("b1"));
        let route = r(Method::GET, "/b1/k", &[("host", "127.0.0.1:3000")]).unwrap();
        assert_eq!(route.bucket.as_deref(), Some("b1"));
    }

    #[test]
    fn query_decodes_plus_and_percent() {
        let q = Query::parse(Some("prefix=a+b%2Fc&delimiter=%2F&uploads")).unwrap();
        assert_eq!(q.get("prefix"), Some("a b/c"));
        assert_eq!(q.get("delimiter"), Some("/"));
        assert!(q.has("uploads"));
        assert_eq!(q.get("uploads"), Some(""));
    }

    #[test]
    fn unknown_methods_are_method_not_allowed() {
        assert_eq!(r(Method::PATCH, "/b1/k", &[]).unwrap_err().code, "MethodNotAllowed");
        assert_eq!(r(Method::POST, "/b1/k", &[]).unwrap_err().code, "MethodNotAllowed");
        assert_eq!(r(Method::DELETE, "/", &[]).unwrap_err().code, "MethodNotAllowed");
    }

    #[test]
    fn every_endpoint_has_a_name() {
        for (e, n) in ENDPOINT_NAMES {
            assert_eq!(e.name(), *n);
        }
    }
}
