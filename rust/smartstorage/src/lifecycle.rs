//! Wiring and lifecycle of one running instance: open the store, bind the S3
//! endpoint, run the multipart cleanup, shut down gracefully.

use crate::config::{Config, ConfigError};
use smartstorage_s3::auth::CredentialStore;
use smartstorage_s3::{RunningServer, start_server};
use smartstorage_store::{FileStore, ObjectStore, StoreError};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::task::JoinHandle;

/// Why an instance could not start. [`StartError::code`] is the IPC error code.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The config breaks a rule.
    #[error("invalid config: {0}")]
    InvalidConfig(#[from] ConfigError),
    /// `cluster.enabled` is true, which this build cannot do yet.
    #[error(
        "cluster mode is not supported yet (cluster.enabled is true): this build serves a single directory; \
         set cluster.enabled to false (or remove the cluster section) to run standalone"
    )]
    ClusterNotSupported,
    /// The storage directory could not be opened.
    #[error("cannot open storage directory {directory}: {source}")]
    Store {
        /// The configured directory.
        directory: PathBuf,
        /// What went wrong.
        source: StoreError,
    },
    /// The address/port could not be bound.
    #[error("cannot listen on {address} port {port}: {source}{hint}")]
    Bind {
        /// The configured address.
        address: String,
        /// The configured port.
        port: u16,
        /// What went wrong.
        source: std::io::Error,
        /// A suggestion, when there is an obvious one.
        hint: &'static str,
    },
}

impl StartError {
    /// Stable error code for the management protocol.
    pub fn code(&self) -> &'static str {
        match self {
            StartError::InvalidConfig(_) => "InvalidConfig",
            StartError::ClusterNotSupported => "NotSupported",
            StartError::Store { .. } => "StorageError",
            StartError::Bind { .. } => "BindFailed",
        }
    }
}

/// A serving instance: the store, the S3 endpoint and the cleanup task.
pub struct Instance {
    server: RunningServer,
    store: Arc<dyn ObjectStore>,
    cleanup: JoinHandle<()>,
    started: Instant,
    directory: PathBuf,
    host: String,
    address: String,
    auth_enabled: bool,
}

impl Instance {
    /// Validates `config`, opens the store (wiping it on `cleanSlate`) and binds.
    pub async fn start(config: &Config) -> Result<Instance, StartError> {
        config.validate()?;
        if config.cluster_enabled() {
            return Err(StartError::ClusterNotSupported);
        }
        let started = Instant::now();
        let directory = config.storage.directory.clone();
        let store = FileStore::open(config.store_config())
            .await
            .map_err(|source| StartError::Store {
                directory: directory.clone(),
                source,
            })?;
        let store: Arc<dyn ObjectStore> = Arc::new(store);
        let directory = std::fs::canonicalize(&directory).unwrap_or(directory);
        let server = start_server(
            &config.server.address,
            config.server.port,
            config.server_config(),
            store.clone(),
        )
        .await
        .map_err(|source| StartError::Bind {
            address: config.server.address.clone(),
            port: config.server.port,
            hint: match source.kind() {
                std::io::ErrorKind::AddrInUse => {
                    " (the port is taken: choose another, or 0 for any free port)"
                }
                std::io::ErrorKind::PermissionDenied => {
                    " (ports below 1024 need privileges: choose a higher one)"
                }
                std::io::ErrorKind::AddrNotAvailable => " (this machine has no such address)",
                _ => "",
            },
            source,
        })?;
        let cleanup = spawn_multipart_cleanup(
            store.clone(),
            Duration::from_secs(config.multipart.cleanup_interval_minutes.saturating_mul(60)),
            Duration::from_secs(config.multipart.expiration_days.saturating_mul(86_400)),
        );
        let instance = Instance {
            server,
            store,
            cleanup,
            started,
            directory,
            host: config.client_host(),
            address: config.server.address.clone(),
            auth_enabled: config.auth.enabled,
        };
        tracing::info!(
            port = instance.port(),
            address = %instance.address,
            directory = %instance.directory.display(),
            startup_ms = started.elapsed().as_secs_f64() * 1000.0,
            "S3 endpoint ready"
        );
        Ok(instance)
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// Host name clients should use.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The configured bind address.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The storage directory (absolute).
    pub fn directory(&self) -> &std::path::Path {
        &self.directory
    }

    /// Time since start.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// The store behind the endpoint.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Owner recorded for buckets created through the management API: the
    /// first live credential when auth is on (the one `getStorageDescriptor()`
    /// hands out, so the TS side's S3 client owns what `createBucket` made),
    /// else none. Follows `addCredential` / `removeCredential`.
    pub fn owner(&self) -> Option<String> {
        if self.auth_enabled {
            self.server.credentials().first().map(|c| c.access_key_id)
        } else {
            None
        }
    }

    /// Whether requests are authenticated (`auth.enabled`).
    pub fn auth_enabled(&self) -> bool {
        self.auth_enabled
    }

    /// The live credential set of the S3 endpoint: changes apply to the next request.
    pub fn credentials(&self) -> Arc<CredentialStore> {
        self.server.credentials()
    }

    /// The URL clients use.
    pub fn url(&self) -> String {
        format!("http://{}:{}", self.host, self.port())
    }

    /// Stops accepting, lets in-flight requests finish, stops the cleanup task.
    pub async fn stop(self) {
        let port = self.port();
        self.cleanup.abort();
        self.server.shutdown().await;
        let _ = self.cleanup.await;
        tracing::info!(port, "S3 endpoint stopped");
    }
}

/// Every `interval` (first run right away, in the background), aborts uploads
/// initiated more than `expiration` ago.
fn spawn_multipart_cleanup(
    store: Arc<dyn ObjectStore>,
    interval: Duration,
    expiration: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let cutoff = SystemTime::now()
                .checked_sub(expiration)
                .unwrap_or(SystemTime::UNIX_EPOCH);
            match store.cleanup_uploads(cutoff).await {
                Ok(0) => tracing::debug!("multipart cleanup: nothing expired"),
                Ok(n) => tracing::info!(removed = n, "multipart cleanup: aborted expired uploads"),
                Err(e) => tracing::warn!(error = %e, "multipart cleanup failed"),
            }
        }
    })
}

/// Resolves on SIGINT or SIGTERM (Ctrl-C elsewhere).
pub async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::warn!("cannot install signal handlers; stop with SIGKILL");
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smartstorage_store::{FileStoreConfig, ObjectMeta};

    #[tokio::test]
    async fn multipart_cleanup_aborts_uploads_older_than_the_expiration() {
        let dir = tempfile::tempdir().unwrap();
        let config = FileStoreConfig {
            root: dir.path().join("data"),
            fsync: false,
            clean_slate: false,
        };
        let store: Arc<dyn ObjectStore> = Arc::new(FileStore::open(config).await.unwrap());
        store.create_bucket("bucket", None).await.unwrap();
        store
            .create_multipart("bucket", "key", ObjectMeta::default())
            .await
            .unwrap();

        // A week-long expiration keeps the fresh upload…
        let keep = spawn_multipart_cleanup(
            store.clone(),
            Duration::from_millis(10),
            Duration::from_secs(7 * 86_400),
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        keep.abort();
        assert_eq!(store.list_uploads("bucket").await.unwrap().len(), 1);

        // …a zero expiration removes it on the next tick.
        let sweep =
            spawn_multipart_cleanup(store.clone(), Duration::from_millis(10), Duration::ZERO);
        let deadline = Instant::now() + Duration::from_secs(5);
        while !store.list_uploads("bucket").await.unwrap().is_empty() {
            assert!(Instant::now() < deadline, "upload not cleaned up");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        sweep.abort();
    }

    #[tokio::test]
    async fn cluster_mode_is_refused_before_touching_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            cluster: Some(crate::config::ClusterSection {
                enabled: true,
                ..Default::default()
            }),
            ..Config::default()
        };
        config.storage.directory = dir.path().join("never-created");
        let err = Instance::start(&config).await.err().expect("must fail");
        assert_eq!(err.code(), "NotSupported");
        assert!(!config.storage.directory.exists());
    }
}
