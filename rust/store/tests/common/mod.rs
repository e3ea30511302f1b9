//! Helpers shared by the store's integration tests.
#![allow(dead_code)]

use bytes::Bytes;
use futures_util::StreamExt;
use smartstorage_store::{FileStore, FileStoreConfig, ObjectInfo, ObjectMeta, ObjectStore, StoreResult, WriteCondition};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Opens a store on `dir` with fsync off (tests care about atomicity, not power loss).
pub async fn open(dir: &Path) -> FileStore {
    open_with(dir, false, false).await
}

/// Opens a store with explicit settings.
pub async fn open_with(dir: &Path, fsync: bool, clean_slate: bool) -> FileStore {
    FileStore::open(FileStoreConfig { root: dir.to_path_buf(), fsync, clean_slate }).await.unwrap()
}

/// A fresh store in a temp dir with bucket "bkt".
pub async fn fresh() -> (tempfile::TempDir, FileStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    store.create_bucket("bkt", Some("AKID")).await.unwrap();
    (dir, store)
}

/// A stand-in etag derived from the bytes (FNV-1a), so different contents differ.
pub fn etag_of(data: &[u8]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in data {
        h = (h ^ *b as u64).wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

/// Metadata with the etag of `data`.
pub fn meta_for(data: &[u8]) -> ObjectMeta {
    ObjectMeta { etag: etag_of(data), ..Default::default() }
}

/// Writes `data` under `key` in chunks of `chunk` bytes.
pub async fn put_chunked(store: &dyn ObjectStore, bucket: &str, key: &str, data: &[u8], chunk: usize, condition: &WriteCondition) -> StoreResult<ObjectInfo> {
    let mut writer = store.put_object(bucket, key).await?;
    for piece in data.chunks(chunk.max(1)) {
        writer.write(Bytes::copy_from_slice(piece)).await?;
    }
    assert_eq!(writer.written(), data.len() as u64);
    writer.commit(meta_for(data), condition).await
}

/// Writes `data` under `key`.
pub async fn put(store: &dyn ObjectStore, bucket: &str, key: &str, data: &[u8]) -> ObjectInfo {
    put_chunked(store, bucket, key, data, 64 * 1024, &WriteCondition::None).await.unwrap()
}

/// Reads `range` of `key`.
pub async fn get_range(store: &dyn ObjectStore, bucket: &str, key: &str, range: Range<u64>) -> StoreResult<Vec<u8>> {
    let reader = store.open_object(bucket, key).await?;
    collect(reader.stream(range)).await
}

/// Reads all of `key`.
pub async fn get(store: &dyn ObjectStore, bucket: &str, key: &str) -> Vec<u8> {
    let reader = store.open_object(bucket, key).await.unwrap();
    let size = reader.info().size;
    collect(reader.stream(0..size)).await.unwrap()
}

/// Concatenates a stream.
pub async fn collect(mut stream: smartstorage_store::ByteStream) -> StoreResult<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}

/// Deterministic pseudo-random bytes (xorshift, eight bytes per step: fast even unoptimised).
pub fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Every file (not directory) under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// Polls `check` for up to two seconds (for cleanup that happens in the background).
pub async fn eventually(mut check: impl FnMut() -> bool) -> bool {
    for _ in 0..200 {
        if check() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    check()
}
