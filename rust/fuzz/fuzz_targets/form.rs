//! The multipart/form-data parser of POST Object (browser uploads).
//! Input: byte 0 = boundary length, then the boundary, 3 cut bytes, the body.
#![no_main]

#[path = "../../s3/tests/reliability_checks/mod.rs"]
mod checks;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 72).min(rest.len());
    let boundary = String::from_utf8_lossy(&rest[..n]).into_owned();
    let rest = &rest[n..];
    if rest.len() < 3 {
        return;
    }
    let body = &rest[3..];
    let cuts: Vec<usize> = rest[..3]
        .iter()
        .map(|&c| usize::from(c) * body.len() / 255)
        .collect();
    checks::check_form(&boundary, body, &cuts);
});
