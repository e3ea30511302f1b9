//! `GET /_smartstorage/health`: liveness for probes, never authenticated.

use crate::dispatch::Ctx;
use crate::error::S3Result;
use crate::response::{S3Response, full_body};
use http::{HeaderValue, Response};

/// Answers `{"status":"ok"}` once the server accepts requests.
pub async fn handle_health(_ctx: &Ctx) -> S3Result<S3Response> {
    let mut resp = Response::new(full_body(r#"{"status":"ok"}"#));
    resp.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(resp)
}
