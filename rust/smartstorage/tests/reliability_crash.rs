//! Crash consistency of the real binary: concurrent PUTs, overwrites, deletes,
//! copies and multipart uploads with verifiable content, a SIGKILL at a random
//! moment, a restart on the same directory, and a full check:
//!
//! - every acknowledged write is there with exactly its bytes (MD5 of the body),
//!   ETag, metadata, content type and CRC32 checksum;
//! - a key whose write was in flight at the kill shows either its last
//!   acknowledged state or the in-flight one, never anything else (torn,
//!   half-visible, older);
//! - acknowledged deletes stay deleted; listing shows exactly the live keys;
//! - uploads: acknowledged parts are listed with their ETags, completed or
//!   aborted uploads are gone, unknown uploads only come from in-flight creates;
//! - after the store has loaded the bucket, no temp file, orphaned data file or
//!   orphaned part file remains in the directory (layout.rs).
//!
//! Knobs: `SMARTSTORAGE_CRASH_CYCLES` (default 20: CI), `SMARTSTORAGE_CRASH_WORKERS`
//! (6), `SMARTSTORAGE_CRASH_MAX_SECS` (time cap, default 120), `SMARTSTORAGE_SEED`.
//! The long mode runs ≥ 200 cycles: `SMARTSTORAGE_CRASH_CYCLES=200 cargo test
//! --release -p smartstorage --test reliability_crash -- --nocapture`.

mod reliability_common;

use reliability_common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const BUCKET: &str = "crash";
/// S3's minimum size of every multipart part but the last.
const MIN_PART: usize = 5 * 1024 * 1024;

/// What an object must look like: derived from the bytes the client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Obj {
    size: usize,
    md5: String,
    etag: String,
    /// Full-object CRC32 the server must return (single PUTs and their copies).
    crc32: Option<String>,
    /// `x-amz-meta-ver`.
    ver: String,
    content_type: String,
}

type State = Option<Obj>;

#[derive(Debug, Default, Clone)]
struct KeyModel {
    acked: State,
    /// The state the in-flight operation would leave (at most one per key:
    /// each key belongs to one worker, which runs one request at a time).
    inflight: Option<State>,
}

#[derive(Debug, Clone)]
struct UploadModel {
    key: String,
    id: String,
    /// Acknowledged parts: number → etag.
    parts: BTreeMap<u32, String>,
    /// A part upload in flight: (number, etag it would have).
    inflight_part: Option<(u32, String)>,
    /// Complete or abort in flight: the upload may or may not remain.
    ending: bool,
    /// What completing would make of the key (for the in-flight complete check).
    completes_to: Option<Obj>,
}

#[derive(Debug, Default)]
struct WorkerModel {
    keys: BTreeMap<String, KeyModel>,
    uploads: Vec<UploadModel>,
    /// Keys with a CreateMultipartUpload in flight (its id is unknown).
    inflight_create: BTreeSet<String>,
    next_ver: u64,
    acked_ops: u64,
    /// Unexpected answers (a live server must not fail these requests).
    errors: Vec<String>,
}

#[derive(Debug, Default)]
struct Totals {
    cycles: u64,
    acked_ops: u64,
    inflight_at_kill: u64,
    inflight_applied: u64,
    inflight_not_applied: u64,
    uploads_checked: u64,
    lingering_completed_uploads: u64,
    objects_verified: u64,
    empty_dirs_seen: u64,
    early_kills: u64,
    max_restart: Duration,
}

fn worker_keys(w: usize) -> Vec<String> {
    vec![
        format!("w{w}/k0"),
        format!("w{w}/k0/x"),
        format!("w{w}/deep/a/b/c"),
        format!("w{w}/ü ñ 𝄞 sp"),
        format!("w{w}/{}", "L".repeat(260)),
        format!("w{w}/dots/../trailing/"),
    ]
}

fn path(key: &str) -> String {
    format!("/{BUCKET}/{}", encode_key(key))
}

const CONTENT_TYPES: &[&str] = &["application/octet-stream", "text/plain", "image/png"];

fn pick_size(rng: &mut Rng) -> usize {
    match rng.below(100) {
        0..=59 => rng.below(4096) as usize,
        60..=89 => rng.range(4096, 300 * 1024) as usize,
        _ => rng.range(1 << 20, 3 << 20) as usize,
    }
}

/// Outcome of one request of a worker.
enum Outcome {
    Acked(Resp),
    /// Connection error: the server may or may not have applied it.
    Unknown,
}

struct Worker<'a> {
    client: Client,
    rng: Rng,
    model: &'a mut WorkerModel,
    keys: Vec<String>,
    stop: &'a AtomicBool,
}

impl Worker<'_> {
    fn send(
        &mut self,
        what: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        ok: &[u16],
    ) -> Outcome {
        match self.client.request(method, path, headers, body) {
            Ok(resp) if ok.contains(&resp.status) && !resp.text().contains("<Error>") => {
                self.model.acked_ops += 1;
                Outcome::Acked(resp)
            }
            Ok(resp) => {
                self.model.errors.push(format!(
                    "{what} {method} {path}: {} {}",
                    resp.status,
                    resp.text()
                ));
                Outcome::Unknown
            }
            Err(_) => Outcome::Unknown,
        }
    }

    /// Runs operations until the server dies (a request fails) or `stop` is set.
    fn run(&mut self) {
        while !self.stop.load(Ordering::Relaxed) {
            let alive = match self.rng.below(100) {
                0..=44 => self.put(),
                45..=59 => self.delete(),
                60..=69 => self.copy(),
                70..=84 => self.multipart(),
                _ => self.verify_one(),
            };
            if !alive || !self.model.errors.is_empty() {
                return;
            }
        }
    }

    fn key(&mut self) -> String {
        self.keys[self.rng.below(self.keys.len() as u64) as usize].clone()
    }

    fn next_ver(&mut self) -> String {
        self.model.next_ver += 1;
        format!("{}", self.model.next_ver)
    }

    fn set_inflight(&mut self, key: &str, state: State) {
        self.model.keys.entry(key.to_string()).or_default().inflight = Some(state);
    }

    fn ack(&mut self, key: &str, state: State) {
        let m = self.model.keys.entry(key.to_string()).or_default();
        m.acked = state;
        m.inflight = None;
    }

    fn put(&mut self) -> bool {
        let key = self.key();
        let ver = self.next_ver();
        let size = pick_size(&mut self.rng);
        let body = content(&format!("{key}@{ver}"), size);
        let ct = CONTENT_TYPES[self.rng.below(3) as usize];
        let md5 = md5_hex(&body);
        let crc = crc32_b64(&body);
        let obj = Obj {
            size,
            md5: md5.clone(),
            etag: md5,
            crc32: Some(crc.clone()),
            ver: ver.clone(),
            content_type: ct.into(),
        };
        self.set_inflight(&key, Some(obj.clone()));
        let headers = [
            ("content-type", ct),
            ("x-amz-meta-ver", ver.as_str()),
            ("x-amz-checksum-crc32", crc.as_str()),
        ];
        match self.send("put", "PUT", &path(&key), &headers, &body, &[200]) {
            Outcome::Acked(resp) => {
                if resp.etag().as_deref() != Some(obj.etag.as_str()) {
                    self.model.errors.push(format!(
                        "put {key}: etag {:?}, expected {}",
                        resp.etag(),
                        obj.etag
                    ));
                }
                self.ack(&key, Some(obj));
                true
            }
            Outcome::Unknown => false,
        }
    }

    fn delete(&mut self) -> bool {
        let key = self.key();
        self.set_inflight(&key, None);
        match self.send("delete", "DELETE", &path(&key), &[], b"", &[204]) {
            Outcome::Acked(_) => {
                self.ack(&key, None);
                true
            }
            Outcome::Unknown => false,
        }
    }

    fn copy(&mut self) -> bool {
        let present: Vec<(String, Obj)> = self
            .model
            .keys
            .iter()
            .filter_map(|(k, m)| m.acked.clone().map(|o| (k.clone(), o)))
            .collect();
        if present.is_empty() {
            return self.put();
        }
        let (src, src_obj) = present[self.rng.below(present.len() as u64) as usize].clone();
        let dest = self.key();
        if dest == src {
            return true;
        }
        // A copy of a multipart object is a single object: ETag = MD5 of the bytes.
        let obj = Obj {
            etag: src_obj.md5.clone(),
            ..src_obj
        };
        self.set_inflight(&dest, Some(obj.clone()));
        let source = format!("/{BUCKET}/{}", encode_key(&src));
        match self.send(
            "copy",
            "PUT",
            &path(&dest),
            &[("x-amz-copy-source", source.as_str())],
            b"",
            &[200],
        ) {
            Outcome::Acked(_) => {
                self.ack(&dest, Some(obj));
                true
            }
            Outcome::Unknown => false,
        }
    }

    fn multipart(&mut self) -> bool {
        let key = self.key();
        let ver = self.next_ver();
        let ct = CONTENT_TYPES[self.rng.below(3) as usize];
        self.model.inflight_create.insert(key.clone());
        let created = match self.send(
            "create upload",
            "POST",
            &format!("{}?uploads", path(&key)),
            &[("content-type", ct), ("x-amz-meta-ver", ver.as_str())],
            b"",
            &[200],
        ) {
            Outcome::Acked(resp) => resp,
            Outcome::Unknown => return false,
        };
        self.model.inflight_create.remove(&key);
        let Some(id) = created.xml_field("UploadId") else {
            self.model.errors.push(format!(
                "create upload {key}: no UploadId in {}",
                created.text()
            ));
            return false;
        };
        self.model.uploads.push(UploadModel {
            key: key.clone(),
            id: id.clone(),
            parts: BTreeMap::new(),
            inflight_part: None,
            ending: false,
            completes_to: None,
        });
        let at = self.model.uploads.len() - 1;
        // Part sizes: usually one small part, sometimes 5 MiB + a tail.
        let sizes: Vec<usize> = if self.rng.chance(20) {
            vec![MIN_PART, self.rng.below(100_000) as usize + 1]
        } else {
            vec![self.rng.below(200_000) as usize]
        };
        let mut bodies = Vec::new();
        for (i, &size) in sizes.iter().enumerate() {
            let number = i as u32 + 1;
            // Sometimes a part is uploaded twice: the second one must win.
            let attempts = if self.rng.chance(15) { 2 } else { 1 };
            for attempt in 0..attempts {
                let body = content(&format!("{key}@{ver}#{number}.{attempt}"), size);
                let etag = md5_hex(&body);
                self.model.uploads[at].inflight_part = Some((number, etag.clone()));
                let p = format!("{}?partNumber={number}&uploadId={id}", path(&key));
                match self.send("upload part", "PUT", &p, &[], &body, &[200]) {
                    Outcome::Acked(_) => {
                        let u = &mut self.model.uploads[at];
                        u.parts.insert(number, etag);
                        u.inflight_part = None;
                    }
                    Outcome::Unknown => return false,
                }
                if attempt + 1 == attempts {
                    bodies.push(body);
                }
            }
        }
        let whole: Vec<u8> = bodies.concat();
        let obj = Obj {
            size: whole.len(),
            md5: md5_hex(&whole),
            etag: multipart_etag(&bodies),
            crc32: None,
            ver: ver.clone(),
            content_type: ct.into(),
        };
        let roll = self.rng.below(100);
        if roll < 8 {
            // Left open: must survive the restart with its parts.
            return true;
        }
        self.model.uploads[at].ending = true;
        let p = format!("{}?uploadId={id}", path(&key));
        if roll < 16 {
            match self.send("abort", "DELETE", &p, &[], b"", &[204]) {
                Outcome::Acked(_) => {
                    self.model.uploads.remove(at);
                    true
                }
                Outcome::Unknown => false,
            }
        } else {
            let mut xml = String::from("<CompleteMultipartUpload>");
            for (number, etag) in &self.model.uploads[at].parts {
                xml.push_str(&format!(
                    "<Part><PartNumber>{number}</PartNumber><ETag>\"{etag}\"</ETag></Part>"
                ));
            }
            xml.push_str("</CompleteMultipartUpload>");
            self.model.uploads[at].completes_to = Some(obj.clone());
            self.set_inflight(&key, Some(obj.clone()));
            match self.send("complete", "POST", &p, &[], xml.as_bytes(), &[200]) {
                Outcome::Acked(resp) => {
                    let etag = resp
                        .xml_field("ETag")
                        .map(|e| xml_unescape(&e).trim_matches('"').to_string());
                    if etag.as_deref() != Some(obj.etag.as_str()) {
                        self.model.errors.push(format!(
                            "complete {key}: etag {etag:?}, expected {}",
                            obj.etag
                        ));
                    }
                    self.model.uploads.remove(at);
                    self.ack(&key, Some(obj));
                    true
                }
                Outcome::Unknown => false,
            }
        }
    }

    fn verify_one(&mut self) -> bool {
        let key = self.key();
        let expected = self
            .model
            .keys
            .get(&key)
            .map(|m| m.acked.clone())
            .unwrap_or(None);
        match observe(&mut self.client, &key) {
            Ok(observed) => {
                if let Err(why) = matches(&observed, &expected) {
                    self.model.errors.push(format!("live read of {key}: {why}"));
                }
                true
            }
            Err(_) => false,
        }
    }
}

/// What a GET shows for a key.
#[derive(Debug)]
enum Observed {
    Absent,
    /// Any other answer (e.g. 500 for a data file that does not match its metadata).
    Broken(String),
    Present {
        size: usize,
        md5: String,
        etag: String,
        crc32: Option<String>,
        ver: Option<String>,
        content_type: Option<String>,
    },
}

fn observe(client: &mut Client, key: &str) -> std::io::Result<Observed> {
    let resp = client.request(
        "GET",
        &path(key),
        &[("x-amz-checksum-mode", "ENABLED")],
        b"",
    )?;
    match resp.status {
        404 if resp.text().contains("NoSuchKey") => Ok(Observed::Absent),
        200 => Ok(Observed::Present {
            size: resp.body.len(),
            md5: md5_hex(&resp.body),
            etag: resp.etag().unwrap_or_default(),
            crc32: resp.header("x-amz-checksum-crc32").map(str::to_string),
            ver: resp.header("x-amz-meta-ver").map(str::to_string),
            content_type: resp.header("content-type").map(str::to_string),
        }),
        s => Ok(Observed::Broken(format!(
            "GET answered {s}: {}",
            resp.text()
        ))),
    }
}

fn matches(observed: &Observed, expected: &State) -> Result<(), String> {
    match (observed, expected) {
        (Observed::Broken(why), _) => Err(why.clone()),
        (Observed::Absent, None) => Ok(()),
        (Observed::Absent, Some(o)) => Err(format!(
            "missing; expected version {} ({} bytes)",
            o.ver, o.size
        )),
        (Observed::Present { ver, .. }, None) => Err(format!(
            "present (version {ver:?}); expected deleted/absent"
        )),
        (
            Observed::Present {
                size,
                md5,
                etag,
                crc32,
                ver,
                content_type,
            },
            Some(o),
        ) => {
            let mut diffs = Vec::new();
            if *size != o.size || *md5 != o.md5 {
                diffs.push(format!(
                    "bytes: {size} bytes md5 {md5}, expected {} bytes md5 {}",
                    o.size, o.md5
                ));
            }
            if *etag != o.etag {
                diffs.push(format!("etag {etag}, expected {}", o.etag));
            }
            if ver.as_deref() != Some(o.ver.as_str()) {
                diffs.push(format!("x-amz-meta-ver {ver:?}, expected {}", o.ver));
            }
            if content_type.as_deref() != Some(o.content_type.as_str()) {
                diffs.push(format!(
                    "content-type {content_type:?}, expected {}",
                    o.content_type
                ));
            }
            if let Some(want) = &o.crc32
                && crc32.as_deref() != Some(want.as_str())
            {
                diffs.push(format!("crc32 {crc32:?}, expected {want}"));
            }
            if diffs.is_empty() {
                Ok(())
            } else {
                Err(diffs.join("; "))
            }
        }
    }
}

/// After a restart: resolves every key of every worker against what the server
/// shows, checks uploads and listing, aborts leftover uploads.
fn verify_after_restart(server: &Server, models: &mut [WorkerModel], totals: &mut Totals) {
    let mut client = server.client();
    let mut failures = Vec::new();
    let mut live = BTreeSet::new();
    for model in models.iter_mut() {
        for (key, m) in model.keys.iter_mut() {
            let observed = observe(&mut client, key).unwrap_or_else(|e| panic!("{e}"));
            totals.objects_verified += 1;
            let as_acked = matches(&observed, &m.acked);
            match (&as_acked, m.inflight.take()) {
                (Ok(()), Some(_)) => {
                    totals.inflight_at_kill += 1;
                    totals.inflight_not_applied += 1;
                }
                (Ok(()), None) => {}
                (Err(why), Some(inflight)) => match matches(&observed, &inflight) {
                    Ok(()) => {
                        totals.inflight_at_kill += 1;
                        totals.inflight_applied += 1;
                        m.acked = inflight;
                    }
                    Err(why2) => failures.push(format!("{key}: neither the acknowledged state ({why}) nor the in-flight one ({why2})")),
                },
                (Err(why), None) => failures.push(format!("{key}: {why}")),
            }
            if m.acked.is_some() {
                live.insert(key.clone());
            }
        }
    }
    // Listing shows exactly the live keys.
    let listed = list_keys(&mut client);
    if listed != live {
        failures.push(format!(
            "listing differs: only listed {:?}, only live {:?}",
            listed.difference(&live).collect::<Vec<_>>(),
            live.difference(&listed).collect::<Vec<_>>()
        ));
    }
    // Uploads.
    let resp = client
        .get(&format!("/{BUCKET}?uploads"))
        .expect("list uploads");
    assert_eq!(resp.status, 200, "{}", resp.text());
    let text = resp.text();
    let listed_uploads: Vec<(String, String)> = text
        .split("<Upload>")
        .skip(1)
        .map(|u| {
            (
                xml_unescape(&xml_field(u, "Key").unwrap_or_default()),
                xml_field(u, "UploadId").unwrap_or_default(),
            )
        })
        .collect();
    let listed_ids: BTreeSet<&str> = listed_uploads.iter().map(|(_, id)| id.as_str()).collect();
    for model in models.iter_mut() {
        for u in &model.uploads {
            totals.uploads_checked += 1;
            let present = listed_ids.contains(u.id.as_str());
            if !present && !u.ending {
                failures.push(format!("upload {} of {} vanished", u.id, u.key));
                continue;
            }
            if !present {
                continue;
            }
            if u.ending
                && let Some(obj) = &u.completes_to
            {
                // Complete in flight and the upload is still there: the key may
                // already be the completed object (the upload is removed after
                // the commit point), which the key check above accepted.
                if model.keys.get(&u.key).and_then(|m| m.acked.as_ref()) == Some(obj) {
                    totals.lingering_completed_uploads += 1;
                }
            }
            let resp = client
                .get(&format!("{}?uploadId={}", path(&u.key), u.id))
                .expect("list parts");
            if resp.status != 200 {
                failures.push(format!(
                    "list parts of {}: {} {}",
                    u.id,
                    resp.status,
                    resp.text()
                ));
                continue;
            }
            let text = resp.text();
            let parts: BTreeMap<u32, String> = text
                .split("<Part>")
                .skip(1)
                .map(|p| {
                    let n = xml_field(p, "PartNumber")
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0);
                    let e = xml_unescape(&xml_field(p, "ETag").unwrap_or_default())
                        .trim_matches('"')
                        .to_string();
                    (n, e)
                })
                .collect();
            let mut ok = true;
            for (n, etag) in &parts {
                let acked = u.parts.get(n) == Some(etag);
                let inflight = u.inflight_part.as_ref() == Some(&(*n, etag.clone()));
                ok &= acked || inflight;
            }
            for (n, etag) in &u.parts {
                let in_flight_over = u.inflight_part.as_ref().is_some_and(|(m, _)| m == n);
                ok &= parts.get(n) == Some(etag) || in_flight_over;
            }
            if !ok {
                failures.push(format!(
                    "upload {} of {}: parts {parts:?}, acknowledged {:?}, in flight {:?}",
                    u.id, u.key, u.parts, u.inflight_part
                ));
            }
        }
    }
    let all_known: BTreeSet<String> = models
        .iter()
        .flat_map(|m| m.uploads.iter().map(|u| u.id.clone()))
        .collect();
    let creating: BTreeSet<String> = models
        .iter()
        .flat_map(|m| m.inflight_create.iter().cloned())
        .collect();
    for (key, id) in &listed_uploads {
        if !all_known.contains(id) && !creating.contains(key) {
            failures.push(format!(
                "unknown upload {id} of {key:?} (no create was in flight for it)"
            ));
        }
    }
    // Start the next cycle with no uploads.
    for (key, id) in &listed_uploads {
        let r = client
            .request("DELETE", &format!("{}?uploadId={id}", path(key)), &[], b"")
            .expect("abort");
        if r.status != 204 {
            failures.push(format!("abort {id}: {} {}", r.status, r.text()));
        }
    }
    for model in models.iter_mut() {
        model.uploads.clear();
        model.inflight_create.clear();
    }
    assert!(
        failures.is_empty(),
        "after restart {}:\n{}",
        totals.cycles,
        failures.join("\n")
    );
}

fn list_keys(client: &mut Client) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let mut token: Option<String> = None;
    loop {
        let mut p = format!("/{BUCKET}?list-type=2&max-keys=1000&encoding-type=url");
        if let Some(t) = &token {
            p.push_str(&format!("&continuation-token={}", encode_key(t)));
        }
        let resp = client.get(&p).expect("list");
        assert_eq!(resp.status, 200, "{}", resp.text());
        let text = resp.text();
        for k in xml_fields(&text, "Key") {
            let decoded = percent_decode(&xml_unescape(&k));
            keys.insert(decoded);
        }
        match xml_field(&text, "NextContinuationToken") {
            Some(t) if xml_field(&text, "IsTruncated").as_deref() == Some("true") => {
                token = Some(xml_unescape(&t))
            }
            _ => return keys,
        }
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn check_directory(root: &std::path::Path, totals: &mut Totals, when: &str) {
    let report = check_dir(root);
    totals.empty_dirs_seen += report.empty_dirs.len() as u64;
    assert!(
        report.is_clean(),
        "{when}: leftovers in the storage directory: {report:#?}"
    );
}

#[test]
fn sigkill_at_random_moments_never_loses_or_tears_acknowledged_writes() {
    let cycles = knob("SMARTSTORAGE_CRASH_CYCLES", 20);
    let workers = knob("SMARTSTORAGE_CRASH_WORKERS", 6) as usize;
    let max_secs = knob("SMARTSTORAGE_CRASH_MAX_SECS", 120);
    let max_run_ms = knob("SMARTSTORAGE_CRASH_MAX_RUN_MS", 700);
    let seed = seed("crash");
    let mut rng = Rng::new(seed);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let started = Instant::now();
    let mut totals = Totals::default();
    let mut models: Vec<WorkerModel> = (0..workers).map(|_| WorkerModel::default()).collect();
    let mut server = Some(Server::start(&root, &[]));
    ensure_bucket(&mut server.as_ref().unwrap().client(), BUCKET);
    while totals.cycles < cycles && started.elapsed() < Duration::from_secs(max_secs) {
        let stop = AtomicBool::new(false);
        let run_ms = rng.range(10, max_run_ms);
        let seeds: Vec<u64> = (0..workers).map(|_| rng.next_u64()).collect();
        std::thread::scope(|scope| {
            let victim = server.take().unwrap();
            for (w, model) in models.iter_mut().enumerate() {
                // Never resend: an error must mean "outcome unknown".
                let mut client = victim.client();
                client.retry_stale = false;
                let stop = &stop;
                let seed = seeds[w];
                scope.spawn(move || {
                    Worker {
                        client,
                        rng: Rng::new(seed),
                        model,
                        keys: worker_keys(w),
                        stop,
                    }
                    .run();
                });
            }
            std::thread::sleep(Duration::from_millis(run_ms));
            // The kill: no signal handler, no cleanup, requests cut mid-flight.
            let stderr = victim.kill9();
            assert_no_panic(&stderr);
            stop.store(true, Ordering::Relaxed);
        });
        totals.cycles += 1;
        for m in &mut models {
            let errors = std::mem::take(&mut m.errors);
            assert!(
                errors.is_empty(),
                "cycle {}: unexpected answers from a live server:\n{}",
                totals.cycles,
                errors.join("\n")
            );
            totals.acked_ops += std::mem::take(&mut m.acked_ops);
        }
        if rng.chance(15) {
            // Sometimes kill again while the restarted server loads the bucket
            // (the sweep of leftovers must itself be crash-safe).
            let early = Server::start(&root, &[]);
            let mut c = early.client();
            let delay = rng.below(3000);
            std::thread::scope(|scope| {
                scope.spawn(move || {
                    let _ = c.get(&format!("/{BUCKET}?list-type=2"));
                });
                std::thread::sleep(Duration::from_micros(delay));
                assert_no_panic(&early.kill9());
            });
            totals.early_kills += 1;
        }
        let t = Instant::now();
        let restarted = Server::start(&root, &[]);
        totals.max_restart = totals.max_restart.max(t.elapsed());
        verify_after_restart(&restarted, &mut models, &mut totals);
        server = Some(restarted);
        let when = format!("after restart {}", totals.cycles);
        check_directory(&root, &mut totals, &when);
    }
    // A graceful stop at the end leaves no temp file either.
    let (ok, stderr) = server.take().unwrap().terminate(Duration::from_secs(15));
    assert!(ok, "graceful shutdown failed:\n{}", stderr.join("\n"));
    assert_no_panic(&stderr);
    let report = check_dir(&root);
    assert!(report.is_clean(), "after SIGTERM: {report:#?}");
    eprintln!(
        "[crash] {} kill cycles (+{} kills during bucket load) in {:.1}s: {} acknowledged ops, {} objects verified after restarts, \
         {} writes in flight at a kill ({} applied, {} not), {} uploads checked ({} completed uploads lingered), \
         {} empty dirs seen, slowest restart {:?}, {} objects at the end",
        totals.cycles,
        totals.early_kills,
        started.elapsed().as_secs_f64(),
        totals.acked_ops,
        totals.objects_verified,
        totals.inflight_at_kill,
        totals.inflight_applied,
        totals.inflight_not_applied,
        totals.uploads_checked,
        totals.lingering_completed_uploads,
        totals.empty_dirs_seen,
        totals.max_restart,
        report.objects,
    );
    assert!(
        totals.cycles >= cycles.min(5),
        "only {} cycles ran within {max_secs}s",
        totals.cycles
    );
    assert!(
        totals.acked_ops > totals.cycles,
        "the workload hardly ran: {totals:?}"
    );
}

/// The checker itself can fail: an object whose data file is cut short (what a
/// torn write would look like) is reported, and so is an acknowledged delete
/// that came back.
#[test]
fn the_crash_checker_detects_a_torn_object_and_a_resurrected_key() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let server = Server::start(&root, &[]);
    let mut client = server.client();
    ensure_bucket(&mut client, BUCKET);
    let body = content("torn", 100_000);
    let md5 = md5_hex(&body);
    let crc = crc32_b64(&body);
    let r = client
        .request(
            "PUT",
            &path("t"),
            &[
                ("content-type", "text/plain"),
                ("x-amz-meta-ver", "1"),
                ("x-amz-checksum-crc32", &crc),
            ],
            &body,
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(client.put(&path("gone"), b"x").unwrap().status, 200);
    let expected = Some(Obj {
        size: body.len(),
        md5: md5.clone(),
        etag: md5,
        crc32: Some(crc),
        ver: "1".into(),
        content_type: "text/plain".into(),
    });
    assert_no_panic(&server.kill9());
    let data = walk(&root)
        .into_iter()
        .find(|(p, _)| p.to_string_lossy().contains("/t.s3data-"))
        .expect("data file")
        .0;
    let f = std::fs::OpenOptions::new().write(true).open(&data).unwrap();
    f.set_len(50_000).unwrap();
    let server = Server::start(&root, &[]);
    let mut client = server.client();
    // A 500 (size check at open) or a short body: either way not a pass.
    let torn = matches(&observe(&mut client, "t").unwrap(), &expected).unwrap_err();
    assert!(
        torn.contains("bytes") || torn.contains("InternalError"),
        "{torn}"
    );
    let back = matches(&observe(&mut client, "gone").unwrap(), &None).unwrap_err();
    assert!(back.contains("expected deleted"), "{back}");
    drop(server);
}
