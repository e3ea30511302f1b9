//! Logging: `tracing` to **stderr only** (stdout is the IPC channel in
//! management mode), as text or JSON lines. The level comes from the config and
//! can be changed once the config arrives; `RUST_LOG`, when set, wins.

use crate::config::{LogFormat, LoggingSection};
use std::io::IsTerminal;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry, reload};

/// Changes the log filter after startup (management mode learns its config late).
pub struct LogHandle {
    filter: reload::Handle<EnvFilter, Registry>,
}

impl LogHandle {
    /// Applies `logging`'s level/enabled unless `RUST_LOG` is set.
    pub fn apply(&self, logging: &LoggingSection) {
        if let Err(e) = self.filter.reload(filter_for(logging)) {
            eprintln!("smartstorage: could not change the log level: {e}");
        }
    }
}

/// Installs the global subscriber writing `format` to stderr.
pub fn init(format: LogFormat, logging: &LoggingSection) -> LogHandle {
    let (filter, handle) = reload::Layer::new(filter_for(logging));
    let output: Box<dyn Layer<_> + Send + Sync> = match format {
        LogFormat::Json => Box::new(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(std::io::stderr),
        ),
        LogFormat::Text => Box::new(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal()),
        ),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(output)
        .init();
    LogHandle { filter: handle }
}

fn filter_for(logging: &LoggingSection) -> EnvFilter {
    if let Ok(directives) = std::env::var(EnvFilter::DEFAULT_ENV)
        && !directives.trim().is_empty()
    {
        match EnvFilter::try_new(&directives) {
            Ok(filter) => return filter,
            Err(e) => eprintln!("smartstorage: ignoring RUST_LOG={directives:?}: {e}"),
        }
    }
    if !logging.enabled {
        return EnvFilter::new("off");
    }
    EnvFilter::new(logging.level.directive())
}
