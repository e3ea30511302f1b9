//! The `smartstorage` binary's modules, as a library so the integration tests
//! can use the protocol and config types: config, CLI, management IPC, logging
//! and the wiring of the store and the S3 server.

pub mod cli;
pub mod config;
pub mod ipc;
pub mod lifecycle;
pub mod logging;
pub mod management;
pub mod protocol;
pub mod standalone;
