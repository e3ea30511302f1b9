//! The binary as the TypeScript side sees it: spawned with `--management`,
//! driven over stdin/stdout. Set `SMARTSTORAGE_TEST_EXE` to test another build.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Generous for a loaded 2-core CI machine; a healthy run answers in milliseconds.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

fn exe() -> String {
    std::env::var("SMARTSTORAGE_TEST_EXE")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_smartstorage").to_string())
}

struct Managed {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    next_id: u64,
    _dir: tempfile::TempDir,
    dir_path: String,
}

impl Managed {
    fn spawn() -> Managed {
        let mut child = Command::new(exe())
            .arg("--management")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn smartstorage");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let dir_path = dir.path().join("data").to_string_lossy().into_owned();
        Managed {
            stdin: child.stdin.take(),
            child,
            lines,
            next_id: 1,
            _dir: dir,
            dir_path,
        }
    }

    fn next_line(&self) -> Value {
        let line = self
            .lines
            .recv_timeout(ANSWER_TIMEOUT)
            .expect("a stdout line in time");
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line:?}"))
    }

    fn send_raw(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send_raw(&json!({ "id": id, "method": method, "params": params }).to_string());
        let response = self.next_line();
        assert_eq!(
            response["id"],
            json!(id),
            "response to {method}: {response}"
        );
        response
    }

    fn start(&mut self) -> u16 {
        let dir = self.dir_path.clone();
        let r = self.call(
            "start",
            json!({ "server": { "port": 0, "address": "127.0.0.1" }, "storage": { "directory": dir, "fsync": false } }),
        );
        assert_eq!(r["ok"], json!(true), "start failed: {r}");
        r["result"]["port"].as_u64().unwrap() as u16
    }

    /// Starts with auth enabled and these `(accessKeyId, secret)` credentials.
    fn start_with_auth(&mut self, credentials: &[(&str, &str)]) -> u16 {
        let dir = self.dir_path.clone();
        let credentials: Vec<Value> = credentials
            .iter()
            .map(|(id, secret)| json!({ "accessKeyId": id, "secretAccessKey": secret }))
            .collect();
        let r = self.call(
            "start",
            json!({
                "server": { "port": 0, "address": "127.0.0.1" },
                "storage": { "directory": dir, "fsync": false },
                "auth": { "enabled": true, "credentials": credentials },
            }),
        );
        assert_eq!(r["ok"], json!(true), "start failed: {r}");
        r["result"]["port"].as_u64().unwrap() as u16
    }

    fn close_stdin(&mut self) {
        self.stdin.take();
    }

    fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for Managed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_get(port: u16, path: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(ANSWER_TIMEOUT)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn first_line_is_ready_with_version_and_protocol() {
    let m = Managed::spawn();
    let ready = m.next_line();
    assert_eq!(ready["event"], "ready");
    assert_eq!(ready["data"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        ready["data"]["protocol"],
        smartstorage::protocol::PROTOCOL_VERSION
    );
}

#[test]
fn every_stdout_line_is_a_protocol_message_through_a_whole_session() {
    let mut m = Managed::spawn();
    m.next_line();
    m.start();
    for (method, params) in [
        ("createBucket", json!({ "name": "alpha" })),
        ("createBucket", json!({ "name": "Not_Valid" })),
        ("createBucket", json!({ "name": "alpha" })),
        ("listBuckets", Value::Null),
        ("status", json!({})),
        ("clusterStatus", Value::Null),
        ("deleteBucket", json!({ "name": "missing" })),
        ("deleteBucket", json!({ "name": "alpha" })),
        ("explode", Value::Null),
        ("stop", Value::Null),
        ("stop", Value::Null),
    ] {
        m.call(method, params);
    }
    m.send_raw("this is not json");
    m.send_raw("");
    m.send_raw(r#"{"id": 99, "method": "status", "params": {"verbose": true}}"#);
    m.close_stdin();
    let mut lines = 0;
    while let Ok(line) = m.lines.recv_timeout(ANSWER_TIMEOUT) {
        let value: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line:?}"));
        assert!(
            value.get("ok").is_some() || value.get("event").is_some(),
            "not a protocol message: {line}"
        );
        lines += 1;
    }
    assert_eq!(
        lines, 2,
        "one answer for the garbage line and one for the bad params, nothing for the empty line"
    );
    assert!(
        m.wait_exit(Duration::from_secs(5))
            .expect("exited")
            .success()
    );
}

#[test]
fn bucket_methods_answer_with_s3_error_codes() {
    let mut m = Managed::spawn();
    m.next_line();
    let r = m.call("createBucket", json!({ "name": "early" }));
    assert_eq!(r["error"]["code"], "NotRunning", "{r}");
    m.start();
    let r = m.call("createBucket", json!({ "name": "alpha" }));
    assert_eq!(r["result"], json!({ "name": "alpha" }), "{r}");
    let r = m.call("createBucket", json!({ "name": "alpha" }));
    assert_eq!(r["error"]["code"], "BucketAlreadyOwnedByYou", "{r}");
    let r = m.call("createBucket", json!({ "name": "Bad_Name" }));
    assert_eq!(r["error"]["code"], "InvalidBucketName", "{r}");
    let r = m.call("listBuckets", Value::Null);
    let list = r["result"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "alpha");
    assert!(list[0]["creationDate"].as_str().unwrap().ends_with('Z'));
    let r = m.call("status", Value::Null);
    assert_eq!(r["result"]["running"], true);
    assert_eq!(r["result"]["bucketCount"], 1);
    let r = m.call("deleteBucket", json!({ "name": "nope" }));
    assert_eq!(r["error"]["code"], "NoSuchBucket", "{r}");
    let r = m.call("deleteBucket", json!({ "name": "alpha" }));
    assert_eq!(r["ok"], true, "{r}");
    let r = m.call("explode", Value::Null);
    assert_eq!(r["error"]["code"], "UnknownMethod", "{r}");
    let r = m.call("start", json!({}));
    assert_eq!(r["error"]["code"], "AlreadyRunning", "{r}");
}

#[test]
fn malformed_line_gets_a_null_id_error_and_the_session_goes_on() {
    let mut m = Managed::spawn();
    m.next_line();
    m.send_raw("{ not json");
    let r = m.next_line();
    assert_eq!(r["id"], Value::Null);
    assert_eq!(r["error"]["code"], "InvalidRequest");
    let r = m.call("status", Value::Null);
    assert_eq!(r["result"]["running"], false);
}

#[test]
fn stdin_eof_makes_the_process_exit_promptly() {
    let mut m = Managed::spawn();
    m.next_line();
    m.start();
    let t = Instant::now();
    m.close_stdin();
    let status = m
        .wait_exit(Duration::from_secs(5))
        .expect("exit after stdin EOF");
    assert!(status.success(), "{status}");
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "took {:?}",
        t.elapsed()
    );
}

#[test]
fn health_route_answers_after_start_on_port_zero() {
    let mut m = Managed::spawn();
    m.next_line();
    let port = m.start();
    assert_ne!(port, 0);
    let response = http_get(port, "/_smartstorage/health");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let stop = m.call("stop", Value::Null);
    assert_eq!(stop["result"]["wasRunning"], true);
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "still listening after stop"
    );
}

#[test]
fn cluster_mode_is_refused_with_a_clear_error() {
    let mut m = Managed::spawn();
    m.next_line();
    let r = m.call(
        "start",
        json!({ "server": { "port": 0 }, "cluster": { "enabled": true } }),
    );
    assert_eq!(r["error"]["code"], "NotSupported", "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cluster.enabled"),
        "{r}"
    );
    let r = m.call("clusterStatus", Value::Null);
    assert_eq!(r["result"]["mode"], "standalone");
}

#[test]
fn invalid_config_names_the_field() {
    let mut m = Managed::spawn();
    m.next_line();
    let r = m.call(
        "start",
        json!({ "server": { "port": 0, "address": "not-an-ip" } }),
    );
    assert_eq!(r["error"]["code"], "InvalidConfig", "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("server.address"),
        "{r}"
    );
    let r = m.call("start", json!({ "server": { "prot": 1 } }));
    assert_eq!(r["error"]["code"], "InvalidConfig", "{r}");
    assert!(
        r["error"]["message"].as_str().unwrap().contains("prot"),
        "{r}"
    );
}

#[test]
fn stop_then_start_again_reuses_the_directory_in_the_same_process() {
    let mut m = Managed::spawn();
    m.next_line();
    let port = m.start();
    assert_eq!(
        m.call("createBucket", json!({ "name": "kept" }))["ok"],
        true
    );
    // Leave a keep-alive connection open across the stop, as SDK clients do.
    let mut idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        idle,
        "GET /_smartstorage/health HTTP/1.1\r\nHost: localhost\r\n\r\n"
    )
    .unwrap();
    let mut buf = [0u8; 64];
    let _ = idle.read(&mut buf).unwrap();
    assert_eq!(m.call("stop", Value::Null)["result"]["wasRunning"], true);
    m.start();
    let list = m.call("listBuckets", Value::Null);
    assert_eq!(list["result"][0]["name"], "kept", "{list}");
}

/// Status line and body of a raw HTTP exchange.
struct HttpReply {
    status: u16,
    body: String,
}

impl HttpReply {
    /// The S3 error code in the body, if any.
    fn code(&self) -> &str {
        self.body
            .split_once("<Code>")
            .and_then(|(_, rest)| rest.split_once("</Code>"))
            .map_or("", |(code, _)| code)
    }
}

/// `GET /` (ListBuckets) signed with SigV4 in the Authorization header for
/// `access_key`/`secret`. The canonical request is written out by hand here
/// (only the HMAC primitives come from the server crate), so the test does not
/// trust the verifier's own canonicalisation.
fn signed_list_buckets(port: u16, access_key: &str, secret: &str) -> HttpReply {
    use smartstorage_s3::auth::sigv4::{EMPTY_SHA256, derive_signing_key, sha256_hex, sign};
    let now = time::OffsetDateTime::now_utc();
    let date = format!(
        "{:04}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    );
    let timestamp = format!(
        "{date}T{:02}{:02}{:02}Z",
        now.hour(),
        now.minute(),
        now.second()
    );
    let host = format!("127.0.0.1:{port}");
    let canonical = format!(
        "GET\n/\n\nhost:{host}\nx-amz-content-sha256:{EMPTY_SHA256}\nx-amz-date:{timestamp}\n\n\
         host;x-amz-content-sha256;x-amz-date\n{EMPTY_SHA256}"
    );
    let scope = format!("{date}/us-east-1/s3/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{timestamp}\n{scope}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let key = derive_signing_key(secret, &date, "us-east-1", "s3");
    let signature = sign(&key, string_to_sign.as_bytes());
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(ANSWER_TIMEOUT)).unwrap();
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: {host}\r\nx-amz-content-sha256: {EMPTY_SHA256}\r\nx-amz-date: {timestamp}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={signature}\r\n\
         Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_string());
    HttpReply { status, body }
}

/// Bucket names in a ListBuckets body.
fn bucket_names(body: &str) -> Vec<String> {
    body.split("<Name>")
        .skip(1)
        .filter_map(|s| s.split_once("</Name>").map(|(n, _)| n.to_string()))
        .collect()
}

fn ids(list: &Value) -> Vec<String> {
    list["result"]
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|e| e["accessKeyId"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn credentials_added_at_runtime_work_at_once_and_removed_ones_stop_working() {
    let mut m = Managed::spawn();
    m.next_line();
    let port = m.start_with_auth(&[("FIRSTKEY", "first-secret")]);
    assert_eq!(ids(&m.call("listCredentials", Value::Null)), ["FIRSTKEY"]);
    assert_eq!(
        signed_list_buckets(port, "SECONDKEY", "second-secret").code(),
        "InvalidAccessKeyId"
    );

    let r = m.call(
        "addCredential",
        json!({ "accessKeyId": "SECONDKEY", "secretAccessKey": "second-secret" }),
    );
    assert_eq!(
        r["result"],
        json!({ "accessKeyId": "SECONDKEY", "replaced": false }),
        "{r}"
    );
    assert_eq!(
        ids(&m.call("listCredentials", json!({}))),
        ["FIRSTKEY", "SECONDKEY"]
    );
    let ok = signed_list_buckets(port, "SECONDKEY", "second-secret");
    assert_eq!(ok.status, 200, "{}", ok.body);

    // Replacing the secret: the old one is refused from the next request on.
    let r = m.call(
        "addCredential",
        json!({ "accessKeyId": "SECONDKEY", "secretAccessKey": "rotated-secret" }),
    );
    assert_eq!(r["result"]["replaced"], true, "{r}");
    assert_eq!(
        signed_list_buckets(port, "SECONDKEY", "second-secret").code(),
        "SignatureDoesNotMatch"
    );
    assert_eq!(
        signed_list_buckets(port, "SECONDKEY", "rotated-secret").status,
        200
    );
    assert_eq!(
        ids(&m.call("listCredentials", Value::Null)),
        ["FIRSTKEY", "SECONDKEY"],
        "a replaced key keeps its place"
    );

    let r = m.call("removeCredential", json!({ "accessKeyId": "SECONDKEY" }));
    assert_eq!(r["result"], json!({ "accessKeyId": "SECONDKEY" }), "{r}");
    let gone = signed_list_buckets(port, "SECONDKEY", "rotated-secret");
    assert_eq!((gone.status, gone.code()), (403, "InvalidAccessKeyId"));
    assert_eq!(
        signed_list_buckets(port, "FIRSTKEY", "first-secret").status,
        200
    );
}

#[test]
fn credential_methods_refuse_bad_input_with_clear_codes() {
    let mut m = Managed::spawn();
    m.next_line();
    let r = m.call("listCredentials", Value::Null);
    assert_eq!(r["error"]["code"], "NotRunning", "{r}");
    let r = m.call(
        "addCredential",
        json!({ "accessKeyId": "EARLY", "secretAccessKey": "s" }),
    );
    assert_eq!(r["error"]["code"], "NotRunning", "{r}");
    m.start_with_auth(&[("ONLYKEY", "only-secret")]);

    let r = m.call(
        "addCredential",
        json!({ "accessKeyId": "has space", "secretAccessKey": "s" }),
    );
    assert_eq!(r["error"]["code"], "InvalidCredential", "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("has space"),
        "{r}"
    );
    let r = m.call(
        "addCredential",
        json!({ "accessKeyId": "GOODKEY", "secretAccessKey": "with space" }),
    );
    assert_eq!(r["error"]["code"], "InvalidCredential", "{r}");
    assert!(
        !r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("with space"),
        "the secret must not be echoed: {r}"
    );
    let r = m.call("addCredential", json!({ "accessKeyId": "NOSECRET" }));
    assert_eq!(r["error"]["code"], "InvalidRequest", "{r}");

    let r = m.call("removeCredential", json!({ "accessKeyId": "UNKNOWN" }));
    assert_eq!(r["error"]["code"], "NoSuchCredential", "{r}");
    assert!(
        r["error"]["message"].as_str().unwrap().contains("ONLYKEY"),
        "{r}"
    );
    let r = m.call("removeCredential", json!({ "accessKeyId": "ONLYKEY" }));
    assert_eq!(r["error"]["code"], "LastCredential", "{r}");
    assert_eq!(ids(&m.call("listCredentials", Value::Null)), ["ONLYKEY"]);

    // With another one in place, the old one can go.
    m.call(
        "addCredential",
        json!({ "accessKeyId": "NEXTKEY", "secretAccessKey": "next-secret" }),
    );
    let r = m.call("removeCredential", json!({ "accessKeyId": "ONLYKEY" }));
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(ids(&m.call("listCredentials", Value::Null)), ["NEXTKEY"]);
}

#[test]
fn without_auth_the_last_credential_may_be_removed() {
    let mut m = Managed::spawn();
    m.next_line();
    m.start();
    assert_eq!(ids(&m.call("listCredentials", Value::Null)), ["STORAGE"]);
    let r = m.call("removeCredential", json!({ "accessKeyId": "STORAGE" }));
    assert_eq!(r["ok"], true, "{r}");
    assert!(ids(&m.call("listCredentials", Value::Null)).is_empty());
    let r = m.call("removeCredential", json!({ "accessKeyId": "STORAGE" }));
    assert_eq!(r["error"]["code"], "NoSuchCredential", "{r}");
}

#[test]
fn no_answer_ever_carries_a_secret() {
    let mut m = Managed::spawn();
    m.next_line();
    m.start_with_auth(&[("KEYONE", "SECRET-ONE-xyz")]);
    let mut answers = Vec::new();
    for (method, params) in [
        (
            "addCredential",
            json!({ "accessKeyId": "KEYTWO", "secretAccessKey": "SECRET-TWO-xyz" }),
        ),
        (
            "addCredential",
            json!({ "accessKeyId": "KEYTWO", "secretAccessKey": "SECRET-TWO-b-xyz" }),
        ),
        (
            "addCredential",
            json!({ "accessKeyId": "KEYTHREE", "secretAccessKey": "SECRET THREE" }),
        ),
        ("listCredentials", Value::Null),
        ("status", Value::Null),
        ("removeCredential", json!({ "accessKeyId": "KEYTWO" })),
    ] {
        answers.push(m.call(method, params).to_string());
    }
    for answer in answers {
        assert!(!answer.contains("SECRET"), "{answer}");
    }
}

#[test]
fn buckets_created_over_ipc_belong_to_the_first_live_credential() {
    let mut m = Managed::spawn();
    m.next_line();
    let port = m.start_with_auth(&[("OWNERA", "secret-a"), ("OWNERB", "secret-b")]);
    assert_eq!(
        m.call("createBucket", json!({ "name": "of-a" }))["ok"],
        true
    );
    let a = signed_list_buckets(port, "OWNERA", "secret-a");
    assert_eq!(bucket_names(&a.body), ["of-a"], "{}", a.body);
    let b = signed_list_buckets(port, "OWNERB", "secret-b");
    assert_eq!(b.status, 200, "{}", b.body);
    assert!(bucket_names(&b.body).is_empty(), "{}", b.body);

    // Once OWNERA is gone, OWNERB is the first credential, and the owner of new buckets.
    m.call("removeCredential", json!({ "accessKeyId": "OWNERA" }));
    assert_eq!(
        m.call("createBucket", json!({ "name": "of-b" }))["ok"],
        true
    );
    let b = signed_list_buckets(port, "OWNERB", "secret-b");
    assert_eq!(bucket_names(&b.body), ["of-b"], "{}", b.body);
    // A name taken by another owner is BucketAlreadyExists, not "owned by you".
    let r = m.call("createBucket", json!({ "name": "of-a" }));
    assert_eq!(r["error"]["code"], "BucketAlreadyExists", "{r}");
}

#[test]
fn invalid_credentials_in_the_start_config_are_refused_naming_the_field() {
    let mut m = Managed::spawn();
    m.next_line();
    let r = m.call(
        "start",
        json!({ "server": { "port": 0 }, "auth": { "enabled": true, "credentials": [{ "accessKeyId": "bad/key", "secretAccessKey": "s" }] } }),
    );
    assert_eq!(r["error"]["code"], "InvalidConfig", "{r}");
    let message = r["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("auth.credentials.0.accessKeyId") && message.contains("\"bad/key\""),
        "{r}"
    );
    let r = m.call(
        "start",
        json!({ "server": { "port": 0 }, "auth": { "credentials": [{ "accessKeyId": "GOOD", "secretAccessKey": "not ok" }] } }),
    );
    assert_eq!(r["error"]["code"], "InvalidConfig", "{r}");
    let message = r["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("auth.credentials.0.secretAccessKey") && !message.contains("not ok"),
        "{r}"
    );
    assert_eq!(m.call("status", Value::Null)["result"]["running"], false);
}
