//! Command-line parsing (lexopt): what to do and which config fields the flags override.

use crate::config::Config;
use std::ffi::OsString;
use std::path::PathBuf;

/// Usage text for `--help`.
pub const USAGE: &str = "\
smartstorage: an S3-compatible object storage server

USAGE:
    smartstorage [OPTIONS]               serve a directory over S3 until SIGINT/SIGTERM
    smartstorage --management            be driven over JSON lines on stdin/stdout (used by the npm package)

OPTIONS:
    -d, --directory <DIR>    storage directory            [default: .nogit/bucketsDir]
    -p, --port <PORT>        TCP port, 0 for any free one  [default: 3000]
    -a, --address <ADDR>     bind address (IP or localhost) [default: 0.0.0.0]
    -c, --config <FILE>      JSON config file (same shape as the TypeScript config);
                             flags given on the command line override it
        --region <REGION>    S3 region                     [default: us-east-1]
        --clean-slate        wipe the storage directory at start
        --no-fsync           skip fsync (writes stay atomic, not durable across power loss)
        --management         management mode (see docs/protocol.md)
    -h, --help               print this help
    -V, --version            print the version

Logs go to stderr; RUST_LOG overrides the configured level.
";

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// Print usage.
    Help,
    /// Print the version.
    Version,
    /// Management mode: config arrives over IPC.
    Management,
    /// Serve with a config built from `--config` and the flags.
    Serve(Overrides),
}

/// Config values given as flags (they win over the config file).
#[derive(Debug, Default, PartialEq)]
pub struct Overrides {
    /// `--config`.
    pub config_file: Option<PathBuf>,
    /// `--directory`.
    pub directory: Option<PathBuf>,
    /// `--port`.
    pub port: Option<u16>,
    /// `--address`.
    pub address: Option<String>,
    /// `--region`.
    pub region: Option<String>,
    /// `--clean-slate`.
    pub clean_slate: bool,
    /// `--no-fsync`.
    pub no_fsync: bool,
}

impl Overrides {
    /// Loads the config file (if any) and applies the flags on top.
    pub fn into_config(self) -> anyhow::Result<Config> {
        let mut config = match &self.config_file {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        if let Some(d) = self.directory {
            config.storage.directory = d;
        }
        if let Some(p) = self.port {
            config.server.port = p;
        }
        if let Some(a) = self.address {
            config.server.address = a;
        }
        if let Some(r) = self.region {
            config.server.region = r;
        }
        if self.clean_slate {
            config.storage.clean_slate = true;
        }
        if self.no_fsync {
            config.storage.fsync = false;
        }
        Ok(config)
    }
}

/// Parses arguments (without the program name).
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, lexopt::Error> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_args(args);
    let mut overrides = Overrides::default();
    let mut management = false;
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help),
            Short('V') | Long("version") => return Ok(Command::Version),
            Long("management") => management = true,
            Short('d') | Long("directory") => overrides.directory = Some(parser.value()?.into()),
            Short('p') | Long("port") => {
                let text = parser.value()?.string()?;
                let port = text
                    .parse::<u16>()
                    .map_err(|_| lexopt::Error::ParsingFailed {
                        value: text.clone(),
                        error: "expected a TCP port from 0 to 65535".into(),
                    })?;
                overrides.port = Some(port);
            }
            Short('a') | Long("address") => overrides.address = Some(parser.value()?.string()?),
            Short('c') | Long("config") => overrides.config_file = Some(parser.value()?.into()),
            Long("region") => overrides.region = Some(parser.value()?.string()?),
            Long("clean-slate") => overrides.clean_slate = true,
            Long("no-fsync") => overrides.no_fsync = true,
            _ => return Err(arg.unexpected()),
        }
    }
    if management {
        if overrides != Overrides::default() {
            return Err(lexopt::Error::Custom(
                "--management takes no other options: the config arrives with the `start` request"
                    .into(),
            ));
        }
        return Ok(Command::Management);
    }
    Ok(Command::Serve(overrides))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn flags_override_the_defaults() {
        let Command::Serve(o) = parse(args(&[
            "--directory",
            "./data",
            "--port",
            "0",
            "--address=127.0.0.1",
            "--clean-slate",
            "--no-fsync",
            "--region",
            "eu-west-1",
        ]))
        .unwrap() else {
            panic!("expected serve");
        };
        let c = o.into_config().unwrap();
        assert_eq!(c.storage.directory, PathBuf::from("./data"));
        assert_eq!(c.server.port, 0);
        assert_eq!(c.server.address, "127.0.0.1");
        assert!(c.storage.clean_slate);
        assert!(!c.storage.fsync);
        assert_eq!(c.server.region, "eu-west-1");
    }

    #[test]
    fn flags_override_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.json");
        std::fs::write(&file, r#"{"server":{"port":1234,"region":"ap-south-1"},"storage":{"directory":"/from/file"}}"#).unwrap();
        let Command::Serve(o) = parse(args(&[
            "--config",
            file.to_str().unwrap(),
            "--port",
            "4321",
        ]))
        .unwrap() else {
            panic!("expected serve");
        };
        let c = o.into_config().unwrap();
        assert_eq!(c.server.port, 4321);
        assert_eq!(c.server.region, "ap-south-1");
        assert_eq!(c.storage.directory, PathBuf::from("/from/file"));
    }

    #[test]
    fn help_version_and_management_are_recognised() {
        assert_eq!(parse(args(&["--help"])).unwrap(), Command::Help);
        assert_eq!(parse(args(&["-V"])).unwrap(), Command::Version);
        assert_eq!(parse(args(&["--management"])).unwrap(), Command::Management);
        assert!(parse(args(&["--management", "--port", "1"])).is_err());
    }

    #[test]
    fn bad_flags_are_errors() {
        assert!(parse(args(&["--port", "70000"])).is_err());
        assert!(parse(args(&["--bogus"])).is_err());
        assert!(parse(args(&["--port"])).is_err());
    }
}
