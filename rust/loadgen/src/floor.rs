//! `floor-server`: the core of a small PUT and nothing else — the yardstick
//! for the server-CPU-per-PUT target.
//!
//! Same stack as SmartStorage (tokio with one worker per core, hyper HTTP/1.1
//! with keep-alive): each PUT's body is received and MD5-hashed (the ETag), and
//! one file holding a metadata document and the bytes is written to a temp
//! file and renamed into place (the classic write visible whole or not at all,
//! without fsync). No routing, authentication, validation, index or
//! conditions. Other methods get 405. (SmartStorage with fsync off skips the
//! rename for a new key: its index, not the file, decides what readers see.)
//!
//! It prints `{"addr":"127.0.0.1:PORT"}` once listening and serves until its
//! standard input closes (or it is killed).

use crate::{Args, Json};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use md5::{Digest, Md5};
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Temp-file shard directories, as the store spreads its temp files.
const TEMP_SHARDS: u64 = 16;

/// Where the floor server keeps its files.
struct Dirs {
    /// Objects, one file per key (slashes flattened).
    objects: PathBuf,
    /// Temp files, in shards.
    tmp: PathBuf,
    /// Metadata document size in bytes: padded to it so the file is as large
    /// as the store's metadata file for the same object.
    meta_bytes: usize,
    /// Names temp files uniquely.
    next: AtomicU64,
}

/// Runs the floor server (see the module doc); returns once stdin closes.
pub fn serve(args: &Args) -> Result<Json, String> {
    let dir = PathBuf::from(args.get("dir").ok_or("--dir is required")?);
    let meta_bytes = args.num("meta-bytes", 280)? as usize;
    let dirs = Dirs {
        objects: dir.join("objects"),
        tmp: dir.join("tmp"),
        meta_bytes,
        next: AtomicU64::new(0),
    };
    fs::create_dir_all(&dirs.objects).map_err(|e| e.to_string())?;
    for shard in 0..TEMP_SHARDS {
        fs::create_dir_all(dirs.tmp.join(format!("{shard:02x}"))).map_err(|e| e.to_string())?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(
            args.get("addr").unwrap_or("127.0.0.1:0"),
        ))
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!(
        "{}",
        Json::default().str("addr", &addr.to_string()).render()
    );
    io::stdout().flush().map_err(|e| e.to_string())?;
    let dirs = Arc::new(dirs);
    runtime.spawn(accept_loop(listener, dirs));
    // Blocks until the parent closes stdin (or goes away).
    let _ = io::stdin().read_to_end(&mut Vec::new());
    Ok(Json::default().str("stopped", &addr.to_string()))
}

/// Pause after a failed `accept` (out of descriptors, say) before the next try,
/// so the loop does not spin a core while the condition lasts.
const ACCEPT_RETRY_DELAY: std::time::Duration = std::time::Duration::from_millis(10);

async fn accept_loop(listener: tokio::net::TcpListener, dirs: Arc<Dirs>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                eprintln!("floor-server: accepting a connection: {e}");
                tokio::time::sleep(ACCEPT_RETRY_DELAY).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let dirs = dirs.clone();
        let service = hyper::service::service_fn(move |req| put(req, dirs.clone()));
        tokio::spawn(
            http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service),
        );
    }
}

/// A PUT: body in, MD5, the file written and renamed, 200 with the ETag.
async fn put(
    req: Request<Incoming>,
    dirs: Arc<Dirs>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    if req.method() != Method::PUT {
        return Ok(status(StatusCode::METHOD_NOT_ALLOWED));
    }
    let name = req.uri().path().trim_start_matches('/').replace('/', "_");
    let mut body = req.into_body();
    let mut chunks = Vec::new();
    let mut md5 = Md5::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            md5.update(&data);
            chunks.push(data);
        }
    }
    let etag = hex::encode(md5.finalize());
    let size: usize = chunks.iter().map(Bytes::len).sum();
    match write_object(&dirs, &name, &etag, size, &chunks) {
        Ok(()) => {
            let mut response = status(StatusCode::OK);
            if let Ok(value) = format!("\"{etag}\"").parse() {
                response.headers_mut().insert(hyper::header::ETAG, value);
            }
            Ok(response)
        }
        Err(e) => {
            eprintln!("floor-server: storing {name}: {e}");
            Ok(status(StatusCode::INTERNAL_SERVER_ERROR))
        }
    }
}

/// Writes `{document}\n{bytes}` to a temp file and renames it to the object's name.
fn write_object(
    dirs: &Dirs,
    name: &str,
    etag: &str,
    size: usize,
    chunks: &[Bytes],
) -> io::Result<()> {
    let mut contents = format!("{{\"etag\":\"{etag}\",\"size\":{size}}}").into_bytes();
    contents.resize(dirs.meta_bytes.max(contents.len()), b' ');
    contents.push(b'\n');
    for chunk in chunks {
        contents.extend_from_slice(chunk);
    }
    let n = dirs.next.fetch_add(1, Ordering::Relaxed);
    let temp = dirs
        .tmp
        .join(format!("{:02x}", n % TEMP_SHARDS))
        .join(format!("t{n}"));
    write_new(&temp, &contents)?;
    fs::rename(&temp, dirs.objects.join(name)).inspect_err(|_| {
        let _ = fs::remove_file(&temp);
    })
}

fn write_new(path: &Path, contents: &[u8]) -> io::Result<()> {
    fs::File::create_new(path)?.write_all(contents)
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = code;
    response
}
