//! Object operations over a real server: PUT/GET/HEAD/DELETE, ranges,
//! conditionals, metadata, copies, DeleteObjects, weird keys.

mod common;

use common::TestServer;
use http::{Method, StatusCode};

async fn server_with_bucket() -> TestServer {
    let s = TestServer::start().await;
    assert_eq!(s.put("/bk1", "").await.status, StatusCode::OK);
    s
}

#[tokio::test]
async fn put_then_get_returns_the_bytes_etag_and_metadata() {
    let s = server_with_bucket().await;
    let put = s
        .request(Method::PUT, "/bk1/hello.txt", &[("content-type", "text/plain"), ("x-amz-meta-Color", "Blue Sky"), ("cache-control", "no-cache")], "hello world")
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text());
    assert_eq!(put.header("etag"), Some("\"5eb63bbbe01eeed093cb22bb8f5acdc3\""));
    assert!(put.header("x-amz-request-id").is_some());
    assert!(put.header("x-amz-id-2").is_some());
    let get = s.get("/bk1/hello.txt").await;
    assert_eq!(get.status, StatusCode::OK);
    assert_eq!(get.text(), "hello world");
    assert_eq!(get.header("content-type"), Some("text/plain"));
    assert_eq!(get.header("x-amz-meta-color"), Some("Blue Sky"));
    assert_eq!(get.header("cache-control"), Some("no-cache"));
    assert_eq!(get.header("content-length"), Some("11"));
    assert!(get.header("last-modified").is_some());
    let head = s.request(Method::HEAD, "/bk1/hello.txt", &[], "").await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.header("content-length"), Some("11"));
    assert!(head.body.is_empty());
}

#[tokio::test]
async fn default_content_type_is_binary_octet_stream() {
    let s = server_with_bucket().await;
    s.put("/bk1/k", "x").await;
    assert_eq!(s.get("/bk1/k").await.header("content-type"), Some("binary/octet-stream"));
}

#[tokio::test]
async fn missing_key_and_bucket_give_s3_errors() {
    let s = server_with_bucket().await;
    let r = s.get("/bk1/nope").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.text().contains("<Code>NoSuchKey</Code>"), "{}", r.text());
    assert!(r.text().contains("<Resource>/bk1/nope</Resource>"));
    let r = s.get("/nobucket/k").await;
    assert!(r.text().contains("<Code>NoSuchBucket</Code>"), "{}", r.text());
    let r = s.request(Method::HEAD, "/bk1/nope", &[], "").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.is_empty());
}

#[tokio::test]
async fn ranges_answer_206_and_416() {
    let s = server_with_bucket().await;
    s.put("/bk1/r", "0123456789").await;
    let cases = [("bytes=2-4", "234", "bytes 2-4/10"), ("bytes=7-", "789", "bytes 7-9/10"), ("bytes=-3", "789", "bytes 7-9/10"), ("bytes=5-100", "56789", "bytes 5-9/10")];
    for (range, body, content_range) in cases {
        let r = s.request(Method::GET, "/bk1/r", &[("range", range)], "").await;
        assert_eq!(r.status, StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(r.text(), body, "{range}");
        assert_eq!(r.header("content-range"), Some(content_range), "{range}");
    }
    let r = s.request(Method::GET, "/bk1/r", &[("range", "bytes=10-")], "").await;
    assert_eq!(r.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert!(r.text().contains("<Code>InvalidRange</Code>"));
    assert_eq!(r.header("content-range"), Some("bytes */10"));
}

#[tokio::test]
async fn conditional_reads_follow_rfc_9110() {
    let s = server_with_bucket().await;
    let etag = s.put("/bk1/c", "data").await.header("etag").unwrap().to_string();
    let r = s.request(Method::GET, "/bk1/c", &[("if-none-match", &etag)], "").await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    let r = s.request(Method::GET, "/bk1/c", &[("if-match", "\"other\"")], "").await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
    let r = s.request(Method::GET, "/bk1/c", &[("if-match", &etag)], "").await;
    assert_eq!(r.status, StatusCode::OK);
    let r = s.request(Method::GET, "/bk1/c", &[("if-modified-since", "Sun, 01 Jan 2090 00:00:00 GMT")], "").await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    let r = s.request(Method::GET, "/bk1/c", &[("if-unmodified-since", "Sat, 01 Jan 2000 00:00:00 GMT")], "").await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
}

#[tokio::test]
async fn conditional_create_lets_exactly_one_racer_win() {
    let s = server_with_bucket().await;
    let mut tasks = Vec::new();
    let s = std::sync::Arc::new(s);
    for i in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.request(Method::PUT, "/bk1/race", &[("if-none-match", "*")], format!("writer {i}")).await.status
        }));
    }
    let mut ok = 0;
    let mut failed = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::OK => ok += 1,
            StatusCode::PRECONDITION_FAILED => failed += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((ok, failed), (1, 7));
    let r = s.request(Method::PUT, "/bk1/race", &[("if-match", "\"nope\"")], "x").await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
}

#[tokio::test]
async fn content_md5_mismatch_is_bad_digest_and_stores_nothing() {
    let s = server_with_bucket().await;
    let r = s.request(Method::PUT, "/bk1/md5", &[("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")], "not empty").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("<Code>BadDigest</Code>"), "{}", r.text());
    assert_eq!(s.get("/bk1/md5").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn crc32_header_is_verified_and_returned_with_checksum_mode() {
    let s = server_with_bucket().await;
    // CRC32 of "hello" is 0x3610a686 → base64 NhCmhg==
    let r = s.request(Method::PUT, "/bk1/c32", &[("x-amz-checksum-crc32", "NhCmhg==")], "hello").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("x-amz-checksum-crc32"), Some("NhCmhg=="));
    let g = s.request(Method::GET, "/bk1/c32", &[("x-amz-checksum-mode", "ENABLED")], "").await;
    assert_eq!(g.header("x-amz-checksum-crc32"), Some("NhCmhg=="));
    let bad = s.request(Method::PUT, "/bk1/c32", &[("x-amz-checksum-crc32", "AAAAAA==")], "hello").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.text().contains("BadDigest"));
}

#[tokio::test]
async fn unsigned_trailer_upload_stores_the_payload_not_the_framing() {
    let s = server_with_bucket().await;
    let body = "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n";
    let r = s
        .request(
            Method::PUT,
            "/bk1/chunked",
            &[
                ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
                ("content-encoding", "aws-chunked"),
                ("x-amz-trailer", "x-amz-checksum-crc32"),
                ("x-amz-decoded-content-length", "5"),
            ],
            body,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let g = s.get("/bk1/chunked").await;
    assert_eq!(g.text(), "hello");
    assert_eq!(g.header("content-encoding"), None);
}

#[tokio::test]
async fn metadata_over_2_kib_is_rejected() {
    let s = server_with_bucket().await;
    let big = "v".repeat(2100);
    let r = s.request(Method::PUT, "/bk1/m", &[("x-amz-meta-big", &big)], "x").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("MetadataTooLarge"));
}

#[tokio::test]
async fn weird_keys_round_trip_and_stay_inside_the_bucket() {
    let s = server_with_bucket().await;
    let keys = ["a", "a/b", "a//b", "trailing/", "./dot", "../../etc/passwd", "%2e%2e%2fescape", "back\\slash", "ünï/cødé", "sp ace+plus"];
    for key in keys {
        let path = format!("/bk1/{}", percent_encoding::utf8_percent_encode(key, percent_encoding::NON_ALPHANUMERIC));
        let r = s.put(&path, key.to_string()).await;
        assert_eq!(r.status, StatusCode::OK, "{key}: {}", r.text());
        let g = s.get(&path).await;
        assert_eq!(g.text(), key, "{key}");
    }
    let long = "k".repeat(1024);
    assert_eq!(s.put(&format!("/bk1/{long}"), "long").await.status, StatusCode::OK);
    assert_eq!(s.get(&format!("/bk1/{long}")).await.text(), "long");
    let too_long = "k".repeat(1025);
    assert_eq!(s.put(&format!("/bk1/{too_long}"), "x").await.status, StatusCode::BAD_REQUEST);
    // Nothing was written outside the storage directory's bucket.
    let parent = s.dir.path().parent().unwrap();
    assert!(!parent.join("etc").exists());
}

#[tokio::test]
async fn copy_object_copies_bytes_and_metadata_or_replaces_it() {
    let s = server_with_bucket().await;
    s.request(Method::PUT, "/bk1/src%20key", &[("x-amz-meta-a", "1"), ("content-type", "text/x")], "copy me").await;
    let r = s.request(Method::PUT, "/bk1/dst", &[("x-amz-copy-source", "/bk1/src%20key")], "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("<CopyObjectResult>"));
    let g = s.get("/bk1/dst").await;
    assert_eq!(g.text(), "copy me");
    assert_eq!(g.header("x-amz-meta-a"), Some("1"));
    let r = s
        .request(Method::PUT, "/bk1/dst", &[("x-amz-copy-source", "bk1/src%20key"), ("x-amz-metadata-directive", "REPLACE"), ("x-amz-meta-b", "2")], "")
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let g = s.get("/bk1/dst").await;
    assert_eq!(g.header("x-amz-meta-a"), None);
    assert_eq!(g.header("x-amz-meta-b"), Some("2"));
    let r = s.request(Method::PUT, "/bk1/dst", &[("x-amz-copy-source", "/bk1/dst")], "").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("InvalidRequest"));
    let r = s.request(Method::PUT, "/bk1/dst2", &[("x-amz-copy-source", "/bk1/src%20key"), ("x-amz-copy-source-if-match", "\"nope\"")], "").await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
}

#[tokio::test]
async fn delete_objects_reports_deleted_and_quiet_mode_hides_them() {
    let s = server_with_bucket().await;
    s.put("/bk1/x", "1").await;
    s.put("/bk1/y", "2").await;
    let body = "<Delete><Object><Key>x</Key></Object><Object><Key>missing</Key></Object></Delete>";
    let r = s.request(Method::POST, "/bk1?delete", &[], body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("<Deleted><Key>x</Key></Deleted>"));
    assert!(r.text().contains("<Deleted><Key>missing</Key></Deleted>"));
    let r = s.request(Method::POST, "/bk1?delete", &[], "<Delete><Quiet>true</Quiet><Object><Key>y</Key></Object></Delete>").await;
    assert!(!r.text().contains("<Deleted>"));
    assert_eq!(s.get("/bk1/y").await.status, StatusCode::NOT_FOUND);
    let r = s.request(Method::POST, "/bk1?delete", &[], "<Delete><Object>").await;
    assert!(r.text().contains("MalformedXML"), "{}", r.text());
}

#[tokio::test]
async fn delete_object_is_204_even_when_missing() {
    let s = server_with_bucket().await;
    s.put("/bk1/d", "1").await;
    assert_eq!(s.request(Method::DELETE, "/bk1/d", &[], "").await.status, StatusCode::NO_CONTENT);
    assert_eq!(s.request(Method::DELETE, "/bk1/d", &[], "").await.status, StatusCode::NO_CONTENT);
    assert_eq!(s.get("/bk1/d").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn response_overrides_set_headers() {
    let s = server_with_bucket().await;
    s.put("/bk1/o", "x").await;
    let r = s.get("/bk1/o?response-content-type=text%2Fhtml&response-content-disposition=attachment").await;
    assert_eq!(r.header("content-type"), Some("text/html"));
    assert_eq!(r.header("content-disposition"), Some("attachment"));
}

#[tokio::test]
async fn unsupported_operations_answer_501_not_implemented() {
    let s = server_with_bucket().await;
    let r = s.get("/bk1?acl").await;
    assert_eq!(r.status, StatusCode::NOT_IMPLEMENTED);
    assert!(r.text().contains("<Code>NotImplemented</Code>"));
}
