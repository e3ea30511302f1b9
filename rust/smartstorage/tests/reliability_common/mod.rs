//! Shared pieces of the reliability harnesses that drive the real
//! `smartstorage` binary: spawning and killing it, a tiny blocking HTTP/1.1
//! client (keep-alive, no dependencies beyond std), deterministic content,
//! bounded knobs read from the environment, and checks of the storage
//! directory (no temp files, no orphaned data or part files).
//!
//! Every harness is bounded in time and count, only talks to 127.0.0.1 and
//! only kills the processes it started (by pid, through [`Server`]).
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use smartstorage_s3::checksum::{BodyHasher, ChecksumAlgorithm, checksum_of};

/// The binary under test (`SMARTSTORAGE_TEST_EXE` overrides, e.g. for a release build).
pub fn exe() -> String {
    std::env::var("SMARTSTORAGE_TEST_EXE")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_smartstorage").to_string())
}

/// A numeric knob from the environment (long modes raise them), or `default`.
pub fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// The run's random seed: `SMARTSTORAGE_SEED` or the clock; printed so a
/// failing run can be replayed.
pub fn seed(harness: &str) -> u64 {
    let seed = knob(
        "SMARTSTORAGE_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    );
    eprintln!("[{harness}] seed {seed} (replay with SMARTSTORAGE_SEED={seed})");
    seed
}

// ---------------------------------------------------------------------------
// randomness and content
// ---------------------------------------------------------------------------

/// SplitMix64: tiny, fast, good enough to pick operations and make content.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// Uniform in `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo).max(1))
    }
}

/// FNV-1a of `text`, to seed content from names.
pub fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `size` deterministic bytes named by `label`: the same label always gives
/// the same bytes, different labels give unrelated bytes, so a torn or mixed
/// object can never pass for a whole one.
pub fn content(label: &str, size: usize) -> Vec<u8> {
    let mut rng = Rng::new(fnv(label));
    let mut out = Vec::with_capacity(size + 8);
    while out.len() < size {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    out.truncate(size);
    out
}

/// Hex MD5 of `data`.
pub fn md5_hex(data: &[u8]) -> String {
    let mut h = BodyHasher::new(true, false, [ChecksumAlgorithm::Crc32; 0]);
    h.update(data);
    h.finish().md5_hex().unwrap_or_default()
}

/// Raw MD5 of `data`.
pub fn md5_raw(data: &[u8]) -> Vec<u8> {
    let hex = md5_hex(data);
    (0..16)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect()
}

/// The multipart ETag of parts: hex MD5 of the concatenated part MD5s, `-N`.
pub fn multipart_etag(parts: &[Vec<u8>]) -> String {
    let joined: Vec<u8> = parts.iter().flat_map(|p| md5_raw(p)).collect();
    format!("{}-{}", md5_hex(&joined), parts.len())
}

/// Base64 CRC32 of `data`, as `x-amz-checksum-crc32` carries it.
pub fn crc32_b64(data: &[u8]) -> String {
    checksum_of(ChecksumAlgorithm::Crc32, data)
}

/// Percent-encodes a key for a request path (keeps `/` and unreserved bytes;
/// `.` is encoded too, so `..` segments reach the server as part of the key).
pub fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len() * 3);
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"-_~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// the server process
// ---------------------------------------------------------------------------

/// A running `smartstorage` binary in standalone mode, with its stderr
/// collected (to find panics) and its port parsed from the ready line.
pub struct Server {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    /// Every stderr line so far.
    pub stderr: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts the binary on `directory` (port 0, 127.0.0.1) with `extra` flags
    /// and waits (at most 20 s) for its ready line.
    pub fn start(directory: &Path, extra: &[&str]) -> Server {
        Self::start_with_config(directory, extra, None)
    }

    /// Like [`start`](Self::start), with a JSON config file.
    pub fn start_with_config(directory: &Path, extra: &[&str], config: Option<&Path>) -> Server {
        Self::spawn(&[], directory, extra, config)
    }

    /// Like [`start_with_config`](Self::start_with_config), run through
    /// `wrapper` (e.g. `setpriv --reuid=65534 …` to drop root).
    pub fn spawn(
        wrapper: &[&str],
        directory: &Path,
        extra: &[&str],
        config: Option<&Path>,
    ) -> Server {
        Self::spawn_in(None, wrapper, directory, extra, config)
    }

    /// Like [`spawn`](Self::spawn), with the working directory `cwd`.
    pub fn spawn_in(
        cwd: Option<&Path>,
        wrapper: &[&str],
        directory: &Path,
        extra: &[&str],
        config: Option<&Path>,
    ) -> Server {
        let exe = exe();
        let mut cmd = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        cmd.args(["--port", "0", "--address", "127.0.0.1", "--directory"])
            .arg(directory)
            .args(extra);
        if let Some(config) = config {
            cmd.arg("--config").arg(config);
        }
        if let Some(cwd) = cwd {
            cmd.current_dir(cwd);
        }
        let mut child = cmd
            .env(
                "RUST_LOG",
                std::env::var("SMARTSTORAGE_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn smartstorage");
        let stderr = child.stderr.take().expect("stderr");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("http://") {
                    let url = line[at..]
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_string();
                    if let Some(port) = url
                        .rsplit(':')
                        .next()
                        .and_then(|p| p.trim_end_matches('/').parse::<u16>().ok())
                        && let Some(tx) = tx.take()
                    {
                        let _ = tx.send(port);
                    }
                }
                sink.lock().unwrap().push(line);
            }
        });
        let port = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(port) => port,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = reader.join();
                panic!(
                    "smartstorage did not report a port; stderr:\n{}",
                    lines.lock().unwrap().join("\n")
                );
            }
        };
        Server {
            child,
            port,
            stderr: lines,
            reader: Some(reader),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// A new client of this server.
    pub fn client(&self) -> Client {
        Client::new(self.addr())
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// `VmHWM` (peak resident set) of the process, in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        proc_status_kib(self.pid(), "VmHWM:")
    }

    /// `VmRSS` (current resident set) of the process, in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        proc_status_kib(self.pid(), "VmRSS:")
    }

    /// Open file descriptors of the process.
    pub fn open_fds(&self) -> Option<usize> {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .ok()
            .map(|d| d.count())
    }

    /// SIGKILL (the process gets no chance to clean up) and reap it.
    pub fn kill9(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.collect()
    }

    /// SIGTERM, then wait (at most `timeout`) for a graceful exit; returns the
    /// exit success and stderr. Falls back to SIGKILL after the timeout.
    pub fn terminate(mut self, timeout: Duration) -> (bool, Vec<String>) {
        signal(self.pid(), "TERM");
        let t = Instant::now();
        let ok = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status.success(),
                Ok(None) if t.elapsed() < timeout => std::thread::sleep(Duration::from_millis(10)),
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break false;
                }
            }
        };
        (ok, self.collect())
    }

    fn collect(&mut self) -> Vec<String> {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.stderr.lock().unwrap().clone()
    }

    /// The last `n` warning/error lines of the server's log, for failure messages.
    pub fn log_tail(&self, n: usize) -> String {
        let lines = self.stderr.lock().unwrap();
        let bad: Vec<&String> = lines
            .iter()
            .filter(|l| l.contains("WARN") || l.contains("ERROR"))
            .collect();
        bad[bad.len().saturating_sub(n)..]
            .iter()
            .map(|l| l.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Panics if stderr shows a panic so far.
    pub fn assert_no_panic(&self) {
        assert_no_panic(&self.stderr.lock().unwrap());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Our own child, by handle: never leave it running after a failed test.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sends `SIGname` to `pid` (one we started).
pub fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status();
}

/// Panics with the offending lines if any stderr line reports a panic.
pub fn assert_no_panic(lines: &[String]) {
    let bad: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("panicked") || l.contains("RUST_BACKTRACE"))
        .collect();
    assert!(bad.is_empty(), "the server panicked:\n{}", lines.join("\n"));
}

fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

// ---------------------------------------------------------------------------
// a minimal HTTP/1.1 client
// ---------------------------------------------------------------------------

/// A response, fully read.
#[derive(Debug, Clone)]
pub struct Resp {
    /// The status code.
    pub status: u16,
    /// Headers, names lowercased, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Resp {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as (lossy) text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The ETag without quotes.
    pub fn etag(&self) -> Option<String> {
        self.header("etag").map(|e| e.trim_matches('"').to_string())
    }

    /// The text of the first `<tag>` element in the body.
    pub fn xml_field(&self, tag: &str) -> Option<String> {
        xml_field(&self.text(), tag)
    }
}

/// The text of the first `<tag>…</tag>` in `xml`.
pub fn xml_field(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&close)? + start;
    Some(xml[start..end].to_string())
}

/// Every `<tag>…</tag>` text in `xml`, in order.
pub fn xml_fields(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(s) = rest.find(&open) {
        let after = &rest[s + open.len()..];
        let Some(e) = after.find(&close) else { break };
        out.push(after[..e].to_string());
        rest = &after[e + close.len()..];
    }
    out
}

/// Decodes the XML escapes quick-xml writes.
pub fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// A blocking HTTP/1.1 client with one keep-alive connection. Any error drops
/// the connection; the next request opens a new one. Requests are never
/// retried, so an error means "outcome unknown" (what the crash harness needs).
pub struct Client {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
    /// Read/write timeout of each socket operation.
    pub timeout: Duration,
    /// Resend once when a reused connection was found closed (see [`request`](Self::request)).
    pub retry_stale: bool,
}

impl Client {
    /// A client of `addr` (connects lazily).
    pub fn new(addr: SocketAddr) -> Client {
        Client {
            addr,
            conn: None,
            timeout: Duration::from_secs(30),
            retry_stale: true,
        }
    }

    /// Sends one request and reads the whole response. When a reused
    /// keep-alive connection turns out to be closed by the server (idle
    /// timeout) before any byte of an answer, the request is sent once more on
    /// a fresh connection, unless [`retry_stale`](Self::retry_stale) is off.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<Resp> {
        let reused = self.conn.is_some();
        let mut result = self.try_request(method, path, headers, body);
        if let Err(e) = &result
            && reused
            && self.retry_stale
            && matches!(
                e.kind(),
                std::io::ErrorKind::NotConnected
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::BrokenPipe
            )
        {
            self.conn = None;
            result = self.try_request(method, path, headers, body);
        }
        if result.is_err() {
            self.conn = None;
        }
        result
    }

    fn try_request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<Resp> {
        if self.conn.is_none() {
            let stream = TcpStream::connect_timeout(&self.addr, self.timeout)?;
            stream.set_read_timeout(Some(self.timeout))?;
            stream.set_write_timeout(Some(self.timeout))?;
            stream.set_nodelay(true)?;
            self.conn = Some(BufReader::with_capacity(64 * 1024, stream));
        }
        let conn = self.conn.as_mut().unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n",
            self.addr.port()
        );
        let mut has_length = false;
        for (k, v) in headers {
            has_length |= k.eq_ignore_ascii_case("content-length");
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if !has_length && (!body.is_empty() || matches!(method, "PUT" | "POST")) {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        {
            let stream = conn.get_mut();
            if body.len() <= 64 * 1024 {
                let mut all = head.into_bytes();
                all.extend_from_slice(body);
                stream.write_all(&all)?;
            } else {
                stream.write_all(head.as_bytes())?;
                stream.write_all(body)?;
            }
        }
        let resp = read_response(conn, method == "HEAD")?;
        if resp
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
        {
            self.conn = None;
        }
        Ok(resp)
    }

    /// GET shorthand.
    pub fn get(&mut self, path: &str) -> std::io::Result<Resp> {
        self.request("GET", path, &[], b"")
    }

    /// PUT shorthand.
    pub fn put(&mut self, path: &str, body: &[u8]) -> std::io::Result<Resp> {
        self.request("PUT", path, &[], body)
    }
}

fn read_line(conn: &mut BufReader<TcpStream>) -> std::io::Result<String> {
    let mut line = Vec::new();
    let n = conn.by_ref().take(64 * 1024).read_until(b'\n', &mut line)?;
    if n == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    Ok(String::from_utf8_lossy(&line)
        .trim_end_matches(['\r', '\n'])
        .to_string())
}

/// Reads one response (status line, headers, body by Content-Length or chunked).
pub fn read_response(conn: &mut BufReader<TcpStream>, head_only: bool) -> std::io::Result<Resp> {
    // Closed before the first byte of an answer: NotConnected (see Client::request).
    let status_line = read_line(conn).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            std::io::Error::new(std::io::ErrorKind::NotConnected, "closed before answering")
        }
        _ => e,
    })?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("bad status line {status_line:?}"),
            )
        })?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(conn)?;
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if !head_only && status != 204 && status != 304 && !(100..200).contains(&status) {
        if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            loop {
                let size_line = read_line(conn)?;
                let size =
                    usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
                        .map_err(|_| {
                            std::io::Error::new(std::io::ErrorKind::InvalidData, "bad chunk size")
                        })?;
                if size == 0 {
                    while !read_line(conn)?.is_empty() {}
                    break;
                }
                let start = body.len();
                body.resize(start + size, 0);
                conn.read_exact(&mut body[start..])?;
                read_line(conn)?;
            }
        } else if let Some(len) = find("content-length").and_then(|v| v.parse::<usize>().ok()) {
            body.resize(len, 0);
            conn.read_exact(&mut body)?;
        } else {
            conn.read_to_end(&mut body)?;
        }
    }
    Ok(Resp {
        status,
        headers,
        body,
    })
}

// ---------------------------------------------------------------------------
// the storage directory
// ---------------------------------------------------------------------------

/// Every path under `dir` (files and directories), recursively.
pub fn walk(dir: &Path) -> Vec<(PathBuf, bool)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir {
                stack.push(path.clone());
            }
            out.push((path, is_dir));
        }
    }
    out
}

/// How long [`check_dir`] waits for the server's background reaper to unlink
/// retired files: far above its 2 ms rest between batches, short enough that a
/// real leak still fails a test quickly.
pub const REAPER_GRACE: Duration = Duration::from_secs(3);

/// What a directory check found.
#[derive(Debug, Default)]
pub struct DirReport {
    /// Temp files (anything in `.smartstorage/tmp`, any `*.tmp`).
    pub temp_files: Vec<PathBuf>,
    /// Data files no metadata names (or whose metadata names another version).
    pub orphan_data: Vec<PathBuf>,
    /// Metadata naming data files that are missing (or an inline object whose bytes are torn).
    pub missing_data: Vec<PathBuf>,
    /// Part files no part document names; upload directories without upload.json.
    pub orphan_parts: Vec<PathBuf>,
    /// Empty directories inside bucket directories (harmless, reported).
    pub empty_dirs: Vec<PathBuf>,
    /// Objects found (metadata files).
    pub objects: usize,
}

impl DirReport {
    /// Whether nothing was left behind (empty directories are tolerated).
    pub fn is_clean(&self) -> bool {
        self.temp_files.is_empty()
            && self.orphan_data.is_empty()
            && self.missing_data.is_empty()
            && self.orphan_parts.is_empty()
    }
}

/// Checks a storage directory against the layout of `rust/store/src/file_store/layout.rs`:
/// every `<base>.s3data-<v>[-<i>]` is named by `<base>.s3meta` (version and part
/// count), an inline `<base>.s3meta` holds exactly its size in bytes after the document, every `part-<N>-<v>` by `part-<N>.json`, every upload directory has its
/// `upload.json`, and no temp file remains. Only meaningful once every bucket has
/// been loaded by the server (loading sweeps what a crash leaves behind).
///
/// The server unlinks retired files (an overwritten object's old metadata, a
/// deleted object's tomb) on a background thread after it answers, so the check
/// first gives the temp directory [`REAPER_GRACE`] to drain; a real leak stays.
pub fn check_dir(root: &Path) -> DirReport {
    let mut report = DirReport::default();
    let sys = root.join(".smartstorage");
    let waiting = Instant::now();
    while walk(&sys.join("tmp")).iter().any(|(_, is_dir)| !is_dir) && waiting.elapsed() < REAPER_GRACE {
        std::thread::sleep(Duration::from_millis(5));
    }
    for (path, is_dir) in walk(&sys.join("tmp")) {
        if !is_dir {
            report.temp_files.push(path);
        }
    }
    // Objects, directory by directory.
    let mut by_dir: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
    for (path, is_dir) in walk(root) {
        if path.starts_with(&sys) {
            continue;
        }
        if is_dir {
            if std::fs::read_dir(&path)
                .map(|mut d| d.next().is_none())
                .unwrap_or(false)
                && path.parent() != Some(root)
            {
                report.empty_dirs.push(path);
            }
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".tmp") {
            report.temp_files.push(path.clone());
        }
        by_dir
            .entry(path.parent().unwrap().to_path_buf())
            .or_default()
            .push(name);
    }
    for (dir, names) in &by_dir {
        let mut expected = BTreeSet::new();
        for name in names.iter().filter(|n| n.ends_with(".s3meta")) {
            report.objects += 1;
            let base = &name[..name.len() - ".s3meta".len()];
            let Ok(bytes) = std::fs::read(dir.join(name)) else {
                continue;
            };
            // The document, then (for a small object stored inline) `\n` and its bytes.
            let mut docs = serde_json::Deserializer::from_slice(&bytes).into_iter::<serde_json::Value>();
            let Some(Ok(doc)) = docs.next() else {
                report.missing_data.push(dir.join(name));
                continue;
            };
            let rest = &bytes[docs.byte_offset()..];
            let version = doc["version"].as_str().unwrap_or("").to_string();
            if doc["inline"].as_bool() == Some(true) {
                let size = doc["size"].as_u64().unwrap_or(u64::MAX);
                if rest.first() != Some(&b'\n') || (rest.len() - 1) as u64 != size {
                    report.missing_data.push(dir.join(name));
                }
                continue;
            }
            if !rest.iter().all(u8::is_ascii_whitespace) {
                report.missing_data.push(dir.join(name));
                continue;
            }
            let files: Vec<String> = match doc["parts"].as_array() {
                None => vec![format!("{base}.s3data-{version}")],
                Some(parts) => (1..=parts.len())
                    .map(|i| format!("{base}.s3data-{version}-{i}"))
                    .collect(),
            };
            for f in files {
                if !names.contains(&f) {
                    report.missing_data.push(dir.join(&f));
                }
                expected.insert(f);
            }
        }
        for name in names.iter().filter(|n| n.contains(".s3data-")) {
            if !expected.contains(name) {
                report.orphan_data.push(dir.join(name));
            }
        }
    }
    // Uploads.
    let multipart = sys.join("multipart");
    for bucket in std::fs::read_dir(&multipart)
        .into_iter()
        .flatten()
        .flatten()
    {
        for upload in std::fs::read_dir(bucket.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let dir = upload.path();
            let names: Vec<String> = std::fs::read_dir(&dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            if !names.iter().any(|n| n == "upload.json") {
                report.orphan_parts.push(dir.clone());
                continue;
            }
            let mut keep = BTreeSet::new();
            for name in names
                .iter()
                .filter(|n| n.starts_with("part-") && n.ends_with(".json"))
            {
                let number = &name["part-".len()..name.len() - ".json".len()];
                let Ok(text) = std::fs::read_to_string(dir.join(name)) else {
                    continue;
                };
                let doc: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                let data = format!("part-{number}-{}", doc["version"].as_str().unwrap_or(""));
                if !names.contains(&data) {
                    report.missing_data.push(dir.join(&data));
                }
                keep.insert(data);
            }
            for name in names
                .iter()
                .filter(|n| n.starts_with("part-") && !n.ends_with(".json"))
            {
                if !keep.contains(name) {
                    report.orphan_parts.push(dir.join(name));
                }
            }
        }
    }
    report
}

/// Creates `bucket`, accepting "already yours".
pub fn ensure_bucket(client: &mut Client, bucket: &str) {
    let r = client
        .put(&format!("/{bucket}"), b"")
        .expect("create bucket");
    assert!(
        r.status == 200 || r.status == 409,
        "create bucket {bucket}: {} {}",
        r.status,
        r.text()
    );
}
