//! Bucket lifecycle and bucket config documents.

mod common;

use bytes::Bytes;
use common::*;
use smartstorage_store::{ObjectMeta, ObjectStore, StoreError, WriteCondition};
use std::fs;
use std::sync::Arc;

#[tokio::test]
async fn buckets_are_created_listed_sorted_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    for name in ["zeta", "alpha", "mid.dle"] {
        let info = store.create_bucket(name, Some("AKID")).await.unwrap();
        assert_eq!(info.owner.as_deref(), Some("AKID"));
    }
    let names: Vec<_> = store.list_buckets().await.unwrap().into_iter().map(|b| b.name).collect();
    assert_eq!(names, ["alpha", "mid.dle", "zeta"]);
    assert_eq!(store.head_bucket("alpha").await.unwrap().name, "alpha");
    store.delete_bucket("alpha").await.unwrap();
    assert!(matches!(store.head_bucket("alpha").await, Err(StoreError::NoSuchBucket(_))));
    assert!(matches!(store.delete_bucket("alpha").await, Err(StoreError::NoSuchBucket(_))));
    assert!(!dir.path().join("alpha").exists() && !dir.path().join(".smartstorage/buckets/alpha").exists());
    assert!(matches!(store.create_bucket("No_Good", None).await, Err(StoreError::InvalidBucketName { .. })));
}

#[tokio::test]
async fn creating_an_existing_bucket_names_its_owner() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(dir.path()).await);
    let racers: Vec<_> = (0..6).map(|i| {
        let store = store.clone();
        tokio::spawn(async move { store.create_bucket("shared", Some(&format!("owner{i}"))).await })
    }).collect();
    let mut winners = Vec::new();
    for racer in racers {
        match racer.await.unwrap() {
            Ok(info) => winners.push(info.owner.unwrap()),
            Err(StoreError::BucketAlreadyExists { bucket, owner }) => {
                assert_eq!(bucket, "shared");
                assert!(owner.is_some());
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(winners.len(), 1);
    match store.create_bucket("shared", None).await {
        Err(StoreError::BucketAlreadyExists { owner, .. }) => assert_eq!(owner, Some(winners[0].clone())),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_bucket_with_objects_or_uploads_is_not_deleted() {
    let (_dir, store) = fresh().await;
    put(&store, "bkt", "k", b"v").await;
    assert!(matches!(store.delete_bucket("bkt").await, Err(StoreError::BucketNotEmpty(_))));
    store.delete_object("bkt", "k", &WriteCondition::None).await.unwrap();
    let upload = store.create_multipart("bkt", "k", ObjectMeta::default()).await.unwrap();
    assert!(matches!(store.delete_bucket("bkt").await, Err(StoreError::BucketNotEmpty(_))));
    store.abort_multipart("bkt", "k", &upload.upload_id).await.unwrap();
    store.delete_bucket("bkt").await.unwrap();
    // A writer started before the delete cannot resurrect the bucket.
    store.create_bucket("bkt", None).await.unwrap();
    let mut writer = store.put_object("bkt", "late/key").await.unwrap();
    writer.write(Bytes::from_static(b"x")).await.unwrap();
    store.delete_bucket("bkt").await.unwrap();
    let result = writer.commit(meta_for(b"x"), &WriteCondition::None).await;
    assert!(matches!(result, Err(StoreError::NoSuchBucket(_))), "{result:?}");
    assert!(!_dir.path().join("bkt").exists());
}

#[tokio::test]
async fn files_the_store_does_not_own_keep_a_bucket_from_being_deleted() {
    let (dir, store) = fresh().await;
    fs::create_dir_all(dir.path().join("bkt/sub")).unwrap();
    fs::write(dir.path().join("bkt/sub/precious.txt"), b"mine").unwrap();
    assert!(matches!(store.delete_bucket("bkt").await, Err(StoreError::BucketNotEmpty(_))));
    assert!(dir.path().join("bkt/sub/precious.txt").exists());
    put(&store, "bkt", "still/usable", b"yes").await;
}

#[tokio::test]
async fn directories_that_are_not_buckets_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("Not_A_Bucket")).unwrap();
    fs::create_dir_all(dir.path().join("ab")).unwrap();
    fs::write(dir.path().join("file-not-dir"), b"").unwrap();
    // A valid name without bucket.json (made by hand) is a bucket with no owner.
    fs::create_dir_all(dir.path().join("handmade")).unwrap();
    let store = open(dir.path()).await;
    let buckets = store.list_buckets().await.unwrap();
    assert_eq!(buckets.iter().map(|b| b.name.as_str()).collect::<Vec<_>>(), ["handmade"]);
    assert_eq!(buckets[0].owner, None);
    assert!(matches!(store.head_bucket("file-not-dir").await, Err(StoreError::NoSuchBucket(_))));
}

#[tokio::test]
async fn config_documents_are_stored_replaced_removed_and_go_with_the_bucket() {
    let (dir, store) = fresh().await;
    assert_eq!(store.get_bucket_config("bkt", "policy").await.unwrap(), None);
    store.put_bucket_config("bkt", "policy", Some(Bytes::from_static(b"v1"))).await.unwrap();
    store.put_bucket_config("bkt", "policy", Some(Bytes::from_static(b"v2"))).await.unwrap();
    store.put_bucket_config("bkt", "cors", Some(Bytes::from_static(b"c"))).await.unwrap();
    assert_eq!(store.get_bucket_config("bkt", "policy").await.unwrap().as_deref(), Some(&b"v2"[..]));
    assert_eq!(fs::read(dir.path().join(".smartstorage/buckets/bkt/config/policy")).unwrap(), b"v2");
    store.put_bucket_config("bkt", "policy", None).await.unwrap();
    store.put_bucket_config("bkt", "policy", None).await.unwrap();
    assert_eq!(store.get_bucket_config("bkt", "policy").await.unwrap(), None);
    for bad in ["", "Policy", "../x", "a/b", "1st", &"k".repeat(33)] {
        assert!(store.put_bucket_config("bkt", bad, None).await.is_err(), "{bad:?}");
        assert!(store.get_bucket_config("bkt", bad).await.is_err(), "{bad:?}");
    }
    assert!(matches!(store.get_bucket_config("nope", "cors").await, Err(StoreError::NoSuchBucket(_))));

    store.delete_bucket("bkt").await.unwrap();
    store.create_bucket("bkt", None).await.unwrap();
    assert_eq!(store.get_bucket_config("bkt", "cors").await.unwrap(), None);
}
