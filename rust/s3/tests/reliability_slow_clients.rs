//! Slow and abusive clients against the limits that protect the server:
//! a slowloris dribbling its headers is cut off by the header-read timeout,
//! a reader that never reads its (large) response does not block anyone else,
//! and the connection cap holds (further clients wait, then get served).

mod common;

use common::TestServer;
use http::{Method, StatusCode};
use smartstorage_s3::ServerConfig;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until EOF/error or `limit`; returns (bytes read, whether the server closed).
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (out, false);
        }
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (out, true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (out, false),
        }
    }
}

#[tokio::test]
async fn slowloris_dribbling_headers_is_cut_off_by_the_header_read_timeout() {
    let mut config = ServerConfig::default();
    config.limits.header_read_timeout = Duration::from_millis(600);
    let s = TestServer::start_with(config).await;
    let mut stream = TcpStream::connect(("127.0.0.1", s.port)).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    // One header byte every 100 ms: never finishing the head.
    let mut cut = false;
    for i in 0..60u32 {
        if stream
            .write_all(format!("X-Slow-{i}: a\r\n").as_bytes())
            .await
            .is_err()
        {
            cut = true;
            break;
        }
        let mut buf = [0u8; 512];
        match tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                cut = true;
                break;
            }
            Ok(Ok(_)) => {
                // A 408 before closing is fine too.
                cut = true;
                break;
            }
            Err(_) => {}
        }
    }
    let elapsed = started.elapsed();
    assert!(
        cut,
        "the slowloris connection was still open after {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(3),
        "cut only after {elapsed:?} (timeout 600 ms)"
    );
    // The server still serves others.
    assert_eq!(s.get("/").await.status, StatusCode::OK);
    s.stop().await;
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_by_the_header_read_timeout() {
    let mut config = ServerConfig::default();
    config.limits.header_read_timeout = Duration::from_millis(500);
    let s = TestServer::start_with(config).await;
    let mut stream = TcpStream::connect(("127.0.0.1", s.port)).await.unwrap();
    let (_, closed) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(
        closed,
        "an idle connection that never sent a request was kept open"
    );
    // Same for an idle keep-alive connection after a first request.
    let mut stream = TcpStream::connect(("127.0.0.1", s.port)).await.unwrap();
    stream
        .write_all(b"GET /_smartstorage/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (out, closed) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(
        String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    assert!(closed, "an idle keep-alive connection was kept open");
    s.stop().await;
}

#[tokio::test]
async fn a_reader_that_never_reads_does_not_block_other_clients() {
    let s = TestServer::start().await;
    assert_eq!(s.put("/slow", "").await.status, StatusCode::OK);
    let big = vec![42u8; 32 * 1024 * 1024];
    assert_eq!(s.put("/slow/big", big).await.status, StatusCode::OK);
    // Several clients ask for 32 MiB and never read a byte of it.
    let mut stuck = Vec::new();
    for _ in 0..8 {
        let mut stream = TcpStream::connect(("127.0.0.1", s.port)).await.unwrap();
        stream
            .write_all(b"GET /slow/big HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        stuck.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Everyone else is served promptly, reads and writes.
    for i in 0..20 {
        let t = Instant::now();
        let r = s.put(&format!("/slow/k{i}"), format!("v{i}")).await;
        assert_eq!(r.status, StatusCode::OK);
        let r = s.get(&format!("/slow/k{i}")).await;
        assert_eq!(r.text(), format!("v{i}"));
        let r = s
            .request(Method::GET, "/slow/big", &[("range", "bytes=0-9")], "")
            .await;
        assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "request {i} took {:?} next to stuck readers",
            t.elapsed()
        );
    }
    // Overwriting and deleting the object the stuck readers hold works too.
    assert_eq!(s.put("/slow/big", "small now").await.status, StatusCode::OK);
    assert_eq!(s.get("/slow/big").await.text(), "small now");
    drop(stuck);
    s.stop().await;
}

#[tokio::test]
async fn the_connection_cap_holds_and_waiting_clients_are_served_when_a_slot_frees() {
    let mut config = ServerConfig::default();
    config.limits.max_connections = 4;
    config.limits.header_read_timeout = Duration::from_secs(20);
    let s = TestServer::start_with(config).await;
    // Fill every slot with a connection that has sent a partial head.
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut stream = TcpStream::connect(("127.0.0.1", s.port)).await.unwrap();
        stream.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        held.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // A fifth client connects (kernel backlog) but is not served while the cap holds.
    let mut fifth = TcpStream::connect(("127.0.0.1", s.port)).await.unwrap();
    fifth
        .write_all(b"GET /_smartstorage/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let early = tokio::time::timeout(Duration::from_millis(500), fifth.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "the fifth connection was served while 4 of 4 slots were taken"
    );
    // Free one slot: the waiting client is served.
    drop(held.pop());
    let (out, _) = read_until_closed(&mut fifth, Duration::from_secs(5)).await;
    assert!(
        String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    drop(held);
    s.stop().await;
}

#[tokio::test]
async fn huge_and_repeated_headers_are_refused_without_hurting_the_server() {
    let s = TestServer::start().await;
    // One 1 MiB header.
    let mut req = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    req.extend(std::iter::repeat_n(b'a', 1 << 20));
    req.extend_from_slice(b"\r\n\r\n");
    let out = s.raw(&req, Duration::from_secs(5)).await;
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 431") || text.starts_with("HTTP/1.1 400"),
        "{text}"
    );
    // 20 000 small headers.
    let mut req = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..20_000 {
        req.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    let out = s.raw(&req, Duration::from_secs(5)).await;
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 431") || text.starts_with("HTTP/1.1 400"),
        "{}",
        &text[..text.len().min(200)]
    );
    assert_eq!(s.get("/").await.status, StatusCode::OK);
    s.stop().await;
}

#[tokio::test]
async fn shutdown_is_not_blocked_by_a_full_connection_cap() {
    let mut config = ServerConfig::default();
    config.limits.max_connections = 2;
    config.limits.header_read_timeout = Duration::from_secs(30);
    let s = TestServer::start_with(config).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(("127.0.0.1", s.port)).await.unwrap();
        stream.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        held.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t = Instant::now();
    tokio::time::timeout(Duration::from_secs(15), s.stop())
        .await
        .expect("shutdown hung while every connection slot was taken");
    assert!(
        t.elapsed() < Duration::from_secs(12),
        "shutdown took {:?}",
        t.elapsed()
    );
    drop(held);
}
