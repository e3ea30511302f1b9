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
    assert_eq!(ready["data"]["protocol"], 1);
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
