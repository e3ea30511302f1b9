//! Bucket operations over a real server.

mod common;

use common::TestServer;
use http::{Method, StatusCode};

#[tokio::test]
async fn create_list_head_delete_bucket() {
    let s = TestServer::start().await;
    assert_eq!(s.put("/alpha", "").await.status, StatusCode::OK);
    assert_eq!(s.put("/beta", "").await.status, StatusCode::OK);
    let list = s.get("/").await;
    assert_eq!(list.status, StatusCode::OK);
    let text = list.text();
    assert!(text.contains("<Name>alpha</Name>") && text.contains("<Name>beta</Name>"), "{text}");
    assert!(text.find("alpha") < text.find("beta"));
    assert!(text.contains("<Owner><ID>"));
    assert_eq!(s.request(Method::HEAD, "/alpha", &[], "").await.status, StatusCode::OK);
    assert_eq!(s.request(Method::HEAD, "/gamma", &[], "").await.status, StatusCode::NOT_FOUND);
    assert_eq!(s.request(Method::DELETE, "/alpha", &[], "").await.status, StatusCode::NO_CONTENT);
    assert_eq!(s.request(Method::HEAD, "/alpha", &[], "").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bucket_errors_match_s3() {
    let s = TestServer::start().await;
    s.put("/bk1", "").await;
    let again = s.put("/bk1", "").await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.text().contains("BucketAlreadyOwnedByYou"));
    for bad in ["/ab", "/UPPER", "/192.168.0.1", "/-dash", "/a..b"] {
        let r = s.put(bad, "").await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(r.text().contains("InvalidBucketName"), "{bad}: {}", r.text());
    }
    s.put("/bk1/k", "x").await;
    let r = s.request(Method::DELETE, "/bk1", &[], "").await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.text().contains("BucketNotEmpty"));
    let r = s.request(Method::DELETE, "/nope", &[], "").await;
    assert!(r.text().contains("NoSuchBucket"));
    let r = s.put("/bk2", "<CreateBucketConfiguration><LocationConstraint>").await;
    assert!(r.text().contains("MalformedXML"), "{}", r.text());
}

#[tokio::test]
async fn location_and_versioning() {
    let s = TestServer::start().await;
    s.put("/bk1", "").await;
    let r = s.get("/bk1?location").await;
    assert!(r.text().contains("<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"), "{}", r.text());
    let r = s.get("/bk1?versioning").await;
    assert!(r.text().contains("<VersioningConfiguration"));
}

#[tokio::test]
async fn virtual_host_style_requests_reach_the_bucket() {
    let s = TestServer::start().await;
    s.put("/vhost", "").await;
    let host = format!("vhost.localhost:{}", s.port);
    let r = s.request(Method::PUT, "/dir/file.txt", &[("host", &host)], "virtual").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(s.get("/vhost/dir/file.txt").await.text(), "virtual");
}

#[tokio::test]
async fn health_answers_json() {
    let s = TestServer::start().await;
    let r = s.get("/_smartstorage/health").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text(), r#"{"status":"ok"}"#);
}

#[tokio::test]
async fn garbage_requests_get_errors_and_the_server_keeps_serving() {
    let s = TestServer::start().await;
    let out = s.raw(b"GARBAGE\r\n\r\n", std::time::Duration::from_secs(2)).await;
    assert!(out.starts_with(b"HTTP/1.1 400") || out.is_empty());
    let huge = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(1_000_000));
    let out = s.raw(huge.as_bytes(), std::time::Duration::from_secs(2)).await;
    assert!(out.starts_with(b"HTTP/1.1 431") || out.is_empty(), "{}", String::from_utf8_lossy(&out[..out.len().min(100)]));
    assert_eq!(s.get("/").await.status, StatusCode::OK);
}
