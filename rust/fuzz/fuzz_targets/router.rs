//! The request router: method + URI (as hyper hands it over) + headers.
//! Input: byte 0 picks the method, then the request target up to the first
//! newline, then `name: value` header lines.
#![no_main]

#[path = "../../s3/tests/reliability_checks/mod.rs"]
mod checks;

use http::{Method, Uri};
use libfuzzer_sys::fuzz_target;

const METHODS: [&str; 8] = [
    "GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS", "PATCH", "BREW",
];

fuzz_target!(|data: &[u8]| {
    let Some((&m, rest)) = data.split_first() else {
        return;
    };
    let method = Method::from_bytes(METHODS[usize::from(m) % METHODS.len()].as_bytes()).unwrap();
    let mut lines = rest.split(|&b| b == b'\n');
    let target = lines.next().unwrap_or_default();
    let headers = checks::header_lines(lines);
    // What hyper would pass on: only targets that parse as a URI.
    if let Ok(uri) = Uri::try_from(target) {
        checks::check_route(&method, uri.path(), uri.query(), &headers);
    }
    // And the raw text, to reach decoding corners a URI would refuse.
    let text = String::from_utf8_lossy(target);
    let (path, query) = match text.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (text.to_string(), None),
    };
    checks::check_route(&method, &path, query.as_deref(), &headers);
});
