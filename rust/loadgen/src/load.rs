//! `http`: many keep-alive connections on one thread replaying requests over a
//! key range, bounded by a request count and a deadline; reports throughput,
//! latency percentiles and status counts.
//!
//! One thread is deliberate: on a 2-core machine the driver should use at most
//! one core and leave the other to the server; a single epoll loop issuing
//! pre-formatted requests costs a few microseconds per request, far below
//! what any S3 server spends.

use crate::http::{Conn, noise, request_head};
use crate::{Args, Json, percentile};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Consecutive connection failures after which a worker gives up.
const MAX_CONNECT_FAILURES: u32 = 20;

/// Largest request body sent in the same write as the head.
const COALESCE_BODY: usize = 64 * 1024;

struct Spec {
    addr: String,
    method: String,
    template: Vec<Piece>,
    dirs: u64,
    keys: u64,
    start: u64,
    requests: u64,
    deadline: Instant,
    body: Arc<Vec<u8>>,
    headers: Vec<String>,
}

/// A piece of a path template: literal text, the key index `{i}`, or its
/// directory `{d}` (index modulo `--dirs`, to build trees for delimiter listings).
#[derive(Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Index,
    Dir,
}

fn parse_template(path: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut rest = path;
    while let Some(pos) = rest.find(['{']) {
        let (text, tail) = rest.split_at(pos);
        let (piece, len) = if tail.starts_with("{i}") {
            (Some(Piece::Index), 3)
        } else if tail.starts_with("{d}") {
            (Some(Piece::Dir), 3)
        } else {
            (None, 1)
        };
        let literal = if piece.is_none() { &tail[..1] } else { "" };
        if !text.is_empty() || !literal.is_empty() {
            pieces.push(Piece::Text(format!("{text}{literal}")));
        }
        pieces.extend(piece);
        rest = &tail[len..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_string()));
    }
    pieces
}

fn render(template: &[Piece], key: u64, dirs: u64) -> String {
    let mut out = String::with_capacity(64);
    for piece in template {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Index => out.push_str(&key.to_string()),
            Piece::Dir => out.push_str(&(key % dirs.max(1)).to_string()),
        }
    }
    out
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    statuses: BTreeMap<u16, u64>,
    io_errors: u64,
    body_bytes: u64,
    first_error: Option<String>,
}

/// Runs the `http` command.
pub fn run(args: &Args) -> Result<Json, String> {
    let path = args.req("path")?;
    let template = parse_template(&path);
    let templated = template.contains(&Piece::Index);
    let duration = Duration::from_millis(args.num("duration-ms", 10_000)?);
    let concurrency = args.num("concurrency", 1)?.max(1);
    let body_size = args.num("body-size", 0)? as usize;
    let spec = Arc::new(Spec {
        addr: args.req("addr")?,
        method: args.get("method").unwrap_or("GET").to_ascii_uppercase(),
        template,
        dirs: args.num("dirs", 1)?,
        keys: if templated { args.num("keys", 0)? } else { 1 },
        start: args.num("start", 0)?,
        requests: args.num("requests", 1_000_000)?,
        deadline: Instant::now() + duration,
        body: Arc::new(noise(body_size, args.num("seed", 7)?)),
        headers: args.all("header"),
    });
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let cpu_before = crate::cpu_seconds();
    let tallies = rt.block_on(async {
        let handles: Vec<_> = (0..concurrency).map(|_| tokio::spawn(worker(spec.clone(), next.clone()))).collect();
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap_or_default());
        }
        out
    });
    let elapsed = started.elapsed().as_secs_f64();
    let mut total = Tally::default();
    for t in tallies {
        total.latencies_us.extend(t.latencies_us);
        for (s, n) in t.statuses {
            *total.statuses.entry(s).or_default() += n;
        }
        total.io_errors += t.io_errors;
        total.body_bytes += t.body_bytes;
        if total.first_error.is_none() {
            total.first_error = t.first_error;
        }
    }
    total.latencies_us.sort_unstable();
    let done = total.latencies_us.len() as u64;
    let ok: u64 = total.statuses.iter().filter(|(s, _)| (200..300).contains(*s)).map(|(_, n)| n).sum();
    let statuses = format!(
        "{{{}}}",
        total.statuses.iter().map(|(s, n)| format!("\"{s}\":{n}")).collect::<Vec<_>>().join(",")
    );
    let mean = if done == 0 { f64::NAN } else { total.latencies_us.iter().map(|&v| f64::from(v)).sum::<f64>() / done as f64 };
    let mut json = Json::default()
        .str("method", &spec.method)
        .num("concurrency", concurrency as f64)
        .num("requests", done as f64)
        .num("ok", ok as f64)
        .num("not_ok", (done - ok) as f64)
        .num("io_errors", total.io_errors as f64)
        .num("body_bytes", total.body_bytes as f64)
        .num("elapsed_s", elapsed)
        .num("ops_per_s", done as f64 / elapsed)
        .num("ok_per_s", ok as f64 / elapsed)
        .num("mean_us", mean)
        .num("p50_us", percentile(&total.latencies_us, 0.5))
        .num("p90_us", percentile(&total.latencies_us, 0.9))
        .num("p99_us", percentile(&total.latencies_us, 0.99))
        .num("max_us", percentile(&total.latencies_us, 1.0))
        .num("client_cpu_s", crate::cpu_seconds() - cpu_before)
        .raw("statuses", statuses);
    if let Some(e) = &total.first_error {
        json = json.str("first_error", e);
    }
    Ok(json)
}

async fn worker(spec: Arc<Spec>, next: Arc<AtomicU64>) -> Tally {
    let mut tally = Tally::default();
    let mut conn: Option<Conn> = None;
    let mut failures = 0u32;
    let host = spec.addr.clone();
    let head_only = spec.method == "HEAD";
    let has_body = !spec.body.is_empty() || spec.method == "PUT" || spec.method == "POST";
    let mut request = Vec::with_capacity(512 + spec.body.len().min(COALESCE_BODY));
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= spec.requests || Instant::now() >= spec.deadline {
            break;
        }
        let key = spec.start + if spec.keys > 0 { i % spec.keys } else { i };
        let path = render(&spec.template, key, spec.dirs);
        let content_length = has_body.then_some(spec.body.len() as u64);
        request.clear();
        request.extend_from_slice(&request_head(&spec.method, &path, &host, content_length, &spec.headers));
        let coalesce = spec.body.len() <= COALESCE_BODY;
        if coalesce {
            request.extend_from_slice(&spec.body);
        }
        let t = Instant::now();
        if conn.is_none() {
            match Conn::connect(&spec.addr).await {
                Ok(c) => {
                    conn = Some(c);
                    failures = 0;
                }
                Err(e) => {
                    tally.io_errors += 1;
                    tally.first_error.get_or_insert_with(|| format!("connect: {e}"));
                    failures += 1;
                    if failures >= MAX_CONNECT_FAILURES {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        let mut body_bytes = 0u64;
        let outcome = async {
            c.write(&request).await?;
            if !coalesce {
                c.write_repeated(&spec.body, spec.body.len() as u64).await?;
            }
            c.read_response(head_only, &mut |b| body_bytes += b.len() as u64).await
        }
        .await;
        match outcome {
            Ok(resp) => {
                tally.latencies_us.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                *tally.statuses.entry(resp.status).or_default() += 1;
                tally.body_bytes += body_bytes;
                if resp.close {
                    conn = None;
                }
            }
            Err(e) => {
                tally.io_errors += 1;
                tally.first_error.get_or_insert_with(|| format!("{} {path}: {e}", spec.method));
                conn = None;
            }
        }
    }
    tally
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_index_and_directory() {
        let t = parse_template("/b/d{d}/k{i}?x={y}");
        assert_eq!(render(&t, 123, 100), "/b/d23/k123?x={y}");
        assert_eq!(render(&parse_template("/plain"), 5, 1), "/plain");
    }
}
