//! One request from arrival to response: routing, the per-request context,
//! the dispatch `match` into `handle_*` functions, and the S3 error rendering
//! with `x-amz-request-id` / `x-amz-id-2` on every response.

use crate::body::RequestBody;
use crate::config::ServerConfig;
use crate::error::{S3Error, S3Result};
use crate::response::{S3Response, error_response};
use crate::router::{Endpoint, Query, route};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request};
use hyper::body::Incoming;
use smartstorage_store::ObjectStore;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// State shared by every request.
pub struct AppState {
    /// Server settings.
    pub config: ServerConfig,
    /// Where objects live.
    pub store: Arc<dyn ObjectStore>,
    /// The credentials accepted right now (seeded from `config.auth`,
    /// changed at runtime through [`crate::RunningServer::credentials`]).
    pub credentials: Arc<crate::auth::CredentialStore>,
    /// Parsed bucket policies, by bucket (see [`crate::policy`]).
    pub policies: crate::policy::PolicyCache,
    /// Bucket CORS rules and the server-wide rule (see [`crate::cors`]).
    pub cors: crate::cors::CorsState,
    /// Per-process request counter, part of every request id.
    requests: AtomicU64,
    /// Random per-process prefix of request ids, so ids from restarts differ.
    id_prefix: u32,
}

impl AppState {
    /// Wraps config and store for sharing across connections.
    pub fn new(config: ServerConfig, store: Arc<dyn ObjectStore>) -> Self {
        let id_prefix = uuid::Uuid::new_v4().as_u128() as u32;
        let credentials = Arc::new(crate::auth::CredentialStore::new(config.auth.credentials.iter().cloned()));
        let policies = crate::policy::new_policy_cache();
        let cors = crate::cors::CorsState::new(&config.cors);
        AppState { config, store, credentials, policies, cors, requests: AtomicU64::new(0), id_prefix }
    }

    fn next_request_id(&self) -> String {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        let mut id = String::with_capacity(16);
        let _ = write!(id, "{:08X}{:08X}", self.id_prefix, n as u32);
        id
    }
}

/// Everything a handler knows about its request, besides the body.
pub struct Ctx {
    /// Shared state (config, store).
    pub state: Arc<AppState>,
    /// The request id sent back in `x-amz-request-id`.
    pub request_id: String,
    /// The routed operation.
    pub endpoint: Endpoint,
    /// The HTTP method.
    pub method: Method,
    /// Request headers.
    pub headers: HeaderMap,
    /// The bucket named by the request, if any.
    pub bucket: Option<String>,
    /// The decoded key named by the request, if any.
    pub key: Option<String>,
    /// The decoded query.
    pub query: Query,
    /// The client's address.
    pub remote: SocketAddr,
    /// The authenticated access key id (`None`: anonymous or auth off).
    pub principal: Option<String>,
}

impl Ctx {
    /// The bucket; routing guarantees it for bucket and object endpoints.
    pub fn bucket(&self) -> &str {
        self.bucket.as_deref().unwrap_or_default()
    }

    /// The key; routing guarantees it for object endpoints.
    pub fn key(&self) -> &str {
        self.key.as_deref().unwrap_or_default()
    }

    /// A request header as text, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The store.
    pub fn store(&self) -> &dyn ObjectStore {
        self.state.store.as_ref()
    }

    /// The resource path for error bodies (`/bucket/key`).
    pub fn resource(&self) -> String {
        match (&self.bucket, &self.key) {
            (Some(b), Some(k)) => format!("/{b}/{k}"),
            (Some(b), None) => format!("/{b}"),
            _ => "/".to_string(),
        }
    }
}

/// Serves one request; never fails (errors become S3 error responses).
pub async fn handle_request(state: Arc<AppState>, req: Request<Incoming>, remote: SocketAddr) -> S3Response {
    let request_id = state.next_request_id();
    let (parts, incoming) = req.into_parts();
    let is_head = parts.method == Method::HEAD;
    let routed = route(&parts.method, parts.uri.path(), parts.uri.query(), &parts.headers, &state.config.domain);
    let mut response = match routed {
        Err(err) => error_response(&err, parts.uri.path(), &request_id, is_head),
        Ok(r) => {
            let mut ctx = Ctx {
                state: state.clone(),
                request_id: request_id.clone(),
                endpoint: r.endpoint,
                method: parts.method,
                headers: parts.headers,
                bucket: r.bucket,
                key: r.key,
                query: r.query,
                remote,
                principal: None,
            };
            let span = tracing::debug_span!("request", id = %request_id, op = ctx.endpoint.name(), bucket = ?ctx.bucket);
            let _enter = span.enter();
            let outcome = serve(&mut ctx, incoming, parts.uri.path(), parts.uri.query()).await;
            let mut resp = match outcome {
                Ok(resp) => resp,
                Err(err) => {
                    tracing::debug!(code = err.code, message = %err.message, "request failed");
                    error_response(&err, &ctx.resource(), &request_id, is_head)
                }
            };
            crate::cors::decorate(&ctx, &mut resp).await;
            resp
        }
    };
    let headers = response.headers_mut();
    // Both values are handed over as they are, without a copy.
    if let Ok(v) = HeaderValue::from_maybe_shared(Bytes::from(format!("smartstorage/{request_id}"))) {
        headers.insert("x-amz-id-2", v);
    }
    if let Ok(v) = HeaderValue::from_maybe_shared(Bytes::from(request_id)) {
        headers.insert("x-amz-request-id", v);
    }
    headers.insert(http::header::SERVER, http::HeaderValue::from_static("SmartStorage"));
    response
}

/// Authenticates and authorizes the request, opens its body (with the
/// chunk-signature chain of a signed streaming upload) and runs the handler.
/// `raw_path` / `raw_query` are the URI exactly as sent, which SigV4 covers.
async fn serve(ctx: &mut Ctx, incoming: Incoming, raw_path: &str, raw_query: Option<&str>) -> S3Result<S3Response> {
    let auth = crate::auth::authenticate_request(ctx, raw_path, raw_query)?;
    ctx.principal = auth.as_ref().map(|a| a.access_key.clone());
    crate::policy::authorize(ctx).await?;
    let mut body = RequestBody::new(incoming, &ctx.headers, &ctx.state.config.limits)?;
    if let Some(auth) = &auth
        && matches!(body.mode(), crate::body::PayloadMode::Chunked { signed: true, .. })
    {
        body = body.with_signature_chain(auth.signature_chain());
    }
    crate::ops::dispatch(ctx, body).await
}

/// The 501 NotImplemented answer for an S3 operation this server does not support.
pub fn not_implemented(endpoint: &Endpoint) -> S3Result<S3Response> {
    Err(S3Error::not_implemented(format!(
        "{} is not implemented by this server. Use a supported operation or a full S3 service.",
        endpoint.name()
    )))
}
