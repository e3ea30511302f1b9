//! The aws-chunked decoder. Input: byte 0 = flags (signed, trailer), bytes
//! 1..5 = where the body is cut into pieces, the rest = the raw body.
#![no_main]

#[path = "../../s3/tests/reliability_checks/mod.rs"]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 5 {
        return;
    }
    let flags = data[0];
    let body = &data[5..];
    let cuts: Vec<usize> = data[1..5]
        .iter()
        .map(|&c| usize::from(c) * body.len() / 255)
        .collect();
    checks::check_chunked(body, &cuts, flags & 1 != 0, flags & 2 != 0);
});
