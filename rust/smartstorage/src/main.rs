//! The `smartstorage` binary: CLI, config, management IPC and wiring of the
//! store and the S3 server.
//!
//! - `smartstorage [--directory D --port P …]` serves until SIGINT/SIGTERM;
//! - `smartstorage --management` is driven over JSON lines (docs/protocol.md).

use smartstorage::cli::{self, Command};
use smartstorage::config::{LogFormat, LoggingSection};
use smartstorage::{logging, management, standalone};
use std::process::ExitCode;

/// A multi-thread runtime with tokio's default of one worker per core
/// (`TOKIO_WORKER_THREADS` overrides it). Measured on 2 cores: one worker
/// cut small-object PUTs from ~9,900 to ~7,800/s (their file work runs on the
/// workers) and made no difference to 1 GiB PUTs (median 452 vs 464 MB/s).
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("smartstorage-worker")
        .build()
}

fn main() -> ExitCode {
    let command = match cli::parse(std::env::args_os().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("smartstorage: {e}\nRun `smartstorage --help` for usage.");
            return ExitCode::from(2);
        }
    };
    match command {
        // Neither starts the runtime: `--version` must be instant.
        Command::Help => {
            print!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        Command::Version => {
            println!("smartstorage {}", management::VERSION);
            ExitCode::SUCCESS
        }
        Command::Management => {
            // Under the TypeScript wrapper stderr is always JSON (it becomes `log` events);
            // the level arrives with `start`.
            let logging = logging::init(LogFormat::Json, &LoggingSection::default());
            match runtime() {
                Ok(rt) => {
                    rt.block_on(management::run(logging));
                    // Do not wait for stray blocking tasks: the instance is already stopped.
                    rt.shutdown_timeout(std::time::Duration::from_millis(100));
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&anyhow::anyhow!("cannot start the async runtime: {e}")),
            }
        }
        Command::Serve(overrides) => {
            let config = match overrides.into_config() {
                Ok(c) => c,
                Err(e) => return fail(&e),
            };
            if let Err(e) = config.validate() {
                return fail(&anyhow::anyhow!("invalid config: {e}"));
            }
            logging::init(config.logging.format, &config.logging);
            let result = runtime().map_err(anyhow::Error::from).and_then(|rt| {
                let result = rt.block_on(standalone::run(config));
                rt.shutdown_timeout(std::time::Duration::from_millis(100));
                result
            });
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e),
            }
        }
    }
}

fn fail(error: &anyhow::Error) -> ExitCode {
    eprintln!("smartstorage: error: {error:#}");
    ExitCode::FAILURE
}
