//! DeleteBucket racing writes into the same bucket, many rounds, through the
//! store API. Found by `rust/smartstorage/tests/reliability_races.rs`:
//!
//! - a PUT landing its data file while DeleteBucket emptied the directory made
//!   DeleteBucket fail with an I/O error (ENOTEMPTY → 500 InternalError);
//! - DeleteBucket removed the data file of an in-flight PUT, then gave up
//!   (a file it does not own kept the directory non-empty) and let that PUT
//!   commit metadata naming a deleted data file: an acknowledged object that
//!   could not be read;
//! - CreateMultipartUpload racing DeleteBucket failed with an I/O error
//!   instead of NoSuchBucket.
//!
//! Every outcome must be a serial one: DeleteBucket succeeds (and then no
//! write did), or fails with BucketNotEmpty; writes succeed (and read back
//! whole) or fail with NoSuchBucket.

use bytes::Bytes;
use smartstorage_store::{
    FileStore, FileStoreConfig, ObjectMeta, ObjectStore, StoreError, WriteCondition,
};
use std::sync::Arc;

const ROUNDS: usize = 150;
const WRITERS: usize = 4;

async fn open(dir: &std::path::Path) -> Arc<FileStore> {
    Arc::new(
        FileStore::open(FileStoreConfig {
            root: dir.to_path_buf(),
            fsync: false,
            clean_slate: false,
        })
        .await
        .unwrap(),
    )
}

async fn put(store: Arc<FileStore>, key: String, data: Vec<u8>) -> Result<(), StoreError> {
    let mut w = store.put_object("racy", &key).await?;
    for chunk in data.chunks(16 * 1024) {
        w.write(Bytes::copy_from_slice(chunk)).await?;
    }
    w.commit(
        ObjectMeta {
            etag: format!("{}", data.len()),
            ..Default::default()
        },
        &WriteCondition::None,
    )
    .await?;
    Ok(())
}

async fn read(store: &FileStore, key: &str) -> Result<Vec<u8>, StoreError> {
    use futures_util::StreamExt;
    let reader = store.open_object("racy", key).await?;
    let size = reader.info().size;
    let mut stream = reader.stream(0..size);
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}

/// One round: `WRITERS` PUTs and a DeleteBucket at once.
async fn round(store: &Arc<FileStore>, foreign_file: Option<&std::path::Path>, round: usize) {
    match store.create_bucket("racy", None).await {
        Ok(_) | Err(StoreError::BucketAlreadyExists { .. }) => {}
        Err(e) => panic!("round {round}: create bucket: {e}"),
    }
    if let Some(path) = foreign_file {
        std::fs::write(path, b"not the store's").unwrap();
    }
    let data: Vec<Vec<u8>> = (0..WRITERS)
        .map(|w| vec![(round * 7 + w) as u8; 40_000 + w * 1000])
        .collect();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| tokio::spawn(put(store.clone(), format!("k{w}"), data[w].clone())))
        .collect();
    let deleter = {
        let store = store.clone();
        tokio::spawn(async move { store.delete_bucket("racy").await })
    };
    let mut acked = Vec::new();
    for (w, h) in writers.into_iter().enumerate() {
        match h.await.unwrap() {
            Ok(()) => acked.push(w),
            Err(StoreError::NoSuchBucket(_)) => {}
            Err(e) => panic!(
                "round {round}: writer {w} failed with {e} (only NoSuchBucket is a serial outcome)"
            ),
        }
    }
    match deleter.await.unwrap() {
        Ok(()) => {
            assert!(
                acked.is_empty(),
                "round {round}: DeleteBucket succeeded but writes {acked:?} were acknowledged"
            );
            assert!(
                foreign_file.is_none(),
                "round {round}: a bucket holding a foreign file was deleted"
            );
        }
        Err(StoreError::BucketNotEmpty(_)) => {}
        Err(e) => panic!(
            "round {round}: DeleteBucket failed with {e} (only BucketNotEmpty is a serial outcome)"
        ),
    }
    for w in acked {
        let got = read(store, &format!("k{w}")).await;
        assert!(
            matches!(&got, Ok(bytes) if *bytes == data[w]),
            "round {round}: acknowledged write k{w} reads back as {:?}",
            got.map(|b| b.len())
        );
    }
    // Empty the bucket for the next round (it may be gone already).
    if store.head_bucket("racy").await.is_ok() {
        for w in 0..WRITERS {
            let _ = store
                .delete_object("racy", &format!("k{w}"), &WriteCondition::None)
                .await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn delete_bucket_racing_puts_has_serial_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    for r in 0..ROUNDS {
        round(&store, None, r).await;
        if store.head_bucket("racy").await.is_ok() {
            store
                .delete_bucket("racy")
                .await
                .unwrap_or_else(|e| panic!("round {r}: deleting the emptied bucket: {e}"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn delete_bucket_that_stays_non_empty_never_loses_an_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let foreign = dir.path().join("racy").join("README.txt");
    for r in 0..ROUNDS {
        round(&store, Some(&foreign), r).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn create_multipart_racing_delete_bucket_fails_only_with_no_such_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    for r in 0..ROUNDS {
        store.create_bucket("racy", None).await.unwrap();
        let creator = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .create_multipart("racy", "k", ObjectMeta::default())
                    .await
            })
        };
        let deleted = store.delete_bucket("racy").await;
        let created = creator.await.unwrap();
        match (&deleted, &created) {
            (Ok(()), Err(StoreError::NoSuchBucket(_))) => {}
            (Err(StoreError::BucketNotEmpty(_)), Ok(_)) => {}
            other => panic!("round {r}: not a serial outcome: {other:?}"),
        }
        if let Ok(info) = created {
            store
                .abort_multipart("racy", "k", &info.upload_id)
                .await
                .unwrap();
            store.delete_bucket("racy").await.unwrap();
        }
        // No upload directory of the deleted bucket remains (an empty
        // `multipart/racy` directory recreated by the losing create is harmless).
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join(".smartstorage/multipart/racy"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(
            leftovers.is_empty(),
            "round {r}: upload directories of a deleted bucket remain: {leftovers:?}"
        );
    }
}
