//! HTTP-level fuzzing of the live binary: malformed request lines, huge and
//! repeated headers, invalid UTF-8 and percent-encoding in keys, traversal
//! attempts (`..%2f`, `%2e%2e`, backslashes, NUL), broken framing
//! (Content-Length / Transfer-Encoding / aws-chunked), garbage XML, hostile
//! copy sources and query parameters. For every request the server must
//! answer (an S3 XML error when it is one of ours) or close the connection,
//! within seconds; it must never panic, never answer 500 InternalError to bad
//! input, never read or create a file outside its storage directory, and keys
//! it accepts must read back exactly.
//!
//! Knobs: `SMARTSTORAGE_HTTP_FUZZ_SECS` (default 6), `SMARTSTORAGE_SEED`.

mod reliability_common;

use reliability_common::*;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

/// Name of every file a traversal attempt tries to create outside the storage directory.
const MARKER: &str = "ssfuzzmarker";
/// Content of a file planted outside the storage directory: no answer may ever contain it.
const SECRET: &str = "SECRET-ssfuzz-7d1f0c2a";

fn pick(rng: &mut Rng, items: &[&'static str]) -> &'static str {
    items[rng.below(items.len() as u64) as usize]
}

const BUCKETS: &[&str] = &[
    "fuzz",
    "fuzz",
    "fuzz",
    "nosuchbucket",
    "FUZZ",
    "..",
    "%2e%2e",
    ".smartstorage",
    "%2esmartstorage",
    "_smartstorage",
    "a",
    "fuzz%2f..%2f..",
    "fuzz%00",
    "fuzz%2F..",
    "xn--fuzz",
    "192.168.1.1",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
];

const KEY_ATOMS: &[&str] = &[
    "..",
    "%2e%2e",
    "%2E%2E%2F",
    "..%2f",
    "..%2F",
    "..\\",
    "%5c",
    "\\",
    "%00",
    "%ff%fe",
    "%c0%af",
    "%e0%80%ae",
    "%",
    "%g1",
    "%2",
    "/",
    "//",
    "/./",
    "/../",
    ".",
    "%2e",
    "~",
    "ü",
    "%F0%9F%92%A9",
    "%0d%0a",
    "%20",
    "+",
    "*",
    "?",
    "#",
    ";",
    ".s3meta",
    ".s3data-0123456789abcdef0123456789abcdef",
    "%2Es3meta",
    "part-1.json",
    "upload.json",
    ".smartstorage",
    "lock",
    "tmp",
    MARKER,
    MARKER,
    "etc/passwd",
    "k",
    "key",
    "dir/sub",
];

const QUERIES: &[&str] = &[
    "",
    "uploads",
    "uploadId=0123456789abcdef0123456789abcdef",
    "uploadId=..%2F..%2Fx",
    "uploadId=",
    "partNumber=0&uploadId=x",
    "partNumber=-1&uploadId=x",
    "partNumber=99999999999999999999&uploadId=x",
    "partNumber=1",
    "list-type=2",
    "list-type=2&max-keys=-1",
    "list-type=2&max-keys=99999999999999999999999",
    "list-type=2&continuation-token=%ff%00garbage",
    "list-type=2&start-after=%ff",
    "list-type=3",
    "prefix=..%2f&delimiter=%2f",
    "delimiter=&prefix=",
    "delimiter=%00",
    "encoding-type=url&prefix=%ff",
    "encoding-type=xml",
    "marker=%2e%2e",
    "versions&key-marker=%ff&version-id-marker=x",
    "uploads&key-marker=a&upload-id-marker=..",
    "delete",
    "tagging",
    "acl",
    "cors",
    "policy",
    "location",
    "versioning",
    "response-content-type=text%2Fhtml%0d%0aSet-Cookie:%20x",
    "response-content-disposition=%00",
    "x-id=GetObject",
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%2F%2F&X-Amz-Signature=zz",
    "&&&===&",
    "%",
    "a=%zz",
];

const METHODS: &[&str] = &[
    "GET", "GET", "GET", "PUT", "PUT", "PUT", "POST", "POST", "DELETE", "DELETE", "HEAD",
    "OPTIONS", "PATCH", "get", "", "G\tT", "CONNECT", "TRACE",
];
const BAD_VERSIONS: &[&str] = &[
    "HTTP/1.0",
    "HTTP/2.0",
    "HTTP/9.9",
    "HTTP/1.1 extra",
    "",
    "HTTX/1.1",
];

fn key(rng: &mut Rng) -> String {
    let n = rng.range(1, 7);
    let mut k = String::new();
    for _ in 0..n {
        k.push_str(pick(rng, KEY_ATOMS));
    }
    if rng.chance(3) {
        k.push_str(&"a".repeat(rng.range(200, 1100) as usize));
    }
    k
}

fn target(rng: &mut Rng) -> String {
    match rng.below(20) {
        0 => "*".into(),
        1 => format!("http://127.0.0.1/fuzz/{}", key(rng)),
        2 => String::new(),
        3 => format!("/{}", "a/".repeat(rng.range(1, 3000) as usize)),
        4 => "/_smartstorage/health".into(),
        5 => format!("/_smartstorage/{}", key(rng)),
        _ => {
            let mut t = format!("/{}", pick(rng, BUCKETS));
            if rng.chance(85) {
                t.push('/');
                t.push_str(&key(rng));
            }
            let q = pick(rng, QUERIES);
            if !q.is_empty() {
                t.push('?');
                t.push_str(q);
            }
            t
        }
    }
}

/// Extra headers, each a complete line without CRLF (some deliberately malformed).
fn headers(rng: &mut Rng, body_len: usize) -> (Vec<String>, bool, bool) {
    let mut h = Vec::new();
    let mut framed = false;
    let mut short = false;
    match rng.below(30) {
        0 => {}
        1 | 5..=7 => h.push("Host: fuzz.localhost".into()),
        2 => h.push(format!("Host: {}", "h".repeat(rng.range(1, 5000) as usize))),
        3 => {
            h.push("Host: a".into());
            h.push("Host: b".into());
        }
        4 => h.push("Host: [::1".into()),
        _ => h.push("Host: 127.0.0.1".into()),
    }
    match rng.below(40) {
        0 => {}
        1 => h.push("Content-Length: -1".into()),
        2 => h.push("Content-Length: 99999999999999999999999".into()),
        3 => {
            h.push(format!("Content-Length: {body_len}"));
            h.push(format!("Content-Length: {}", body_len + 1));
        }
        4 => {
            h.push(format!(
                "Content-Length: {}",
                body_len + rng.range(1, 100) as usize
            ));
            short = true;
        }
        5 => {
            h.push("Transfer-Encoding: chunked".into());
            framed = true;
        }
        6 => {
            h.push("Transfer-Encoding: chunked".into());
            h.push(format!("Content-Length: {body_len}"));
            framed = true;
        }
        7 => h.push("Transfer-Encoding: gzip, chunked".into()),
        8 => h.push(format!("Content-Length: {body_len} ")),
        9 => h.push(format!("Content-Length: +{body_len}")),
        _ => h.push(format!("Content-Length: {body_len}")),
    }
    let extras: &[&str] = &[
        "x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        "x-amz-content-sha256: UNSIGNED-PAYLOAD",
        "x-amz-content-sha256: zzzz",
        "x-amz-content-sha256: 0000000000000000000000000000000000000000000000000000000000000000",
        "x-amz-decoded-content-length: 5",
        "x-amz-decoded-content-length: 18446744073709551615",
        "x-amz-decoded-content-length: -3",
        "x-amz-trailer: x-amz-checksum-crc32",
        "x-amz-trailer: x-amz-checksum-bogus, x-amz-checksum-crc32c",
        "Content-Encoding: aws-chunked",
        "Content-MD5: garbage==",
        "Content-MD5: 1B2M2Y8AsgTpgAmY7PhCfg==",
        "x-amz-checksum-crc32: AAAAAA==",
        "x-amz-checksum-sha256: !!!",
        "x-amz-checksum-crc32: AAAAAA==\r\nx-amz-checksum-crc32c: AAAAAA==",
        "x-amz-sdk-checksum-algorithm: MD4",
        "Range: bytes=0-",
        "Range: bytes=-0",
        "Range: bytes=99999999999999999999-",
        "Range: bytes=5-1,0-0",
        "Range: bytes=\u{7f}",
        "If-Match: *",
        "If-None-Match: *",
        "If-Match: W/\"x\", \"y\"",
        "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT",
        "If-Unmodified-Since: yesterday",
        "x-amz-copy-source: /fuzz/k",
        "x-amz-copy-source: /fuzz/..%2f..%2fetc%2fpasswd",
        "x-amz-copy-source: /..%2f..%2f/etc/passwd",
        "x-amz-copy-source: /.smartstorage/lock",
        "x-amz-copy-source: fuzz/outside%2fsecret.txt",
        "x-amz-copy-source: /fuzz/%ff",
        "x-amz-copy-source: /fuzz",
        "x-amz-copy-source: /fuzz/k?versionId=zzz",
        "x-amz-copy-source-range: bytes=0-99999999999999999999",
        "x-amz-copy-source-if-match: \"nope\"",
        "x-amz-metadata-directive: REPLACE",
        "x-amz-metadata-directive: MOVE",
        "x-amz-meta-a: \u{ff}\u{fe}",
        "x-amz-meta-empty:",
        "x-amz-tagging: a=b&c=%ff&&=",
        "x-amz-tagging: %",
        "Authorization: AWS4-HMAC-SHA256 Credential=/, SignedHeaders=, Signature=",
        "Authorization: garbage",
        "Expect: 100-continue",
        "Connection: close",
        "Connection: keep-alive, Upgrade",
        "Upgrade: h2c",
        "Content-Type: multipart/form-data; boundary=",
        "Content-Type: multipart/form-data; boundary=xyz",
    ];
    let malformed: &[&str] = &[
        "Bad Header: space in name",
        "NoColonHere",
        " leading-space: obs-fold",
        "\tfolded continuation",
        "x-nul: a\u{0}b",
        ": empty-name",
        "Content-Type: \u{0}",
    ];
    for _ in 0..rng.below(5) {
        h.push(pick(rng, extras).to_string());
    }
    if rng.chance(8) {
        h.push(pick(rng, malformed).to_string());
    }
    if rng.chance(4) {
        // Many small headers.
        for i in 0..rng.range(100, 5000) {
            h.push(format!("x-amz-meta-m{i}: v"));
        }
    }
    if rng.chance(3) {
        // One huge header.
        h.push(format!(
            "x-amz-meta-huge: {}",
            "v".repeat(rng.range(1000, 300_000) as usize)
        ));
    }
    (h, framed, short)
}

fn body(rng: &mut Rng) -> Vec<u8> {
    match rng.below(10) {
        0 => Vec::new(),
        1 => b"<Delete><Object><Key>..%2f..%2fssfuzzmarker</Key></Object><Object><Key>../../ssfuzzmarker</Key></Object></Delete>".to_vec(),
        2 => b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>".to_vec(),
        3 => b"<!DOCTYPE d [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><Delete><Object><Key>&e;</Key></Object></Delete>".to_vec(),
        4 => b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n".to_vec(),
        5 => b"ffffffffffffffffff\r\nx\r\n".to_vec(),
        6 => b"5;chunk-signature=zz\r\nhel".to_vec(),
        7 => (0..rng.below(5000)).map(|_| rng.next_u64() as u8).collect(),
        _ => format!("{MARKER} body").into_bytes(),
    }
}

/// One raw request.
/// One raw request: (method, target, bytes, whether it is knowingly incomplete).
fn request(rng: &mut Rng) -> (String, String, Vec<u8>, bool) {
    let method = if rng.chance(2) {
        "A".repeat(rng.range(1, 20_000) as usize)
    } else {
        pick(rng, METHODS).to_string()
    };
    let target = target(rng);
    let version = if rng.chance(8) {
        pick(rng, BAD_VERSIONS)
    } else {
        "HTTP/1.1"
    };
    let body = body(rng);
    let (hs, chunked, mut incomplete) = headers(rng, body.len());
    let mut out = Vec::new();
    let line_end: &[u8] = if rng.chance(5) { b"\n" } else { b"\r\n" };
    out.extend_from_slice(format!("{method} {target} {version}").as_bytes());
    out.extend_from_slice(line_end);
    for h in hs {
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(line_end);
    }
    if rng.chance(3) {
        // Raw invalid UTF-8 in a header value and in the target.
        out.extend_from_slice(b"x-amz-meta-raw: \xff\xfe\xc0\xaf");
        out.extend_from_slice(line_end);
    }
    out.extend_from_slice(line_end);
    if chunked && rng.chance(70) {
        out.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
        out.extend_from_slice(&body);
        out.extend_from_slice(b"\r\n0\r\n\r\n");
    } else {
        out.extend_from_slice(&body);
    }
    if rng.chance(3) {
        // Cut the request short at a random point.
        let cut = rng.below(out.len() as u64 + 1) as usize;
        incomplete |= cut < out.len();
        out.truncate(cut);
    }
    (method, target, out, incomplete)
}

/// What the server did with one request.
#[derive(Debug)]
enum Answer {
    /// A complete response: status, whether it carried x-amz-request-id, body.
    Response {
        status: u16,
        ours: bool,
        body: Vec<u8>,
    },
    /// Closed (or reset) without a response.
    Closed,
    /// Nothing within the time limit, even after the client half-closed.
    Hung,
}

/// Parses the first complete non-1xx response in `buf`, if there is one.
fn parse(buf: &[u8], head_request: bool) -> Option<(u16, bool, Vec<u8>)> {
    let mut at = 0;
    loop {
        let rest = &buf[at..];
        let end = rest.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let head = String::from_utf8_lossy(&rest[..end]).to_ascii_lowercase();
        let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
        if (100..200).contains(&status) {
            at += end;
            continue;
        }
        let ours = head.contains("\nx-amz-request-id:");
        let len = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok());
        let body_start = &rest[end..];
        if head_request || status == 204 || status == 304 {
            return Some((status, ours, Vec::new()));
        }
        return match len {
            Some(n) if body_start.len() >= n => Some((status, ours, body_start[..n].to_vec())),
            Some(_) => None,
            None if head.contains("transfer-encoding: chunked") => body_start
                .windows(5)
                .any(|w| w == b"0\r\n\r\n")
                .then(|| (status, ours, body_start.to_vec())),
            None => Some((status, ours, body_start.to_vec())),
        };
    }
}

fn exchange(port: u16, raw: &[u8], head_request: bool, incomplete: bool) -> Answer {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return Answer::Closed;
    };
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let _ = stream.write_all(raw);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    // A request known to be cut short: say so at once (the server would
    // otherwise rightly wait for the rest).
    let mut half_closed = incomplete && stream.shutdown(Shutdown::Write).is_ok();
    let mut deadline = Instant::now() + Duration::from_secs(if half_closed { 4 } else { 3 });
    loop {
        if let Some((status, ours, body)) = parse(&buf, head_request) {
            return Answer::Response { status, ours, body };
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            if half_closed {
                return Answer::Hung;
            }
            // Maybe the server waits for the rest of a cut request: tell it there is none.
            let _ = stream.shutdown(Shutdown::Write);
            half_closed = true;
            deadline = Instant::now() + Duration::from_secs(4);
            continue;
        }
        let _ = stream.set_read_timeout(Some(left));
        match stream.read(&mut chunk) {
            Ok(0) => {
                return match parse(&buf, head_request) {
                    Some((status, ours, body)) => Answer::Response { status, ours, body },
                    None if buf.starts_with(b"HTTP/") => {
                        // Headers and a body cut by the close: still an answer.
                        let status = String::from_utf8_lossy(&buf)
                            .split_whitespace()
                            .nth(1)
                            .and_then(|s| s.parse().ok())
                            .unwrap_or(0);
                        Answer::Response {
                            status,
                            ours: false,
                            body: Vec::new(),
                        }
                    }
                    None => Answer::Closed,
                };
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => {
                return if buf.is_empty() {
                    Answer::Closed
                } else {
                    Answer::Response {
                        status: 0,
                        ours: false,
                        body: Vec::new(),
                    }
                };
            }
        }
    }
}

/// Files named like the marker anywhere outside `data`, within `roots`.
fn escaped_files(roots: &[&Path], data: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for root in roots {
        for (path, _) in walk(root) {
            if path.starts_with(data) {
                continue;
            }
            if path.to_string_lossy().contains(MARKER) {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

/// A well-formed PUT of a hostile but valid key (traversal-looking segments,
/// backslashes, dots, unicode, empty segments, long components): it must be
/// stored, read back byte for byte, listed under its exact name, and deleted.
fn clean_round_trip(c: &mut Client, rng: &mut Rng, st: &mut FuzzStats) {
    const SEGMENTS: &[&str] = &[
        "..",
        ".",
        "",
        "...",
        "\\",
        "..\\..",
        "%",
        "%2e%2e",
        "a",
        "ü",
        "𝄞",
        " ",
        "+",
        "#",
        "?",
        "&",
        ".s3meta",
        ".s3data-0123456789abcdef0123456789abcdef",
        ".smartstorage",
        "tmp",
        "lock",
        "CON",
        "nul",
        "a:b",
        "*",
        "~",
        MARKER,
    ];
    // Each worker its own first segment, so no other worker races these keys.
    let mut key = st.worker.to_string();
    for _ in 0..rng.range(1, 6) {
        key.push('/');
        key.push_str(pick(rng, SEGMENTS));
        if rng.chance(5) {
            key.push_str(&"x".repeat(rng.range(200, 400) as usize));
        }
    }
    if key.is_empty() || key.len() > 1024 {
        return;
    }
    let body = content(&key, rng.below(3000) as usize);
    let path = format!("/fuzz/{}", encode_key(&key));
    st.requests += 1;
    let Ok(r) = c.put(&path, &body) else { return };
    if r.status != 200 {
        st.failures.push(format!(
            "valid key {key:?} refused: {} {}",
            r.status,
            r.text()
        ));
        return;
    }
    st.round_trips += 1;
    match c.get(&path) {
        Ok(r) if r.status == 200 && r.body == body => {}
        Ok(r) => st.failures.push(format!(
            "key {key:?} read back as {} with {} bytes",
            r.status,
            r.body.len()
        )),
        Err(e) => st
            .failures
            .push(format!("key {key:?} read back failed: {e}")),
    }
    let list = format!(
        "/fuzz?list-type=2&encoding-type=url&prefix={}",
        encode_key(&key)
    );
    if let Ok(r) = c.get(&list) {
        let listed: Vec<String> = xml_fields(&r.text(), "Key")
            .iter()
            .map(|k| url_decode(&xml_unescape(k)))
            .collect();
        if !listed.contains(&key) {
            st.failures
                .push(format!("key {key:?} not listed under its name: {listed:?}"));
        }
    }
    if rng.chance(90) {
        let _ = c.request("DELETE", &path, &[], b"");
    }
}

fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
        } else {
            out.push(if b[i] == b'+' { b' ' } else { b[i] });
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Default)]
struct FuzzStats {
    worker: String,
    slowest: (Duration, String),
    statuses: BTreeMap<u16, u64>,
    codes: BTreeMap<String, u64>,
    requests: u64,
    closed: u64,
    round_trips: u64,
    failures: Vec<String>,
}

/// Sends hostile requests until `deadline`. With `auth`, the server has
/// authentication on and none of these requests is signed with a known key:
/// every one must be refused (anything but the health check answering 2xx is
/// a failure).
fn fuzz_worker(server: &Server, mut rng: Rng, deadline: Instant, auth: bool) -> FuzzStats {
    let mut st = FuzzStats {
        worker: format!("w{:x}", rng.next_u64()),
        ..FuzzStats::default()
    };
    let mut c = server.client();
    while Instant::now() < deadline && st.failures.len() < 10 {
        if !auth && rng.chance(15) {
            clean_round_trip(&mut c, &mut rng, &mut st);
            continue;
        }
        let (method, target, raw, incomplete) = request(&mut rng);
        st.requests += 1;
        let head = method == "HEAD";
        let shown = || String::from_utf8_lossy(&raw[..raw.len().min(400)]).into_owned();
        let t = Instant::now();
        let answer = exchange(server.port, &raw, head, incomplete);
        let took = t.elapsed();
        if took > st.slowest.0 {
            st.slowest = (took, shown().chars().take(160).collect());
        }
        match answer {
            Answer::Hung => st
                .failures
                .push(format!("no answer and no close: {:?}", shown())),
            Answer::Closed => st.closed += 1,
            Answer::Response { status, ours, body } => {
                *st.statuses.entry(status).or_default() += 1;
                let text = String::from_utf8_lossy(&body);
                let code = if ours {
                    xml_field(&text, "Code").unwrap_or_else(|| status.to_string())
                } else {
                    format!("http-{status}")
                };
                *st.codes.entry(code).or_default() += 1;
                if status == 500 || text.contains("<Code>InternalError</Code>") {
                    st.failures
                        .push(format!("500 InternalError for {:?}: {text}", shown()));
                }
                if ours && status >= 400 && !head && !text.contains("<Error><Code>") {
                    st.failures.push(format!(
                        "{status} without an S3 error body for {:?}: {text:?}",
                        shown()
                    ));
                }
                if auth
                    && (200..300).contains(&status)
                    && !target.starts_with("/_smartstorage/health")
                {
                    st.failures.push(format!(
                        "an unsigned or forged request succeeded ({status}) with auth on: {:?}",
                        shown()
                    ));
                }
                if text.contains(SECRET) {
                    st.failures.push(format!(
                        "a file outside the storage directory was served for {:?}",
                        shown()
                    ));
                }
                // A key the server accepted reads back exactly.
                let has = |needle: &[u8]| {
                    raw.windows(needle.len())
                        .any(|w| w.eq_ignore_ascii_case(needle))
                };
                if !auth
                    && method == "PUT"
                    && status == 200
                    && target.starts_with("/fuzz/")
                    && !target.contains('?')
                    && !has(b"x-amz-copy-source")
                    && !has(b"transfer-encoding")
                    && !has(b"aws-chunked")
                    && !has(b"STREAMING")
                    && !has(b"host: fuzz.")
                {
                    let sent = raw
                        .windows(4)
                        .position(|w| w == b"\r\n\r\n")
                        .map(|p| raw[p + 4..].to_vec());
                    if let (Ok(r), Some(sent)) = (c.get(&target), sent) {
                        st.round_trips += 1;
                        if r.status != 200 || r.body != sent {
                            st.failures.push(format!(
                                "PUT {target:?} → 200 but GET → {} with {} bytes (sent {})",
                                r.status,
                                r.body.len(),
                                sent.len()
                            ));
                        }
                    }
                }
            }
        }
        if st.requests.is_multiple_of(100) {
            server.assert_no_panic();
            assert!(
                c.get("/_smartstorage/health")
                    .is_ok_and(|r| r.status == 200),
                "the server stopped answering after {} requests",
                st.requests
            );
        }
    }
    st
}

#[test]
fn hostile_http_never_panics_escapes_hangs_or_fails_internally() {
    let secs = knob("SMARTSTORAGE_HTTP_FUZZ_SECS", 6);
    let seed = seed("http-fuzz");
    let mut rng = Rng::new(seed);
    // <tmp>/a/b/c/data: traversal has three levels to climb to reach <tmp>.
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("a/b/c");
    let data = base.join("data");
    let cwd = base.join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let outside = base.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), SECRET).unwrap();
    std::fs::write(base.join("secret.txt"), SECRET).unwrap();
    let config = base.join("config.json");
    std::fs::write(
        &config,
        r#"{"limits":{"requestTimeout":2000,"maxObjectSize":1048576}}"#,
    )
    .unwrap();
    let server = Server::spawn_in(Some(&cwd), &[], &data, &[], Some(&config));
    let mut c = server.client();
    ensure_bucket(&mut c, "fuzz");
    assert_eq!(c.put("/fuzz/pinned", b"known object").unwrap().status, 200);

    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let threads = knob("SMARTSTORAGE_HTTP_FUZZ_THREADS", 8);
    let seeds: Vec<u64> = (0..threads).map(|_| rng.next_u64()).collect();
    let results: Vec<FuzzStats> = std::thread::scope(|scope| {
        let handles: Vec<_> = seeds
            .iter()
            .map(|&seed| {
                let server = &server;
                scope.spawn(move || fuzz_worker(server, Rng::new(seed), deadline, false))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    let mut codes: BTreeMap<String, u64> = BTreeMap::new();
    let mut slowest = (Duration::ZERO, String::new());
    let (mut requests, mut closed, mut round_trips) = (0u64, 0u64, 0u64);
    let mut failures = Vec::new();
    for r in results {
        for (k, v) in r.codes {
            *codes.entry(k).or_default() += v;
        }
        for (k, v) in r.statuses {
            *statuses.entry(k).or_default() += v;
        }
        requests += r.requests;
        closed += r.closed;
        round_trips += r.round_trips;
        failures.extend(r.failures);
        if r.slowest.0 > slowest.0 {
            slowest = r.slowest;
        }
    }
    let elapsed = started.elapsed();
    server.assert_no_panic();
    assert_eq!(
        c.get("/fuzz/pinned").unwrap().body,
        b"known object",
        "a stored object was damaged"
    );
    let mut escaped = escaped_files(&[tmp.path()], &data);
    for entry in std::fs::read_dir("/tmp").into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().contains(MARKER) {
            escaped.push(entry.path().display().to_string());
        }
    }
    let cwd_files: Vec<_> = walk(&cwd);
    let fds = server.open_fds().unwrap_or(0);
    let stopping = Instant::now();
    let (ok, stderr) = server.terminate(Duration::from_secs(15));
    let stop_time = stopping.elapsed();
    for line in stderr
        .iter()
        .filter(|l| l.contains("in-flight") || l.contains("WARN") || l.contains("ERROR"))
        .take(10)
    {
        eprintln!("[http-fuzz] server: {line}");
    }
    eprintln!("[http-fuzz] graceful stop took {stop_time:?}");
    assert_no_panic(&stderr);
    eprintln!(
        "[http-fuzz] {requests} hostile requests in {:.1}s ({:.0}/s): statuses {statuses:?}, codes {codes:?}, {closed} closed without answer, \
         {round_trips} accepted keys read back, open fds at the end {fds}; slowest answer {:?} for {:?}",
        elapsed.as_secs_f64(),
        requests as f64 / elapsed.as_secs_f64(),
        slowest.0,
        slowest.1
    );
    assert!(
        failures.is_empty(),
        "{} findings:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(
        escaped.is_empty(),
        "files created outside the storage directory: {escaped:?}"
    );
    assert!(
        cwd_files.is_empty(),
        "files created in the working directory: {cwd_files:?}"
    );
    assert!(ok, "no graceful exit after the fuzz run");
    // Inside the storage directory, only buckets and the store's own directory.
    for entry in std::fs::read_dir(&data).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            entry.path().is_dir() && (name == ".smartstorage" || !name.starts_with('.')),
            "unexpected entry {name:?} in the storage root"
        );
    }
}

#[test]
fn with_auth_on_no_unsigned_or_forged_request_gets_through() {
    let secs = knob("SMARTSTORAGE_HTTP_FUZZ_SECS", 6) / 2;
    let seed = seed("http-fuzz-auth");
    let mut rng = Rng::new(seed);
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let config = tmp.path().join("config.json");
    std::fs::write(
        &config,
        r#"{"auth":{"enabled":true,"credentials":[{"accessKeyId":"AKIDFUZZ","secretAccessKey":"fuzz-secret-key"}]},"limits":{"requestTimeout":2000,"maxObjectSize":1048576}}"#,
    )
    .unwrap();
    let server = Server::spawn_in(None, &[], &data, &[], Some(&config));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs.max(1));
    let seeds: Vec<u64> = (0..4).map(|_| rng.next_u64()).collect();
    let results: Vec<FuzzStats> = std::thread::scope(|scope| {
        let handles: Vec<_> = seeds
            .iter()
            .map(|&seed| {
                let server = &server;
                scope.spawn(move || fuzz_worker(server, Rng::new(seed), deadline, true))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    server.assert_no_panic();
    let requests: u64 = results.iter().map(|r| r.requests).sum();
    let mut codes: BTreeMap<String, u64> = BTreeMap::new();
    for r in &results {
        for (k, v) in &r.codes {
            *codes.entry(k.clone()).or_default() += v;
        }
    }
    let failures: Vec<String> = results.into_iter().flat_map(|r| r.failures).collect();
    let (ok, stderr) = server.terminate(Duration::from_secs(15));
    assert_no_panic(&stderr);
    eprintln!(
        "[http-fuzz-auth] {requests} unsigned/forged requests in {:.1}s with auth on: codes {codes:?}",
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} findings:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(ok, "no graceful exit");
    // Nothing was created: no bucket directory, no object file.
    let created: Vec<_> = walk(&data)
        .into_iter()
        .filter(|(p, _)| !p.starts_with(data.join(".smartstorage")))
        .collect();
    assert!(
        created.is_empty(),
        "unauthenticated requests created {created:?}"
    );
}
