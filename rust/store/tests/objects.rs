//! Object writes, reads, overwrites, deletes and conditions through the `ObjectStore` trait.

mod common;

use bytes::Bytes;
use common::*;
use futures_util::StreamExt;
use smartstorage_store::{ListQuery, ObjectStore, StoreError, WriteCondition};
use std::sync::Arc;

#[tokio::test]
async fn put_get_overwrite_delete_round_trip() {
    let (_dir, store) = fresh().await;
    let info = put(&store, "bkt", "hello.txt", b"hello world").await;
    assert_eq!(info.size, 11);
    assert_eq!(get(&store, "bkt", "hello.txt").await, b"hello world");
    let head = store.head_object("bkt", "hello.txt").await.unwrap();
    assert_eq!(head, info);

    put(&store, "bkt", "hello.txt", b"bye").await;
    assert_eq!(get(&store, "bkt", "hello.txt").await, b"bye");
    assert_eq!(store.head_object("bkt", "hello.txt").await.unwrap().meta.etag, etag_of(b"bye"));

    assert!(store.delete_object("bkt", "hello.txt", &WriteCondition::None).await.unwrap());
    assert!(!store.delete_object("bkt", "hello.txt", &WriteCondition::None).await.unwrap());
    assert!(matches!(store.head_object("bkt", "hello.txt").await, Err(StoreError::NoSuchKey(_))));
    assert!(matches!(store.open_object("bkt", "hello.txt").await, Err(StoreError::NoSuchKey(_))));
    // Only the store's own directory remains: no data, no empty key directories
    // (the background reaper removes retired files just after the answer).
    assert!(eventually(|| files_under(&_dir.path().join("bkt")).is_empty()).await);
}

#[tokio::test]
async fn empty_objects_and_empty_ranges_work() {
    let (_dir, store) = fresh().await;
    put(&store, "bkt", "empty", b"").await;
    assert_eq!(get(&store, "bkt", "empty").await, b"");
    put(&store, "bkt", "x", b"abc").await;
    assert_eq!(get_range(&store, "bkt", "x", 3..3).await.unwrap(), b"");
    assert!(get_range(&store, "bkt", "x", 2..4).await.is_err(), "range past the end is refused");
}

#[tokio::test]
async fn weird_keys_round_trip_and_stay_inside_the_bucket() {
    let (dir, store) = fresh().await;
    let long_segment = "s".repeat(500);
    let keys: Vec<String> = vec![
        "a".into(),
        "a/b".into(),
        "a/b/".into(),
        "a//b".into(),
        "/leading".into(),
        "//".into(),
        "/".into(),
        ".".into(),
        "..".into(),
        "../../etc/passwd".into(),
        "a/./b/../c".into(),
        "%2e%2e".into(),
        "%".into(),
        "back\\slash\\..".into(),
        "ctrl\u{1}\u{1f}\u{7f}\n".into(),
        "ünï/名前/🦀".into(),
        "x.s3meta".into(),
        "x.s3meta/inner".into(),
        format!("x.s3data-{}", "0".repeat(32)),
        ".smartstorage".into(),
        "k".repeat(1024),
        "%".repeat(1024),
        "\u{1}".repeat(1024),
        format!("{long_segment}/{long_segment}"),
        "/".repeat(1024),
    ];
    for (i, key) in keys.iter().enumerate() {
        put(&store, "bkt", key, format!("value {i}").as_bytes()).await;
    }
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(get(&store, "bkt", key).await, format!("value {i}").as_bytes(), "key {key:?}");
    }
    // Everything written lives under the bucket directory or the store's own directory.
    let root = dir.path().canonicalize().unwrap();
    for file in files_under(dir.path()) {
        let file = file.canonicalize().unwrap();
        assert!(file.starts_with(root.join("bkt")) || file.starts_with(root.join(".smartstorage")), "{}", file.display());
    }
    let page = store.list_objects("bkt", &ListQuery { max_keys: 1000, ..Default::default() }).await.unwrap();
    let mut expected = keys.clone();
    expected.sort();
    assert_eq!(page.objects.iter().map(|o| o.key.clone()).collect::<Vec<_>>(), expected);

    // After a reopen, the keys are recovered from the paths alone.
    drop(store);
    let store = open(dir.path()).await;
    let page = store.list_objects("bkt", &ListQuery { max_keys: 1000, ..Default::default() }).await.unwrap();
    assert_eq!(page.objects.iter().map(|o| o.key.clone()).collect::<Vec<_>>(), expected);
    for key in &keys {
        assert!(store.delete_object("bkt", key, &WriteCondition::None).await.unwrap());
    }
    assert!(eventually(|| files_under(&dir.path().join("bkt")).is_empty()).await);
}

#[tokio::test]
async fn invalid_keys_and_buckets_are_refused() {
    let (_dir, store) = fresh().await;
    assert!(matches!(store.put_object("bkt", "").await, Err(StoreError::InvalidKey { .. })));
    assert!(matches!(store.put_object("bkt", "a\0b").await, Err(StoreError::InvalidKey { .. })));
    assert!(matches!(store.head_object("bkt", &"k".repeat(1025)).await, Err(StoreError::InvalidKey { .. })));
    assert!(matches!(store.put_object("Bad_Bucket", "k").await, Err(StoreError::InvalidBucketName { .. })));
    assert!(matches!(store.put_object("missing", "k").await, Err(StoreError::NoSuchBucket(_))));
}

#[tokio::test]
async fn ranged_reads_return_exactly_the_requested_bytes() {
    let (_dir, store) = fresh().await;
    let data = bytes(3 * 1024 * 1024 + 17, 1);
    put(&store, "bkt", "big", &data).await;
    for range in [0..1, 5..5, 0..data.len(), 1000..600_000, 524_287..524_289, data.len() - 1..data.len()] {
        let got = get_range(&store, "bkt", "big", range.start as u64..range.end as u64).await.unwrap();
        assert!(got == data[range.clone()], "range {range:?}");
    }
}

#[tokio::test]
async fn large_objects_stream_in_bounded_chunks() {
    let (_dir, store) = fresh().await;
    let data = bytes(20 * 1024 * 1024 + 3, 2);
    // Tiny incoming chunks are batched; huge ones pass through.
    put_chunked(&store, "bkt", "big", &data, 8 * 1024 * 1024, &WriteCondition::None).await.unwrap();
    let reader = store.open_object("bkt", "big").await.unwrap();
    let mut stream = reader.stream(0..data.len() as u64);
    let (mut total, mut largest) = (0usize, 0usize);
    let mut digest = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        largest = largest.max(chunk.len());
        digest.extend_from_slice(&chunk[..chunk.len().min(1)]);
        total += chunk.len();
    }
    assert_eq!(total, data.len());
    assert!(largest <= 1024 * 1024, "chunks stay at or under 1 MiB, got {largest}");
    assert_eq!(get(&store, "bkt", "big").await, data);
}

#[tokio::test]
async fn a_reader_keeps_its_snapshot_through_overwrite_and_delete() {
    let (_dir, store) = fresh().await;
    let old = bytes(2 * 1024 * 1024, 3);
    put(&store, "bkt", "k", &old).await;
    let reader = store.open_object("bkt", "k").await.unwrap();
    let reader2 = store.open_object("bkt", "k").await.unwrap();
    assert_eq!(reader.info().meta.etag, etag_of(&old));

    put(&store, "bkt", "k", b"new").await;
    assert_eq!(reader.info().size, old.len() as u64);
    assert_eq!(collect(reader.stream(0..old.len() as u64)).await.unwrap(), old);
    assert_eq!(get(&store, "bkt", "k").await, b"new");

    assert!(store.delete_object("bkt", "k", &WriteCondition::None).await.unwrap());
    assert_eq!(collect(reader2.stream(10..20)).await.unwrap(), &old[10..20]);
    // Once the last reader is gone, the old data is too (removed on the blocking pool).
    let bucket_dir = _dir.path().join("bkt");
    assert!(eventually(|| files_under(&bucket_dir).is_empty()).await);
}

#[tokio::test]
async fn a_dropped_writer_leaves_no_temp_file_and_no_object() {
    let (dir, store) = fresh().await;
    let mut writer = store.put_object("bkt", "k").await.unwrap();
    writer.write(Bytes::from(bytes(3 * 1024 * 1024, 4))).await.unwrap();
    // Batches are written in the background (pipelined), so both the spill and
    // the cleanup of a dropped writer happen shortly after, not at once.
    assert!(eventually(|| !files_under(&dir.path().join(".smartstorage/tmp")).is_empty()).await, "big writes spill to a temp file");
    drop(writer);
    assert!(eventually(|| files_under(&dir.path().join(".smartstorage/tmp")).is_empty()).await);
    assert!(matches!(store.head_object("bkt", "k").await, Err(StoreError::NoSuchKey(_))));
    assert!(files_under(&dir.path().join("bkt")).is_empty());
}

#[tokio::test]
async fn racing_if_none_match_creates_have_exactly_one_winner() {
    let (dir, store) = fresh().await;
    let store = Arc::new(store);
    for round in 0..5 {
        let key = format!("race-{round}");
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let (store, key) = (store.clone(), key.clone());
                tokio::spawn(async move {
                    let data = format!("writer {i}");
                    put_chunked(&*store, "bkt", &key, data.as_bytes(), 3, &WriteCondition::IfNoneMatch).await.map(|_| data)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                Ok(data) => winners.push(data),
                Err(StoreError::PreconditionFailed) => {}
                Err(e) => panic!("unexpected error {e}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        assert_eq!(get(&*store, "bkt", &key).await, winners[0].as_bytes());
    }
    // Losers leave nothing behind.
    // One (inline) metadata file per key.
    assert_eq!(files_under(&dir.path().join("bkt")).len(), 5);
    assert!(eventually(|| files_under(&dir.path().join(".smartstorage/tmp")).is_empty()).await);
}

#[tokio::test]
async fn if_match_compares_etags_and_needs_an_existing_object() {
    let (_dir, store) = fresh().await;
    let missing = put_chunked(&store, "bkt", "k", b"v1", 10, &WriteCondition::IfMatch("x".into())).await;
    assert!(matches!(missing, Err(StoreError::NoSuchKey(_))), "{missing:?}");
    let v1 = put(&store, "bkt", "k", b"v1").await;
    let wrong = put_chunked(&store, "bkt", "k", b"v2", 10, &WriteCondition::IfMatch("nope".into())).await;
    assert!(matches!(wrong, Err(StoreError::PreconditionFailed)));
    let quoted = format!("\"{}\"", v1.meta.etag);
    put_chunked(&store, "bkt", "k", b"v2", 10, &WriteCondition::IfMatch(quoted)).await.unwrap();
    assert_eq!(get(&store, "bkt", "k").await, b"v2");

    let wrong = store.delete_object("bkt", "k", &WriteCondition::IfMatch(v1.meta.etag.clone())).await;
    assert!(matches!(wrong, Err(StoreError::PreconditionFailed)));
    assert!(store.delete_object("bkt", "k", &WriteCondition::IfMatch(etag_of(b"v2"))).await.unwrap());
    let gone = store.delete_object("bkt", "k", &WriteCondition::IfMatch("*".into())).await;
    assert!(matches!(gone, Err(StoreError::NoSuchKey(_))));
}

#[tokio::test]
async fn concurrent_overwrites_and_reads_always_see_a_whole_version() {
    let (_dir, store) = fresh().await;
    let store = Arc::new(store);
    let versions: Vec<Vec<u8>> = (0..4).map(|i| bytes(300_000 + i * 1000, i as u64)).collect();
    put(&*store, "bkt", "hot", &versions[0]).await;
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (store, versions) = (store.clone(), versions.clone());
            tokio::spawn(async move {
                for i in 0..10 {
                    put(&*store, "bkt", "hot", &versions[(w + i) % 4]).await;
                }
            })
        })
        .collect();
    for _ in 0..40 {
        let reader = store.open_object("bkt", "hot").await.unwrap();
        let info = reader.info().clone();
        let body = collect(reader.stream(0..info.size)).await.unwrap();
        assert_eq!(etag_of(&body), info.meta.etag, "bytes and metadata belong to the same version");
    }
    for w in writers {
        w.await.unwrap();
    }
}

/// Small objects live inline in their metadata file, which a commit renames
/// before it updates the index: a reader racing overwrites and deletes of the
/// same key must still get a whole version or NoSuchKey, never an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_overwrites_deletes_and_reads_of_a_small_object_never_fail() {
    for fsync in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(open_with(dir.path(), fsync, false).await);
        store.create_bucket("bkt", None).await.unwrap();
        let versions: Vec<Vec<u8>> = (0..4).map(|i| bytes(100 + i * 300, i as u64)).collect();
        let rounds = if fsync { 20 } else { 300 };
        let mut tasks = Vec::new();
        for w in 0..3 {
            let (store, versions) = (store.clone(), versions.clone());
            tasks.push(tokio::spawn(async move {
                for i in 0..rounds {
                    put(&*store, "bkt", "hot", &versions[(w + i) % 4]).await;
                    if i % 7 == w {
                        store.delete_object("bkt", "hot", &WriteCondition::None).await.unwrap();
                    }
                }
            }));
        }
        for _ in 0..3 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..rounds * 2 {
                    match store.open_object("bkt", "hot").await {
                        Ok(reader) => {
                            let info = reader.info().clone();
                            let body = collect(reader.stream(0..info.size)).await.unwrap();
                            assert_eq!(etag_of(&body), info.meta.etag, "bytes and metadata belong to the same version");
                        }
                        Err(StoreError::NoSuchKey(_)) => {}
                        Err(e) => panic!("a read racing commits failed (fsync {fsync}): {e}"),
                    }
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    }
}

#[tokio::test]
async fn listing_through_the_store_groups_and_paginates() {
    let (_dir, store) = fresh().await;
    for key in ["a", "b/1", "b/2", "c", "d/x/y"] {
        put(&store, "bkt", key, b".").await;
    }
    let query = |start_after: Option<&str>| ListQuery { delimiter: Some("/".into()), start_after: start_after.map(Into::into), max_keys: 2, ..Default::default() };
    let page = store.list_objects("bkt", &query(None)).await.unwrap();
    assert_eq!(page.objects.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), ["a"]);
    assert_eq!(page.common_prefixes, ["b/"]);
    assert_eq!(page.next_marker.as_deref(), Some("b/"));
    let page = store.list_objects("bkt", &query(Some("b/"))).await.unwrap();
    assert_eq!(page.objects.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), ["c"]);
    assert_eq!(page.common_prefixes, ["d/"]);
    assert!(!page.is_truncated);
    let page = store.list_objects("bkt", &ListQuery { prefix: "b/".into(), max_keys: 10, ..Default::default() }).await.unwrap();
    assert_eq!(page.objects.len(), 2);
    assert_eq!(page.objects[0].etag, etag_of(b"."));
}
