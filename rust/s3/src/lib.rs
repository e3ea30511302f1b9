//! The S3 protocol layer of SmartStorage: the hyper server loop, the
//! [`router::Endpoint`] table, authentication, checksums, XML and one
//! `handle_*` function per operation family, over any
//! [`ObjectStore`](smartstorage_store::ObjectStore).

pub mod auth;
pub mod body;
pub mod checksum;
pub mod chunked;
pub mod conditional;
pub mod config;
pub mod cors;
pub mod dispatch;
pub mod error;
pub mod form;
pub mod ops;
pub mod policy;
pub mod response;
pub mod range;
pub mod router;
pub mod server;
pub mod xml;

pub use config::{AuthConfig, CorsConfig, Credential, Limits, ServerConfig};
pub use error::{S3Error, S3Result};
pub use server::{RunningServer, start_server};
