//! Replacing an object's metadata in place (`update_object_meta`, used by object
//! tagging), the cheap upload lookup (`upload_info`) and the checksum type in
//! listing summaries.

mod common;

use bytes::Bytes;
use common::*;
use smartstorage_store::{Checksums, ListQuery, ObjectMeta, ObjectStore, StoreError, WriteCondition};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Writes `data` under `key` with a CRC32 checksum and a content type.
async fn put_with_checksum(store: &dyn ObjectStore, key: &str, data: &[u8]) -> smartstorage_store::ObjectInfo {
    let mut meta = meta_for(data);
    meta.headers.insert("content-type".into(), "text/plain".into());
    meta.checksums.insert("crc32".into(), "AAAAAA==".into());
    meta.checksum_type = Some("FULL_OBJECT".into());
    let mut writer = store.put_object("bkt", key).await.unwrap();
    writer.write(Bytes::copy_from_slice(data)).await.unwrap();
    writer.commit(meta, &WriteCondition::None).await.unwrap()
}

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[tokio::test]
async fn updating_meta_replaces_descriptive_fields_and_keeps_the_bytes() {
    let (dir, store) = fresh().await;
    let before = put_with_checksum(&store, "dir/obj", b"payload").await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    let mut meta = before.meta.clone();
    meta.tags = tags(&[("team", "storage"), ("env", "test")]);
    meta.user.insert("color".into(), "blue".into());
    // Fields describing the bytes are ignored, whatever the caller sends.
    meta.etag = "forged".into();
    meta.checksums = Checksums::new();
    meta.checksum_type = None;
    let after = store.update_object_meta("bkt", "dir/obj", meta, &WriteCondition::None).await.unwrap();

    assert_eq!(after.meta.tags, tags(&[("env", "test"), ("team", "storage")]));
    assert_eq!(after.meta.user.get("color").map(String::as_str), Some("blue"));
    assert_eq!(after.meta.headers, before.meta.headers);
    assert_eq!(after.meta.etag, before.meta.etag);
    assert_eq!(after.meta.checksums, before.meta.checksums);
    assert_eq!(after.meta.checksum_type, before.meta.checksum_type);
    assert_eq!((after.size, after.last_modified), (before.size, before.last_modified), "S3 keeps LastModified on tagging changes");
    assert_eq!(store.head_object("bkt", "dir/obj").await.unwrap(), after);
    assert_eq!(get(&store, "bkt", "dir/obj").await, b"payload");
    // One metadata file (the small object is inline): nothing left over.
    assert_eq!(files_under(&dir.path().join("bkt")).len(), 1);
    // The replaced metadata file is unlinked by the background reaper, just after.
    assert!(eventually(|| files_under(&dir.path().join(".smartstorage/tmp")).is_empty()).await);

    // The new metadata file is the commit point: it survives a restart.
    drop(store);
    let store = open(dir.path()).await;
    assert_eq!(store.head_object("bkt", "dir/obj").await.unwrap(), after);
    assert_eq!(get(&store, "bkt", "dir/obj").await, b"payload");

    // Clearing the tags writes them away again.
    let mut cleared = after.meta.clone();
    cleared.tags.clear();
    let info = store.update_object_meta("bkt", "dir/obj", cleared, &WriteCondition::None).await.unwrap();
    assert!(info.meta.tags.is_empty());
    assert!(store.head_object("bkt", "dir/obj").await.unwrap().meta.tags.is_empty());
}

#[tokio::test]
async fn updating_meta_of_a_missing_key_or_bucket_fails() {
    let (_dir, store) = fresh().await;
    let meta = ObjectMeta::default();
    assert!(matches!(store.update_object_meta("bkt", "nope", meta.clone(), &WriteCondition::None).await, Err(StoreError::NoSuchKey(k)) if k == "nope"));
    assert!(matches!(store.update_object_meta("nobkt", "k", meta.clone(), &WriteCondition::None).await, Err(StoreError::NoSuchBucket(_))));
    assert!(matches!(store.update_object_meta("bkt", "", meta.clone(), &WriteCondition::None).await, Err(StoreError::InvalidKey { .. })));
    // Deleted keys are missing too, and the update does not resurrect them.
    put(&store, "bkt", "gone", b"x").await;
    store.delete_object("bkt", "gone", &WriteCondition::None).await.unwrap();
    assert!(matches!(store.update_object_meta("bkt", "gone", meta, &WriteCondition::None).await, Err(StoreError::NoSuchKey(_))));
    assert!(matches!(store.head_object("bkt", "gone").await, Err(StoreError::NoSuchKey(_))));
}

#[tokio::test]
async fn update_conditions_follow_the_write_rules() {
    let (_dir, store) = fresh().await;
    let info = put(&store, "bkt", "k", b"data").await;
    let meta = ObjectMeta { tags: tags(&[("a", "1")]), ..Default::default() };
    let wrong = WriteCondition::IfMatch("0000".into());
    assert!(matches!(store.update_object_meta("bkt", "k", meta.clone(), &wrong).await, Err(StoreError::PreconditionFailed)));
    assert!(matches!(store.update_object_meta("bkt", "k", meta.clone(), &WriteCondition::IfNoneMatch).await, Err(StoreError::PreconditionFailed)));
    // IfMatch on a missing key is NoSuchKey (404), not PreconditionFailed.
    let any = WriteCondition::IfMatch(info.meta.etag.clone());
    assert!(matches!(store.update_object_meta("bkt", "missing", meta.clone(), &any).await, Err(StoreError::NoSuchKey(_))));
    assert!(store.head_object("bkt", "k").await.unwrap().meta.tags.is_empty(), "failed updates change nothing");
    let quoted = WriteCondition::IfMatch(format!("\"{}\"", info.meta.etag));
    let updated = store.update_object_meta("bkt", "k", meta, &quoted).await.unwrap();
    assert_eq!(updated.meta.tags, tags(&[("a", "1")]));
}

#[tokio::test]
async fn readers_keep_their_snapshot_and_overwrites_still_clean_up() {
    // Inline objects (one file) and objects with a data file (two files).
    for (size, files) in [(5usize, 1usize), (100 * 1024, 2)] {
        let (dir, store) = fresh().await;
        let first = vec![b'1'; size];
        let second = vec![b'2'; size];
        put(&store, "bkt", "k", &first).await;
        let reader = store.open_object("bkt", "k").await.unwrap();
        let meta = ObjectMeta { tags: tags(&[("a", "1")]), ..Default::default() };
        store.update_object_meta("bkt", "k", meta, &WriteCondition::None).await.unwrap();
        assert!(reader.info().meta.tags.is_empty(), "an open reader keeps the metadata it opened");
        assert_eq!(get(&store, "bkt", "k").await, first, "a metadata update keeps the bytes");
        // Overwriting retires the (shared) version's data once the reader is done.
        put(&store, "bkt", "k", &second).await;
        assert_eq!(collect(reader.stream(0..size as u64)).await.unwrap(), first);
        let bucket_dir = dir.path().join("bkt");
        assert!(eventually(|| files_under(&bucket_dir).len() == files).await, "{:?}", files_under(&bucket_dir));
        assert_eq!(get(&store, "bkt", "k").await, second);
        assert!(store.head_object("bkt", "k").await.unwrap().meta.tags.is_empty(), "an overwrite carries its own metadata");
    }
}

#[tokio::test]
async fn multipart_objects_keep_their_parts_across_a_metadata_update() {
    let (dir, store) = fresh().await;
    let upload = store.create_multipart("bkt", "mp", ObjectMeta::default()).await.unwrap();
    let mut etags = Vec::new();
    for (n, data) in [(1u32, &b"hello "[..]), (2, &b"world"[..])] {
        let mut part = store.put_part("bkt", "mp", &upload.upload_id, n).await.unwrap();
        part.write(Bytes::copy_from_slice(data)).await.unwrap();
        etags.push((n, part.commit(etag_of(data), Checksums::new()).await.unwrap().etag));
    }
    let done = store
        .complete_multipart("bkt", "mp", &upload.upload_id, &etags, ObjectMeta { etag: "abc-2".into(), ..Default::default() }, &WriteCondition::None)
        .await
        .unwrap();
    let meta = ObjectMeta { tags: tags(&[("k", "v")]), ..Default::default() };
    let info = store.update_object_meta("bkt", "mp", meta, &WriteCondition::IfMatch("abc-2".into())).await.unwrap();
    assert_eq!(info.part_sizes, done.part_sizes);
    assert_eq!(info.meta.etag, "abc-2");
    drop(store);
    let store = open(dir.path()).await;
    assert_eq!(store.head_object("bkt", "mp").await.unwrap(), info);
    assert_eq!(get_range(&store, "bkt", "mp", 4..8).await.unwrap(), b"o wo");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_overwrites_and_updates_leave_one_consistent_version() {
    let (dir, store) = fresh().await;
    let store = Arc::new(store);
    put(&*store, "bkt", "hot", b"v0").await;
    let mut tasks = Vec::new();
    for i in 0..24u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                put(&*store, "bkt", "hot", format!("value {i}").as_bytes()).await;
            } else {
                let meta = ObjectMeta { tags: tags(&[("writer", &i.to_string())]), ..Default::default() };
                store.update_object_meta("bkt", "hot", meta, &WriteCondition::None).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let info = store.head_object("bkt", "hot").await.unwrap();
    let data = get(&*store, "bkt", "hot").await;
    assert_eq!(info.meta.etag, etag_of(&data), "metadata and bytes belong to the same write");
    let bucket_dir = dir.path().join("bkt");
    assert!(eventually(|| files_under(&bucket_dir).len() == 1).await, "{:?}", files_under(&bucket_dir));
    let store = Arc::into_inner(store).unwrap();
    drop(store);
    let store = open(dir.path()).await;
    assert_eq!(store.head_object("bkt", "hot").await.unwrap(), info);
    assert_eq!(get(&store, "bkt", "hot").await, data);
}

#[tokio::test]
async fn listings_report_the_checksum_type() {
    let (_dir, store) = fresh().await;
    put_with_checksum(&store, "a", b"x").await;
    put(&store, "bkt", "b", b"y").await;
    let page = store.list_objects("bkt", &ListQuery { max_keys: 10, ..Default::default() }).await.unwrap();
    assert_eq!(page.objects[0].checksum_type.as_deref(), Some("FULL_OBJECT"));
    assert_eq!(page.objects[0].checksum_algorithms, vec!["crc32".to_string()]);
    assert_eq!(page.objects[1].checksum_type, None);
}

#[tokio::test]
async fn upload_info_is_a_cheap_lookup_of_live_uploads() {
    let (_dir, store) = fresh().await;
    let meta = ObjectMeta { headers: [("content-type".to_string(), "a/b".to_string())].into(), ..Default::default() };
    let upload = store.create_multipart("bkt", "k", meta).await.unwrap();
    assert_eq!(store.upload_info("bkt", "k", &upload.upload_id).await.unwrap(), upload);
    assert!(matches!(store.upload_info("bkt", "other", &upload.upload_id).await, Err(StoreError::NoSuchUpload(_))));
    for bogus in ["", "x", "../../etc", "0123456789abcdef0123456789abcdef"] {
        assert!(matches!(store.upload_info("bkt", "k", bogus).await, Err(StoreError::NoSuchUpload(_))), "{bogus:?}");
    }
    assert!(matches!(store.upload_info("nobkt", "k", &upload.upload_id).await, Err(StoreError::NoSuchBucket(_))));
    store.abort_multipart("bkt", "k", &upload.upload_id).await.unwrap();
    assert!(matches!(store.upload_info("bkt", "k", &upload.upload_id).await, Err(StoreError::NoSuchUpload(_))));
}
