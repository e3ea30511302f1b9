//! The management protocol's messages (docs/protocol.md). Requests are parsed
//! strictly (unknown fields rejected); `docs/fixtures/*.json` are parsed into
//! these types by the tests, and by the TypeScript zod schemas on the other side.

use crate::config::Config;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Bumped on any incompatible change; reported in the `ready` event.
/// 2: the credential methods (`addCredential`, `removeCredential`, `listCredentials`).
pub const PROTOCOL_VERSION: u32 = 2;

/// A request line as received: `{ "id", "method", "params"? }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    id: u64,
    method: String,
    #[serde(default)]
    params: Option<Value>,
}

/// A decoded request.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    /// Open the store and bind the S3 endpoint with this config.
    Start(Box<Config>),
    /// Stop the S3 endpoint (the process stays until stdin closes).
    Stop,
    /// Create a bucket.
    CreateBucket(BucketParams),
    /// Delete an empty bucket.
    DeleteBucket(BucketParams),
    /// List buckets.
    ListBuckets,
    /// Runtime status.
    Status,
    /// Cluster view (standalone: one local node).
    ClusterStatus,
    /// Add a credential, or replace the secret of a known access key.
    AddCredential(CredentialParams),
    /// Remove a credential.
    RemoveCredential(AccessKeyParams),
    /// List the access key ids (never secrets), the first being the default one.
    ListCredentials,
}

impl Call {
    /// The method name on the wire.
    pub fn method(&self) -> &'static str {
        match self {
            Call::Start(_) => "start",
            Call::Stop => "stop",
            Call::CreateBucket(_) => "createBucket",
            Call::DeleteBucket(_) => "deleteBucket",
            Call::ListBuckets => "listBuckets",
            Call::Status => "status",
            Call::ClusterStatus => "clusterStatus",
            Call::AddCredential(_) => "addCredential",
            Call::RemoveCredential(_) => "removeCredential",
            Call::ListCredentials => "listCredentials",
        }
    }
}

/// Params of `createBucket` / `deleteBucket`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketParams {
    /// The bucket name.
    pub name: String,
}

/// Params of `addCredential`: an access key and its secret. `Debug` hides the
/// secret, so a logged request never leaks it.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialParams {
    /// The access key id (1-128 visible ASCII characters other than `/ , = ;`).
    pub access_key_id: String,
    /// The secret (1-256 visible ASCII characters).
    pub secret_access_key: String,
}

impl std::fmt::Debug for CredentialParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialParams")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<hidden>")
            .finish()
    }
}

/// Params of `removeCredential`; also its result and one entry of `listCredentials`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessKeyParams {
    /// The access key id.
    pub access_key_id: String,
}

/// Result of `removeCredential`.
pub type RemoveCredentialResult = AccessKeyParams;

/// One entry of `listCredentials`: the access key id only, never the secret.
pub type CredentialListEntry = AccessKeyParams;

/// Result of `addCredential`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddCredentialResult {
    /// The access key id.
    pub access_key_id: String,
    /// True when the key existed and only its secret changed (its position in
    /// the list, and so whether it is the default credential, is kept).
    pub replaced: bool,
}

/// Params of methods that take none: absent, `null` or `{}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoParams {}

/// The error half of a failed response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// Stable code (`UnknownMethod`, `InvalidRequest`, `NoSuchBucket`, …).
    pub code: String,
    /// Human-readable; names the bad value and the fix where there is one.
    pub message: String,
}

impl ErrorBody {
    /// Builds an error body.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        ErrorBody {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Parses one request line. On failure, returns the request id when it could be
/// read (else `None`, answered with `"id": null`) and the error to send back.
pub fn parse_request(line: &str) -> Result<(u64, Call), (Option<u64>, ErrorBody)> {
    let value: Value = serde_json::from_str(line).map_err(|e| {
        (
            None,
            ErrorBody::new("InvalidRequest", format!("request is not valid JSON: {e}")),
        )
    })?;
    let id = value.get("id").and_then(Value::as_u64);
    let raw: RawRequest = serde_json::from_value(value).map_err(|e| {
        (
            id,
            ErrorBody::new(
                "InvalidRequest",
                format!(
                    "expected {{\"id\": <integer>, \"method\": <string>, \"params\"?: ...}}: {e}"
                ),
            ),
        )
    })?;
    let call = decode_call(&raw.method, raw.params).map_err(|e| (Some(raw.id), e))?;
    Ok((raw.id, call))
}

/// Every method name, in the order of docs/protocol.md.
pub const METHODS: [&str; 10] = [
    "start",
    "stop",
    "createBucket",
    "deleteBucket",
    "listBuckets",
    "status",
    "clusterStatus",
    "addCredential",
    "removeCredential",
    "listCredentials",
];

fn decode_call(method: &str, params: Option<Value>) -> Result<Call, ErrorBody> {
    fn params_of<T: serde::de::DeserializeOwned>(
        method: &str,
        params: Option<Value>,
    ) -> Result<T, ErrorBody> {
        let value = match params {
            None | Some(Value::Null) => Value::Object(Default::default()),
            Some(v) => v,
        };
        serde_json::from_value(value).map_err(|e| {
            let code = if method == "start" {
                "InvalidConfig"
            } else {
                "InvalidRequest"
            };
            ErrorBody::new(code, format!("invalid params for {method:?}: {e}"))
        })
    }
    Ok(match method {
        "start" => Call::Start(Box::new(params_of(method, params)?)),
        "stop" => {
            params_of::<NoParams>(method, params)?;
            Call::Stop
        }
        "createBucket" => Call::CreateBucket(params_of(method, params)?),
        "deleteBucket" => Call::DeleteBucket(params_of(method, params)?),
        "listBuckets" => {
            params_of::<NoParams>(method, params)?;
            Call::ListBuckets
        }
        "status" => {
            params_of::<NoParams>(method, params)?;
            Call::Status
        }
        "clusterStatus" => {
            params_of::<NoParams>(method, params)?;
            Call::ClusterStatus
        }
        "addCredential" => Call::AddCredential(params_of(method, params)?),
        "removeCredential" => Call::RemoveCredential(params_of(method, params)?),
        "listCredentials" => {
            params_of::<NoParams>(method, params)?;
            Call::ListCredentials
        }
        other => {
            return Err(ErrorBody::new(
                "UnknownMethod",
                format!("unknown method {other:?}; known: {}", METHODS.join(", ")),
            ));
        }
    })
}

/// A response line: `{ "id", "ok": true, "result" }` or `{ "id", "ok": false, "error" }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    /// The request's id; `null` when the request could not be read.
    pub id: Option<u64>,
    /// Success flag.
    pub ok: bool,
    /// The result, when `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// The error, when not `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

impl Response {
    /// A success.
    pub fn ok(id: u64, result: Value) -> Self {
        Response {
            id: Some(id),
            ok: true,
            result: Some(result),
            error: None,
        }
    }

    /// A failure.
    pub fn err(id: Option<u64>, error: ErrorBody) -> Self {
        Response {
            id,
            ok: false,
            result: None,
            error: Some(error),
        }
    }
}

/// An unsolicited message: `{ "event", "data" }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "event",
    content = "data",
    rename_all = "camelCase",
    deny_unknown_fields
)]
pub enum Event {
    /// First line out: the handshake.
    Ready(ReadyData),
}

/// Data of the `ready` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadyData {
    /// The binary's version.
    pub version: String,
    /// [`PROTOCOL_VERSION`].
    pub protocol: u32,
}

/// Result of `start`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartResult {
    /// Host name clients should use.
    pub host: String,
    /// The bound port.
    pub port: u16,
    /// The configured bind address.
    pub address: String,
}

/// Result of `stop`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StopResult {
    /// Whether an endpoint was running.
    pub was_running: bool,
}

/// Result of `createBucket` / `deleteBucket`.
pub type BucketResult = BucketParams;

/// One entry of `listBuckets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BucketEntry {
    /// The bucket name.
    pub name: String,
    /// ISO 8601 UTC creation time.
    pub creation_date: String,
}

/// Result of `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusResult {
    /// Whether the S3 endpoint is up.
    pub running: bool,
    /// The binary's version.
    pub version: String,
    /// Its process id.
    pub pid: u32,
    /// Host name clients should use (null while stopped).
    pub host: Option<String>,
    /// Bound port.
    pub port: Option<u16>,
    /// Configured bind address.
    pub address: Option<String>,
    /// Absolute storage directory.
    pub directory: Option<String>,
    /// Milliseconds since the endpoint started.
    pub uptime_ms: Option<u64>,
    /// Number of buckets.
    pub bucket_count: Option<u64>,
}

/// Result of `clusterStatus`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterStatusResult {
    /// `standalone` or `cluster`.
    pub mode: String,
    /// Whether every node and drive is serving.
    pub healthy: bool,
    /// The nodes.
    pub nodes: Vec<ClusterNode>,
    /// Erasure layout; null in standalone mode.
    pub erasure: Option<ErasureLayout>,
}

/// One node in `clusterStatus`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterNode {
    /// Node id.
    pub node_id: String,
    /// `host:port` of its S3 endpoint (null while stopped).
    pub endpoint: Option<String>,
    /// `online`, `offline` or `stopped`.
    pub status: String,
    /// Whether this is the node answering.
    pub local: bool,
    /// Its drives.
    pub drives: Vec<DriveStatus>,
}

/// One drive in `clusterStatus`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriveStatus {
    /// Directory.
    pub path: String,
    /// `online` or `offline`.
    pub status: String,
}

/// Erasure layout in `clusterStatus`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ErasureLayout {
    /// Data shards per stripe.
    pub data_shards: u64,
    /// Parity shards per stripe.
    pub parity_shards: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_decode_into_calls() {
        assert_eq!(
            parse_request(r#"{"id":1,"method":"stop"}"#).unwrap(),
            (1, Call::Stop)
        );
        assert_eq!(
            parse_request(r#"{"id":2,"method":"status","params":{}}"#).unwrap(),
            (2, Call::Status)
        );
        assert_eq!(
            parse_request(r#"{"id":3,"method":"createBucket","params":{"name":"b"}}"#).unwrap(),
            (3, Call::CreateBucket(BucketParams { name: "b".into() }))
        );
        let (id, call) =
            parse_request(r#"{"id":4,"method":"start","params":{"server":{"port":0}}}"#).unwrap();
        assert_eq!(id, 4);
        let Call::Start(config) = call else { panic!() };
        assert_eq!(config.server.port, 0);
    }

    #[test]
    fn credential_requests_decode_and_never_show_the_secret() {
        let (_, call) = parse_request(
            r#"{"id":1,"method":"addCredential","params":{"accessKeyId":"AK","secretAccessKey":"top-secret"}}"#,
        )
        .unwrap();
        assert_eq!(
            call,
            Call::AddCredential(CredentialParams {
                access_key_id: "AK".into(),
                secret_access_key: "top-secret".into(),
            })
        );
        let shown = format!("{call:?}");
        assert!(
            shown.contains("AK") && !shown.contains("top-secret"),
            "{shown}"
        );
        assert_eq!(
            parse_request(r#"{"id":2,"method":"removeCredential","params":{"accessKeyId":"AK"}}"#)
                .unwrap()
                .1,
            Call::RemoveCredential(AccessKeyParams {
                access_key_id: "AK".into()
            })
        );
        assert_eq!(
            parse_request(r#"{"id":3,"method":"listCredentials"}"#)
                .unwrap()
                .1,
            Call::ListCredentials
        );
        // A missing secret is a bad request, named.
        let (_, err) =
            parse_request(r#"{"id":4,"method":"addCredential","params":{"accessKeyId":"AK"}}"#)
                .unwrap_err();
        assert_eq!(err.code, "InvalidRequest");
        assert!(err.message.contains("secretAccessKey"), "{}", err.message);
    }

    #[test]
    fn every_listed_method_decodes() {
        for method in METHODS {
            let (_, err) = parse_request(&format!(r#"{{"id":1,"method":"{method}","params":5}}"#))
                .unwrap_err();
            assert_ne!(err.code, "UnknownMethod", "{method}");
        }
        let (_, err) = parse_request(r#"{"id":1,"method":"nope"}"#).unwrap_err();
        assert!(err.message.contains("listCredentials"), "{}", err.message);
    }

    #[test]
    fn garbage_gets_a_null_id_error() {
        let (id, err) = parse_request("not json").unwrap_err();
        assert_eq!(id, None);
        assert_eq!(err.code, "InvalidRequest");
        let (id, err) = parse_request(r#"{"method":"stop"}"#).unwrap_err();
        assert_eq!((id, err.code.as_str()), (None, "InvalidRequest"));
    }

    #[test]
    fn unknown_methods_and_fields_are_named() {
        let (id, err) = parse_request(r#"{"id":7,"method":"explode"}"#).unwrap_err();
        assert_eq!((id, err.code.as_str()), (Some(7), "UnknownMethod"));
        assert!(err.message.contains("explode"));
        let (id, err) =
            parse_request(r#"{"id":8,"method":"createBucket","params":{"nmae":"x"}}"#).unwrap_err();
        assert_eq!((id, err.code.as_str()), (Some(8), "InvalidRequest"));
        assert!(err.message.contains("nmae"), "{}", err.message);
        let (_, err) =
            parse_request(r#"{"id":9,"method":"start","params":{"server":{"port":"x"}}}"#)
                .unwrap_err();
        assert_eq!(err.code, "InvalidConfig");
        let (_, err) = parse_request(r#"{"id":10,"method":"stop","extra":1}"#).unwrap_err();
        assert_eq!(err.code, "InvalidRequest");
    }

    #[test]
    fn messages_serialize_as_documented() {
        let ready = Event::Ready(ReadyData {
            version: "1.2.3".into(),
            protocol: 1,
        });
        assert_eq!(
            serde_json::to_string(&ready).unwrap(),
            r#"{"event":"ready","data":{"version":"1.2.3","protocol":1}}"#
        );
        let ok = Response::ok(5, serde_json::json!({"name":"b"}));
        assert_eq!(
            serde_json::to_string(&ok).unwrap(),
            r#"{"id":5,"ok":true,"result":{"name":"b"}}"#
        );
        let err = Response::err(None, ErrorBody::new("InvalidRequest", "m"));
        assert_eq!(
            serde_json::to_string(&err).unwrap(),
            r#"{"id":null,"ok":false,"error":{"code":"InvalidRequest","message":"m"}}"#
        );
    }
}
