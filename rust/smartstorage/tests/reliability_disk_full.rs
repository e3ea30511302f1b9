//! Full disks and I/O errors, against the real binary.
//!
//! - On a size-limited tmpfs (mounted by the test; needs root and `mount`,
//!   skipped with a message otherwise): filling it makes uploads fail with a
//!   clean `507 InsufficientStorage` S3 error, quickly, leaving no partial
//!   object and no temp file; stored objects stay intact; deletes still work;
//!   once space is freed, uploads (single and multipart) succeed again.
//! - Files the server cannot read (a data file replaced by a directory, a
//!   corrupt metadata file, and — running the server as `nobody` — a data file
//!   and a directory with mode 000, an unwritable temp directory): S3 errors,
//!   never a crash or a hang, other objects unaffected.
//!
//! (A read-only remount cannot be tested while the server runs: it holds its
//! lock file open for writing, so the kernel refuses the remount as busy.)

mod reliability_common;

use reliability_common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmpfs mounted for the test, unmounted on drop.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Tmpfs {
            dir: dir.to_path_buf(),
        })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

fn mount_or_skip(dir: &Path, size: &str, test: &str) -> Option<Tmpfs> {
    match Tmpfs::mount(dir, size) {
        Ok(m) => Some(m),
        Err(e) => {
            eprintln!(
                "SKIPPED {test}: cannot mount a {size} tmpfs ({e}); run as root with mount permission to exercise it"
            );
            None
        }
    }
}

fn assert_s3_error(r: &Resp, status: u16, code: &str, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.text());
    assert!(
        r.text().contains(&format!("<Code>{code}</Code>")),
        "{what}: {}",
        r.text()
    );
    assert!(
        r.header("x-amz-request-id").is_some(),
        "{what}: no request id"
    );
}

/// A PUT whose body is written by a second thread while this one reads the
/// answer, so an early error response is seen even if the server stops
/// reading the body.
fn put_streaming(server: &Server, path: &str, body: Vec<u8>) -> std::io::Result<Resp> {
    use std::io::{BufReader, Write};
    let stream = std::net::TcpStream::connect(server.addr())?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut writer = stream.try_clone()?;
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let t = std::thread::spawn(move || {
        let _ = writer.write_all(head.as_bytes());
        let _ = writer.write_all(&body);
    });
    let mut reader = BufReader::new(stream);
    let resp = read_response(&mut reader, false);
    drop(reader);
    let _ = t.join();
    resp
}

#[test]
fn a_full_disk_fails_uploads_cleanly_and_recovers_when_space_is_freed() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(_mount) = mount_or_skip(&tmp.path().join("mnt"), "8m", "disk-full test") else {
        return;
    };
    let root = tmp.path().join("mnt/data");
    let server = Server::start(&root, &[]);
    let mut c = server.client();
    c.timeout = Duration::from_secs(20);
    ensure_bucket(&mut c, "full");
    let mut kept = Vec::new();
    for i in 0..5 {
        let body = content(&format!("keep{i}"), 10_000);
        assert_eq!(
            c.put(&format!("/full/keep-{i}"), &body).unwrap().status,
            200
        );
        kept.push((format!("/full/keep-{i}"), md5_hex(&body)));
    }
    // A multipart upload started while there is room.
    let r = c.request("POST", "/full/mp?uploads", &[], b"").unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let upload = r.xml_field("UploadId").unwrap();

    // Fill with decreasing sizes until even an empty object cannot be stored.
    let mut stored = Vec::new();
    let mut failures = 0;
    let mut slowest = Duration::ZERO;
    for (size, tries) in [
        (1 << 20, 20),
        (256 << 10, 40),
        (64 << 10, 80),
        (4096, 400),
        (100, 400),
        (0, 400),
    ] {
        for i in 0..tries {
            let path = format!("/full/fill-{size}-{i}");
            let t = Instant::now();
            let r = c.put(&path, &content(&path, size)).unwrap();
            slowest = slowest.max(t.elapsed());
            if r.status == 200 {
                stored.push(path);
                continue;
            }
            assert_s3_error(
                &r,
                507,
                "InsufficientStorage",
                &format!("PUT {size} bytes on a full disk"),
            );
            failures += 1;
            let gone = c.get(&path).unwrap();
            assert_eq!(
                gone.status, 404,
                "a failed PUT left an object at {path}: {}",
                gone.status
            );
            break;
        }
    }
    assert!(
        failures >= 4,
        "the disk never filled up ({} objects stored)",
        stored.len()
    );
    assert!(
        slowest < Duration::from_secs(10),
        "a PUT on a full disk took {slowest:?}"
    );
    // A big body on a full disk: the error arrives while the client is still sending.
    let r = put_streaming(&server, "/full/big", content("big", 6 << 20))
        .expect("an answer to a big PUT on a full disk");
    assert_s3_error(&r, 507, "InsufficientStorage", "6 MiB PUT on a full disk");
    assert_eq!(c.get("/full/big").unwrap().status, 404);
    // Parts fail the same way; so does copying.
    let r = c
        .put(
            &format!("/full/mp?partNumber=1&uploadId={upload}"),
            &content("part", 1 << 20),
        )
        .unwrap();
    assert_s3_error(&r, 507, "InsufficientStorage", "UploadPart on a full disk");
    let r = c
        .request(
            "PUT",
            "/full/copy",
            &[("x-amz-copy-source", "/full/keep-0")],
            b"",
        )
        .unwrap();
    assert!(
        r.status == 507 || r.status == 200,
        "copy on a full disk: {} {}",
        r.status,
        r.text()
    );
    let r = c.put("/another-bucket", b"").unwrap();
    assert!(
        r.status == 507 || r.status == 200,
        "CreateBucket on a full disk: {} {}",
        r.status,
        r.text()
    );
    // Nothing already stored is damaged; reads and listings work.
    for (path, md5) in &kept {
        let r = c.get(path).unwrap();
        assert_eq!(
            (r.status, md5_hex(&r.body)),
            (200, md5.clone()),
            "{path} damaged by the full disk"
        );
    }
    assert_eq!(c.get("/full?list-type=2").unwrap().status, 200);
    // No temp file or orphan is left behind by the failed writes.
    let report = check_dir(&root);
    assert!(
        report.is_clean(),
        "leftovers after failed writes: {report:#?}"
    );

    // Deletes work on a full disk; then uploads succeed again without a restart.
    for path in stored.iter().take(4) {
        assert_eq!(
            c.request("DELETE", path, &[], b"").unwrap().status,
            204,
            "DELETE {path} on a full disk"
        );
    }
    let body = content("after", 1 << 20);
    let r = c.put("/full/after", &body).unwrap();
    assert_eq!(r.status, 200, "PUT after freeing space: {}", r.text());
    assert_eq!(md5_hex(&c.get("/full/after").unwrap().body), md5_hex(&body));
    let part = content("part-ok", 100_000);
    let r = c
        .put(&format!("/full/mp?partNumber=1&uploadId={upload}"), &part)
        .unwrap();
    assert_eq!(
        r.status,
        200,
        "UploadPart after freeing space: {}",
        r.text()
    );
    let xml = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{}</ETag></Part></CompleteMultipartUpload>",
        r.header("etag").unwrap()
    );
    let r = c
        .request(
            "POST",
            &format!("/full/mp?uploadId={upload}"),
            &[],
            xml.as_bytes(),
        )
        .unwrap();
    assert_eq!(r.status, 200, "complete after freeing space: {}", r.text());
    assert_eq!(md5_hex(&c.get("/full/mp").unwrap().body), md5_hex(&part));
    eprintln!(
        "[disk-full] {} objects filled 8 MiB; {failures} uploads refused with 507 (slowest {slowest:?}); recovered after 4 deletes",
        stored.len()
    );
    server.assert_no_panic();
    let (ok, stderr) = server.terminate(Duration::from_secs(10));
    assert!(ok);
    assert_no_panic(&stderr);
}

/// Repetitions of a short key name that make a body bigger than what the
/// store keeps inline (64 KiB), so the object gets a data file to tamper with.
const DATA_FILE_REPEAT: usize = 70_000;

/// The data file of `key` (`<base>.s3data-<version>`) under `root`.
fn data_file(root: &Path, bucket: &str, base: &str) -> PathBuf {
    walk(&root.join(bucket))
        .into_iter()
        .map(|(p, _)| p)
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&format!("{base}.s3data-")))
        })
        .unwrap_or_else(|| panic!("no data file for {base}"))
}

#[test]
fn unreadable_and_corrupt_files_give_s3_errors_never_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let server = Server::start(&root, &[]);
    let mut c = server.client();
    ensure_bucket(&mut c, "iobk");
    for key in ["a", "b", "ok", "d/e"] {
        assert_eq!(
            c.put(&format!("/iobk/{key}"), key.repeat(DATA_FILE_REPEAT).as_bytes())
                .unwrap()
                .status,
            200
        );
    }
    // a: its data file becomes a directory.
    let a = data_file(&root, "iobk", "a");
    std::fs::remove_file(&a).unwrap();
    std::fs::create_dir(&a).unwrap();
    let r = c.get("/iobk/a").unwrap();
    assert_s3_error(
        &r,
        500,
        "InternalError",
        "GET of an object whose data file is a directory",
    );
    let r = c
        .request("GET", "/iobk/a", &[("range", "bytes=0-9")], b"")
        .unwrap();
    assert_s3_error(&r, 500, "InternalError", "range GET of it");
    let r = c
        .request(
            "PUT",
            "/iobk/a-copy",
            &[("x-amz-copy-source", "/iobk/a")],
            b"",
        )
        .unwrap();
    assert_s3_error(&r, 500, "InternalError", "copy from it");
    // Overwriting it works (the old "data" is left for the operator) and so does reading again.
    assert_eq!(c.put("/iobk/a", b"fresh").unwrap().status, 200);
    assert_eq!(c.get("/iobk/a").unwrap().body, b"fresh");
    // A FIFO in place of a data file must not hang the request forever.
    let b = data_file(&root, "iobk", "b");
    std::fs::remove_file(&b).unwrap();
    assert!(Command::new("mkfifo").arg(&b).status().unwrap().success());
    let mut quick = server.client();
    quick.timeout = Duration::from_secs(10);
    let r = quick.get("/iobk/b");
    assert!(
        matches!(&r, Ok(r) if r.status >= 500),
        "GET of an object whose data file is a FIFO: {r:?}"
    );
    std::fs::remove_file(&b).unwrap();
    assert!(c.get("/iobk/ok").unwrap().body == "ok".repeat(DATA_FILE_REPEAT).as_bytes(), "untouched object");
    server.assert_no_panic();
    // A corrupt metadata file: after a restart the bucket still loads; the
    // object is reported as an error or missing, the others are served.
    let stderr = server.kill9();
    assert_no_panic(&stderr);
    let meta = walk(&root.join("iobk"))
        .into_iter()
        .map(|(p, _)| p)
        .find(|p| p.ends_with("ok.s3meta"))
        .unwrap();
    std::fs::write(&meta, b"{ not json").unwrap();
    let server = Server::start(&root, &[]);
    let mut c = server.client();
    let r = c.get("/iobk/ok").unwrap();
    assert!(
        r.status == 404 || r.status == 500,
        "GET of an object with corrupt metadata: {} {}",
        r.status,
        r.text()
    );
    assert!(r.text().contains("<Error>"));
    assert!(c.get("/iobk/d/e").unwrap().body == "d/e".repeat(DATA_FILE_REPEAT).as_bytes(), "untouched object");
    assert_eq!(c.get("/iobk?list-type=2").unwrap().status, 200);
    assert_eq!(
        c.put("/iobk/ok", b"rewritten").unwrap().status,
        200,
        "a corrupt object can be overwritten"
    );
    assert_eq!(c.get("/iobk/ok").unwrap().body, b"rewritten");
    server.assert_no_panic();
    drop(server);
}

#[cfg(unix)]
#[test]
fn permission_errors_give_s3_errors_never_a_crash() {
    use std::os::unix::fs::PermissionsExt;
    // Root ignores file modes: run the server as `nobody` to get EACCES.
    let running_as_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false);
    let setpriv_ok = Command::new("setpriv")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !running_as_root || !setpriv_ok {
        eprintln!("SKIPPED permission test: needs root and setpriv to run the server as nobody");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    std::os::unix::fs::chown(tmp.path(), Some(65534), Some(65534)).unwrap();
    let root = tmp.path().join("data");
    let as_nobody = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ];
    let server = Server::spawn(&as_nobody, &root, &[], None);
    let mut c = server.client();
    ensure_bucket(&mut c, "perm");
    for key in ["x", "sub/y", "sub/z", "fine"] {
        assert_eq!(
            c.put(&format!("/perm/{key}"), key.repeat(DATA_FILE_REPEAT).as_bytes())
                .unwrap()
                .status,
            200
        );
    }
    let x = data_file(&root, "perm", "x");
    std::fs::set_permissions(&x, std::fs::Permissions::from_mode(0o000)).unwrap();
    let r = c.get("/perm/x").unwrap();
    assert_s3_error(&r, 500, "InternalError", "GET of an unreadable data file");
    let sub = root.join("perm/sub");
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o000)).unwrap();
    let r = c.get("/perm/sub/y").unwrap();
    assert!(
        r.status >= 500 && r.text().contains("<Error>"),
        "GET inside an unreadable directory: {} {}",
        r.status,
        r.text()
    );
    let r = c.put("/perm/sub/new", b"n").unwrap();
    assert!(
        r.status >= 500 && r.text().contains("<Error>"),
        "PUT into an unwritable directory: {} {}",
        r.status,
        r.text()
    );
    let r = c.request("DELETE", "/perm/sub/z", &[], b"").unwrap();
    assert!(
        r.status == 204 || (r.status >= 500 && r.text().contains("<Error>")),
        "DELETE inside it: {} {}",
        r.status,
        r.text()
    );
    assert!(c.get("/perm/fine").unwrap().body == "fine".repeat(DATA_FILE_REPEAT).as_bytes(), "untouched object");
    // The storage directory itself unwritable: a write fails cleanly.
    let tmpdir = root.join(".smartstorage/tmp");
    // The temp directory and its shards (temp files are spread over sub-directories).
    let tmp_dirs: Vec<_> = std::iter::once(tmpdir.clone())
        .chain(std::fs::read_dir(&tmpdir).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_dir()))
        .collect();
    for dir in &tmp_dirs {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o500)).unwrap();
    }
    let r = c.put("/perm/blocked", b"b").unwrap();
    assert!(
        r.status >= 500 && r.text().contains("<Error>"),
        "PUT with an unwritable temp dir: {} {}",
        r.status,
        r.text()
    );
    for dir in &tmp_dirs {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&x, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(c.get("/perm/x").unwrap().body == "x".repeat(DATA_FILE_REPEAT).as_bytes(), "readable again");
    assert_eq!(c.put("/perm/blocked", b"b").unwrap().status, 200);
    server.assert_no_panic();
    let (ok, stderr) = server.terminate(Duration::from_secs(10));
    assert!(ok, "{}", stderr.join("\n"));
    assert_no_panic(&stderr);
}
