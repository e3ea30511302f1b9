//! Small objects with fsync on are committed in batches made durable by one
//! flush: every PUT of a batch must land (or fail alone) exactly as if it had
//! been committed by itself.

mod common;

use common::*;
use smartstorage_store::{FileStore, ObjectStore, StoreError, WriteCondition};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Concurrent writers: enough to fill several batches at once.
const WRITERS: usize = 64;

/// Files still in the store's temp directory.
fn temp_files(root: &Path) -> Vec<PathBuf> {
    files_under(&root.join(".smartstorage/tmp"))
}

/// A store with fsync on (so small PUTs go through the committer) and bucket "bkt".
async fn fsync_store(dir: &Path) -> Arc<FileStore> {
    let store = Arc::new(open_with(dir, true, false).await);
    store.create_bucket("bkt", None).await.unwrap();
    store
}

/// Runs `writer(store, i)` for every i in 0..[`WRITERS`] at once; returns their results in order.
async fn run_writers<T, F>(store: &Arc<FileStore>, writer: impl Fn(Arc<FileStore>, usize) -> F) -> Vec<T>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let tasks: Vec<_> = (0..WRITERS).map(|i| tokio::spawn(writer(store.clone(), i))).collect();
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_small_puts_all_land_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = fsync_store(dir.path()).await;
    run_writers(&store, |store, i| async move {
        for round in 0..5 {
            // Keys in new directories, and overwrites of the same key.
            let data = bytes(100 + i * 37 + round, (i * 10 + round) as u64);
            put(&*store, "bkt", &format!("d{}/k{i}", i % 7), &data).await;
        }
    })
    .await;
    let expected = |i: usize| bytes(100 + i * 37 + 4, (i * 10 + 4) as u64);
    for i in 0..WRITERS {
        assert_eq!(get(&*store, "bkt", &format!("d{}/k{i}", i % 7)).await, expected(i));
    }
    drop(store);
    let store = open_with(dir.path(), true, false).await;
    for i in 0..WRITERS {
        assert_eq!(get(&store, "bkt", &format!("d{}/k{i}", i % 7)).await, expected(i));
    }
    assert!(eventually(|| temp_files(dir.path()).is_empty()).await, "temp files left: {:?}", temp_files(dir.path()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_condition_fails_only_its_own_put() {
    let dir = tempfile::tempdir().unwrap();
    let store = fsync_store(dir.path()).await;
    // Every writer races for the same key with If-None-Match; each also writes a key of its own.
    let outcomes = run_writers(&store, |store, i| async move {
        let data = format!("writer {i}").into_bytes();
        let contested = put_chunked(&*store, "bkt", "contested", &data, 64, &WriteCondition::IfNoneMatch).await;
        let own = put_chunked(&*store, "bkt", &format!("own/{i}"), &data, 64, &WriteCondition::None).await;
        (data, contested, own)
    })
    .await;
    let mut winners = Vec::new();
    for (data, contested, own) in outcomes {
        own.unwrap();
        match contested {
            Ok(_) => winners.push(data),
            Err(StoreError::PreconditionFailed) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one If-None-Match PUT wins");
    assert_eq!(get(&*store, "bkt", "contested").await, winners[0]);
    for i in 0..WRITERS {
        assert_eq!(get(&*store, "bkt", &format!("own/{i}")).await, format!("writer {i}").into_bytes());
    }
}

#[tokio::test]
async fn a_put_into_a_deleted_bucket_fails_with_no_such_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let store = fsync_store(dir.path()).await;
    let mut writer = store.put_object("bkt", "k").await.unwrap();
    writer.write(bytes::Bytes::from_static(b"late")).await.unwrap();
    store.delete_bucket("bkt").await.unwrap();
    let outcome = writer.commit(meta_for(b"late"), &WriteCondition::None).await;
    assert!(matches!(outcome, Err(StoreError::NoSuchBucket(_))), "{outcome:?}");
    assert!(eventually(|| temp_files(dir.path()).is_empty()).await, "temp files left: {:?}", temp_files(dir.path()));
}
