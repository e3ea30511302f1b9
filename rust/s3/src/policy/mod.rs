//! Bucket policies: the IAM grammar ([`parse`]), wildcard patterns
//! ([`pattern`]), condition operators ([`condition`]), evaluation ([`eval`]),
//! the Endpoint → IAM action table ([`actions`]), the per-bucket cache
//! ([`cache`]), and [`authorize`]: the decision for one request.
//!
//! ## The decision (auth enabled)
//! 1. Health checks, CORS preflights and 501 operations are not governed.
//! 2. ListBuckets and CreateBucket need an authenticated caller.
//! 3. Otherwise the bucket's policy is evaluated for the caller, the action
//!    and the resource: an applicable Deny refuses (AccessDenied), an
//!    applicable Allow grants, and when nothing applies the bucket owner is
//!    allowed and everyone else (anonymous callers included) is refused.
//!    Buckets created while auth was off have no owner: every authenticated
//!    caller counts as their owner.
//! 4. Get/Put/DeleteBucketPolicy are the owner's alone: the owner is never
//!    denied them (no self-lockout); a non-owner allowed by the policy gets
//!    405 MethodNotAllowed, as S3 answers.
//! 5. Copies also need `s3:GetObject` on the source object, judged by the
//!    source bucket's owner and policy.
//!
//! With auth disabled, policies are stored and returned but never enforced.
//!
//! ## Condition keys
//! `aws:SourceIp`, `aws:SecureTransport` (always false: plain HTTP),
//! `aws:CurrentTime`, `aws:EpochTime`, `aws:PrincipalType` (`Anonymous` or
//! `User`), `aws:userid` / `aws:username` (the access key id), `aws:Referer`,
//! `aws:UserAgent`, `s3:prefix` / `s3:delimiter` / `s3:max-keys` (listings,
//! when the parameter is sent), `s3:authType` (`REST-HEADER`,
//! `REST-QUERY-STRING`, `POST`), `s3:signatureversion` (`AWS4-HMAC-SHA256`
//! when signed), and `s3:<header>` for every `x-amz-*` request header
//! (`s3:x-amz-acl`, `s3:x-amz-copy-source`, `s3:x-amz-server-side-encryption`,
//! …). Other keys are absent from every request.

pub mod actions;
pub mod cache;
pub mod condition;
pub mod eval;
pub mod parse;
pub mod pattern;

use crate::dispatch::Ctx;
use crate::error::{S3Error, S3Result};
use crate::router::Endpoint;
use actions::{ResourceKind, bucket_arn, iam_action, is_listing, is_owner_only, object_arn, source_action};
use condition::RequestValues;
use eval::{Decision, EvalRequest, Target};
use parse::Policy;
use smartstorage_store::StoreError;
use std::net::IpAddr;

pub use cache::ConfigCache;

/// The store kind bucket policies are kept under.
pub const POLICY_KIND: &str = "policy";

/// Parsed bucket policies by bucket.
pub type PolicyCache = ConfigCache<Policy>;

/// S3's message for every authorization refusal.
pub const ACCESS_DENIED: &str = "Access Denied";

/// The MalformedPolicy error (400).
pub fn malformed_policy(message: impl Into<String>) -> S3Error {
    S3Error::new("MalformedPolicy", http::StatusCode::BAD_REQUEST, message)
}

/// A new, empty policy cache.
pub fn new_policy_cache() -> PolicyCache {
    ConfigCache::new(POLICY_KIND)
}

/// Decides whether the request behind `ctx` may run (policy and ownership),
/// after authentication has set `ctx.principal`. See the module docs.
pub async fn authorize(ctx: &Ctx) -> S3Result<()> {
    if !ctx.state.config.auth.enabled {
        return Ok(());
    }
    let Some(action) = iam_action(&ctx.endpoint) else { return Ok(()) };
    let principal = ctx.principal.as_deref();
    match (&ctx.endpoint, action.resource) {
        // The form upload's key is in its body: the handler calls
        // `authorize_action` once it is known.
        (Endpoint::PostObject, _) => return Ok(()),
        (Endpoint::CreateBucket, _) | (_, ResourceKind::Service) => {
            return if principal.is_some() { Ok(()) } else { Err(S3Error::access_denied(ACCESS_DENIED)) };
        }
        _ => {}
    }
    let bucket = ctx.bucket();
    let key = (action.resource == ResourceKind::Object).then(|| ctx.key());
    authorize_action(ctx, principal, action.name, bucket, key, action.resource == ResourceKind::AllObjects).await?;
    if let Some(source_action) = source_action(&ctx.endpoint) {
        let source = crate::ops::object::parse_copy_source(ctx)?;
        authorize_action(ctx, principal, source_action, &source.bucket, Some(&source.key), false).await?;
    }
    Ok(())
}

/// Whether `principal` may perform `action` on `bucket` (and `key`; with
/// `all_objects`, on every object of the bucket at once). A bucket that does
/// not exist passes, so the handler answers NoSuchBucket as S3 does.
pub async fn authorize_action(
    ctx: &Ctx,
    principal: Option<&str>,
    action: &str,
    bucket: &str,
    key: Option<&str>,
    all_objects: bool,
) -> S3Result<()> {
    if !ctx.state.config.auth.enabled {
        return Ok(());
    }
    let info = match ctx.store().head_bucket(bucket).await {
        Ok(info) => info,
        Err(StoreError::NoSuchBucket(_)) | Err(StoreError::InvalidBucketName { .. }) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let is_owner = principal.is_some() && (info.owner.is_none() || info.owner.as_deref() == principal);
    let owner_only = is_owner_only(&ctx.endpoint) && key.is_none();
    if owner_only && is_owner {
        return Ok(());
    }
    let policy = ctx
        .state
        .policies
        .load(ctx.store(), bucket, info.created, |doc| Policy::parse(doc, bucket))
        .await?;
    let decision = match &policy {
        None => Decision::NotApplicable,
        Some(policy) => {
            let values = request_values(ctx, principal);
            let arn = match key {
                Some(k) => object_arn(bucket, k),
                None if all_objects => format!("{}/", bucket_arn(bucket)),
                None => bucket_arn(bucket),
            };
            let target = if all_objects { Target::AllObjects(&arn) } else { Target::Arn(&arn) };
            policy.evaluate(&EvalRequest { principal, action, target, values: &values })
        }
    };
    tracing::debug!(?principal, action, bucket, ?key, ?decision, is_owner, "authorization");
    match decision {
        Decision::Deny => Err(S3Error::access_denied(ACCESS_DENIED)),
        Decision::Allow if owner_only => Err(S3Error::method_not_allowed(format!(
            "The specified method is not allowed against this resource: only the bucket owner may use {}.",
            ctx.endpoint.name()
        ))
        .with_field("Method", ctx.method.as_str().to_string())
        .with_field("ResourceType", "BUCKET")),
        Decision::Allow => Ok(()),
        Decision::NotApplicable if is_owner => Ok(()),
        Decision::NotApplicable => Err(S3Error::access_denied(ACCESS_DENIED)),
    }
}

/// The condition key values of a request (see the module docs).
pub fn request_values(ctx: &Ctx, principal: Option<&str>) -> RequestValues {
    let mut v = RequestValues::default();
    let ip = match ctx.remote.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    v.set("aws:SourceIp", ip.to_string());
    v.set("aws:SecureTransport", "false");
    let now = time::OffsetDateTime::now_utc();
    v.set("aws:CurrentTime", crate::auth::sigv4::iso8601(now));
    v.set("aws:EpochTime", now.unix_timestamp().to_string());
    match principal {
        Some(p) => {
            v.set("aws:PrincipalType", "User");
            v.set("aws:userid", p);
            v.set("aws:username", p);
            v.set("s3:signatureversion", "AWS4-HMAC-SHA256");
        }
        None => v.set("aws:PrincipalType", "Anonymous"),
    }
    for (key, header) in [("aws:Referer", "referer"), ("aws:UserAgent", "user-agent")] {
        if let Some(value) = ctx.header(header) {
            v.set(key, value);
        }
    }
    let auth_type = if ctx.endpoint == Endpoint::PostObject {
        Some("POST")
    } else if ctx.query.has("X-Amz-Signature") {
        Some("REST-QUERY-STRING")
    } else if ctx.headers.contains_key(http::header::AUTHORIZATION) {
        Some("REST-HEADER")
    } else {
        None
    };
    if let Some(t) = auth_type.filter(|_| principal.is_some()) {
        v.set("s3:authType", t);
    }
    if is_listing(&ctx.endpoint) {
        for param in ["prefix", "delimiter", "max-keys"] {
            if let Some(value) = ctx.query.get(param) {
                v.set(&format!("s3:{param}"), value);
            }
        }
    }
    for (name, value) in &ctx.headers {
        let name = name.as_str();
        if name.starts_with("x-amz-") && !name.starts_with("x-amz-meta-")
            && let Ok(value) = value.to_str()
        {
            v.set(&format!("s3:{name}"), value);
        }
    }
    v
}
