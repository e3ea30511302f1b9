//! Writers pipeline their batches (one written in the background while the
//! next is collected) and, with fsync on, sync data every 16 MiB: bytes must
//! come back in order and whole, parts too, and an abandoned writer must
//! leave no temp file behind. Small objects are read whole when opened.

mod common;

use bytes::Bytes;
use common::*;
use smartstorage_store::{ObjectStore, WriteCondition};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_object_written_with_fsync_reads_back_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), true, false).await;
    store.create_bucket("bkt", None).await.unwrap();
    // 40 MiB in uneven chunks: several background batches and two periodic syncs.
    let data = bytes(40 * 1024 * 1024 + 12_345, 7);
    let info = put_chunked(&store, "bkt", "big", &data, 300_001, &WriteCondition::default()).await.unwrap();
    assert_eq!(info.size, data.len() as u64);
    assert_eq!(get(&store, "bkt", "big").await, data);
    assert_eq!(get_range(&store, "bkt", "big", 9_000_000..25_000_001).await.unwrap(), &data[9_000_000..25_000_001]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_part_written_with_fsync_completes_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), true, false).await;
    store.create_bucket("bkt", None).await.unwrap();
    let upload = store.create_multipart("bkt", "mp", Default::default()).await.unwrap();
    let data = bytes(18 * 1024 * 1024 + 3, 9);
    let mut writer = store.put_part("bkt", "mp", &upload.upload_id, 1).await.unwrap();
    for piece in data.chunks(128 * 1024) {
        writer.write(Bytes::copy_from_slice(piece)).await.unwrap();
    }
    let part = writer.commit("etag1".into(), Default::default()).await.unwrap();
    assert_eq!(part.size, data.len() as u64);
    store
        .complete_multipart("bkt", "mp", &upload.upload_id, &[(1, "etag1".into())], meta_for(&data), &WriteCondition::default())
        .await
        .unwrap();
    assert_eq!(get(&store, "bkt", "mp").await, data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_writer_with_a_batch_in_flight_leaves_no_temp_file() {
    let (dir, store) = fresh().await;
    let mut writer = store.put_object("bkt", "k").await.unwrap();
    for _ in 0..5 {
        writer.write(Bytes::from(bytes(1024 * 1024, 3))).await.unwrap();
    }
    drop(writer);
    assert!(eventually(|| files_under(&dir.path().join(".smartstorage/tmp")).is_empty()).await);
    assert!(store.head_object("bkt", "k").await.is_err());
}

#[tokio::test]
async fn small_objects_are_served_whole_and_by_range() {
    let (_dir, store) = fresh().await;
    let data = bytes(10_000, 5);
    put(&store, "bkt", "small", &data).await;
    assert_eq!(get(&store, "bkt", "small").await, data);
    assert_eq!(get_range(&store, "bkt", "small", 100..200).await.unwrap(), &data[100..200]);
    assert_eq!(get_range(&store, "bkt", "small", 10_000..10_000).await.unwrap(), b"");
    assert!(get_range(&store, "bkt", "small", 9_000..10_001).await.is_err());
    put(&store, "bkt", "empty", b"").await;
    assert_eq!(get(&store, "bkt", "empty").await, b"");
}
