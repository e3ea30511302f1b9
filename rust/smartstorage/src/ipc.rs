//! The two pipes of management mode.
//!
//! - stdin is read on a dedicated OS thread (not `tokio::io::stdin`, whose
//!   blocking read cannot be cancelled and can hang runtime shutdown) and
//!   forwarded line by line over a bounded channel; end of file is reported as
//!   [`Input::Eof`], meaning the parent is gone.
//! - stdout is owned by one writer thread: each message is serialized whole,
//!   newline-terminated and flushed, so lines never interleave and nothing but
//!   protocol messages ever reaches stdout.

use serde::Serialize;
use std::io::{BufRead, Write};
use tokio::sync::mpsc;

/// Lines buffered between the stdin thread and the request loop; the parent
/// waits for answers, so a handful is plenty, and the bound gives backpressure.
const STDIN_CHANNEL_CAPACITY: usize = 64;

/// What the stdin thread reports.
#[derive(Debug)]
pub enum Input {
    /// One line, without its newline (invalid UTF-8 replaced, so it still gets an error answer).
    Line(String),
    /// stdin closed (or failed): the parent is gone.
    Eof,
}

/// Starts the stdin reader thread.
pub fn spawn_stdin_reader() -> mpsc::Receiver<Input> {
    let (tx, rx) = mpsc::channel(STDIN_CHANNEL_CAPACITY);
    let spawned = std::thread::Builder::new()
        .name("stdin-reader".into())
        .spawn(move || {
            let stdin = std::io::stdin();
            let mut reader = stdin.lock();
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) => break,
                    Ok(_) => {
                        while matches!(buf.last(), Some(b'\n' | b'\r')) {
                            buf.pop();
                        }
                        let line = String::from_utf8_lossy(&buf).into_owned();
                        if tx.blocking_send(Input::Line(line)).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        tracing::warn!(error = %e, "reading stdin failed; treating it as closed");
                        break;
                    }
                }
            }
            let _ = tx.blocking_send(Input::Eof);
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the stdin reader thread");
    }
    rx
}

/// The single owner of stdout.
pub struct StdoutWriter {
    tx: Option<std::sync::mpsc::Sender<Vec<u8>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StdoutWriter {
    /// Starts the writer thread.
    pub fn spawn() -> StdoutWriter {
        let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
        let thread = std::thread::Builder::new()
            .name("stdout-writer".into())
            .spawn(move || {
                let stdout = std::io::stdout();
                let mut out = stdout.lock();
                for line in rx {
                    if out.write_all(&line).and_then(|()| out.flush()).is_err() {
                        // The parent closed its end: nothing more can be said.
                        return;
                    }
                }
            })
            .ok();
        StdoutWriter {
            tx: Some(tx),
            thread,
        }
    }

    /// Queues one message as a JSON line.
    pub fn send(&self, message: &impl Serialize) {
        match serde_json::to_vec(message) {
            Ok(mut line) => {
                line.push(b'\n');
                if let Some(tx) = &self.tx {
                    let _ = tx.send(line);
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot serialize a protocol message"),
        }
    }

    /// Writes everything queued, then releases stdout.
    pub fn finish(mut self) {
        self.tx.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
