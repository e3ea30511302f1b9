//! Test harness: a real server on 127.0.0.1:0 over a FileStore in a temp dir,
//! and a tiny raw HTTP/1.1 client for edge cases the SDKs never send.
#![allow(dead_code)]

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use smartstorage_s3::{RunningServer, ServerConfig, start_server};
use smartstorage_store::{FileStore, FileStoreConfig};
use std::sync::Arc;

/// A running server and its storage directory (removed on drop).
pub struct TestServer {
    pub server: Option<RunningServer>,
    pub dir: tempfile::TempDir,
    pub port: u16,
}

/// A response, fully read.
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestServer {
    /// Starts a server with default config (fsync off to keep tests fast).
    pub async fn start() -> TestServer {
        Self::start_with(ServerConfig::default()).await
    }

    /// Starts a server with `config`.
    pub async fn start_with(config: ServerConfig) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = FileStore::open(FileStoreConfig {
            root: dir.path().to_path_buf(),
            fsync: false,
            clean_slate: false,
        })
        .await
        .expect("open store");
        let server = start_server("127.0.0.1", 0, config, Arc::new(store))
            .await
            .expect("start server");
        let port = server.port();
        TestServer {
            server: Some(server),
            dir,
            port,
        }
    }

    /// Sends one request on a fresh connection and reads the whole response.
    pub async fn request(
        &self,
        method: Method,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> TestResponse {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("connect");
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(conn);
        let mut req = Request::builder().method(method).uri(path_and_query);
        let mut has_host = false;
        for (k, v) in headers {
            has_host |= k.eq_ignore_ascii_case("host");
            req = req.header(*k, *v);
        }
        if !has_host {
            req = req.header("host", format!("127.0.0.1:{}", self.port));
        }
        let req = req.body(Full::new(body.into())).expect("request");
        let resp = sender.send_request(req).await.expect("send");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        TestResponse {
            status,
            headers,
            body,
        }
    }

    /// GET shorthand.
    pub async fn get(&self, path: &str) -> TestResponse {
        self.request(Method::GET, path, &[], Bytes::new()).await
    }

    /// PUT shorthand.
    pub async fn put(&self, path: &str, body: impl Into<Bytes>) -> TestResponse {
        self.request(Method::PUT, path, &[], body).await
    }

    /// Writes raw bytes on a fresh connection and returns whatever the server
    /// answers until it closes the connection or `timeout` passes.
    pub async fn raw(&self, bytes: &[u8], timeout: std::time::Duration) -> Vec<u8> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("connect");
        let _ = stream.write_all(bytes).await;
        let mut out = Vec::new();
        let _ = tokio::time::timeout(timeout, stream.read_to_end(&mut out)).await;
        out
    }

    /// Stops the server gracefully.
    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
    }
}
