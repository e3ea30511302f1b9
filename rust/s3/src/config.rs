//! Settings of the S3 server, filled by the binary from its config file / IPC.

use std::time::Duration;

/// Everything the S3 layer needs to know besides the store.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The region reported by GetBucketLocation and expected in signatures.
    pub region: String,
    /// Base domain of virtual-hosted bucket addresses (`<bucket>.<domain>`).
    pub domain: String,
    /// Size and time limits.
    pub limits: Limits,
    /// Authentication settings.
    pub auth: AuthConfig,
    /// Server-wide CORS settings.
    pub cors: CorsConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            region: "us-east-1".into(),
            domain: "localhost".into(),
            limits: Limits::default(),
            auth: AuthConfig::default(),
            cors: CorsConfig::default(),
        }
    }
}

/// Size and time limits that protect the server from abusive or broken clients.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest single PUT body (S3's own limit is 5 GiB).
    pub max_object_size: u64,
    /// Largest total size of user metadata (S3: 2 KiB), counted as S3 does:
    /// the sum of the UTF-8 lengths of each `x-amz-meta-` name and value.
    pub max_metadata_size: usize,
    /// How long a request body may stall (no bytes arriving) before the
    /// request fails with RequestTimeout.
    pub request_timeout: Duration,
    /// How long a client may take to send the request head; guards against
    /// slowloris clients holding connections open.
    pub header_read_timeout: Duration,
    /// Concurrent connections accepted; further clients wait in the accept backlog.
    pub max_connections: usize,
}

/// 5 GiB: S3's maximum single PUT size.
pub const DEFAULT_MAX_OBJECT_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// 2 KiB: S3's maximum user-defined metadata size.
pub const DEFAULT_MAX_METADATA_SIZE: usize = 2048;
/// 300 s: long enough for a slow client between two body packets, short
/// enough that a dead one does not pin a connection forever.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
/// 30 s to send the request head: generous for real clients, fatal for slowloris.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// 4096 connections: far above what a test suite or a small deployment opens,
/// and well below the default 1024-soft/… fd limits once raised; each idle
/// connection costs a few KiB.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_object_size: DEFAULT_MAX_OBJECT_SIZE,
            max_metadata_size: DEFAULT_MAX_METADATA_SIZE,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// One access key and its secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// The access key id (also the owner id of the buckets it creates).
    pub access_key_id: String,
    /// The secret used to sign requests.
    pub secret_access_key: String,
}

/// Debug output never shows the secret (configs and states get logged).
impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

/// Authentication settings.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    /// When false, every request is accepted whatever its signature.
    pub enabled: bool,
    /// Known credentials.
    pub credentials: Vec<Credential>,
}

/// Server-wide CORS settings.
#[derive(Debug, Clone)]
pub struct CorsConfig {
    /// Whether CORS headers are sent at all.
    pub enabled: bool,
    /// Allowed origins (`*` for any).
    pub allowed_origins: Vec<String>,
    /// Allowed methods.
    pub allowed_methods: Vec<String>,
    /// Allowed request headers (`*` for any).
    pub allowed_headers: Vec<String>,
    /// Response headers exposed to scripts.
    pub exposed_headers: Vec<String>,
    /// Preflight cache time in seconds.
    pub max_age: u64,
    /// Whether credentials may be sent.
    pub allow_credentials: bool,
}

impl Default for CorsConfig {
    fn default() -> Self {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        CorsConfig {
            enabled: false,
            allowed_origins: strings(&["*"]),
            allowed_methods: strings(&["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"]),
            allowed_headers: strings(&["*"]),
            exposed_headers: strings(&["ETag", "x-amz-request-id", "x-amz-version-id"]),
            max_age: 86400,
            allow_credentials: false,
        }
    }
}
