//! The binary run by hand or by a process manager.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn exe() -> String {
    std::env::var("SMARTSTORAGE_TEST_EXE")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_smartstorage").to_string())
}

#[test]
fn version_and_help_print_and_exit() {
    let out = Command::new(exe()).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("smartstorage {}", env!("CARGO_PKG_VERSION"))
    );
    let out = Command::new(exe()).arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--directory"));
}

#[test]
fn unknown_flag_fails_with_usage_hint() {
    let out = Command::new(exe()).arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--help"));
}

#[test]
fn bad_config_file_is_reported_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.json");
    std::fs::write(&file, r#"{"server":{"prot":1}}"#).unwrap();
    let out = Command::new(exe())
        .arg("--config")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("config.json") && stderr.contains("prot"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn standalone_ignores_closed_stdin_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(exe())
        .args([
            "--port",
            "0",
            "--address",
            "127.0.0.1",
            "--no-fsync",
            "--directory",
        ])
        .arg(dir.path().join("data"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let url = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("a ready line on stderr");
        if let Some(at) = line.find("http://") {
            break line[at..].split_whitespace().next().unwrap().to_string();
        }
    };
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    // stdin is /dev/null (EOF at once): the server must still be up.
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        child.try_wait().unwrap().is_none(),
        "standalone exited on stdin EOF"
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let t = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "{status}");
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    assert!(stdout.is_empty(), "standalone wrote to stdout: {stdout:?}");
}
