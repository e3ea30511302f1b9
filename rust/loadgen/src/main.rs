//! `smartstorage-loadgen`: the drivers behind `npm run bench`.
//!
//! A Node client tops out near 18k requests/s on this class of machine against a
//! server that does nothing, so small-object throughput must be driven by
//! something leaner; and the big-transfer scenarios need a client whose own
//! cost is a rounding error. Every command prints one JSON object on stdout
//! (`floor-server` prints its address first, then serves).
//!
//! ```text
//! smartstorage-loadgen http   --addr 127.0.0.1:PORT --method GET --path '/b/k-{i}' --keys 1000
//!                             [--concurrency 32] [--requests N] [--duration-ms MS] [--body-size B]
//!                             [--start S] [--dirs N] [--header 'Name: value']…   ({i}: key index, {d}: index % dirs)
//! smartstorage-loadgen put    --addr A --path /b/big --size BYTES       (one streamed PUT)
//! smartstorage-loadgen get    --addr A --path /b/big                    (one streamed GET)
//! smartstorage-loadgen ranges --addr A --path /b/big --object-size N --range-size R
//!                             [--count N] [--concurrency C] [--random] [--seed S]
//! smartstorage-loadgen list   --addr A --bucket B [--max-keys 1000] [--prefix P]   (full ListObjectsV2 pagination)
//! smartstorage-loadgen tcp    --bytes N                                 (loopback throughput)
//! smartstorage-loadgen disk   --dir D --bytes N                         (sequential write, fdatasync every 16 MiB and at the end)
//! smartstorage-loadgen files  --dir D [--writers 32] [--file-size 4096] [--duration-ms MS] [--max-files N] [--atomic] [--no-sync] [--keep]
//! smartstorage-loadgen md5    --bytes N                                 (single-core MD5, md-5 crate as in the server)
//! smartstorage-loadgen floor-server --dir D [--addr 127.0.0.1:0] [--meta-bytes 280]   (the core of a small PUT only; until stdin closes)
//! ```
//!
//! Every loop is bounded by a request count and a deadline; traffic goes only
//! to the address given (the bench passes 127.0.0.1).

mod floor;
mod http;
mod load;
mod machine;
mod transfer;

use std::collections::HashMap;
use std::process::ExitCode;

/// Parsed `--name value` options (flags map to `"true"`).
pub struct Args {
    values: HashMap<String, Vec<String>>,
}

impl Args {
    fn parse(raw: &[String]) -> Result<Args, String> {
        let mut values: HashMap<String, Vec<String>> = HashMap::new();
        let mut i = 0;
        while i < raw.len() {
            let name = raw[i].strip_prefix("--").ok_or_else(|| format!("unexpected argument {:?}", raw[i]))?;
            let value = match raw.get(i + 1) {
                Some(v) if !v.starts_with("--") => {
                    i += 1;
                    v.clone()
                }
                _ => "true".to_string(),
            };
            values.entry(name.to_string()).or_default().push(value);
            i += 1;
        }
        Ok(Args { values })
    }

    /// The last value of `--name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).and_then(|v| v.last()).map(String::as_str)
    }

    /// Every value of a repeatable option.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.values.get(name).cloned().unwrap_or_default()
    }

    /// A required string option.
    pub fn req(&self, name: &str) -> Result<String, String> {
        self.get(name).map(str::to_string).ok_or_else(|| format!("--{name} is required"))
    }

    /// A numeric option with a default.
    pub fn num(&self, name: &str, default: u64) -> Result<u64, String> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => parse_size(v).ok_or_else(|| format!("--{name} expects a number (suffixes k, m, g allowed), got {v:?}")),
        }
    }

    /// Whether a flag is present.
    pub fn flag(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| v != "false")
    }
}

/// Parses `4096`, `4k`, `8m`, `1g` (binary multiples).
fn parse_size(text: &str) -> Option<u64> {
    let lower = text.trim().to_ascii_lowercase();
    let (digits, mult) = match lower.as_bytes().last()? {
        b'k' => (&lower[..lower.len() - 1], 1u64 << 10),
        b'm' => (&lower[..lower.len() - 1], 1 << 20),
        b'g' => (&lower[..lower.len() - 1], 1 << 30),
        _ => (&lower[..], 1),
    };
    digits.parse::<u64>().ok()?.checked_mul(mult)
}

/// A JSON object built field by field (numbers and plain strings only).
#[derive(Default)]
pub struct Json(Vec<String>);

impl Json {
    /// Adds a numeric field.
    pub fn num(mut self, name: &str, value: impl Into<f64>) -> Self {
        let v: f64 = value.into();
        let text = if v.is_finite() { format!("{v}") } else { "null".to_string() };
        self.0.push(format!("\"{name}\":{text}"));
        self
    }

    /// Adds a string field (no escaping needed for what we print).
    pub fn str(mut self, name: &str, value: &str) -> Self {
        let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
        self.0.push(format!("\"{name}\":\"{escaped}\""));
        self
    }

    /// Adds a pre-rendered JSON value.
    pub fn raw(mut self, name: &str, value: String) -> Self {
        self.0.push(format!("\"{name}\":{value}"));
        self
    }

    /// The rendered object.
    pub fn render(&self) -> String {
        format!("{{{}}}", self.0.join(","))
    }
}

fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = raw.split_first() else {
        eprintln!("usage: smartstorage-loadgen <http|put|get|ranges|list|tcp|disk|files|md5|floor-server> [--options]");
        return ExitCode::from(2);
    };
    let result = Args::parse(rest).and_then(|args| match command.as_str() {
        "http" => load::run(&args),
        "put" => transfer::put(&args),
        "get" => transfer::get(&args),
        "ranges" => transfer::ranges(&args),
        "list" => transfer::list(&args),
        "tcp" => machine::tcp(&args),
        "disk" => machine::disk(&args),
        "files" => machine::files(&args),
        "md5" => machine::md5(&args),
        "floor-server" => floor::serve(&args),
        other => Err(format!("unknown command {other:?}")),
    });
    match result {
        Ok(json) => {
            println!("{}", json.render());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("smartstorage-loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Clock ticks per second of `/proc/self/stat` times (100 on every Linux we target).
const CLK_TCK: f64 = 100.0;

/// CPU seconds this process has used so far (user + system, all threads), from
/// `/proc/self/stat`; NaN where that file does not exist. The bench reports it
/// per request or per file, so a figure shows its own share of the 2 cores.
pub fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return f64::NAN };
    // The command name (field 2) may contain spaces: count fields after its ')'.
    let fields: Vec<&str> = stat[stat.rfind(')').map_or(0, |i| i + 2)..].split(' ').collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(f64::NAN);
    (ticks(11) + ticks(12)) / CLK_TCK
}

/// Percentile of sorted microsecond samples.
pub fn percentile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    f64::from(sorted[idx.min(sorted.len() - 1)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_accept_binary_suffixes() {
        assert_eq!(parse_size("4k"), Some(4096));
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("12"), Some(12));
        assert_eq!(parse_size("x"), None);
    }

    #[test]
    fn options_repeat_and_flags_default_to_true() {
        let raw: Vec<String> = ["--header", "a: 1", "--header", "b: 2", "--random", "--keys", "5"].iter().map(|s| s.to_string()).collect();
        let args = Args::parse(&raw).unwrap();
        assert_eq!(args.all("header"), vec!["a: 1", "b: 2"]);
        assert!(args.flag("random"));
        assert_eq!(args.num("keys", 0).unwrap(), 5);
    }
}
