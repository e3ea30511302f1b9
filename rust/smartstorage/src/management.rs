//! Management mode (`--management`): announce `ready`, answer requests from
//! stdin one at a time, and shut down gracefully on stdin EOF or a signal.

use crate::ipc::{Input, StdoutWriter, spawn_stdin_reader};
use crate::lifecycle::{Instance, shutdown_signal};
use crate::logging::LogHandle;
use crate::protocol::{
    AccessKeyParams, AddCredentialResult, BucketEntry, BucketParams, Call, ClusterNode,
    ClusterStatusResult, CredentialListEntry, CredentialParams, DriveStatus, ErrorBody, Event,
    PROTOCOL_VERSION, ReadyData, Response, StartResult, StatusResult, StopResult, parse_request,
};
use serde::Serialize;
use serde_json::Value;
use smartstorage_s3::Credential;
use smartstorage_store::{StoreError, names::validate_bucket_name};

/// The binary's version, reported by `ready` and `status`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs management mode until stdin closes or a signal arrives.
pub async fn run(logging: LogHandle) {
    let out = StdoutWriter::spawn();
    let mut input = spawn_stdin_reader();
    out.send(&Event::Ready(ReadyData {
        version: VERSION.into(),
        protocol: PROTOCOL_VERSION,
    }));
    let mut manager = Manager {
        instance: None,
        logging,
    };
    let signal = shutdown_signal();
    tokio::pin!(signal);
    let reason = loop {
        tokio::select! {
            message = input.recv() => match message {
                Some(Input::Line(line)) => {
                    if line.trim().is_empty() {
                        continue;
                    }
                    let response = manager.handle_line(&line).await;
                    out.send(&response);
                }
                Some(Input::Eof) | None => break "stdin closed",
            },
            name = &mut signal => break name,
        }
    };
    tracing::debug!(reason, "management mode shutting down");
    if let Some(instance) = manager.instance.take() {
        instance.stop().await;
    }
    out.finish();
}

struct Manager {
    instance: Option<Instance>,
    logging: LogHandle,
}

impl Manager {
    async fn handle_line(&mut self, line: &str) -> Response {
        match parse_request(line) {
            Ok((id, call)) => {
                let method = call.method();
                match self.handle(call).await {
                    Ok(result) => Response::ok(id, result),
                    Err(error) => {
                        tracing::debug!(method, code = %error.code, message = %error.message, "management request failed");
                        Response::err(Some(id), error)
                    }
                }
            }
            Err((id, error)) => {
                tracing::warn!(code = %error.code, message = %error.message, "unreadable management request");
                Response::err(id, error)
            }
        }
    }

    async fn handle(&mut self, call: Call) -> Result<Value, ErrorBody> {
        match call {
            Call::Start(config) => {
                if let Some(running) = &self.instance {
                    return Err(ErrorBody::new(
                        "AlreadyRunning",
                        format!(
                            "already serving on port {}; call stop first",
                            running.port()
                        ),
                    ));
                }
                self.logging.apply(&config.logging);
                let instance = Instance::start(&config)
                    .await
                    .map_err(|e| ErrorBody::new(e.code(), e.to_string()))?;
                let result = StartResult {
                    host: instance.host().to_string(),
                    port: instance.port(),
                    address: instance.address().to_string(),
                };
                self.instance = Some(instance);
                to_value(&result)
            }
            Call::Stop => {
                let was_running = match self.instance.take() {
                    Some(instance) => {
                        instance.stop().await;
                        true
                    }
                    None => false,
                };
                to_value(&StopResult { was_running })
            }
            Call::CreateBucket(BucketParams { name }) => {
                let instance = self.running("createBucket")?;
                validate_bucket_name(&name).map_err(store_error)?;
                let me = instance.owner();
                let info = instance
                    .store()
                    .create_bucket(&name, me.as_deref())
                    .await
                    .map_err(|e| match e {
                        StoreError::BucketAlreadyExists { bucket, owner } if owner == me => {
                            ErrorBody::new(
                                "BucketAlreadyOwnedByYou",
                                format!("bucket {bucket:?} already exists and is yours"),
                            )
                        }
                        other => store_error(other),
                    })?;
                to_value(&BucketParams { name: info.name })
            }
            Call::DeleteBucket(BucketParams { name }) => {
                let instance = self.running("deleteBucket")?;
                validate_bucket_name(&name).map_err(store_error)?;
                instance
                    .store()
                    .delete_bucket(&name)
                    .await
                    .map_err(store_error)?;
                to_value(&BucketParams { name })
            }
            Call::ListBuckets => {
                let instance = self.running("listBuckets")?;
                let buckets = instance.store().list_buckets().await.map_err(store_error)?;
                let entries: Vec<BucketEntry> = buckets
                    .into_iter()
                    .map(|b| BucketEntry {
                        name: b.name,
                        creation_date: iso8601(b.created),
                    })
                    .collect();
                to_value(&entries)
            }
            Call::Status => {
                let status = match &self.instance {
                    Some(instance) => StatusResult {
                        running: true,
                        version: VERSION.into(),
                        pid: std::process::id(),
                        host: Some(instance.host().into()),
                        port: Some(instance.port()),
                        address: Some(instance.address().into()),
                        directory: Some(instance.directory().display().to_string()),
                        uptime_ms: Some(
                            u64::try_from(instance.uptime().as_millis()).unwrap_or(u64::MAX),
                        ),
                        bucket_count: Some(
                            instance
                                .store()
                                .list_buckets()
                                .await
                                .map_err(store_error)?
                                .len() as u64,
                        ),
                    },
                    None => StatusResult {
                        running: false,
                        version: VERSION.into(),
                        pid: std::process::id(),
                        host: None,
                        port: None,
                        address: None,
                        directory: None,
                        uptime_ms: None,
                        bucket_count: None,
                    },
                };
                to_value(&status)
            }
            Call::ClusterStatus => to_value(&self.cluster_status()),
            Call::AddCredential(params) => self.add_credential(params),
            Call::RemoveCredential(params) => self.remove_credential(params),
            Call::ListCredentials => {
                let instance = self.running("listCredentials")?;
                let ids: Vec<CredentialListEntry> = instance
                    .credentials()
                    .list()
                    .into_iter()
                    .map(|c| CredentialListEntry {
                        access_key_id: c.access_key_id,
                    })
                    .collect();
                to_value(&ids)
            }
        }
    }

    /// `addCredential`: validated like config credentials; an existing access
    /// key gets the new secret (and keeps its place in the list).
    fn add_credential(&self, params: CredentialParams) -> Result<Value, ErrorBody> {
        let instance = self.running("addCredential")?;
        let CredentialParams {
            access_key_id,
            secret_access_key,
        } = params;
        let replaced = instance
            .credentials()
            .add(Credential {
                access_key_id: access_key_id.clone(),
                secret_access_key,
            })
            .map_err(|e| ErrorBody::new("InvalidCredential", e.to_string()))?;
        tracing::info!(access_key_id = %access_key_id, replaced, "credential added");
        to_value(&AddCredentialResult {
            access_key_id,
            replaced,
        })
    }

    /// `removeCredential`: an unknown key is an error (a typo should not pass
    /// silently), and so is the last credential while auth is on, since no
    /// request could be signed any more (add the replacement first).
    fn remove_credential(&self, params: AccessKeyParams) -> Result<Value, ErrorBody> {
        let instance = self.running("removeCredential")?;
        let store = instance.credentials();
        let known: Vec<String> = store.list().into_iter().map(|c| c.access_key_id).collect();
        let id = params.access_key_id;
        if !known.contains(&id) {
            return Err(ErrorBody::new(
                "NoSuchCredential",
                format!(
                    "no credential has access key id {id:?}; known: {}",
                    if known.is_empty() {
                        "(none)".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
        if instance.auth_enabled() && known.len() == 1 {
            return Err(ErrorBody::new(
                "LastCredential",
                format!(
                    "cannot remove {id:?}: it is the last credential and auth is enabled, so no request could be signed; \
                     add another credential first"
                ),
            ));
        }
        store.remove(&id);
        tracing::info!(access_key_id = %id, "credential removed");
        to_value(&AccessKeyParams { access_key_id: id })
    }

    fn running(&self, method: &str) -> Result<&Instance, ErrorBody> {
        self.instance.as_ref().ok_or_else(|| {
            ErrorBody::new(
                "NotRunning",
                format!("cannot {method}: the S3 endpoint is not started; call start first"),
            )
        })
    }

    /// Standalone mode is a one-node "cluster" without erasure coding: say exactly that.
    fn cluster_status(&self) -> ClusterStatusResult {
        let node = match &self.instance {
            Some(instance) => ClusterNode {
                node_id: "local".into(),
                endpoint: Some(format!("{}:{}", instance.host(), instance.port())),
                status: "online".into(),
                local: true,
                drives: vec![DriveStatus {
                    path: instance.directory().display().to_string(),
                    status: "online".into(),
                }],
            },
            None => ClusterNode {
                node_id: "local".into(),
                endpoint: None,
                status: "stopped".into(),
                local: true,
                drives: vec![],
            },
        };
        ClusterStatusResult {
            mode: "standalone".into(),
            healthy: self.instance.is_some(),
            nodes: vec![node],
            erasure: None,
        }
    }
}

fn to_value(result: &impl Serialize) -> Result<Value, ErrorBody> {
    serde_json::to_value(result)
        .map_err(|e| ErrorBody::new("Internal", format!("cannot serialize the result: {e}")))
}

/// Maps a store error to a protocol error whose code is the S3 error code.
fn store_error(error: StoreError) -> ErrorBody {
    let code = match &error {
        StoreError::NoSuchBucket(_) => "NoSuchBucket",
        StoreError::NoSuchKey(_) => "NoSuchKey",
        StoreError::NoSuchUpload(_) => "NoSuchUpload",
        StoreError::BucketAlreadyExists { .. } => "BucketAlreadyExists",
        StoreError::BucketNotEmpty(_) => "BucketNotEmpty",
        StoreError::InvalidBucketName { .. } => "InvalidBucketName",
        StoreError::InvalidKey { .. } => "InvalidKey",
        StoreError::PreconditionFailed => "PreconditionFailed",
        StoreError::InvalidPart { .. } => "InvalidPart",
        StoreError::StorageFull(_) => "StorageFull",
        StoreError::Io { .. } | StoreError::Corrupt { .. } => "StorageError",
    };
    ErrorBody::new(code, error.to_string())
}

/// `SystemTime` as ISO 8601 UTC with milliseconds (`2026-01-02T03:04:05.678Z`).
fn iso8601(t: std::time::SystemTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from(t)
        .format(&format)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn creation_dates_are_iso8601_utc() {
        assert_eq!(
            iso8601(UNIX_EPOCH + Duration::from_millis(1_767_323_045_678)),
            "2026-01-02T03:04:05.678Z"
        );
    }

    #[test]
    fn store_errors_keep_their_s3_codes() {
        assert_eq!(
            store_error(StoreError::NoSuchBucket("b".into())).code,
            "NoSuchBucket"
        );
        assert_eq!(
            store_error(StoreError::BucketNotEmpty("b".into())).code,
            "BucketNotEmpty"
        );
    }
}
