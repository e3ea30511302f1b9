//! Files in the storage directory that are not what the store wrote there
//! (a FIFO or a directory in place of a data file) make reads fail promptly
//! with an error instead of hanging a blocking thread forever or panicking.
//! Regression tests for a hang found by `reliability_disk_full.rs`: opening a
//! FIFO blocked in open(2) until a writer appeared.

use bytes::Bytes;
use smartstorage_store::{
    FileStore, FileStoreConfig, ObjectMeta, ObjectStore, StoreError, WriteCondition,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Bigger than what the store keeps inline, so the object gets a data file.
static BIG: [u8; 100 * 1024] = [7u8; 100 * 1024];

async fn store_with(dir: &Path, key: &str, data: &[u8]) -> FileStore {
    let store = FileStore::open(FileStoreConfig {
        root: dir.to_path_buf(),
        fsync: false,
        clean_slate: false,
    })
    .await
    .unwrap();
    store.create_bucket("bkt", None).await.unwrap();
    let mut w = store.put_object("bkt", key).await.unwrap();
    w.write(Bytes::copy_from_slice(data)).await.unwrap();
    w.commit(
        ObjectMeta {
            etag: "e".into(),
            ..Default::default()
        },
        &WriteCondition::None,
    )
    .await
    .unwrap();
    store
}

fn data_file(dir: &Path, base: &str) -> PathBuf {
    std::fs::read_dir(dir.join("bkt"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{base}.s3data-"))
        })
        .expect("data file")
}

#[cfg(unix)]
#[tokio::test]
async fn a_fifo_in_place_of_a_data_file_fails_the_read_instead_of_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), "f", &BIG).await;
    let data = data_file(dir.path(), "f");
    std::fs::remove_file(&data).unwrap();
    let made = std::process::Command::new("mkfifo").arg(&data).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("SKIPPED: mkfifo is not available");
        return;
    }
    let opened = tokio::time::timeout(Duration::from_secs(5), store.open_object("bkt", "f")).await;
    let result = opened.expect("opening an object whose data file is a FIFO hung");
    assert!(
        matches!(result, Err(StoreError::Corrupt { .. })),
        "{:?}",
        result.err()
    );
    // The store keeps working.
    assert!(store.head_object("bkt", "f").await.is_ok());
    std::fs::remove_file(&data).unwrap();
}

#[tokio::test]
async fn a_directory_in_place_of_a_data_file_is_reported_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), "d", &BIG).await;
    let data = data_file(dir.path(), "d");
    std::fs::remove_file(&data).unwrap();
    std::fs::create_dir(&data).unwrap();
    let result = store.open_object("bkt", "d").await;
    assert!(
        matches!(result, Err(StoreError::Corrupt { .. })),
        "{:?}",
        result.err()
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_fifo_in_place_of_an_inline_objects_metadata_fails_the_read_instead_of_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), "small", b"hello").await;
    let meta = dir.path().join("bkt/small.s3meta");
    std::fs::remove_file(&meta).unwrap();
    let made = std::process::Command::new("mkfifo").arg(&meta).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("SKIPPED: mkfifo is not available");
        return;
    }
    let opened = tokio::time::timeout(Duration::from_secs(5), store.open_object("bkt", "small")).await;
    let result = opened.expect("opening an object whose metadata file is a FIFO hung");
    assert!(matches!(result, Err(StoreError::Corrupt { .. })), "{:?}", result.err());
    std::fs::remove_file(&meta).unwrap();
}
