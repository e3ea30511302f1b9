//! SigV4 parsing: the Authorization header, presigned-URL query parameters,
//! dates and canonical URI/query forms. Input: header, query and path,
//! separated by newlines.
#![no_main]

#[path = "../../s3/tests/reliability_checks/mod.rs"]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == b'\n');
    let header = parts.next().unwrap_or_default();
    let query = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let path = format!(
        "/{}",
        String::from_utf8_lossy(parts.next().unwrap_or_default())
    );
    checks::check_sigv4(header, &query, &path);
});
