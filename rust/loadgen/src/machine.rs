//! The machine's own limits, measured the way the server would hit them:
//! loopback TCP, sequential disk writes synced as they go, fsynced small file
//! creations from many writers, and single-core MD5 with the crate the server
//! uses for ETags.

use crate::http::noise;
use crate::{Args, Json};
use md5::{Digest, Md5};
use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Buffer for TCP and disk writes: the size a streaming server moves per call.
const IO_BUFFER: usize = 1 << 20;

/// `tcp`: one loopback connection, `--bytes` sent by one thread and received
/// by another; bytes/s measured at the receiver.
pub fn tcp(args: &Args) -> Result<Json, String> {
    let total = args.num("bytes", 2 << 30)?;
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let reader = std::thread::spawn(move || -> std::io::Result<(u64, f64)> {
        let (mut s, _) = listener.accept()?;
        let mut buf = vec![0u8; IO_BUFFER];
        let mut got = 0u64;
        let mut first: Option<Instant> = None;
        loop {
            let n = s.read(&mut buf)?;
            if n == 0 {
                break;
            }
            first.get_or_insert_with(Instant::now);
            got += n as u64;
        }
        Ok((got, first.map_or(0.0, |t| t.elapsed().as_secs_f64())))
    });
    let pattern = noise(IO_BUFFER, 5);
    let t = Instant::now();
    {
        let mut s = TcpStream::connect(addr).map_err(|e| e.to_string())?;
        let mut left = total;
        while left > 0 {
            let n = (pattern.len() as u64).min(left) as usize;
            s.write_all(&pattern[..n]).map_err(|e| e.to_string())?;
            left -= n as u64;
        }
    }
    let (got, _) = reader.join().map_err(|_| "reader panicked".to_string())?.map_err(|e| e.to_string())?;
    let secs = t.elapsed().as_secs_f64();
    Ok(Json::default().num("bytes", got as f64).num("seconds", secs).num("bytes_per_s", got as f64 / secs))
}

/// Bytes the disk probe writes between two background `fdatasync`s: the
/// server's own interval (`SYNC_EVERY_BYTES` in the store), so the probe
/// streams to the disk the way a fsync-on upload does.
const DISK_SYNC_EVERY: u64 = 16 << 20;

/// `disk`: writes `--bytes` to a new file in `--dir` in 1 MiB writes while a
/// second thread fdatasyncs every [`DISK_SYNC_EVERY`] bytes, then a final
/// fdatasync; the time includes it, so it is what the disk sustains while
/// written to as a fsync-on upload writes, not what the page cache absorbs.
pub fn disk(args: &Args) -> Result<Json, String> {
    let dir = PathBuf::from(args.req("dir")?);
    let total = args.num("bytes", 1 << 30)?;
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join(format!("disk-probe-{}", std::process::id()));
    let pattern = noise(IO_BUFFER, 9);
    let result = (|| -> std::io::Result<(f64, f64)> {
        let t = Instant::now();
        let mut f = File::create(&path)?;
        let syncer = {
            let file = f.try_clone()?;
            let (due, wake) = std::sync::mpsc::sync_channel::<()>(1);
            let handle = std::thread::spawn(move || -> std::io::Result<()> {
                while wake.recv().is_ok() {
                    file.sync_data()?;
                }
                Ok(())
            });
            (due, handle)
        };
        let (mut left, mut unsynced) = (total, 0u64);
        while left > 0 {
            let n = (pattern.len() as u64).min(left) as usize;
            f.write_all(&pattern[..n])?;
            left -= n as u64;
            unsynced += n as u64;
            // Skipped while the previous sync still runs, as the server does.
            if unsynced >= DISK_SYNC_EVERY && syncer.0.try_send(()).is_ok() {
                unsynced = 0;
            }
        }
        let written = t.elapsed().as_secs_f64();
        drop(syncer.0);
        syncer.1.join().map_err(|_| std::io::Error::other("sync thread panicked"))??;
        f.sync_data()?;
        Ok((written, t.elapsed().as_secs_f64()))
    })();
    let _ = fs::remove_file(&path);
    let (buffered, secs) = result.map_err(|e| e.to_string())?;
    Ok(Json::default()
        .num("bytes", total as f64)
        .num("seconds", secs)
        .num("bytes_per_s", total as f64 / secs)
        .num("buffered_bytes_per_s", total as f64 / buffered))
}

/// `files`: `--writers` threads each creating 4 KiB files (`--file-size`) and
/// fsyncing them, until `--duration-ms` or `--max-files`. With `--atomic`, each
/// creation is the crash-safe sequence a store uses: temp file, write, fsync,
/// rename into place, fsync of the directory. `--no-sync` drops every fsync
/// (with `--atomic`: what a store with fsync off does). `--keep` leaves the
/// files (the caller deletes them later: on ext4 without a journal, creating
/// files right after deleting thousands is slower for a minute, which would
/// skew whatever is measured next).
pub fn files(args: &Args) -> Result<Json, String> {
    let dir = PathBuf::from(args.req("dir")?);
    let writers = args.num("writers", 32)?.max(1);
    let size = args.num("file-size", 4096)? as usize;
    let max = args.num("max-files", 1_000_000)?;
    let duration = Duration::from_millis(args.num("duration-ms", 3_000)?);
    let atomic = args.flag("atomic");
    let sync = !args.flag("no-sync");
    let root = dir.join(format!("files-probe-{}", std::process::id()));
    let tmp = root.join("tmp");
    let data = root.join("data");
    fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    fs::create_dir_all(&data).map_err(|e| e.to_string())?;
    let done = Arc::new(AtomicU64::new(0));
    let content = Arc::new(noise(size, 13));
    let cpu_before = crate::cpu_seconds();
    let t = Instant::now();
    let deadline = t + duration;
    let threads: Vec<_> = (0..writers)
        .map(|w| {
            let (tmp, data, done, content) = (tmp.clone(), data.clone(), done.clone(), content.clone());
            std::thread::spawn(move || -> std::io::Result<()> {
                let mut n = 0u64;
                while Instant::now() < deadline && done.load(Ordering::Relaxed) < max {
                    let name = format!("w{w}-{n}");
                    n += 1;
                    if atomic {
                        create_atomic(&tmp, &data, &name, &content, sync)?;
                    } else {
                        let mut f = File::create_new(data.join(&name))?;
                        f.write_all(&content)?;
                        if sync {
                            f.sync_all()?;
                        }
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
        })
        .collect();
    let mut first_error = None;
    for th in threads {
        if let Ok(Err(e)) = th.join() {
            first_error.get_or_insert(e.to_string());
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let cpu = crate::cpu_seconds() - cpu_before;
    if !args.flag("keep") {
        let _ = fs::remove_dir_all(&root);
    }
    if let Some(e) = first_error {
        return Err(format!("file creation failed: {e}"));
    }
    let n = done.load(Ordering::Relaxed);
    Ok(Json::default()
        .num("writers", writers as f64)
        .num("files", n as f64)
        .num("seconds", secs)
        .num("files_per_s", n as f64 / secs)
        .num("cpu_s", cpu)
        .str("mode", if atomic { "atomic" } else { "plain" }))
}

fn create_atomic(tmp: &Path, data: &Path, name: &str, content: &[u8], sync: bool) -> std::io::Result<()> {
    let temp = tmp.join(name);
    let mut f = File::create_new(&temp)?;
    f.write_all(content)?;
    if sync {
        f.sync_all()?;
    }
    drop(f);
    fs::rename(&temp, data.join(name))?;
    if sync {
        File::open(data)?.sync_all()?;
    }
    Ok(())
}

/// `md5`: MD5 of `--bytes` (1 MiB buffer, repeated) on one core with the
/// `md-5` crate (its assembly backend on x86, as the server builds it) —
/// the implementation behind the server's ETags.
pub fn md5(args: &Args) -> Result<Json, String> {
    let total = args.num("bytes", 1 << 30)?;
    let buf = noise(IO_BUFFER, 17);
    let t = Instant::now();
    let mut h = Md5::new();
    let mut left = total;
    while left > 0 {
        let n = (buf.len() as u64).min(left) as usize;
        h.update(&buf[..n]);
        left -= n as u64;
    }
    let digest = h.finalize();
    let secs = t.elapsed().as_secs_f64();
    Ok(Json::default()
        .num("bytes", total as f64)
        .num("seconds", secs)
        .num("bytes_per_s", total as f64 / secs)
        .num("digest_first_byte", digest[0]))
}
