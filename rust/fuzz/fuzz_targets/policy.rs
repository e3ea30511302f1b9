//! Bucket policy JSON: parsing, then evaluating the parsed policy against a
//! few requests. Input: the key up to the first newline, then the document.
#![no_main]

#[path = "../../s3/tests/reliability_checks/mod.rs"]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (key, doc) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (
            String::from_utf8_lossy(&data[..at]).into_owned(),
            &data[at + 1..],
        ),
        None => (String::new(), data),
    };
    checks::check_policy(doc, &key);
});
