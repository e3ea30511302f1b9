//! Multipart uploads: parts, completion without copying, abort and cleanup.

mod common;

use bytes::Bytes;
use common::*;
use smartstorage_store::{Checksums, ObjectMeta, ObjectStore, StoreError, WriteCondition};
use std::time::{Duration, Instant, SystemTime};

async fn upload_part(store: &dyn ObjectStore, key: &str, id: &str, n: u32, data: &[u8]) -> String {
    let mut writer = store.put_part("bkt", key, id, n).await.unwrap();
    for piece in data.chunks(100_000) {
        writer.write(Bytes::copy_from_slice(piece)).await.unwrap();
    }
    let checksums: Checksums = [("crc32".to_string(), format!("c{n}"))].into();
    writer.commit(etag_of(data), checksums).await.unwrap().etag
}

#[tokio::test]
async fn completing_joins_parts_and_ranges_span_their_boundaries() {
    let (dir, store) = fresh().await;
    let meta = ObjectMeta { etag: "ignored".into(), headers: [("content-type".to_string(), "video/mp4".to_string())].into(), ..Default::default() };
    let upload = store.create_multipart("bkt", "movie", meta).await.unwrap();
    assert_eq!(upload.meta.etag, "");
    let parts_data: Vec<Vec<u8>> = vec![bytes(700_000, 1), bytes(600_001, 2), bytes(5, 3)];
    let mut parts = Vec::new();
    for (i, data) in parts_data.iter().enumerate() {
        parts.push(((i + 1) as u32, upload_part(&store, "movie", &upload.upload_id, (i + 1) as u32, data).await));
    }
    let whole: Vec<u8> = parts_data.concat();
    let final_meta = ObjectMeta { etag: "abc-3".into(), headers: upload.meta.headers.clone(), ..Default::default() };
    let info = store.complete_multipart("bkt", "movie", &upload.upload_id, &parts, final_meta.clone(), &WriteCondition::None).await.unwrap();
    assert_eq!(info.size, whole.len() as u64);
    assert_eq!(info.meta, final_meta);
    assert_eq!(info.part_sizes, vec![700_000, 600_001, 5]);
    assert_eq!(info.part_checksums[1].get("crc32").map(String::as_str), Some("c2"));
    assert_eq!(store.head_object("bkt", "movie").await.unwrap(), info);
    assert_eq!(get(&store, "bkt", "movie").await, whole);
    for range in [699_990..700_010, 0..1_300_006, 1_300_000..1_300_006, 700_000..1_300_001, 1_300_001..1_300_003] {
        let got = get_range(&store, "bkt", "movie", range.start as u64..range.end as u64).await.unwrap();
        assert!(got == whole[range.clone()], "range {range:?}");
    }
    // The upload is gone, on disk too.
    assert!(store.list_uploads("bkt").await.unwrap().is_empty());
    assert!(matches!(store.list_parts("bkt", "movie", &upload.upload_id).await, Err(StoreError::NoSuchUpload(_))));
    // Its part files are removed just after the answer.
    assert!(eventually(|| files_under(&dir.path().join(".smartstorage/multipart/bkt")).is_empty()).await);
    // And the object survives a restart with its part layout.
    drop(store);
    let store = open(dir.path()).await;
    assert_eq!(store.head_object("bkt", "movie").await.unwrap(), info);
    assert_eq!(get_range(&store, "bkt", "movie", 699_999..700_001).await.unwrap(), &whole[699_999..700_001]);
}

#[tokio::test]
async fn a_subset_of_parts_can_be_completed_and_the_rest_is_removed() {
    let (dir, store) = fresh().await;
    let upload = store.create_multipart("bkt", "k", ObjectMeta::default()).await.unwrap();
    let e1 = upload_part(&store, "k", &upload.upload_id, 1, b"one").await;
    upload_part(&store, "k", &upload.upload_id, 2, b"two").await;
    let e3 = upload_part(&store, "k", &upload.upload_id, 3, b"three").await;
    store.complete_multipart("bkt", "k", &upload.upload_id, &[(1, e1), (3, format!("\"{e3}\""))], ObjectMeta::default(), &WriteCondition::None).await.unwrap();
    assert_eq!(get(&store, "bkt", "k").await, b"onethree");
    assert!(eventually(|| files_under(&dir.path().join(".smartstorage/multipart")).is_empty()).await);
}

#[tokio::test]
async fn reuploading_a_part_replaces_it() {
    let (dir, store) = fresh().await;
    let upload = store.create_multipart("bkt", "k", ObjectMeta::default()).await.unwrap();
    upload_part(&store, "k", &upload.upload_id, 1, b"first").await;
    let e = upload_part(&store, "k", &upload.upload_id, 1, b"second").await;
    let (_, parts) = store.list_parts("bkt", "k", &upload.upload_id).await.unwrap();
    assert_eq!(parts.len(), 1);
    assert_eq!((parts[0].etag.as_str(), parts[0].size), (e.as_str(), 6));
    // One data file and one part document: the replaced data is gone.
    assert_eq!(files_under(&dir.path().join(format!(".smartstorage/multipart/bkt/{}", upload.upload_id))).len(), 3);
    store.complete_multipart("bkt", "k", &upload.upload_id, &[(1, e)], ObjectMeta::default(), &WriteCondition::None).await.unwrap();
    assert_eq!(get(&store, "bkt", "k").await, b"second");
}

#[tokio::test]
async fn completing_with_a_wrong_etag_missing_or_unordered_part_is_invalid_part() {
    let (_dir, store) = fresh().await;
    let upload = store.create_multipart("bkt", "k", ObjectMeta::default()).await.unwrap();
    let id = upload.upload_id.clone();
    let e1 = upload_part(&store, "k", &id, 1, b"a").await;
    let e2 = upload_part(&store, "k", &id, 2, b"b").await;
    let cases: Vec<(Vec<(u32, String)>, u32)> = vec![
        (vec![(1, e1.clone()), (2, "wrong".into())], 2),
        (vec![(1, e1.clone()), (3, e2.clone())], 3),
        (vec![(2, e2.clone()), (1, e1.clone())], 1),
        (vec![(1, e1.clone()), (1, e1.clone())], 1),
    ];
    for (parts, bad) in cases {
        match store.complete_multipart("bkt", "k", &id, &parts, ObjectMeta::default(), &WriteCondition::None).await {
            Err(StoreError::InvalidPart { part_number }) => assert_eq!(part_number, bad),
            other => panic!("{other:?}"),
        }
    }
    // Failed completions leave the upload intact and no object behind.
    assert!(matches!(store.head_object("bkt", "k").await, Err(StoreError::NoSuchKey(_))));
    store.complete_multipart("bkt", "k", &id, &[(1, e1), (2, e2)], ObjectMeta::default(), &WriteCondition::None).await.unwrap();
    assert_eq!(get(&store, "bkt", "k").await, b"ab");
}

#[tokio::test]
async fn a_failed_condition_leaves_the_upload_ready_to_retry() {
    let (dir, store) = fresh().await;
    put(&store, "bkt", "k", b"existing").await;
    let upload = store.create_multipart("bkt", "k", ObjectMeta::default()).await.unwrap();
    let e1 = upload_part(&store, "k", &upload.upload_id, 1, b"new").await;
    let parts = [(1, e1)];
    let result = store.complete_multipart("bkt", "k", &upload.upload_id, &parts, ObjectMeta::default(), &WriteCondition::IfNoneMatch).await;
    assert!(matches!(result, Err(StoreError::PreconditionFailed)));
    assert_eq!(get(&store, "bkt", "k").await, b"existing");
    let data_files = files_under(&dir.path().join("bkt")).len();
    assert_eq!(data_files, 1, "only the existing (inline) object's metadata file");
    store.complete_multipart("bkt", "k", &upload.upload_id, &parts, ObjectMeta::default(), &WriteCondition::IfMatch(etag_of(b"existing"))).await.unwrap();
    assert_eq!(get(&store, "bkt", "k").await, b"new");
}

#[tokio::test]
async fn abort_removes_the_upload_and_a_late_part_cannot_bring_it_back() {
    let (dir, store) = fresh().await;
    let upload = store.create_multipart("bkt", "k", ObjectMeta::default()).await.unwrap();
    upload_part(&store, "k", &upload.upload_id, 1, b"one").await;
    let mut late = store.put_part("bkt", "k", &upload.upload_id, 2).await.unwrap();
    late.write(Bytes::from(bytes(2 * 1024 * 1024, 9))).await.unwrap();
    store.abort_multipart("bkt", "k", &upload.upload_id).await.unwrap();
    let result = late.commit("e".into(), Default::default()).await;
    assert!(matches!(result, Err(StoreError::NoSuchUpload(_))), "{result:?}");
    assert!(matches!(store.abort_multipart("bkt", "k", &upload.upload_id).await, Err(StoreError::NoSuchUpload(_))));
    assert!(matches!(store.put_part("bkt", "k", &upload.upload_id, 3).await, Err(StoreError::NoSuchUpload(_))));
    assert!(eventually(|| files_under(&dir.path().join(".smartstorage/multipart")).is_empty()).await);
    assert!(eventually(|| files_under(&dir.path().join(".smartstorage/tmp")).is_empty()).await);
    store.delete_bucket("bkt").await.unwrap();
}

#[tokio::test]
async fn upload_ids_are_checked_against_key_and_shape() {
    let (_dir, store) = fresh().await;
    let upload = store.create_multipart("bkt", "k", ObjectMeta::default()).await.unwrap();
    assert!(upload.upload_id.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert!(matches!(store.put_part("bkt", "other", &upload.upload_id, 1).await, Err(StoreError::NoSuchUpload(_))));
    for bogus in ["", "../../etc", "0123456789ABCDEF0123456789ABCDEF", "x"] {
        assert!(matches!(store.list_parts("bkt", "k", bogus).await, Err(StoreError::NoSuchUpload(_))), "{bogus:?}");
    }
    assert!(matches!(store.put_part("bkt", "k", &upload.upload_id, 0).await, Err(StoreError::InvalidPart { part_number: 0 })));
    assert!(matches!(store.put_part("bkt", "k", &upload.upload_id, 10_001).await, Err(StoreError::InvalidPart { .. })));
}

#[tokio::test]
async fn uploads_are_listed_in_key_then_time_order_and_old_ones_cleaned_up() {
    let (_dir, store) = fresh().await;
    let b1 = store.create_multipart("bkt", "b", ObjectMeta::default()).await.unwrap();
    let a1 = store.create_multipart("bkt", "a", ObjectMeta::default()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let cutoff = SystemTime::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let a2 = store.create_multipart("bkt", "a", ObjectMeta::default()).await.unwrap();
    let listed: Vec<_> = store.list_uploads("bkt").await.unwrap().into_iter().map(|u| u.upload_id).collect();
    assert_eq!(listed, [a1.upload_id.clone(), a2.upload_id.clone(), b1.upload_id.clone()]);
    assert_eq!(store.cleanup_uploads(cutoff).await.unwrap(), 2);
    let listed: Vec<_> = store.list_uploads("bkt").await.unwrap().into_iter().map(|u| u.upload_id).collect();
    assert_eq!(listed, [a2.upload_id]);
}

#[tokio::test]
async fn completing_128_parts_takes_milliseconds_not_copies() {
    let (_dir, store) = fresh().await;
    let upload = store.create_multipart("bkt", "many", ObjectMeta::default()).await.unwrap();
    let mut parts = Vec::new();
    for n in 1..=128u32 {
        parts.push((n, upload_part(&store, "many", &upload.upload_id, n, &[n as u8; 1000]).await));
    }
    let started = Instant::now();
    let info = store.complete_multipart("bkt", "many", &upload.upload_id, &parts, ObjectMeta::default(), &WriteCondition::None).await.unwrap();
    let elapsed = started.elapsed();
    eprintln!("completing 128 parts took {elapsed:?}");
    assert!(elapsed < Duration::from_millis(500), "took {elapsed:?}");
    assert_eq!(info.part_sizes.len(), 128);
    let body = get(&store, "bkt", "many").await;
    assert_eq!(body.len(), 128_000);
    assert!(body.chunks(1000).enumerate().all(|(i, c)| c.iter().all(|b| *b == (i + 1) as u8)));
}

#[tokio::test]
async fn a_reader_of_a_multipart_object_survives_its_replacement() {
    let (_dir, store) = fresh().await;
    let upload = store.create_multipart("bkt", "k", ObjectMeta::default()).await.unwrap();
    let e1 = upload_part(&store, "k", &upload.upload_id, 1, &[1; 600_000]).await;
    let e2 = upload_part(&store, "k", &upload.upload_id, 2, &[2; 600_000]).await;
    store.complete_multipart("bkt", "k", &upload.upload_id, &[(1, e1), (2, e2)], ObjectMeta::default(), &WriteCondition::None).await.unwrap();
    let reader = store.open_object("bkt", "k").await.unwrap();
    store.delete_object("bkt", "k", &WriteCondition::None).await.unwrap();
    put(&store, "bkt", "k", b"replacement").await;
    let body = collect(reader.stream(599_990..600_010)).await.unwrap();
    assert_eq!(body, [vec![1u8; 10], vec![2u8; 10]].concat());
}
