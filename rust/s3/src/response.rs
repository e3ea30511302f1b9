//! Building responses: body types, XML and empty responses, streamed object
//! bodies, and the S3 error response.

use crate::error::S3Error;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::Frame;
use smartstorage_store::ByteStream;
use std::time::SystemTime;

/// Errors a response body can end with (e.g. a disk read failing mid-stream;
/// hyper then aborts the connection, so the client sees a truncated body).
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// The body type of every response.
pub type ResponseBody = UnsyncBoxBody<Bytes, BodyError>;

/// A response as handlers return it.
pub type S3Response = Response<ResponseBody>;

/// An empty body.
pub fn empty_body() -> ResponseBody {
    Empty::<Bytes>::new().map_err(|never| match never {}).boxed_unsync()
}

/// A body held in memory (XML documents, small JSON).
pub fn full_body(bytes: impl Into<Bytes>) -> ResponseBody {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed_unsync()
}

/// A body streamed from the store.
pub fn stream_body(stream: ByteStream) -> ResponseBody {
    let frames = stream.map_ok(Frame::data).map_err(|e| Box::new(e) as BodyError);
    StreamBody::new(frames.boxed()).boxed_unsync()
}

/// An empty response with `status`.
pub fn empty(status: StatusCode) -> S3Response {
    let mut resp = Response::new(empty_body());
    *resp.status_mut() = status;
    resp
}

/// A 200 response with an XML document.
pub fn xml(document: String) -> S3Response {
    let mut resp = Response::new(full_body(document));
    resp.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    resp
}

/// The S3 error response: XML body (none for HEAD, like S3), status, extra headers.
pub fn error_response(err: &S3Error, resource: &str, request_id: &str, is_head: bool) -> S3Response {
    let mut resp = if is_head {
        empty(err.status)
    } else {
        let mut r = xml(err.to_xml(resource, request_id));
        *r.status_mut() = err.status;
        r
    };
    for (name, value) in &err.headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            resp.headers_mut().insert(*name, v);
        }
    }
    resp
}

/// An HTTP date (`Last-Modified`, `Expires`): RFC 1123 in GMT.
pub fn http_date(t: SystemTime) -> String {
    httpdate::fmt_http_date(t)
}

/// Sets a header from a string, skipping values that are not valid header text.
pub fn set_header(resp: &mut S3Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}
