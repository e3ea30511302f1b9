//! The S3 protocol layer of SmartStorage: the hyper server loop, the
//! [`router::Endpoint`] table, authentication, checksums, XML and one
//! `handle_*` function per operation family, over any
//! [`ObjectStore`](smartstorage_store::ObjectStore).

pub mod error;

pub use error::{S3Error, S3Result};
