//! The one error type of the S3 layer: every failure a client sees, with the
//! code and HTTP status AWS uses, rendered as the S3 XML error body.

use http::StatusCode;
use smartstorage_store::StoreError;

/// An S3 error code, its HTTP status, and a human message that names the bad
/// value. Extra elements (e.g. `StringToSign` for SignatureDoesNotMatch,
/// `BucketName`, `Key`) are carried in `fields`.
#[derive(Debug, Clone)]
pub struct S3Error {
    /// The AWS error code, e.g. `NoSuchKey`.
    pub code: &'static str,
    /// The HTTP status AWS answers with for this code.
    pub status: StatusCode,
    /// What went wrong, naming the bad value.
    pub message: String,
    /// Extra `<Name>value</Name>` elements, in order.
    pub fields: Vec<(&'static str, String)>,
    /// Extra response headers (e.g. `Content-Range` on 416).
    pub headers: Vec<(&'static str, String)>,
}

/// Shorthand for results in the S3 layer.
pub type S3Result<T> = Result<T, S3Error>;

macro_rules! s3_errors {
    ($( $(#[$doc:meta])* $fn_name:ident => ($code:literal, $status:ident) ),* $(,)?) => {
        impl S3Error {
            $(
                $(#[$doc])*
                pub fn $fn_name(message: impl Into<String>) -> Self {
                    S3Error::new($code, StatusCode::$status, message)
                }
            )*
        }
    };
}

s3_errors! {
    /// 403: the request is not allowed.
    access_denied => ("AccessDenied", FORBIDDEN),
    /// 400: a bad digest (Content-MD5 or x-amz-checksum-*) did not match the body.
    bad_digest => ("BadDigest", BAD_REQUEST),
    /// 409: the name is owned by someone else.
    bucket_already_exists => ("BucketAlreadyExists", CONFLICT),
    /// 409: you already own this bucket.
    bucket_already_owned_by_you => ("BucketAlreadyOwnedByYou", CONFLICT),
    /// 409: the bucket still holds objects or uploads.
    bucket_not_empty => ("BucketNotEmpty", CONFLICT),
    /// 400: a part other than the last one is under 5 MiB.
    entity_too_small => ("EntityTooSmall", BAD_REQUEST),
    /// 400: the body exceeds the size limit.
    entity_too_large => ("EntityTooLarge", BAD_REQUEST),
    /// 400: the body is shorter than the declared Content-Length.
    incomplete_body => ("IncompleteBody", BAD_REQUEST),
    /// 500: the server failed.
    internal_error => ("InternalError", INTERNAL_SERVER_ERROR),
    /// 400: an argument is invalid.
    invalid_argument => ("InvalidArgument", BAD_REQUEST),
    /// 400: the bucket name breaks the naming rules.
    invalid_bucket_name => ("InvalidBucketName", BAD_REQUEST),
    /// 400: Content-MD5 is not valid base64 of 16 bytes.
    invalid_digest => ("InvalidDigest", BAD_REQUEST),
    /// 400: a listed part is missing or its etag differs.
    invalid_part => ("InvalidPart", BAD_REQUEST),
    /// 400: parts are not in ascending order.
    invalid_part_order => ("InvalidPartOrder", BAD_REQUEST),
    /// 416: the range cannot be satisfied.
    invalid_range => ("InvalidRange", RANGE_NOT_SATISFIABLE),
    /// 400: the request is invalid in some other way.
    invalid_request => ("InvalidRequest", BAD_REQUEST),
    /// 400: the URI is invalid (bad percent-encoding, non-UTF-8 key).
    invalid_uri => ("InvalidURI", BAD_REQUEST),
    /// 400: the key is too long.
    key_too_long => ("KeyTooLongError", BAD_REQUEST),
    /// 400: the XML body is not well-formed or does not match the schema.
    malformed_xml => ("MalformedXML", BAD_REQUEST),
    /// 400: user metadata is too large.
    metadata_too_large => ("MetadataTooLarge", BAD_REQUEST),
    /// 405: the method is not allowed on this resource.
    method_not_allowed => ("MethodNotAllowed", METHOD_NOT_ALLOWED),
    /// 411: Content-Length is required.
    missing_content_length => ("MissingContentLength", LENGTH_REQUIRED),
    /// 400: a request body is required.
    missing_request_body => ("MissingRequestBodyError", BAD_REQUEST),
    /// 404: the bucket does not exist.
    no_such_bucket => ("NoSuchBucket", NOT_FOUND),
    /// 404: the key does not exist.
    no_such_key => ("NoSuchKey", NOT_FOUND),
    /// 404: the upload does not exist.
    no_such_upload => ("NoSuchUpload", NOT_FOUND),
    /// 501: the operation is not implemented by this server.
    not_implemented => ("NotImplemented", NOT_IMPLEMENTED),
    /// 412: a precondition did not hold.
    precondition_failed => ("PreconditionFailed", PRECONDITION_FAILED),
    /// 400: the client was too slow sending the body.
    request_timeout => ("RequestTimeout", BAD_REQUEST),
    /// 503: the server is overloaded or cannot store more right now.
    slow_down => ("SlowDown", SERVICE_UNAVAILABLE),
    /// 507: the disk is full.
    insufficient_storage => ("InsufficientStorage", INSUFFICIENT_STORAGE),
    /// 400: the computed SHA-256 of the body differs from x-amz-content-sha256.
    content_sha256_mismatch => ("XAmzContentSHA256Mismatch", BAD_REQUEST),
    /// 400: a signature header is malformed.
    authorization_header_malformed => ("AuthorizationHeaderMalformed", BAD_REQUEST),
    /// 403: the signature does not match.
    signature_does_not_match => ("SignatureDoesNotMatch", FORBIDDEN),
    /// 403: the access key is unknown.
    invalid_access_key_id => ("InvalidAccessKeyId", FORBIDDEN),
    /// 403: the request time is too far from the server's.
    request_time_too_skewed => ("RequestTimeTooSkewed", FORBIDDEN),
    /// 400: a presigned URL's `X-Amz-*` parameters are missing or malformed.
    authorization_query_parameters_error => ("AuthorizationQueryParametersError", BAD_REQUEST),
    /// 400: a header the request needs is missing.
    missing_security_header => ("MissingSecurityHeader", BAD_REQUEST),
    /// 400: the security token is malformed or otherwise invalid.
    invalid_token => ("InvalidToken", BAD_REQUEST),
}

impl S3Error {
    /// An error with an arbitrary code and status.
    pub fn new(code: &'static str, status: StatusCode, message: impl Into<String>) -> Self {
        S3Error { code, status, message: message.into(), fields: Vec::new(), headers: Vec::new() }
    }

    /// Adds an extra XML element to the error body.
    pub fn with_field(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.fields.push((name, value.into()));
        self
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The XML error document, as S3 sends it.
    pub fn to_xml(&self, resource: &str, request_id: &str) -> String {
        use std::fmt::Write;
        let mut xml = String::with_capacity(256);
        xml.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
        xml.push_str(self.code);
        xml.push_str("</Code><Message>");
        xml.push_str(&quick_xml::escape::escape(&self.message));
        xml.push_str("</Message>");
        for (name, value) in &self.fields {
            let _ = write!(xml, "<{name}>{}</{name}>", quick_xml::escape::escape(value));
        }
        let _ = write!(
            xml,
            "<Resource>{}</Resource><RequestId>{request_id}</RequestId></Error>",
            quick_xml::escape::escape(resource)
        );
        xml
    }
}

impl std::fmt::Display for S3Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status.as_u16(), self.message)
    }
}

impl std::error::Error for S3Error {}

impl From<StoreError> for S3Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NoSuchBucket(b) => S3Error::no_such_bucket("The specified bucket does not exist")
                .with_field("BucketName", b),
            StoreError::NoSuchKey(k) => S3Error::no_such_key("The specified key does not exist.").with_field("Key", k),
            StoreError::NoSuchUpload(u) => S3Error::no_such_upload(
                "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
            )
            .with_field("UploadId", u),
            StoreError::BucketAlreadyExists { bucket, .. } => S3Error::bucket_already_exists(
                "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.",
            )
            .with_field("BucketName", bucket),
            StoreError::BucketNotEmpty(b) => {
                S3Error::bucket_not_empty("The bucket you tried to delete is not empty").with_field("BucketName", b)
            }
            StoreError::InvalidBucketName { name, reason } => {
                S3Error::invalid_bucket_name(format!("The specified bucket is not valid: {reason}"))
                    .with_field("BucketName", name)
            }
            StoreError::InvalidKey { key, reason } if reason.contains("1024") => {
                S3Error::key_too_long("Your key is too long").with_field("Key", key)
            }
            StoreError::InvalidKey { reason, .. } => S3Error::invalid_argument(format!("Invalid object key: {reason}")),
            StoreError::PreconditionFailed => {
                S3Error::precondition_failed("At least one of the pre-conditions you specified did not hold")
                    .with_field("Condition", "If-Match")
            }
            StoreError::InvalidPart { part_number } => S3Error::invalid_part(format!(
                "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag. (part {part_number})"
            )),
            StoreError::StorageFull(e) => {
                tracing::warn!(error = %e, "storage full");
                S3Error::insufficient_storage("Storage backend has reached its minimum free drive threshold. Please delete a few objects to proceed.")
            }
            err @ (StoreError::Io { .. } | StoreError::Corrupt { .. }) => {
                tracing::error!(error = %err, "store failure");
                S3Error::internal_error("We encountered an internal error. Please try again.")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_xml_has_code_message_resource_and_request_id() {
        let err = S3Error::no_such_key("The specified key does not exist.").with_field("Key", "a<b");
        assert_eq!(
            err.to_xml("/bucket/a<b", "REQ1"),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>a&lt;b</Key><Resource>/bucket/a&lt;b</Resource><RequestId>REQ1</RequestId></Error>"
        );
        assert_eq!(err.status, StatusCode::NOT_FOUND);
    }
}
