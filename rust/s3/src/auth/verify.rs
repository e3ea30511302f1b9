//! Authenticating one request the way S3 does: find the mechanism
//! (presigned query first, then the Authorization header, else anonymous),
//! check the scope and the clock, rebuild the canonical request and compare
//! signatures in constant time.

use super::credentials::CredentialStore;
use super::header::{AuthorizationHeader, CredentialScope, echo, malformed, parse_authorization};
use super::presigned::{self, PresignedParams, SIGNATURE_PARAM, query_error};
use super::sigv4::{
    AmzDate, SERVICE, SigningKey, TERMINATOR, UNSIGNED_PAYLOAD, canonical_header_value, canonical_query,
    canonical_request, canonical_uri, iso8601, sign, spaced_hex, string_to_sign,
};
use super::streaming::{ChunkSignatureChain, SIGNATURE_MISMATCH};
use crate::error::{S3Error, S3Result};
use crate::router::Query;
use http::{HeaderMap, Method};
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};

/// Largest accepted difference between the request time and the server's
/// clock: 15 minutes, as S3 (`MaxAllowedSkewMilliseconds` 900000).
pub const MAX_SKEW: Duration = Duration::minutes(15);

/// Headers of a presigned request that may be sent without being signed:
/// the payload hash is verified against the body anyway.
const PRESIGNED_UNSIGNED_OK: &[&str] = &["x-amz-content-sha256"];

/// What a request presents for authentication.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// The HTTP method.
    pub method: &'a Method,
    /// The path exactly as sent (still percent-encoded).
    pub raw_path: &'a str,
    /// The query exactly as sent.
    pub raw_query: Option<&'a str>,
    /// The decoded query (as the router parsed it).
    pub query: &'a Query,
    /// The request headers.
    pub headers: &'a HeaderMap,
}

/// How a request was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// `Authorization: AWS4-HMAC-SHA256 …`.
    Header,
    /// `?X-Amz-Algorithm=AWS4-HMAC-SHA256&…` (presigned URL).
    Presigned,
}

/// A request whose signature verified.
#[derive(Clone)]
pub struct Authenticated {
    /// The access key id: the principal, and the owner of buckets it creates.
    pub access_key: String,
    /// Header or presigned.
    pub method: AuthMethod,
    signing_key: SigningKey,
    timestamp: String,
    scope: String,
    signature: String,
}

impl std::fmt::Debug for Authenticated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the signing key.
        f.debug_struct("Authenticated").field("access_key", &self.access_key).field("method", &self.method).finish()
    }
}

impl Authenticated {
    /// The chunk-signature chain of a `STREAMING-AWS4-HMAC-SHA256-PAYLOAD*`
    /// body, seeded with this request's signature.
    pub fn signature_chain(&self) -> ChunkSignatureChain {
        ChunkSignatureChain::new(
            self.access_key.clone(),
            self.signing_key,
            self.timestamp.clone(),
            self.scope.clone(),
            self.signature.clone(),
        )
    }
}

/// Authenticates a request. `Ok(None)`: it carries no authentication
/// (anonymous). Errors are the S3 errors AWS answers.
pub fn authenticate(
    req: &SignedRequest<'_>,
    credentials: &CredentialStore,
    region: &str,
    now: OffsetDateTime,
) -> S3Result<Option<Authenticated>> {
    let authorization = req.headers.get(http::header::AUTHORIZATION);
    let query_v4 = presigned::is_presigned_v4(req.query);
    let query_v2 = presigned::is_presigned_v2(req.query);
    if let Some(value) = authorization
        && (query_v4 || query_v2)
    {
        return Err(S3Error::invalid_argument(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
        )
        .with_field("ArgumentName", "Authorization")
        .with_field("ArgumentValue", echo(&String::from_utf8_lossy(value.as_bytes()))));
    }
    if query_v4 {
        return verify_presigned(req, credentials, region, now).map(Some);
    }
    if query_v2 {
        return Err(S3Error::invalid_request(super::header::UNSUPPORTED_MECHANISM));
    }
    match authorization {
        Some(value) => verify_header(req, value.as_bytes(), credentials, region, now).map(Some),
        None => {
            let content_sha = req.headers.get("x-amz-content-sha256").map(|v| v.as_bytes());
            if content_sha.is_some_and(|v| v.starts_with(b"STREAMING-AWS4-HMAC-SHA256-")) {
                return Err(S3Error::invalid_request(
                    "A STREAMING-AWS4-HMAC-SHA256-PAYLOAD body needs a request signed with AWS4-HMAC-SHA256: its signature seeds the chunk signatures",
                ));
            }
            Ok(None)
        }
    }
}

fn verify_header(
    req: &SignedRequest<'_>,
    raw: &[u8],
    credentials: &CredentialStore,
    region: &str,
    now: OffsetDateTime,
) -> S3Result<Authenticated> {
    let AuthorizationHeader { credential, signed_headers, signature } = parse_authorization(raw)?;
    let payload_hash = req
        .headers
        .get("x-amz-content-sha256")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .ok_or_else(|| S3Error::invalid_request("Missing required header for this request: x-amz-content-sha256"))?;
    let (date, timestamp, sent) = request_time(req.headers)?;
    check_scope(&credential, &date, region, malformed)?;
    if (now - date.0).abs() > MAX_SKEW {
        return Err(S3Error::request_time_too_skewed(
            "The difference between the request time and the current time is too large.",
        )
        .with_field("RequestTime", sent)
        .with_field("ServerTime", iso8601(now))
        .with_field("MaxAllowedSkewMilliseconds", MAX_SKEW.whole_milliseconds().to_string()));
    }
    check_all_signed(req.headers, &signed_headers, &[])?;
    reject_security_token(req.headers.contains_key("x-amz-security-token"))?;
    let signing_key = verify_signature(req, &credential, &signed_headers, &payload_hash, &timestamp, &signature, None, credentials)?;
    Ok(Authenticated {
        access_key: credential.access_key.clone(),
        method: AuthMethod::Header,
        signing_key,
        timestamp,
        scope: credential.scope(),
        signature,
    })
}

fn verify_presigned(
    req: &SignedRequest<'_>,
    credentials: &CredentialStore,
    region: &str,
    now: OffsetDateTime,
) -> S3Result<Authenticated> {
    let p: PresignedParams = presigned::parse_presigned(req.query)?;
    check_scope(&p.credential, &p.date, region, |detail| {
        if detail.starts_with("Invalid credential date") {
            query_error(detail)
        } else {
            query_error(format!("Error parsing the X-Amz-Credential parameter; {detail}"))
        }
    })?;
    presigned::check_window(&p, now, MAX_SKEW)?;
    check_all_signed(req.headers, &p.signed_headers, PRESIGNED_UNSIGNED_OK)?;
    reject_security_token(p.security_token.is_some() || req.headers.contains_key("x-amz-security-token"))?;
    // S3 signs presigned URLs with UNSIGNED-PAYLOAD, unless the client signed
    // an x-amz-content-sha256 header (the SDK's presigner may also hoist
    // `X-Amz-Content-Sha256=UNSIGNED-PAYLOAD` into the query: same value).
    let payload_hash = match req.headers.get("x-amz-content-sha256") {
        Some(v) if p.signed_headers.iter().any(|h| h == "x-amz-content-sha256") => {
            String::from_utf8_lossy(v.as_bytes()).into_owned()
        }
        _ => UNSIGNED_PAYLOAD.to_string(),
    };
    let signing_key = verify_signature(
        req,
        &p.credential,
        &p.signed_headers,
        &payload_hash,
        &p.date_text,
        &p.signature,
        Some(SIGNATURE_PARAM),
        credentials,
    )?;
    Ok(Authenticated {
        access_key: p.credential.access_key.clone(),
        method: AuthMethod::Presigned,
        signing_key,
        timestamp: p.date_text.clone(),
        scope: p.credential.scope(),
        signature: p.signature,
    })
}

/// The request time from `x-amz-date` (preferred) or `Date`: the parsed date,
/// the timestamp line of the string to sign, and the header as sent.
fn request_time(headers: &HeaderMap) -> S3Result<(AmzDate, String, String)> {
    let missing = || S3Error::access_denied("AWS authentication requires a valid Date or x-amz-date header");
    let text = |name: &str| headers.get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_string());
    if let Some(sent) = text("x-amz-date") {
        let date = AmzDate::parse(&sent).ok_or_else(missing)?;
        return Ok((date, sent.clone(), sent));
    }
    let sent = text("date").ok_or_else(missing)?;
    let date = AmzDate::from_http_date(&sent).ok_or_else(missing)?;
    Ok((date, date.long(), sent))
}

/// Checks region, service, terminator and date of the credential scope;
/// `error` wraps the detail in the mechanism's error (header or query).
fn check_scope(
    credential: &CredentialScope,
    date: &AmzDate,
    region: &str,
    error: impl Fn(String) -> S3Error,
) -> S3Result<()> {
    if credential.region != region {
        return Err(error(format!("the region '{}' is wrong; expecting '{region}'", echo(&credential.region)))
            .with_field("Region", region.to_string()));
    }
    if credential.service != SERVICE {
        return Err(error(format!("incorrect service \"{}\". This endpoint belongs to \"{SERVICE}\".", echo(&credential.service))));
    }
    if credential.terminator != TERMINATOR {
        return Err(error(format!(
            "incorrect terminal \"{}\". This endpoint uses \"{TERMINATOR}\".",
            echo(&credential.terminator)
        )));
    }
    let short = date.short();
    if credential.date != short {
        return Err(error(format!(
            "Invalid credential date \"{}\". This date is not the same as X-Amz-Date: \"{short}\".",
            echo(&credential.date)
        )));
    }
    Ok(())
}

/// `host` and every `x-amz-*` header present must be signed (S3 answers
/// AccessDenied with `HeadersNotSigned` otherwise).
fn check_all_signed(headers: &HeaderMap, signed: &[String], exempt: &[&str]) -> S3Result<()> {
    let is_signed = |name: &str| signed.iter().any(|s| s == name);
    if headers.contains_key("x-amz-content-sha256")
        && !is_signed("x-amz-content-sha256")
        && !exempt.contains(&"x-amz-content-sha256")
    {
        return Err(S3Error::invalid_request("header 'x-amz-content-sha256' must be included in signature"));
    }
    let mut unsigned: Vec<&str> = Vec::new();
    if !is_signed("host") {
        unsigned.push("host");
    }
    for name in headers.keys() {
        let name = name.as_str();
        if name.starts_with("x-amz-") && !is_signed(name) && !exempt.contains(&name) && !unsigned.contains(&name) {
            unsigned.push(name);
        }
    }
    if unsigned.is_empty() {
        return Ok(());
    }
    Err(S3Error::access_denied("There were headers present in the request which were not signed")
        .with_field("HeadersNotSigned", unsigned.join(", ")))
}

/// This server issues no session tokens, so any token is invalid.
fn reject_security_token(present: bool) -> S3Result<()> {
    if present {
        return Err(S3Error::invalid_token(
            "The provided token is malformed or otherwise invalid. This server issues no session tokens: sign with an access key and secret only.",
        ));
    }
    Ok(())
}

/// Rebuilds the canonical request and compares signatures (constant time).
/// The canonical URI is tried in S3's normalised form first, then exactly as
/// the client sent the path (clients that sign their own non-standard
/// encoding, e.g. an unescaped `!` or lowercase hex): both decode to the same
/// resource, so the signature binds the same request either way.
#[allow(clippy::too_many_arguments)]
fn verify_signature(
    req: &SignedRequest<'_>,
    credential: &CredentialScope,
    signed_headers: &[String],
    payload_hash: &str,
    timestamp: &str,
    provided: &str,
    skip_param: Option<&str>,
    credentials: &CredentialStore,
) -> S3Result<SigningKey> {
    let signing_key = credentials
        .signing_key(&credential.access_key, &credential.date, &credential.region, &credential.service)
        .ok_or_else(|| {
            S3Error::invalid_access_key_id("The AWS Access Key Id you provided does not exist in our records.")
                .with_field("AWSAccessKeyId", credential.access_key.clone())
        })?;
    let header_lines: Vec<(&str, Vec<u8>)> = signed_headers
        .iter()
        .map(|name| (name.as_str(), canonical_header_value(req.headers, name).unwrap_or_default()))
        .collect();
    let query = canonical_query(req.raw_query, skip_param);
    let scope = credential.scope();
    let normalised = canonical_uri(req.raw_path);
    let mut uris = vec![normalised.as_str()];
    if !req.raw_path.is_empty() && req.raw_path != normalised {
        uris.push(req.raw_path);
    }
    let mut first_attempt = None;
    for uri in uris {
        let creq = canonical_request(req.method.as_str(), uri, &query, &header_lines, payload_hash);
        let sts = string_to_sign(timestamp, &scope, &creq);
        let expected = sign(&signing_key, sts.as_bytes());
        if bool::from(expected.as_bytes().ct_eq(provided.as_bytes())) {
            return Ok(signing_key);
        }
        first_attempt.get_or_insert((creq, sts));
    }
    let (creq, sts) = first_attempt.unwrap_or_default();
    Err(S3Error::signature_does_not_match(SIGNATURE_MISMATCH)
        .with_field("AWSAccessKeyId", credential.access_key.clone())
        .with_field("StringToSign", sts.clone())
        .with_field("SignatureProvided", echo(provided))
        .with_field("StringToSignBytes", spaced_hex(sts.as_bytes()))
        .with_field("CanonicalRequest", String::from_utf8_lossy(&creq).into_owned())
        .with_field("CanonicalRequestBytes", spaced_hex(&creq)))
}
