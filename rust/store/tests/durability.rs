//! What survives a restart, what a crash leaves behind and how it is cleaned up,
//! and the on-disk layout people see.

mod common;

use bytes::Bytes;
use common::*;
use smartstorage_store::{ListQuery, ObjectMeta, ObjectStore, StoreError, WriteCondition};
use std::fs;
use std::time::Instant;

const VERSION: &str = "0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn opening_an_empty_directory_is_instant() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let store = open(dir.path()).await;
    let elapsed = started.elapsed();
    assert_eq!(store.root(), dir.path());
    assert!(elapsed.as_millis() < 100, "open took {elapsed:?}");
}

#[tokio::test]
async fn reopening_the_store_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    store.create_bucket("bkt", Some("AKID")).await.unwrap();
    let mut meta = meta_for(b"payload");
    meta.headers.insert("content-type".into(), "text/plain".into());
    meta.user.insert("color".into(), "blue".into());
    meta.checksums.insert("crc32".into(), "AAAAAA==".into());
    meta.checksum_type = Some("FULL_OBJECT".into());
    meta.tags.insert("t".into(), "v".into());
    let mut writer = store.put_object("bkt", "dir/file").await.unwrap();
    writer.write(Bytes::from_static(b"payload")).await.unwrap();
    let info = writer.commit(meta, &WriteCondition::None).await.unwrap();
    store.put_bucket_config("bkt", "policy", Some(Bytes::from_static(b"{\"p\":1}"))).await.unwrap();
    let upload = store.create_multipart("bkt", "mp", ObjectMeta::default()).await.unwrap();
    let mut part = store.put_part("bkt", "mp", &upload.upload_id, 1).await.unwrap();
    part.write(Bytes::from_static(b"part one")).await.unwrap();
    let part_info = part.commit("e1".into(), Default::default()).await.unwrap();
    let bucket = store.head_bucket("bkt").await.unwrap();
    drop(store);

    let store = open(dir.path()).await;
    assert_eq!(store.head_bucket("bkt").await.unwrap(), bucket);
    assert_eq!(store.head_object("bkt", "dir/file").await.unwrap(), info);
    assert_eq!(get(&store, "bkt", "dir/file").await, b"payload");
    assert_eq!(store.get_bucket_config("bkt", "policy").await.unwrap().as_deref(), Some(&b"{\"p\":1}"[..]));
    let (again, parts) = store.list_parts("bkt", "mp", &upload.upload_id).await.unwrap();
    assert_eq!(again, upload);
    assert_eq!(parts, vec![part_info]);
}

#[tokio::test]
async fn stale_temp_files_are_removed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()).await);
    let stale = dir.path().join(".smartstorage/tmp/crashed-write.tmp");
    fs::write(&stale, b"half an upload").unwrap();
    let _store = open(dir.path()).await;
    assert!(!stale.exists());
}

#[tokio::test]
async fn leftovers_of_interrupted_writes_are_swept_when_the_bucket_loads() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    store.create_bucket("bkt", None).await.unwrap();
    put(&store, "bkt", "a/kept", b"kept").await;
    drop(store);

    let bucket = dir.path().join("bkt");
    // A crash after the data rename, before the metadata: an orphan data file.
    let orphan = bucket.join(format!("a/new.s3data-{VERSION}"));
    fs::write(&orphan, b"never committed").unwrap();
    // A crash after the commit, before the old version was removed.
    let replaced = bucket.join(format!("a/kept.s3data-{VERSION}"));
    fs::write(&replaced, b"old version").unwrap();
    // A directory holding nothing but an orphan is removed with it.
    fs::create_dir(bucket.join("gone")).unwrap();
    fs::write(bucket.join(format!("gone/x.s3data-{VERSION}-1")), b"").unwrap();
    // Files the store does not own are left alone.
    let foreign = bucket.join("a/notes.txt");
    fs::write(&foreign, b"mine").unwrap();
    // An upload whose upload.json is gone (completed or aborted before the crash).
    let dead_upload = dir.path().join(format!(".smartstorage/multipart/bkt/{VERSION}"));
    fs::create_dir_all(&dead_upload).unwrap();
    fs::write(dead_upload.join(format!("part-1-{VERSION}")), b"x").unwrap();

    let store = open(dir.path()).await;
    assert_eq!(get(&store, "bkt", "a/kept").await, b"kept");
    let page = store.list_objects("bkt", &ListQuery { max_keys: 100, ..Default::default() }).await.unwrap();
    assert_eq!(page.objects.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), ["a/kept"]);
    assert!(!orphan.exists() && !replaced.exists() && !bucket.join("gone").exists());
    assert!(foreign.exists());
    assert!(!dead_upload.exists());
    assert!(store.list_uploads("bkt").await.unwrap().is_empty());
}

#[tokio::test]
async fn an_unreadable_metadata_file_hides_only_its_own_object() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    store.create_bucket("bkt", None).await.unwrap();
    put(&store, "bkt", "good", b"1").await;
    // Big enough to get a data file of its own (small objects are stored inline).
    put(&store, "bkt", "bad", &vec![b'2'; 100 * 1024]).await;
    drop(store);
    fs::write(dir.path().join("bkt/bad.s3meta"), b"{ not json").unwrap();
    let store = open(dir.path()).await;
    assert_eq!(get(&store, "bkt", "good").await, b"1");
    assert!(matches!(store.head_object("bkt", "bad").await, Err(StoreError::NoSuchKey(_))));
    // Its data is kept for a human to look at.
    let data = files_under(&dir.path().join("bkt")).into_iter().filter(|p| p.to_string_lossy().contains("bad.s3data-")).count();
    assert_eq!(data, 1);
}

#[tokio::test]
async fn a_torn_small_object_left_by_a_crash_is_skipped_and_replaced_by_the_next_put() {
    // With fsync off a new key's metadata file is created in place (the index,
    // not a rename, makes it visible), so a crash can leave it cut short.
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    store.create_bucket("bkt", None).await.unwrap();
    put(&store, "bkt", "kept", b"1").await;
    put(&store, "bkt", "sub/torn", b"whole bytes").await;
    drop(store);
    let torn = dir.path().join("bkt/sub/torn.s3meta");
    let whole = fs::read(&torn).unwrap();
    fs::write(&torn, &whole[..whole.len() - 3]).unwrap();
    let store = open(dir.path()).await;
    assert_eq!(get(&store, "bkt", "kept").await, b"1");
    assert!(matches!(store.head_object("bkt", "sub/torn").await, Err(StoreError::NoSuchKey(_))));
    // The name is taken by the stray file: the PUT replaces it.
    put(&store, "bkt", "sub/torn", b"new bytes").await;
    assert_eq!(get(&store, "bkt", "sub/torn").await, b"new bytes");
    drop(store);
    let store = open(dir.path()).await;
    assert_eq!(get(&store, "bkt", "sub/torn").await, b"new bytes");
}

#[tokio::test]
async fn clean_slate_wipes_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    store.create_bucket("bkt", None).await.unwrap();
    put(&store, "bkt", "k", b"v").await;
    drop(store);
    fs::write(dir.path().join("stray.txt"), b"x").unwrap();
    let store = open_with(dir.path(), false, true).await;
    assert!(store.list_buckets().await.unwrap().is_empty());
    assert!(matches!(store.head_bucket("bkt").await, Err(StoreError::NoSuchBucket(_))));
    assert!(!dir.path().join("stray.txt").exists());
    store.create_bucket("bkt", None).await.unwrap();
    assert!(store.list_objects("bkt", &ListQuery { max_keys: 10, ..Default::default() }).await.unwrap().objects.is_empty());
}

#[tokio::test]
async fn a_second_store_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    store.create_bucket("bkt", None).await.unwrap();
    put(&store, "bkt", "k", b"still here").await;
    let second = smartstorage_store::FileStore::open(smartstorage_store::FileStoreConfig { root: dir.path().into(), fsync: false, clean_slate: true }).await;
    let err = second.unwrap_err();
    assert!(err.to_string().contains("in use"), "{err}");
    // The refused open (even with clean_slate) did not touch the live store.
    assert_eq!(get(&store, "bkt", "k").await, b"still here");
    drop(store);
    open(dir.path()).await;
}

#[tokio::test]
async fn the_layout_is_legible() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    store.create_bucket("bkt", Some("AKID")).await.unwrap();
    let big = vec![b'm'; 100 * 1024];
    put(&store, "bkt", "photos/cat.jpg", &big).await;
    put(&store, "bkt", "photos", b"a key and a directory at once").await;
    let meta = fs::read_to_string(dir.path().join("bkt/photos/cat.jpg.s3meta")).unwrap();
    assert!(meta.contains("\"key\": \"photos/cat.jpg\""), "{meta}");
    let data: Vec<_> = fs::read_dir(dir.path().join("bkt/photos")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert!(data.iter().any(|n| n.starts_with("cat.jpg.s3data-")), "{data:?}");
    // A small object is stored inline: its bytes follow the document in the metadata file.
    let small = fs::read_to_string(dir.path().join("bkt/photos.s3meta")).unwrap();
    assert!(small.contains("\"inline\": true") && small.ends_with("}\na key and a directory at once"), "{small}");
    assert!(!files_under(&dir.path().join("bkt")).iter().any(|p| p.to_string_lossy().contains("photos.s3data-")));
    let bucket_json = fs::read_to_string(dir.path().join(".smartstorage/buckets/bkt/bucket.json")).unwrap();
    assert!(bucket_json.contains("AKID"));
}

#[tokio::test]
async fn writes_with_fsync_on_behave_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), true, false).await;
    store.create_bucket("bkt", None).await.unwrap();
    put(&store, "bkt", "deep/er/key", b"synced").await;
    put(&store, "bkt", "deep/er/key", b"synced again").await;
    assert_eq!(get(&store, "bkt", "deep/er/key").await, b"synced again");
    let upload = store.create_multipart("bkt", "mp", ObjectMeta::default()).await.unwrap();
    let mut parts = Vec::new();
    for n in 1..=3u32 {
        let mut w = store.put_part("bkt", "mp", &upload.upload_id, n).await.unwrap();
        w.write(Bytes::from(vec![n as u8; 1000])).await.unwrap();
        parts.push((n, w.commit(format!("e{n}"), Default::default()).await.unwrap().etag));
    }
    let info = store.complete_multipart("bkt", "mp", &upload.upload_id, &parts, ObjectMeta::default(), &WriteCondition::None).await.unwrap();
    assert_eq!(info.size, 3000);
    store.put_bucket_config("bkt", "cors", Some(Bytes::from_static(b"<x/>"))).await.unwrap();
    assert!(store.delete_object("bkt", "deep/er/key", &WriteCondition::None).await.unwrap());
    drop(store);
    let store = open(dir.path()).await;
    assert_eq!(get(&store, "bkt", "mp").await.len(), 3000);
}

#[tokio::test]
async fn keys_too_long_for_the_os_path_limit_are_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    // A root deep enough that a fully escaped 1024-byte key cannot fit in PATH_MAX.
    let mut root = dir.path().to_path_buf();
    for _ in 0..6 {
        root.push("r".repeat(200));
    }
    fs::create_dir_all(&root).unwrap();
    let store = open(&root).await;
    store.create_bucket("bkt", None).await.unwrap();
    let key = "%".repeat(1024);
    assert!(matches!(store.put_object("bkt", &key).await, Err(StoreError::InvalidKey { .. })));
    assert!(matches!(store.create_multipart("bkt", &key, ObjectMeta::default()).await, Err(StoreError::InvalidKey { .. })));
    put(&store, "bkt", &"k".repeat(1024), b"plain long keys still fit").await;
}
