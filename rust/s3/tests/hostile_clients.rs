//! Clients that misbehave: disconnects mid-upload, stalls, oversized bodies,
//! traversal attempts. The server answers with S3 errors (or closes the
//! connection), stores nothing partial and keeps serving.

mod common;

use common::TestServer;
use http::{Method, StatusCode};
use smartstorage_s3::ServerConfig;
use std::path::Path;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Every regular file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[tokio::test]
async fn disconnect_mid_upload_leaves_no_object_and_no_temp_file() {
    let s = TestServer::start().await;
    s.put("/bk1", "").await;
    let before = files_under(s.dir.path());
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", s.port)).await.unwrap();
    let head = "PUT /bk1/partial HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&vec![7u8; 3_000_000]).await.unwrap();
    drop(stream);
    // Give the server a moment to notice and clean up.
    let mut clean = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if files_under(s.dir.path()) == before {
            clean = true;
            break;
        }
    }
    assert!(clean, "leftover files: {:?}", files_under(s.dir.path()));
    assert_eq!(s.get("/bk1/partial").await.status, StatusCode::NOT_FOUND);
    assert_eq!(s.get("/bk1").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_stalled_body_fails_with_request_timeout() {
    let mut config = ServerConfig::default();
    config.limits.request_timeout = Duration::from_millis(300);
    let s = TestServer::start_with(config).await;
    s.put("/bk1", "").await;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", s.port)).await.unwrap();
    stream.write_all(b"PUT /bk1/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc").await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut out)).await;
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("RequestTimeout"), "{text}");
    assert_eq!(s.get("/bk1/slow").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bodies_over_the_size_limit_are_entity_too_large() {
    let mut config = ServerConfig::default();
    config.limits.max_object_size = 1000;
    let s = TestServer::start_with(config).await;
    s.put("/bk1", "").await;
    let r = s.put("/bk1/big", vec![0u8; 1001]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("EntityTooLarge"), "{}", r.text());
    assert_eq!(s.put("/bk1/ok", vec![0u8; 1000]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn short_bodies_are_incomplete_and_store_nothing() {
    let s = TestServer::start().await;
    s.put("/bk1", "").await;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", s.port)).await.unwrap();
    stream.write_all(b"PUT /bk1/short HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc").await.unwrap();
    // Half-close: the server sees the body end 7 bytes early.
    stream.shutdown().await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut out)).await;
    let text = String::from_utf8_lossy(&out);
    // hyper may close without answering once the client stops sending; either way nothing is stored.
    assert!(text.is_empty() || text.contains("IncompleteBody"), "{text}");
    assert_eq!(s.get("/bk1/short").await.status, StatusCode::NOT_FOUND);
    assert!(files_under(s.dir.path()).iter().all(|p| !p.to_string_lossy().contains("short")));
}

#[tokio::test]
async fn traversal_attempts_never_leave_the_storage_directory() {
    let s = TestServer::start().await;
    s.put("/bk1", "").await;
    let marker = s.dir.path().parent().unwrap().join("smartstorage-escape-marker");
    for path in [
        "/bk1/..%2F..%2Fsmartstorage-escape-marker",
        "/bk1/%2e%2e/%2e%2e/smartstorage-escape-marker",
        "/bk1/../../smartstorage-escape-marker",
        "/bk1/..%5C..%5Csmartstorage-escape-marker",
        "/..%2Fsmartstorage-escape-marker/x",
    ] {
        let r = s.put(path, "escaped?").await;
        assert!(r.status == StatusCode::OK || r.status.is_client_error(), "{path}: {}", r.status);
        assert!(!marker.exists(), "{path} escaped the storage directory");
        if r.status == StatusCode::OK {
            assert_eq!(s.get(path).await.text(), "escaped?");
        }
    }
    let r = s.request(Method::GET, "/bk1/%00", &[], "").await;
    assert!(r.status.is_client_error());
}

#[tokio::test]
async fn missing_content_length_is_411() {
    let s = TestServer::start().await;
    s.put("/bk1", "").await;
    let out = s
        .raw(b"PUT /bk1/te HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n", Duration::from_secs(2))
        .await;
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 411"), "{text}");
    assert!(text.contains("MissingContentLength"));
}
