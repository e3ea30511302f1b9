//! Standalone mode: serve until SIGINT/SIGTERM. stdin is never read, so the
//! server keeps running under a process manager with stdin closed.

use crate::config::Config;
use crate::lifecycle::{Instance, shutdown_signal};
use crate::management::VERSION;

/// Serves `config` until a signal, then shuts down gracefully.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let instance = Instance::start(&config).await?;
    if !config.server.silent {
        eprintln!(
            "smartstorage {VERSION} serving {} at {} (region {}); Ctrl-C to stop",
            instance.directory().display(),
            instance.url(),
            config.server.region,
        );
    }
    let signal = shutdown_signal().await;
    tracing::info!(signal, "shutting down: finishing in-flight requests");
    instance.stop().await;
    Ok(())
}
