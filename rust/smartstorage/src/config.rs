//! The configuration file / IPC `start` params: the same camelCase JSON shape
//! and defaults as the TypeScript schema in `ts/config.ts`. Unknown fields are
//! rejected so that the two sides cannot drift silently; the shared fixtures in
//! `docs/fixtures/config.*.json` are parsed by both test suites.

use serde::{Deserialize, Serialize};
use smartstorage_s3::auth::{CredentialError, validate_credential};
use smartstorage_s3::{AuthConfig, CorsConfig, Credential, Limits, ServerConfig};
use smartstorage_store::FileStoreConfig;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// HTTP methods a CORS rule may allow.
const CORS_METHODS: [&str; 6] = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"];

/// Largest `dataShards + parityShards`: the erasure codec works over GF(2^8).
const MAX_TOTAL_SHARDS: u64 = 256;

/// A config value that breaks a rule; the message names the field, the value and what is allowed.
#[derive(Debug, thiserror::Error)]
#[error("{field}: got {value}, expected {expected}")]
pub struct ConfigError {
    /// Dotted path of the field, e.g. `server.port`.
    pub field: String,
    /// The offending value, as JSON.
    pub value: String,
    /// What is allowed.
    pub expected: String,
}

fn bad(
    field: impl Into<String>,
    value: impl Serialize,
    expected: impl Into<String>,
) -> ConfigError {
    ConfigError {
        field: field.into(),
        value: serde_json::to_string(&value).unwrap_or_else(|_| "?".into()),
        expected: expected.into(),
    }
}

/// The whole configuration. Every field is optional in JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Config {
    /// The S3 endpoint.
    pub server: ServerSection,
    /// Where data lives.
    pub storage: StorageSection,
    /// Credentials and whether they are checked.
    pub auth: AuthSection,
    /// Server-wide CORS.
    pub cors: CorsSection,
    /// Log output on stderr.
    pub logging: LoggingSection,
    /// Request limits.
    pub limits: LimitsSection,
    /// Multipart upload housekeeping.
    pub multipart: MultipartSection,
    /// Cluster mode (accepted and validated; not supported yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterSection>,
}

/// `server`: the S3 endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ServerSection {
    /// TCP port; 0 binds a free ephemeral port (reported back).
    pub port: u16,
    /// Bind address: an IP literal or `localhost`.
    pub address: String,
    /// No "listening" line in standalone mode (and no `log` events on the TS side).
    pub silent: bool,
    /// Region reported by GetBucketLocation and used in signatures.
    pub region: String,
    /// Base domain of virtual-hosted-style addresses (`bucket.<domain>`).
    pub domain: String,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            port: 3000,
            address: "0.0.0.0".into(),
            silent: false,
            region: "us-east-1".into(),
            domain: "localhost".into(),
        }
    }
}

/// `storage`: the data directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct StorageSection {
    /// Directory holding buckets and objects (created if missing).
    pub directory: PathBuf,
    /// Wipe the directory at start.
    pub clean_slate: bool,
    /// fsync every write; false keeps writes atomic but not durable across power loss.
    pub fsync: bool,
}

impl Default for StorageSection {
    fn default() -> Self {
        StorageSection {
            directory: PathBuf::from(".nogit/bucketsDir"),
            clean_slate: false,
            fsync: true,
        }
    }
}

/// `auth`: access keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct AuthSection {
    /// When false, any signature (or none) is accepted.
    pub enabled: bool,
    /// Known access keys.
    pub credentials: Vec<CredentialEntry>,
}

impl Default for AuthSection {
    fn default() -> Self {
        AuthSection {
            enabled: false,
            credentials: vec![CredentialEntry {
                access_key_id: "STORAGE".into(),
                secret_access_key: "STORAGE".into(),
            }],
        }
    }
}

/// One access key and its secret. `Debug` hides the secret, so a logged config never leaks it.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialEntry {
    /// The access key id.
    pub access_key_id: String,
    /// The secret.
    pub secret_access_key: String,
}

impl std::fmt::Debug for CredentialEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialEntry")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<hidden>")
            .finish()
    }
}

/// `cors`: server-wide CORS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct CorsSection {
    /// Whether CORS headers are sent at all.
    pub enabled: bool,
    /// Allowed origins (`*` for any).
    pub allowed_origins: Vec<String>,
    /// Allowed methods.
    pub allowed_methods: Vec<String>,
    /// Allowed request headers.
    pub allowed_headers: Vec<String>,
    /// Response headers exposed to scripts.
    pub exposed_headers: Vec<String>,
    /// Preflight cache time, seconds.
    pub max_age: u64,
    /// Whether credentials may be sent.
    pub allow_credentials: bool,
}

impl Default for CorsSection {
    fn default() -> Self {
        let d = CorsConfig::default();
        CorsSection {
            enabled: d.enabled,
            allowed_origins: d.allowed_origins,
            allowed_methods: d.allowed_methods,
            allowed_headers: d.allowed_headers,
            exposed_headers: d.exposed_headers,
            max_age: d.max_age,
            allow_credentials: d.allow_credentials,
        }
    }
}

/// Log verbosity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Errors and warnings.
    Warn,
    /// Lifecycle events and warnings (default).
    Info,
    /// Per-request detail.
    Debug,
}

impl LogLevel {
    /// The `tracing` filter directive for this level.
    pub fn directive(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        }
    }
}

/// How log lines look on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (always used in management mode).
    Json,
}

/// `logging`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct LoggingSection {
    /// Verbosity (`RUST_LOG` overrides it).
    pub level: LogLevel,
    /// Format in standalone mode.
    pub format: LogFormat,
    /// False silences logging entirely.
    pub enabled: bool,
}

impl Default for LoggingSection {
    fn default() -> Self {
        LoggingSection {
            level: LogLevel::Info,
            format: LogFormat::Text,
            enabled: true,
        }
    }
}

/// `limits`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct LimitsSection {
    /// Largest single PUT, bytes.
    pub max_object_size: u64,
    /// Largest total user metadata, bytes.
    pub max_metadata_size: u64,
    /// How long a request body may stall, milliseconds.
    pub request_timeout: u64,
}

impl Default for LimitsSection {
    fn default() -> Self {
        let d = Limits::default();
        LimitsSection {
            max_object_size: d.max_object_size,
            max_metadata_size: d.max_metadata_size as u64,
            request_timeout: d.request_timeout.as_millis() as u64,
        }
    }
}

/// `multipart`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct MultipartSection {
    /// Uploads older than this many days are aborted by the periodic cleanup.
    pub expiration_days: u64,
    /// How often the cleanup runs, minutes.
    pub cleanup_interval_minutes: u64,
}

impl Default for MultipartSection {
    fn default() -> Self {
        MultipartSection {
            expiration_days: 7,
            cleanup_interval_minutes: 60,
        }
    }
}

/// `cluster` (validated now, implemented by the cluster work).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ClusterSection {
    /// Run as a cluster node. Not supported yet: `start` fails when true.
    pub enabled: bool,
    /// This node's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    /// UDP port for QUIC between nodes.
    pub quic_port: u16,
    /// Peers to join, `host:port`.
    pub seed_nodes: Vec<String>,
    /// Erasure-coding layout.
    pub erasure: ErasureSection,
    /// Local drives.
    pub drives: DrivesSection,
    /// Heartbeat period, milliseconds.
    pub heartbeat_interval_ms: u64,
    /// A peer silent this long is considered down, milliseconds.
    pub heartbeat_timeout_ms: u64,
}

impl Default for ClusterSection {
    fn default() -> Self {
        ClusterSection {
            enabled: false,
            node_id: None,
            quic_port: 4000,
            seed_nodes: Vec::new(),
            erasure: ErasureSection::default(),
            drives: DrivesSection::default(),
            heartbeat_interval_ms: 5000,
            heartbeat_timeout_ms: 30_000,
        }
    }
}

/// `cluster.erasure`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ErasureSection {
    /// Data shards per stripe.
    pub data_shards: u64,
    /// Parity shards per stripe.
    pub parity_shards: u64,
    /// Bytes per stripe chunk.
    pub chunk_size_bytes: u64,
}

impl Default for ErasureSection {
    fn default() -> Self {
        ErasureSection {
            data_shards: 4,
            parity_shards: 2,
            chunk_size_bytes: 4 * 1024 * 1024,
        }
    }
}

/// `cluster.drives`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct DrivesSection {
    /// Directories, one per drive.
    pub paths: Vec<String>,
}

impl Config {
    /// Parses a config from JSON text (a `--config` file or IPC params).
    pub fn from_json(text: &str) -> Result<Config, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Reads and parses a config file.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read config file {}: {e}", path.display()))?;
        Config::from_json(&text).map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))
    }

    /// Checks every rule the types cannot express (the same rules as the zod schema).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let s = &self.server;
        if !is_valid_address(&s.address) {
            return Err(bad(
                "server.address",
                &s.address,
                "an IP address (such as \"127.0.0.1\", \"0.0.0.0\" or \"::1\") or \"localhost\"",
            ));
        }
        let region_ok = s
            .region
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && s.region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !region_ok {
            return Err(bad(
                "server.region",
                &s.region,
                "a region name of lowercase letters, digits and hyphens, such as \"us-east-1\"",
            ));
        }
        non_empty("server.domain", &s.domain)?;
        if self.storage.directory.as_os_str().is_empty() {
            return Err(bad("storage.directory", "", "a directory path"));
        }
        for (i, c) in self.auth.credentials.iter().enumerate() {
            validate_credential_entry(i, c)?;
            if let Some(first) = self.auth.credentials[..i]
                .iter()
                .position(|other| other.access_key_id == c.access_key_id)
            {
                return Err(bad(
                    format!("auth.credentials.{i}.accessKeyId"),
                    &c.access_key_id,
                    format!("an access key id not already used by auth.credentials.{first}"),
                ));
            }
        }
        if self.auth.enabled && self.auth.credentials.is_empty() {
            return Err(bad(
                "auth.credentials",
                &self.auth.credentials,
                "at least one credential when auth is enabled",
            ));
        }
        let cors = &self.cors;
        for (name, list) in [
            ("allowedOrigins", &cors.allowed_origins),
            ("allowedHeaders", &cors.allowed_headers),
            ("exposedHeaders", &cors.exposed_headers),
        ] {
            for (i, v) in list.iter().enumerate() {
                non_empty(&format!("cors.{name}.{i}"), v)?;
            }
        }
        for (i, m) in cors.allowed_methods.iter().enumerate() {
            if !CORS_METHODS.contains(&m.as_str()) {
                return Err(bad(
                    format!("cors.allowedMethods.{i}"),
                    m,
                    format!("one of {}", CORS_METHODS.join(", ")),
                ));
            }
        }
        positive("limits.maxObjectSize", self.limits.max_object_size)?;
        positive("limits.maxMetadataSize", self.limits.max_metadata_size)?;
        positive("limits.requestTimeout", self.limits.request_timeout)?;
        positive("multipart.expirationDays", self.multipart.expiration_days)?;
        positive(
            "multipart.cleanupIntervalMinutes",
            self.multipart.cleanup_interval_minutes,
        )?;
        if let Some(c) = &self.cluster {
            if let Some(id) = &c.node_id {
                non_empty("cluster.nodeId", id)?;
            }
            for (i, seed) in c.seed_nodes.iter().enumerate() {
                let ok = seed.rsplit_once(':').is_some_and(|(host, port)| {
                    !host.is_empty()
                        && !host.contains(char::is_whitespace)
                        && (1..=5).contains(&port.len())
                        && port.bytes().all(|b| b.is_ascii_digit())
                });
                if !ok {
                    return Err(bad(
                        format!("cluster.seedNodes.{i}"),
                        seed,
                        "\"host:port\", such as \"10.0.0.2:4000\"",
                    ));
                }
            }
            positive("cluster.erasure.dataShards", c.erasure.data_shards)?;
            positive("cluster.erasure.chunkSizeBytes", c.erasure.chunk_size_bytes)?;
            if c.erasure.data_shards + c.erasure.parity_shards > MAX_TOTAL_SHARDS {
                return Err(bad(
                    "cluster.erasure.parityShards",
                    c.erasure.parity_shards,
                    "dataShards + parityShards to be at most 256",
                ));
            }
            for (i, p) in c.drives.paths.iter().enumerate() {
                non_empty(&format!("cluster.drives.paths.{i}"), p)?;
            }
            positive("cluster.heartbeatIntervalMs", c.heartbeat_interval_ms)?;
            positive("cluster.heartbeatTimeoutMs", c.heartbeat_timeout_ms)?;
            if c.heartbeat_timeout_ms <= c.heartbeat_interval_ms {
                return Err(bad(
                    "cluster.heartbeatTimeoutMs",
                    c.heartbeat_timeout_ms,
                    "heartbeatTimeoutMs to be greater than heartbeatIntervalMs",
                ));
            }
        }
        Ok(())
    }

    /// Whether cluster mode is asked for.
    pub fn cluster_enabled(&self) -> bool {
        self.cluster.as_ref().is_some_and(|c| c.enabled)
    }

    /// The S3 layer's settings.
    pub fn server_config(&self) -> ServerConfig {
        let cors = &self.cors;
        ServerConfig {
            region: self.server.region.clone(),
            domain: self.server.domain.clone(),
            limits: Limits {
                max_object_size: self.limits.max_object_size,
                max_metadata_size: usize::try_from(self.limits.max_metadata_size)
                    .unwrap_or(usize::MAX),
                request_timeout: Duration::from_millis(self.limits.request_timeout),
                ..Limits::default()
            },
            auth: AuthConfig {
                enabled: self.auth.enabled,
                credentials: self
                    .auth
                    .credentials
                    .iter()
                    .map(|c| Credential {
                        access_key_id: c.access_key_id.clone(),
                        secret_access_key: c.secret_access_key.clone(),
                    })
                    .collect(),
            },
            cors: CorsConfig {
                enabled: cors.enabled,
                allowed_origins: cors.allowed_origins.clone(),
                allowed_methods: cors.allowed_methods.clone(),
                allowed_headers: cors.allowed_headers.clone(),
                exposed_headers: cors.exposed_headers.clone(),
                max_age: cors.max_age,
                allow_credentials: cors.allow_credentials,
            },
        }
    }

    /// The file store's settings.
    pub fn store_config(&self) -> FileStoreConfig {
        FileStoreConfig {
            root: self.storage.directory.clone(),
            fsync: self.storage.fsync,
            clean_slate: self.storage.clean_slate,
        }
    }

    /// The host name clients should use: `localhost` for loopback and wildcard
    /// binds (the server listens on both 127.0.0.1 and ::1 then), else the address.
    pub fn client_host(&self) -> String {
        let address = self
            .server
            .address
            .trim_start_matches('[')
            .trim_end_matches(']');
        match address.parse::<IpAddr>() {
            Ok(ip) if ip.is_loopback() || ip.is_unspecified() => "localhost".into(),
            Ok(IpAddr::V6(ip)) => format!("[{ip}]"),
            Ok(ip) => ip.to_string(),
            Err(_) => "localhost".into(),
        }
    }
}

/// What a valid access key id looks like (the rule of [`validate_credential`]).
pub const ACCESS_KEY_ID_RULE: &str = "1-128 visible ASCII characters other than '/', ',', '=' and ';', such as \"AKIAIOSFODNN7EXAMPLE\"";

/// What a valid secret looks like (the rule of [`validate_credential`]).
pub const SECRET_RULE: &str =
    "1-256 visible ASCII characters (no spaces, no control or non-ASCII characters)";

/// Checks credential `i` with the S3 layer's own rule, naming the field. The
/// access key id is shown; the secret never is, only what is wrong with it.
fn validate_credential_entry(i: usize, c: &CredentialEntry) -> Result<(), ConfigError> {
    let credential = Credential {
        access_key_id: c.access_key_id.clone(),
        secret_access_key: c.secret_access_key.clone(),
    };
    match validate_credential(&credential) {
        Ok(()) => Ok(()),
        Err(CredentialError::InvalidAccessKeyId(id)) => Err(bad(
            format!("auth.credentials.{i}.accessKeyId"),
            id,
            ACCESS_KEY_ID_RULE,
        )),
        Err(CredentialError::InvalidSecret(_)) => Err(ConfigError {
            field: format!("auth.credentials.{i}.secretAccessKey"),
            value: describe_secret(&c.secret_access_key),
            expected: SECRET_RULE.into(),
        }),
    }
}

/// Says what is wrong with a secret without revealing it, e.g. `a secret with
/// a space at character 4 (value hidden)`. The same wording as `ts/config.ts`.
pub fn describe_secret(secret: &str) -> String {
    let length = secret.chars().count();
    if length == 0 {
        return "an empty secret".into();
    }
    if secret.len() > 256 {
        return format!("a secret of {} bytes (value hidden)", secret.len());
    }
    let bad_char = secret
        .chars()
        .enumerate()
        .find(|(_, ch)| !ch.is_ascii_graphic());
    match bad_char {
        Some((at, ch)) => {
            let what = match ch {
                ' ' => "a space".to_string(),
                '\t' => "a tab".to_string(),
                ch if ch.is_ascii_control() => format!("control character U+{:04X}", ch as u32),
                _ => "a non-ASCII character".to_string(),
            };
            format!(
                "a secret with {what} at character {} (value hidden)",
                at + 1
            )
        }
        None => format!("a secret of {length} characters (value hidden)"),
    }
}

fn is_valid_address(address: &str) -> bool {
    address == "localhost"
        || address
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok()
}

fn non_empty(field: &str, value: &str) -> Result<(), ConfigError> {
    if value.is_empty() {
        Err(bad(field, value, "a non-empty string"))
    } else {
        Ok(())
    }
}

fn positive(field: &str, value: u64) -> Result<(), ConfigError> {
    if value == 0 {
        Err(bad(field, value, "a positive integer"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_json_gives_the_documented_defaults() {
        let c = Config::from_json("{}").unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.server.port, 3000);
        assert_eq!(c.server.address, "0.0.0.0");
        assert_eq!(c.storage.directory, PathBuf::from(".nogit/bucketsDir"));
        assert!(c.storage.fsync && !c.storage.clean_slate);
        assert_eq!(c.limits.max_object_size, 5 * 1024 * 1024 * 1024);
        assert_eq!(c.limits.request_timeout, 300_000);
        assert_eq!(c.multipart.expiration_days, 7);
        assert_eq!(c.cors.max_age, 86400);
        assert!(c.cluster.is_none());
        c.validate().unwrap();
    }

    #[test]
    fn unknown_fields_are_rejected_with_their_name() {
        let err = Config::from_json(r#"{"server":{"prot":1}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `prot`"), "{err}");
        let err = Config::from_json(r#"{"sever":{}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `sever`"), "{err}");
    }

    #[test]
    fn out_of_range_port_is_rejected() {
        assert!(Config::from_json(r#"{"server":{"port":70000}}"#).is_err());
        assert!(Config::from_json(r#"{"server":{"port":-1}}"#).is_err());
    }

    #[test]
    fn validation_names_field_value_and_rule() {
        let mut c = Config::default();
        c.server.address = "nope".into();
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.starts_with("server.address: got \"nope\", expected an IP address"),
            "{err}"
        );

        let mut c = Config::default();
        c.auth.enabled = true;
        c.auth.credentials.clear();
        assert_eq!(c.validate().unwrap_err().field, "auth.credentials");

        let mut c = Config::default();
        c.cors.allowed_methods = vec!["FOO".into()];
        assert_eq!(c.validate().unwrap_err().field, "cors.allowedMethods.0");

        let mut c = Config::default();
        c.limits.request_timeout = 0;
        assert_eq!(c.validate().unwrap_err().field, "limits.requestTimeout");

        let c = Config {
            cluster: Some(ClusterSection {
                heartbeat_timeout_ms: 1,
                ..ClusterSection::default()
            }),
            ..Config::default()
        };
        assert_eq!(
            c.validate().unwrap_err().field,
            "cluster.heartbeatTimeoutMs"
        );

        let c = Config {
            cluster: Some(ClusterSection {
                seed_nodes: vec!["no-port".into()],
                ..ClusterSection::default()
            }),
            ..Config::default()
        };
        assert_eq!(c.validate().unwrap_err().field, "cluster.seedNodes.0");
    }

    #[test]
    fn credentials_are_checked_with_the_sigv4_rule_and_the_secret_is_never_shown() {
        let with = |id: &str, secret: &str| {
            let mut c = Config::default();
            c.auth.credentials = vec![CredentialEntry {
                access_key_id: id.into(),
                secret_access_key: secret.into(),
            }];
            c.validate()
        };
        with(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )
        .unwrap();
        let err = with("my key", "s").unwrap_err();
        assert_eq!(err.field, "auth.credentials.0.accessKeyId");
        assert_eq!(err.value, "\"my key\"");
        assert!(err.to_string().contains("1-128 visible ASCII"), "{err}");
        assert_eq!(
            with("a/b", "s").unwrap_err().field,
            "auth.credentials.0.accessKeyId"
        );
        assert_eq!(
            with("", "s").unwrap_err().field,
            "auth.credentials.0.accessKeyId"
        );
        let err = with("A", "hunter 2").unwrap_err();
        assert_eq!(err.field, "auth.credentials.0.secretAccessKey");
        assert_eq!(
            err.to_string(),
            "auth.credentials.0.secretAccessKey: got a secret with a space at character 7 (value hidden), \
             expected 1-256 visible ASCII characters (no spaces, no control or non-ASCII characters)"
        );
        assert!(!err.to_string().contains("hunter"));
        assert_eq!(with("A", "").unwrap_err().value, "an empty secret");
        assert_eq!(
            with("A", "pässword").unwrap_err().value,
            "a secret with a non-ASCII character at character 2 (value hidden)"
        );
        assert_eq!(
            with("A", &"x".repeat(257)).unwrap_err().value,
            "a secret of 257 bytes (value hidden)"
        );
    }

    #[test]
    fn a_logged_config_does_not_show_secrets() {
        let c = Config::from_json(
            r#"{"auth":{"credentials":[{"accessKeyId":"SHOWN","secretAccessKey":"never-shown"}]}}"#,
        )
        .unwrap();
        let shown = format!("{c:?}");
        assert!(
            shown.contains("SHOWN") && !shown.contains("never-shown"),
            "{shown}"
        );
    }

    #[test]
    fn a_duplicate_access_key_id_is_rejected() {
        let mut c = Config::default();
        let entry = |secret: &str| CredentialEntry {
            access_key_id: "A".into(),
            secret_access_key: secret.into(),
        };
        c.auth.credentials = vec![entry("one"), entry("two")];
        let err = c.validate().unwrap_err();
        assert_eq!(err.field, "auth.credentials.1.accessKeyId");
        assert!(err.to_string().contains("auth.credentials.0"), "{err}");
    }

    #[test]
    fn loopback_and_wildcard_binds_are_reached_through_localhost() {
        for (address, host) in [
            ("0.0.0.0", "localhost"),
            ("127.0.0.1", "localhost"),
            ("::", "localhost"),
            ("localhost", "localhost"),
            ("10.1.2.3", "10.1.2.3"),
            ("fe80::1", "[fe80::1]"),
        ] {
            let mut c = Config::default();
            c.server.address = address.into();
            assert_eq!(c.client_host(), host, "{address}");
        }
    }

    #[test]
    fn conversion_carries_limits_and_auth() {
        let c = Config::from_json(
            r#"{"limits":{"maxObjectSize":10,"maxMetadataSize":20,"requestTimeout":1500},"auth":{"enabled":true,"credentials":[{"accessKeyId":"A","secretAccessKey":"B"}]}}"#,
        )
        .unwrap();
        let s = c.server_config();
        assert_eq!(s.limits.max_object_size, 10);
        assert_eq!(s.limits.max_metadata_size, 20);
        assert_eq!(s.limits.request_timeout, Duration::from_millis(1500));
        assert!(s.auth.enabled);
        assert_eq!(s.auth.credentials[0].access_key_id, "A");
    }
}
