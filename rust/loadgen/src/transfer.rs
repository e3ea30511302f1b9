//! Big transfers: one streamed PUT or GET, and ranged GETs (random 1 MiB
//! ranges for latency, or parallel ranges covering an object for throughput).

use crate::http::{Conn, noise, request_head};
use crate::{Args, Json, percentile};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The repeated body pattern of a streamed PUT: 1 MiB, large enough that
/// writes are big and the pattern does not line up with any server buffer.
const PUT_PATTERN: usize = (1 << 20) + 4096;

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())
}

/// `put`: one PUT of `--size` bytes streamed from memory.
pub fn put(args: &Args) -> Result<Json, String> {
    let addr = args.req("addr")?;
    let path = args.req("path")?;
    let size = args.num("size", 1 << 30)?;
    let headers = args.all("header");
    let pattern = noise(PUT_PATTERN, args.num("seed", 11)?);
    runtime()?.block_on(async move {
        let t = Instant::now();
        let mut conn = Conn::connect(&addr).await.map_err(|e| format!("connect {addr}: {e}"))?;
        let head = request_head("PUT", &path, &addr, Some(size), &headers);
        conn.write(&head).await.map_err(|e| format!("PUT {path}: {e}"))?;
        conn.write_repeated(&pattern, size).await.map_err(|e| format!("PUT {path}: {e}"))?;
        let resp = conn.read_response(false, &mut |_| {}).await.map_err(|e| format!("PUT {path}: {e}"))?;
        let secs = t.elapsed().as_secs_f64();
        Ok(Json::default()
            .num("status", resp.status)
            .num("bytes", size as f64)
            .num("seconds", secs)
            .num("bytes_per_s", size as f64 / secs))
    })
}

/// `get`: one GET, body read and discarded.
pub fn get(args: &Args) -> Result<Json, String> {
    let addr = args.req("addr")?;
    let path = args.req("path")?;
    let headers = args.all("header");
    runtime()?.block_on(async move {
        let t = Instant::now();
        let mut conn = Conn::connect(&addr).await.map_err(|e| format!("connect {addr}: {e}"))?;
        conn.write(&request_head("GET", &path, &addr, None, &headers)).await.map_err(|e| format!("GET {path}: {e}"))?;
        let resp = conn.read_response(false, &mut |_| {}).await.map_err(|e| format!("GET {path}: {e}"))?;
        let secs = t.elapsed().as_secs_f64();
        Ok(Json::default()
            .num("status", resp.status)
            .num("bytes", resp.body_len as f64)
            .num("seconds", secs)
            .num("bytes_per_s", resp.body_len as f64 / secs))
    })
}

/// `ranges`: ranged GETs of `--range-size` over an object of `--object-size`
/// bytes, `--concurrency` connections. `--random`: `--count` ranges at random
/// offsets (latency); otherwise consecutive ranges covering the object once
/// (parallel read-back throughput).
pub fn ranges(args: &Args) -> Result<Json, String> {
    let addr = args.req("addr")?;
    let path = args.req("path")?;
    let object_size = args.num("object-size", 0)?;
    let range_size = args.num("range-size", 1 << 20)?.max(1);
    let concurrency = args.num("concurrency", 1)?.max(1);
    let random = args.flag("random");
    let count = if random { args.num("count", 200)? } else { object_size.div_ceil(range_size) };
    let deadline = Instant::now() + Duration::from_millis(args.num("duration-ms", 120_000)?);
    if object_size < range_size {
        return Err("--object-size must be at least --range-size".into());
    }
    let mut rng = args.num("seed", 3)? | 1;
    let offsets: Vec<u64> = (0..count)
        .map(|i| {
            if random {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng % (object_size - range_size + 1)
            } else {
                i * range_size
            }
        })
        .collect();
    let offsets = Arc::new(offsets);
    let next = Arc::new(AtomicU64::new(0));
    let t = Instant::now();
    let results = runtime()?.block_on(async {
        let handles: Vec<_> = (0..concurrency)
            .map(|_| {
                let (addr, path, offsets, next) = (addr.clone(), path.clone(), offsets.clone(), next.clone());
                tokio::spawn(async move {
                    let mut lat = Vec::new();
                    let mut bytes = 0u64;
                    let mut bad = 0u64;
                    let mut conn = Conn::connect(&addr).await.map_err(|e| e.to_string())?;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                        if i >= offsets.len() || Instant::now() >= deadline {
                            break;
                        }
                        let start = offsets[i];
                        let end = (start + range_size).min(object_size) - 1;
                        let range = [format!("Range: bytes={start}-{end}")];
                        let t = Instant::now();
                        conn.write(&request_head("GET", &path, &addr, None, &range)).await.map_err(|e| e.to_string())?;
                        let resp = conn.read_response(false, &mut |_| {}).await.map_err(|e| e.to_string())?;
                        lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                        bytes += resp.body_len;
                        if resp.status != 206 || resp.body_len != end - start + 1 {
                            bad += 1;
                        }
                        if resp.close {
                            conn = Conn::connect(&addr).await.map_err(|e| e.to_string())?;
                        }
                    }
                    Ok::<_, String>((lat, bytes, bad))
                })
            })
            .collect();
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.map_err(|e| e.to_string())?);
        }
        Ok::<_, String>(out)
    })?;
    let secs = t.elapsed().as_secs_f64();
    let (mut lat, mut bytes, mut bad) = (Vec::new(), 0u64, 0u64);
    for r in results {
        let (l, b, x) = r?;
        lat.extend(l);
        bytes += b;
        bad += x;
    }
    lat.sort_unstable();
    Ok(Json::default()
        .num("requests", lat.len() as f64)
        .num("bad", bad as f64)
        .num("bytes", bytes as f64)
        .num("seconds", secs)
        .num("bytes_per_s", bytes as f64 / secs)
        .num("p50_us", percentile(&lat, 0.5))
        .num("p99_us", percentile(&lat, 0.99))
        .num("max_us", percentile(&lat, 1.0)))
}

/// `list`: full ListObjectsV2 pagination of `--bucket` (`--max-keys` per
/// page, optional `--prefix`), following `NextContinuationToken`; counts the
/// `<Key>` elements. The lean client for listing throughput.
pub fn list(args: &Args) -> Result<Json, String> {
    let addr = args.req("addr")?;
    let bucket = args.req("bucket")?;
    let max_keys = args.num("max-keys", 1000)?;
    let prefix = args.get("prefix").map(percent_encode);
    let max_pages = args.num("max-pages", 100_000)?;
    runtime()?.block_on(async move {
        let t = Instant::now();
        let mut conn = Conn::connect(&addr).await.map_err(|e| format!("connect {addr}: {e}"))?;
        let (mut keys, mut pages, mut token) = (0u64, 0u64, None::<String>);
        loop {
            let mut path = format!("/{bucket}?list-type=2&max-keys={max_keys}");
            if let Some(p) = &prefix {
                path.push_str(&format!("&prefix={p}"));
            }
            if let Some(tok) = &token {
                path.push_str(&format!("&continuation-token={}", percent_encode(tok)));
            }
            conn.write(&request_head("GET", &path, &addr, None, &[])).await.map_err(|e| format!("GET {path}: {e}"))?;
            let mut body = Vec::new();
            let resp = conn.read_response(false, &mut |b| body.extend_from_slice(b)).await.map_err(|e| format!("GET {path}: {e}"))?;
            if resp.status != 200 {
                return Err(format!("GET {path}: status {}: {}", resp.status, String::from_utf8_lossy(&body[..body.len().min(300)])));
            }
            let text = String::from_utf8_lossy(&body);
            keys += text.matches("<Key>").count() as u64;
            pages += 1;
            token = between(&text, "<NextContinuationToken>", "</NextContinuationToken>").map(unescape_xml);
            if token.is_none() || pages >= max_pages {
                break;
            }
            if resp.close {
                conn = Conn::connect(&addr).await.map_err(|e| format!("connect {addr}: {e}"))?;
            }
        }
        let secs = t.elapsed().as_secs_f64();
        Ok(Json::default().num("keys", keys as f64).num("pages", pages as f64).num("seconds", secs).num("keys_per_s", keys as f64 / secs))
    })
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(&text[start..end])
}

fn unescape_xml(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
