//! Bounded mixed load against the real binary, with every answer verified.
//!
//! `SMARTSTORAGE_LOAD_CLIENTS` clients (default 64) run for
//! `SMARTSTORAGE_LOAD_SECS` (default 5; the long mode uses 60): PUT, GET with
//! verification, range GET, LIST, DELETE, CopyObject and multipart uploads on
//! their own keys (checked against an exact per-client model), and overwrites,
//! deletes and reads of a few hot keys shared by everyone. A read of a hot key
//! must return exactly one of the versions written to it (content MD5, ETag and
//! `x-amz-meta-ver` all naming the same write): never a mix or a torn body.
//! Zero errors and zero mismatches are required, and the server's peak RSS
//! (VmHWM) must stay under `SMARTSTORAGE_LOAD_MAX_RSS_MIB` (default 512).

mod reliability_common;

use reliability_common::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const BUCKET: &str = "load";
const HOT_KEYS: u64 = 4;
const MIN_PART: usize = 5 * 1024 * 1024;

#[derive(Clone, Debug)]
struct Obj {
    label: String,
    size: usize,
    md5: String,
    etag: String,
}

impl Obj {
    fn bytes(&self) -> Vec<u8> {
        content(&self.label, self.size)
    }
}

/// Every version ever written to each hot key: ver → (md5 of the bytes, etag).
/// Registered before the write is sent, so a read that races the write's
/// acknowledgement still finds it.
#[derive(Default)]
struct HotRegistry {
    versions: Mutex<HashMap<String, (String, String)>>,
}

#[derive(Default)]
struct Stats {
    ops: AtomicU64,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
    hot_reads: AtomicU64,
    per_op: Mutex<BTreeMap<&'static str, u64>>,
    latency_max_ms: AtomicU64,
}

struct LoadClient<'a> {
    id: usize,
    client: Client,
    rng: Rng,
    own: BTreeMap<String, Obj>,
    ver: u64,
    hot: &'a HotRegistry,
    stats: &'a Stats,
    failures: Vec<String>,
}

fn path(key: &str) -> String {
    format!("/{BUCKET}/{}", encode_key(key))
}

impl LoadClient<'_> {
    fn fail(&mut self, what: String) {
        if self.failures.len() < 20 {
            self.failures.push(what);
        }
    }

    fn call(
        &mut self,
        op: &'static str,
        method: &str,
        p: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        ok: u16,
    ) -> Option<Resp> {
        let t = Instant::now();
        let result = self.client.request(method, p, headers, body);
        let ms = t.elapsed().as_millis() as u64;
        self.stats.latency_max_ms.fetch_max(ms, Ordering::Relaxed);
        self.stats.ops.fetch_add(1, Ordering::Relaxed);
        *self.stats.per_op.lock().unwrap().entry(op).or_default() += 1;
        self.stats
            .bytes_up
            .fetch_add(body.len() as u64, Ordering::Relaxed);
        match result {
            Ok(r) if r.status == ok => {
                self.stats
                    .bytes_down
                    .fetch_add(r.body.len() as u64, Ordering::Relaxed);
                Some(r)
            }
            Ok(r) => {
                self.fail(format!(
                    "{op} {method} {p}: {} (wanted {ok}) {}",
                    r.status,
                    r.text()
                ));
                None
            }
            Err(e) => {
                self.fail(format!("{op} {method} {p}: {e}"));
                None
            }
        }
    }

    fn own_key(&mut self) -> String {
        format!(
            "c{}/{}/k{}",
            self.id,
            ["a", "b/c", "d"][self.rng.below(3) as usize],
            self.rng.below(8)
        )
    }

    fn next_label(&mut self, key: &str) -> (String, String) {
        self.ver += 1;
        (
            format!("{key}@{}.{}", self.id, self.ver),
            format!("{}.{}", self.id, self.ver),
        )
    }

    fn size(&mut self) -> usize {
        match self.rng.below(100) {
            0..=69 => self.rng.below(8192) as usize,
            70..=97 => self.rng.range(8192, 256 * 1024) as usize,
            _ => self.rng.range(1 << 20, 4 << 20) as usize,
        }
    }

    fn step(&mut self) {
        match self.rng.below(100) {
            0..=24 => self.put_own(),
            25..=44 => self.get_own(false),
            45..=54 => self.get_own(true),
            55..=59 => self.list_own(),
            60..=64 => self.delete_own(),
            65..=67 => self.copy_own(),
            68..=70 => self.multipart_own(),
            71..=82 => self.put_hot(),
            83..=97 => self.get_hot(),
            _ => self.delete_hot(),
        }
    }

    fn put_own(&mut self) {
        let key = self.own_key();
        let (label, ver) = self.next_label(&key);
        let size = self.size();
        let body = content(&label, size);
        let md5 = md5_hex(&body);
        let crc = crc32_b64(&body);
        if let Some(r) = self.call(
            "put",
            "PUT",
            &path(&key),
            &[("x-amz-meta-ver", &ver), ("x-amz-checksum-crc32", &crc)],
            &body,
            200,
        ) {
            if r.etag().as_deref() != Some(md5.as_str()) {
                self.fail(format!("put {key}: etag {:?} != {md5}", r.etag()));
            }
            self.own.insert(
                key,
                Obj {
                    label,
                    size,
                    md5: md5.clone(),
                    etag: md5,
                },
            );
        }
    }

    fn get_own(&mut self, ranged: bool) {
        let key = self.own_key();
        let Some(obj) = self.own.get(&key).cloned() else {
            if let Some(r) = self.call("get-missing", "GET", &path(&key), &[], b"", 404)
                && !r.text().contains("NoSuchKey")
            {
                self.fail(format!("get {key}: 404 without NoSuchKey: {}", r.text()));
            }
            return;
        };
        if ranged && obj.size > 0 && !obj.label.is_empty() {
            let start = self.rng.below(obj.size as u64) as usize;
            let end = (start + self.rng.below(70_000) as usize).min(obj.size - 1);
            let range = format!("bytes={start}-{end}");
            if let Some(r) = self.call(
                "range-get",
                "GET",
                &path(&key),
                &[("range", &range)],
                b"",
                206,
            ) {
                let bytes = obj.bytes();
                if r.body != bytes[start..=end] {
                    self.fail(format!(
                        "range {range} of {key}: {} bytes differ from the object's",
                        r.body.len()
                    ));
                }
                let want = format!("bytes {start}-{end}/{}", obj.size);
                if r.header("content-range") != Some(want.as_str()) {
                    self.fail(format!(
                        "range {range} of {key}: content-range {:?} != {want}",
                        r.header("content-range")
                    ));
                }
            }
        } else if let Some(r) = self.call("get", "GET", &path(&key), &[], b"", 200) {
            let md5 = md5_hex(&r.body);
            if md5 != obj.md5 || r.etag().as_deref() != Some(obj.etag.as_str()) {
                self.fail(format!(
                    "get {key}: md5 {md5} etag {:?}, expected md5 {} etag {}",
                    r.etag(),
                    obj.md5,
                    obj.etag
                ));
            }
        }
    }

    fn list_own(&mut self) {
        let prefix = format!("c{}/", self.id);
        let p = format!("/{BUCKET}?list-type=2&prefix={}", encode_key(&prefix));
        if let Some(r) = self.call("list", "GET", &p, &[], b"", 200) {
            let listed: BTreeSet<String> = xml_fields(&r.text(), "Key")
                .iter()
                .map(|k| xml_unescape(k))
                .collect();
            let expected: BTreeSet<String> = self.own.keys().cloned().collect();
            if listed != expected {
                self.fail(format!("list {prefix}: {listed:?} != {expected:?}"));
            }
        }
    }

    fn delete_own(&mut self) {
        let key = self.own_key();
        if self
            .call("delete", "DELETE", &path(&key), &[], b"", 204)
            .is_some()
        {
            self.own.remove(&key);
        }
    }

    fn copy_own(&mut self) {
        let Some(src) = self
            .own
            .keys()
            .nth(self.rng.below(self.own.len().max(1) as u64) as usize)
            .cloned()
        else {
            return;
        };
        let dest = self.own_key();
        if dest == src {
            return;
        }
        let source = format!("/{BUCKET}/{}", encode_key(&src));
        if self
            .call(
                "copy",
                "PUT",
                &path(&dest),
                &[("x-amz-copy-source", &source)],
                b"",
                200,
            )
            .is_some()
        {
            let obj = self.own[&src].clone();
            self.own.insert(
                dest,
                Obj {
                    etag: obj.md5.clone(),
                    ..obj
                },
            );
        }
    }

    /// A multipart upload to `key`: returns the object on success.
    fn multipart(
        &mut self,
        key: &str,
        op: &'static str,
        register: Option<&HotRegistry>,
    ) -> Option<Obj> {
        let (label, ver) = self.next_label(key);
        let sizes: Vec<usize> = if self.rng.chance(10) {
            vec![MIN_PART, self.rng.below(50_000) as usize + 1]
        } else {
            vec![self.rng.below(100_000) as usize + 1]
        };
        let parts: Vec<Vec<u8>> = sizes
            .iter()
            .enumerate()
            .map(|(i, &s)| content(&format!("{label}#{i}"), s))
            .collect();
        let whole = parts.concat();
        let etag = multipart_etag(&parts);
        let md5 = md5_hex(&whole);
        if let Some(hot) = register {
            hot.versions
                .lock()
                .unwrap()
                .insert(ver.clone(), (md5.clone(), etag.clone()));
        }
        let r = self.call(
            op,
            "POST",
            &format!("{}?uploads", path(key)),
            &[("x-amz-meta-ver", &ver)],
            b"",
            200,
        )?;
        let id = r.xml_field("UploadId")?;
        let mut xml = String::from("<CompleteMultipartUpload>");
        for (i, part) in parts.iter().enumerate() {
            let n = i + 1;
            let r = self.call(
                op,
                "PUT",
                &format!("{}?partNumber={n}&uploadId={id}", path(key)),
                &[],
                part,
                200,
            )?;
            xml.push_str(&format!(
                "<Part><PartNumber>{n}</PartNumber><ETag>{}</ETag></Part>",
                r.header("etag").unwrap_or("")
            ));
        }
        xml.push_str("</CompleteMultipartUpload>");
        let r = self.call(
            op,
            "POST",
            &format!("{}?uploadId={id}", path(key)),
            &[],
            xml.as_bytes(),
            200,
        )?;
        if r.text().contains("<Error>") {
            self.fail(format!("complete {key}: {}", r.text()));
            return None;
        }
        Some(Obj {
            label: String::new(),
            size: whole.len(),
            md5,
            etag,
        })
    }

    fn multipart_own(&mut self) {
        let key = self.own_key();
        if let Some(obj) = self.multipart(&key, "multipart", None) {
            // Multipart content is not one label: keep only what GET checks (md5/etag);
            // range reads of it are skipped by giving it size 0 in `bytes`.
            self.own.insert(key.clone(), obj);
            self.own.get_mut(&key).unwrap().label = String::new();
        }
    }

    fn hot_key(&mut self) -> String {
        format!("hot/{}", self.rng.below(HOT_KEYS))
    }

    fn put_hot(&mut self) {
        let key = self.hot_key();
        if self.rng.chance(10) {
            let hot = self.hot;
            self.multipart(&key, "hot-multipart", Some(hot));
            return;
        }
        let (label, ver) = self.next_label(&key);
        let size = self.size();
        let body = content(&label, size);
        let md5 = md5_hex(&body);
        self.hot
            .versions
            .lock()
            .unwrap()
            .insert(ver.clone(), (md5.clone(), md5));
        self.call(
            "hot-put",
            "PUT",
            &path(&key),
            &[("x-amz-meta-ver", &ver)],
            &body,
            200,
        );
    }

    fn get_hot(&mut self) {
        let key = self.hot_key();
        let t = Instant::now();
        let result = self.client.request("GET", &path(&key), &[], b"");
        self.stats
            .latency_max_ms
            .fetch_max(t.elapsed().as_millis() as u64, Ordering::Relaxed);
        self.stats.ops.fetch_add(1, Ordering::Relaxed);
        self.stats.hot_reads.fetch_add(1, Ordering::Relaxed);
        *self
            .stats
            .per_op
            .lock()
            .unwrap()
            .entry("hot-get")
            .or_default() += 1;
        match result {
            Ok(r) if r.status == 404 && r.text().contains("NoSuchKey") => {}
            Ok(r) if r.status == 200 => {
                self.stats
                    .bytes_down
                    .fetch_add(r.body.len() as u64, Ordering::Relaxed);
                let md5 = md5_hex(&r.body);
                let ver = r.header("x-amz-meta-ver").unwrap_or("").to_string();
                let known = self.hot.versions.lock().unwrap().get(&ver).cloned();
                match known {
                    Some((want_md5, want_etag)) if want_md5 == md5 && r.etag().as_deref() == Some(want_etag.as_str()) => {}
                    other => self.fail(format!(
                        "TORN/MIXED read of {key}: body md5 {md5}, etag {:?}, meta ver {ver:?}; that version was written as {other:?}",
                        r.etag()
                    )),
                }
            }
            Ok(r) => self.fail(format!("hot get {key}: {} {}", r.status, r.text())),
            Err(e) => self.fail(format!("hot get {key}: {e}")),
        }
    }

    fn delete_hot(&mut self) {
        let key = self.hot_key();
        self.call("hot-delete", "DELETE", &path(&key), &[], b"", 204);
    }
}

#[test]
fn mixed_load_has_no_errors_no_torn_reads_and_bounded_memory() {
    let clients = knob("SMARTSTORAGE_LOAD_CLIENTS", 64) as usize;
    let secs = knob("SMARTSTORAGE_LOAD_SECS", 5);
    let max_rss_mib = knob("SMARTSTORAGE_LOAD_MAX_RSS_MIB", 512);
    let seed = seed("load");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let extra: Vec<&str> = if knob("SMARTSTORAGE_LOAD_FSYNC", 1) == 0 {
        vec!["--no-fsync"]
    } else {
        vec![]
    };
    let server = Server::start(&root, &extra);
    ensure_bucket(&mut server.client(), BUCKET);
    let baseline_kib = server.rss_kib().unwrap_or(0);
    let hot = HotRegistry::default();
    let stats = Stats::default();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut rss_samples = Vec::new();
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|id| {
                let mut c = LoadClient {
                    id,
                    client: server.client(),
                    rng: Rng::new(seed ^ (id as u64).wrapping_mul(0x9E37_79B9)),
                    own: BTreeMap::new(),
                    ver: 0,
                    hot: &hot,
                    stats: &stats,
                    failures: Vec::new(),
                };
                scope.spawn(move || {
                    while Instant::now() < deadline && c.failures.is_empty() {
                        c.step();
                    }
                    c.failures
                })
            })
            .collect();
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(250));
            if let Some(rss) = server.rss_kib() {
                rss_samples.push(rss);
            }
        }
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let peak_kib = server.peak_rss_kib().unwrap_or(0);
    let fds = server.open_fds().unwrap_or(0);
    server.assert_no_panic();
    let ops = stats.ops.load(Ordering::Relaxed);
    eprintln!(
        "[load] {clients} clients × {elapsed:.1}s: {ops} ops ({:.0} ops/s), {:.1} MiB up, {:.1} MiB down, {} hot reads over {} hot versions, \
         max latency {} ms, server RSS baseline {} KiB → peak (VmHWM) {} KiB, samples {:?}, open fds after {}; per op {:?}",
        ops as f64 / elapsed,
        stats.bytes_up.load(Ordering::Relaxed) as f64 / 1048576.0,
        stats.bytes_down.load(Ordering::Relaxed) as f64 / 1048576.0,
        stats.hot_reads.load(Ordering::Relaxed),
        hot.versions.lock().unwrap().len(),
        stats.latency_max_ms.load(Ordering::Relaxed),
        baseline_kib,
        peak_kib,
        rss_samples
            .iter()
            .step_by((rss_samples.len() / 8).max(1))
            .collect::<Vec<_>>(),
        fds,
        stats.per_op.lock().unwrap(),
    );
    assert!(
        failures.is_empty(),
        "{} failures under load:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        peak_kib < max_rss_mib * 1024,
        "server peak RSS {peak_kib} KiB over the {max_rss_mib} MiB bound"
    );
    assert!(ops > clients as u64, "the load hardly ran: {ops} ops");
    let (ok, stderr) = server.terminate(Duration::from_secs(15));
    assert!(
        ok,
        "graceful stop after load failed:\n{}",
        stderr.join("\n")
    );
    assert_no_panic(&stderr);
    let report = check_dir(&root);
    assert!(report.is_clean(), "leftovers after load: {report:#?}");
}
