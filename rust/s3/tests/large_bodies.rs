//! Bodies large enough to be hashed on their own thread (8 MiB and up) while
//! they are received and written: the ETag, Content-MD5 verification and the
//! stored bytes must be exactly those of inline hashing; HEAD answers from
//! metadata alone.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use common::TestServer;
use http::{Method, StatusCode};
use md5::{Digest, Md5};

fn body(len: usize) -> Bytes {
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    Bytes::from(out)
}

#[tokio::test]
async fn a_large_put_has_the_md5_etag_and_reads_back_whole() {
    let s = TestServer::start().await;
    assert_eq!(s.put("/bk1", "").await.status, StatusCode::OK);
    let data = body(12 * 1024 * 1024 + 7);
    let md5 = Md5::digest(&data);
    let content_md5 = BASE64.encode(md5);
    let put = s.request(Method::PUT, "/bk1/big", &[("content-md5", content_md5.as_str())], data.clone()).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text());
    assert_eq!(put.header("etag"), Some(format!("\"{}\"", hex::encode(md5)).as_str()));
    let get = s.get("/bk1/big").await;
    assert_eq!(get.status, StatusCode::OK);
    assert_eq!(get.body.len(), data.len());
    assert!(get.body == data, "GET returned different bytes");
    let head = s.request(Method::HEAD, "/bk1/big", &[], "").await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.header("content-length"), Some(data.len().to_string().as_str()));
    assert_eq!(head.header("etag"), put.header("etag"));
    assert!(head.body.is_empty());
}

#[tokio::test]
async fn a_large_put_with_a_wrong_content_md5_is_rejected_and_not_stored() {
    let s = TestServer::start().await;
    assert_eq!(s.put("/bk1", "").await.status, StatusCode::OK);
    let data = body(9 * 1024 * 1024);
    let wrong = BASE64.encode(Md5::digest(b"something else"));
    let put = s.request(Method::PUT, "/bk1/big", &[("content-md5", wrong.as_str())], data).await;
    assert_eq!(put.status, StatusCode::BAD_REQUEST, "{}", put.text());
    assert!(put.text().contains("<Code>BadDigest</Code>"), "{}", put.text());
    assert_eq!(s.request(Method::HEAD, "/bk1/big", &[], "").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn head_with_a_range_reports_the_partial_length_without_a_body() {
    let s = TestServer::start().await;
    assert_eq!(s.put("/bk1", "").await.status, StatusCode::OK);
    assert_eq!(s.put("/bk1/small", body(10_000)).await.status, StatusCode::OK);
    let head = s.request(Method::HEAD, "/bk1/small", &[("range", "bytes=100-199")], "").await;
    assert_eq!(head.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(head.header("content-length"), Some("100"));
    assert_eq!(head.header("content-range"), Some("bytes 100-199/10000"));
    assert!(head.body.is_empty());
    let get = s.request(Method::GET, "/bk1/small", &[("range", "bytes=100-199")], "").await;
    assert_eq!(get.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(&get.body[..], &body(10_000)[100..200]);
}
