//! Authentication (AWS Signature Version 4 in every form S3 clients send) and
//! the authorization hook.
//!
//! | module | what |
//! | --- | --- |
//! | [`sigv4`] | canonical request, string to sign, signing key, AWS URI encoding |
//! | [`header`] | the `Authorization` header and credential scope |
//! | [`presigned`] | presigned URLs (`X-Amz-*` query parameters, validity window) |
//! | [`verify`] | the flow: which mechanism, scope, clock, signature, S3 errors |
//! | [`streaming`] | the chunk and trailer signature chain of signed aws-chunked bodies |
//! | [`credentials`] | the runtime credential set and the signing-key cache |
//!
//! A request flows: router → [`authenticate_request`] (sets `Ctx::principal`)
//! → [`crate::policy::authorize`] (ownership and bucket policies) → body
//! (chunk signatures verified as it streams, see
//! [`crate::body::RequestBody::with_signature_chain`]) → handler.

pub mod credentials;
pub mod header;
pub mod presigned;
pub mod sigv4;
pub mod streaming;
pub mod verify;

#[cfg(test)]
mod aws_examples;

pub use credentials::{CredentialError, CredentialStore, validate_credential};
pub use streaming::ChunkSignatureChain;
pub use verify::{AuthMethod, Authenticated, MAX_SKEW, SignedRequest, authenticate};

use crate::dispatch::Ctx;
use crate::error::S3Result;
use crate::router::Endpoint;

/// Authenticates the request behind `ctx` when auth is enabled. `Ok(None)`
/// when auth is off, for the endpoints that are never authenticated (health,
/// CORS preflight), and for anonymous requests (no signature at all), which
/// [`crate::policy::authorize`] then judges. `raw_path` / `raw_query` are the URI parts
/// exactly as sent (the signature covers the client's encoding).
pub fn authenticate_request(ctx: &Ctx, raw_path: &str, raw_query: Option<&str>) -> S3Result<Option<Authenticated>> {
    if !ctx.state.config.auth.enabled || matches!(ctx.endpoint, Endpoint::Health | Endpoint::Preflight) {
        return Ok(None);
    }
    let request = SignedRequest { method: &ctx.method, raw_path, raw_query, query: &ctx.query, headers: &ctx.headers };
    authenticate(&request, &ctx.state.credentials, &ctx.state.config.region, time::OffsetDateTime::now_utc())
}
