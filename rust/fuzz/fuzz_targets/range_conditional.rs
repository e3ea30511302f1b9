//! `Range` / `x-amz-copy-source-range` parsing and the conditional headers.
//! Input: 8 bytes of object size, the range header up to the first newline,
//! the etag up to the next one, then `name: value` header lines.
#![no_main]

#[path = "../../s3/tests/reliability_checks/mod.rs"]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let raw_size = u64::from_le_bytes(data[..8].try_into().unwrap());
    // Half the time a small size, where the interesting edges are.
    let size = if raw_size & 1 == 0 {
        raw_size >> 1
    } else {
        (raw_size >> 1) % 64
    };
    let mut lines = data[8..].split(|&b| b == b'\n');
    let range = String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    let etag = String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    let headers = checks::header_lines(lines);
    checks::check_range_and_conditions(&range, size, &headers, &etag, raw_size % (1 << 40));
});
