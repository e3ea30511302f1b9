//! Get/Put/DeleteBucketPolicy over HTTP: storage, validation, persistence,
//! and removal with the bucket (auth off: policies are stored, never enforced).

mod common;

use bytes::Bytes;
use common::{TestResponse, TestServer};
use http::{Method, StatusCode};
use smartstorage_s3::{ServerConfig, start_server};
use smartstorage_store::{FileStore, FileStoreConfig};
use std::sync::Arc;

fn code(resp: &TestResponse) -> String {
    let text = resp.text();
    text.split_once("<Code>").and_then(|(_, r)| r.split_once("</Code>")).map(|(c, _)| c.to_string()).unwrap_or_default()
}

const PUBLIC_READ: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::pol/*"]}]}"#;

async fn put_policy(s: &TestServer, bucket: &str, doc: &str) -> TestResponse {
    s.request(Method::PUT, &format!("/{bucket}?policy"), &[], Bytes::from(doc.to_string())).await
}

#[tokio::test]
async fn policy_round_trips_and_is_deleted() {
    let s = TestServer::start().await;
    assert_eq!(s.put("/pol", "").await.status, StatusCode::OK);
    let missing = s.get("/pol?policy").await;
    assert_eq!((missing.status, code(&missing).as_str()), (StatusCode::NOT_FOUND, "NoSuchBucketPolicy"));
    assert!(missing.text().contains("<BucketName>pol</BucketName>"));

    assert_eq!(put_policy(&s, "pol", PUBLIC_READ).await.status, StatusCode::NO_CONTENT);
    let got = s.get("/pol?policy").await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.text(), PUBLIC_READ);
    assert_eq!(got.header("content-type"), Some("application/json"));

    let deleted = s.request(Method::DELETE, "/pol?policy", &[], Bytes::new()).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(code(&s.get("/pol?policy").await), "NoSuchBucketPolicy");
    // Deleting again is still 204, as S3 answers.
    assert_eq!(s.request(Method::DELETE, "/pol?policy", &[], Bytes::new()).await.status, StatusCode::NO_CONTENT);
    s.stop().await;
}

#[tokio::test]
async fn policy_operations_on_a_missing_bucket_are_no_such_bucket() {
    let s = TestServer::start().await;
    assert_eq!(code(&s.get("/nobucket?policy").await), "NoSuchBucket");
    assert_eq!(code(&put_policy(&s, "nobucket", PUBLIC_READ).await), "NoSuchBucket");
    assert_eq!(code(&s.request(Method::DELETE, "/nobucket?policy", &[], Bytes::new()).await), "NoSuchBucket");
    s.stop().await;
}

#[tokio::test]
async fn invalid_policies_are_malformed_policy_and_not_stored() {
    let s = TestServer::start().await;
    s.put("/pol", "").await;
    let too_big = format!(r#"{{"Id":"{}","Statement":[]}}"#, "x".repeat(21 * 1024));
    for doc in [
        "",
        "not json",
        "{\"Version\":\"2012-10-17\"}",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other-bucket/*"}]}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pol/*","Condition":{"StringAlmostEquals":{"s3:prefix":"a"}}}]}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pol/*"}]}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::pol/*"}]}"#,
        &too_big,
    ] {
        let resp = put_policy(&s, "pol", doc).await;
        assert_eq!((resp.status, code(&resp).as_str()), (StatusCode::BAD_REQUEST, "MalformedPolicy"), "{doc:.80}");
    }
    assert_eq!(code(&s.get("/pol?policy").await), "NoSuchBucketPolicy");
    s.stop().await;
}

#[tokio::test]
async fn with_auth_off_policies_never_block() {
    let s = TestServer::start().await;
    s.put("/pol", "").await;
    s.put("/pol/k", "v").await;
    let deny_all = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::pol","arn:aws:s3:::pol/*"]}]}"#;
    assert_eq!(put_policy(&s, "pol", deny_all).await.status, StatusCode::NO_CONTENT);
    assert_eq!(s.get("/pol/k").await.text(), "v");
    assert_eq!(s.put("/pol/k2", "w").await.status, StatusCode::OK);
    s.stop().await;
}

#[tokio::test]
async fn policies_persist_across_restarts_and_go_with_their_bucket() {
    let s = TestServer::start().await;
    s.put("/pol", "").await;
    put_policy(&s, "pol", PUBLIC_READ).await;
    let mut s = s;
    if let Some(server) = s.server.take() {
        server.shutdown().await;
    }
    let store = FileStore::open(FileStoreConfig { root: s.dir.path().to_path_buf(), fsync: false, clean_slate: false })
        .await
        .expect("reopen");
    let server = start_server("127.0.0.1", 0, ServerConfig::default(), Arc::new(store)).await.expect("restart");
    let s = TestServer { port: server.port(), server: Some(server), dir: s.dir };
    assert_eq!(s.get("/pol?policy").await.text(), PUBLIC_READ);

    assert_eq!(s.request(Method::DELETE, "/pol", &[], Bytes::new()).await.status, StatusCode::NO_CONTENT);
    s.put("/pol", "").await;
    assert_eq!(code(&s.get("/pol?policy").await), "NoSuchBucketPolicy");
    s.stop().await;
}
