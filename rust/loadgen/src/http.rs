//! A minimal HTTP/1.1 client connection: writes requests, reads responses
//! (Content-Length, chunked, or until close), hands body bytes to a sink
//! without copying them anywhere. Just enough HTTP for benchmarking two
//! servers on loopback; no TLS, no redirects, no `Expect: 100-continue`.

use std::io;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Read buffer size: large reads keep the client's per-byte cost negligible on
/// multi-GiB streams; small responses fit many times over.
const READ_BUFFER: usize = 256 * 1024;

/// Longest response head accepted.
const MAX_HEAD: usize = 64 * 1024;

/// What a response said, once fully read.
#[derive(Debug, Clone, Copy)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Body bytes received.
    pub body_len: u64,
    /// The server will close the connection (or already did).
    pub close: bool,
}

/// One keep-alive connection.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Conn {
    /// Connects to `addr` (`host:port`) with Nagle off.
    pub async fn connect(addr: &str) -> io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn { stream, buf: vec![0; READ_BUFFER], start: 0, end: 0 })
    }

    /// Writes raw bytes (a request head, or head and small body together).
    pub async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// Writes `len` body bytes by repeating `pattern`.
    pub async fn write_repeated(&mut self, pattern: &[u8], len: u64) -> io::Result<()> {
        let mut left = len;
        while left > 0 {
            let n = (pattern.len() as u64).min(left) as usize;
            self.stream.write_all(&pattern[..n]).await?;
            left -= n as u64;
        }
        Ok(())
    }

    /// Reads one response; `head_only` for HEAD requests (no body whatever the
    /// headers say). Body bytes go to `sink`.
    pub async fn read_response(&mut self, head_only: bool, sink: &mut (dyn FnMut(&[u8]) + Send)) -> io::Result<Response> {
        let (head_len, head) = loop {
            if let Some(pos) = find(&self.buf[self.start..self.end], b"\r\n\r\n") {
                let head = parse_head(&self.buf[self.start..self.start + pos])?;
                break (pos + 4, head);
            }
            if self.end - self.start >= MAX_HEAD {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "response head too large"));
            }
            if self.fill().await? == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed before a response"));
            }
        };
        self.start += head_len;
        let no_body = head_only || head.status == 204 || head.status == 304 || (100..200).contains(&head.status);
        let mut close = head.close;
        let body_len = if no_body {
            0
        } else if head.chunked {
            self.read_chunked(sink).await?
        } else if let Some(len) = head.content_length {
            self.read_exact_body(len, sink).await?
        } else {
            close = true;
            self.read_to_eof(sink).await?
        };
        Ok(Response { status: head.status, body_len, close })
    }

    /// Reads more bytes into the buffer; returns how many (0 at EOF).
    async fn fill(&mut self) -> io::Result<usize> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let n = self.stream.read(&mut self.buf[self.end..]).await?;
        self.end += n;
        Ok(n)
    }

    async fn read_exact_body(&mut self, len: u64, sink: &mut (dyn FnMut(&[u8]) + Send)) -> io::Result<u64> {
        let mut left = len;
        while left > 0 {
            if self.start == self.end && self.fill().await? == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "body shorter than Content-Length"));
            }
            let n = ((self.end - self.start) as u64).min(left) as usize;
            sink(&self.buf[self.start..self.start + n]);
            self.start += n;
            left -= n as u64;
        }
        Ok(len)
    }

    async fn read_to_eof(&mut self, sink: &mut (dyn FnMut(&[u8]) + Send)) -> io::Result<u64> {
        let mut total = 0u64;
        loop {
            if self.start < self.end {
                sink(&self.buf[self.start..self.end]);
                total += (self.end - self.start) as u64;
                self.start = self.end;
            }
            if self.fill().await? == 0 {
                return Ok(total);
            }
        }
    }

    /// A CRLF-terminated line (without the CRLF), consumed from the buffer.
    async fn read_line(&mut self) -> io::Result<String> {
        loop {
            if let Some(pos) = find(&self.buf[self.start..self.end], b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[self.start..self.start + pos]).into_owned();
                self.start += pos + 2;
                return Ok(line);
            }
            if self.end - self.start >= MAX_HEAD {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "chunk line too long"));
            }
            if self.fill().await? == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed inside a chunked body"));
            }
        }
    }

    async fn read_chunked(&mut self, sink: &mut (dyn FnMut(&[u8]) + Send)) -> io::Result<u64> {
        let mut total = 0;
        loop {
            let line = self.read_line().await?;
            let size_text = line.split(';').next().unwrap_or("").trim();
            let size = u64::from_str_radix(size_text, 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("bad chunk size {line:?}")))?;
            if size == 0 {
                while !self.read_line().await?.is_empty() {}
                return Ok(total);
            }
            total += self.read_exact_body(size, sink).await?;
            if !self.read_line().await?.is_empty() {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "chunk not followed by CRLF"));
            }
        }
    }
}

/// The parts of a response head the client needs.
#[derive(Debug, PartialEq, Eq)]
struct Head {
    status: u16,
    content_length: Option<u64>,
    chunked: bool,
    close: bool,
}

fn parse_head(head: &[u8]) -> io::Result<Head> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("malformed response: {what}"));
    let text = std::str::from_utf8(head).map_err(|_| bad("head is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().ok_or_else(|| bad("empty head"))?;
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| bad("status line"))?;
    let mut parsed = Head { status, content_length: None, chunked: false, close: status_line.starts_with("HTTP/1.0") };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            parsed.content_length = Some(value.parse().map_err(|_| bad("content-length"))?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            parsed.chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            let v = value.to_ascii_lowercase();
            parsed.close = v.contains("close") || (parsed.close && !v.contains("keep-alive"));
        }
    }
    Ok(parsed)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A request head: `METHOD path HTTP/1.1`, Host, optional Content-Length, extra headers.
pub fn request_head(method: &str, path: &str, host: &str, content_length: Option<u64>, extra: &[String]) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n");
    if let Some(len) = content_length {
        head.push_str(&format!("Content-Length: {len}\r\n"));
    }
    for header in extra {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// `len` bytes of deterministic noise (xorshift), so nothing downstream can
/// shortcut on repeated or zero content.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_parsed_case_insensitively() {
        let h = parse_head(b"HTTP/1.1 206 Partial Content\r\ncontent-length: 12\r\nConnection: Close").unwrap();
        assert_eq!(h, Head { status: 206, content_length: Some(12), chunked: false, close: true });
        let h = parse_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked").unwrap();
        assert!(h.chunked && !h.close);
        assert!(parse_head(b"garbage").is_err());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn reads_length_chunked_and_head_responses_on_one_connection() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n")
                .await
                .unwrap();
        });
        let mut conn = Conn::connect(&addr).await.unwrap();
        let mut seen = Vec::new();
        let r = conn.read_response(false, &mut |b| seen.extend_from_slice(b)).await.unwrap();
        assert_eq!((r.status, r.body_len), (200, 5));
        let r = conn.read_response(false, &mut |b| seen.extend_from_slice(b)).await.unwrap();
        assert_eq!(r.body_len, 5);
        let r = conn.read_response(true, &mut |b| seen.extend_from_slice(b)).await.unwrap();
        assert_eq!(r.body_len, 0);
        assert_eq!(seen, b"helloabcde");
        server.await.unwrap();
    }
}
