//! `Range` (GetObject/HeadObject) and `x-amz-copy-source-range`
//! (UploadPartCopy) parsing with S3's semantics.
//!
//! S3 serves a single byte range (RFC 9110 §14.1.2). What it does with the
//! rest, which this module reproduces:
//!
//! | `Range` (object of 10 bytes)        | S3 answer                        |
//! | ----------------------------------- | -------------------------------- |
//! | `bytes=2-5`, `bytes=2-`, `bytes=-3` | 206, bytes 2-5 / 2-9 / 7-9       |
//! | `bytes=2-99`, `bytes=-99`           | 206, clamped: 2-9 / 0-9          |
//! | `bytes=10-`, `bytes=10-20`          | 416 `InvalidRange`               |
//! | `bytes=-0`                          | 416 `InvalidRange`               |
//! | `bytes=5-2`, `bytes=0-1,3-4`, `bytes=x`, `items=0-1` | ignored: 200, whole object |
//! | any `bytes=a-…` on an empty object  | 416; `bytes=-n` (n>0) is ignored |

use std::ops::Range;

use crate::error::{S3Error, S3Result};

/// The message AWS sends with a 416 `InvalidRange`.
const NOT_SATISFIABLE: &str = "The requested range is not satisfiable";

/// The message AWS sends for a malformed `x-amz-copy-source-range`.
const BAD_COPY_RANGE: &str = "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy";

/// Parses a `Range` header against an object of `size` bytes.
///
/// `Ok(Some(range))`: serve `range` with 206 (never empty, within `0..size`).
/// `Ok(None)`: the header is ignored, serve the whole object with 200
/// (syntactically invalid, several ranges, other units, `first > last`).
/// `Err`: 416 `InvalidRange` with `Content-Range: bytes */size` and the
/// `RangeRequested` / `ActualObjectSize` fields AWS sends.
pub fn parse_range(header: &str, size: u64) -> S3Result<Option<Range<u64>>> {
    let Some((unit, spec)) = header.trim().split_once('=') else { return Ok(None) };
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.trim().split_once('-') else { return Ok(None) };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        // Suffix range: the last `n` bytes.
        let Some(n) = parse_pos(last) else { return Ok(None) };
        if n == 0 {
            return Err(invalid_range(header, size));
        }
        if size == 0 {
            return Ok(None);
        }
        return Ok(Some(size - n.min(size)..size));
    }
    let Some(first) = parse_pos(first) else { return Ok(None) };
    let end = if last.is_empty() {
        size
    } else {
        let Some(last) = parse_pos(last) else { return Ok(None) };
        if first > last {
            return Ok(None);
        }
        last.saturating_add(1).min(size)
    };
    if first >= size {
        return Err(invalid_range(header, size));
    }
    Ok(Some(first..end))
}

/// Parses `x-amz-copy-source-range: bytes=first-last` against a source of
/// `size` bytes. Stricter than [`parse_range`]: both positions are required,
/// anything else (or `first > last`) is `InvalidArgument` with AWS's message,
/// and a range reaching past the source is `InvalidArgument` "Range specified
/// is not valid for source object of size: N".
pub fn parse_copy_source_range(header: &str, size: u64) -> S3Result<Range<u64>> {
    let malformed = || {
        S3Error::invalid_argument(format!("{BAD_COPY_RANGE} (got \"{}\")", header.escape_debug()))
            .with_field("ArgumentName", "x-amz-copy-source-range")
            .with_field("ArgumentValue", header)
    };
    let spec = header.trim();
    let spec = match spec.get(..6) {
        Some(prefix) if prefix.eq_ignore_ascii_case("bytes=") => &spec[6..],
        _ => return Err(malformed()),
    };
    let (first, last) = spec.split_once('-').ok_or_else(malformed)?;
    let first = parse_pos(first).ok_or_else(malformed)?;
    let last = parse_pos(last).ok_or_else(malformed)?;
    if first > last {
        return Err(malformed());
    }
    if last >= size {
        return Err(S3Error::invalid_argument(format!(
            "Range specified is not valid for source object of size: {size}"
        ))
        .with_field("ArgumentName", "x-amz-copy-source-range")
        .with_field("ArgumentValue", header));
    }
    Ok(first..last + 1)
}

/// The `Content-Range` value of a 206 answer: `bytes first-last/size`.
/// `range` must be non-empty.
pub fn content_range(range: &Range<u64>, size: u64) -> String {
    format!("bytes {}-{}/{size}", range.start, range.end.saturating_sub(1))
}

/// The 416 `InvalidRange` answer for `header` on an object of `size` bytes.
pub fn invalid_range(header: &str, size: u64) -> S3Error {
    S3Error::invalid_range(NOT_SATISFIABLE)
        .with_field("RangeRequested", header)
        .with_field("ActualObjectSize", size.to_string())
        .with_header("Content-Range", format!("bytes */{size}"))
}

/// A byte position: ASCII digits only; values past `u64::MAX` saturate (they
/// are past any object's end, which is what they mean).
fn parse_pos(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.bytes().fold(0u64, |acc, b| acc.saturating_mul(10).saturating_add(u64::from(b - b'0'))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn range(header: &str, size: u64) -> Option<Range<u64>> {
        parse_range(header, size).unwrap_or_else(|e| panic!("{header} on {size}: {e}"))
    }

    #[test]
    fn satisfiable_ranges_are_served_and_clamped() {
        assert_eq!(range("bytes=2-5", 10), Some(2..6));
        assert_eq!(range("bytes=0-0", 10), Some(0..1));
        assert_eq!(range("bytes=0-", 10), Some(0..10));
        assert_eq!(range("bytes=9-", 10), Some(9..10));
        assert_eq!(range("bytes=2-99", 10), Some(2..10));
        assert_eq!(range("bytes=2-99999999999999999999999", 10), Some(2..10));
        assert_eq!(range("bytes=-3", 10), Some(7..10));
        assert_eq!(range("bytes=-10", 10), Some(0..10));
        assert_eq!(range("bytes=-99", 10), Some(0..10));
        assert_eq!(range("bytes=-99999999999999999999999", 10), Some(0..10));
        assert_eq!(range(" Bytes = 2 - 5 ", 10), Some(2..6));
    }

    #[test]
    fn invalid_or_multiple_ranges_are_ignored() {
        for header in [
            "", "bytes", "bytes=", "bytes=-", "bytes=5-2", "bytes=0-1,3-4", "bytes=0-1,", "bytes=a-b", "bytes=1-b",
            "bytes=+1-2", "bytes=1--2", "bytes=0x1-2", "items=0-1", "0-1", "bytes=1.5-2",
        ] {
            assert_eq!(range(header, 10), None, "{header:?}");
        }
        assert_eq!(range("bytes=-5", 0), None, "a suffix on an empty object is ignored");
    }

    #[test]
    fn unsatisfiable_ranges_are_416_with_aws_fields() {
        for (header, size) in
            [("bytes=10-", 10), ("bytes=10-20", 10), ("bytes=-0", 10), ("bytes=0-", 0), ("bytes=0-5", 0), ("bytes=-0", 0)]
        {
            let err = parse_range(header, size).unwrap_err();
            assert_eq!(err.code, "InvalidRange", "{header} on {size}");
            assert_eq!(err.status, http::StatusCode::RANGE_NOT_SATISFIABLE);
            assert_eq!(err.message, "The requested range is not satisfiable");
            assert_eq!(err.headers, vec![("Content-Range", format!("bytes */{size}"))]);
            assert_eq!(
                err.fields,
                vec![("RangeRequested", header.to_string()), ("ActualObjectSize", size.to_string())]
            );
        }
        let huge = parse_range("bytes=99999999999999999999999-", 10).unwrap_err();
        assert_eq!(huge.code, "InvalidRange");
    }

    #[test]
    fn content_range_names_the_last_byte() {
        assert_eq!(content_range(&(2..6), 10), "bytes 2-5/10");
        assert_eq!(content_range(&(0..1), 1), "bytes 0-0/1");
    }

    #[test]
    fn copy_source_ranges_are_strict() {
        assert_eq!(parse_copy_source_range("bytes=0-9", 10).unwrap(), 0..10);
        assert_eq!(parse_copy_source_range("bytes=3-3", 10).unwrap(), 3..4);
        for bad in ["", "bytes=", "bytes=0-", "bytes=-5", "bytes=5-2", "bytes=a-b", "0-5", "bytes=0-1,2-3", "items=0-1"] {
            let err = parse_copy_source_range(bad, 10).unwrap_err();
            assert_eq!(err.code, "InvalidArgument", "{bad:?}");
            assert!(err.message.starts_with(BAD_COPY_RANGE), "{bad:?}");
        }
        for past in ["bytes=0-10", "bytes=10-10", "bytes=0-99999999999999999999999"] {
            let err = parse_copy_source_range(past, 10).unwrap_err();
            assert_eq!(err.code, "InvalidArgument", "{past}");
            assert_eq!(err.message, "Range specified is not valid for source object of size: 10");
        }
        assert!(parse_copy_source_range("bytes=0-0", 0).is_err());
    }

    proptest! {
        #[test]
        fn parse_range_never_panics_and_stays_within_the_object(header in ".{0,40}", size in any::<u64>()) {
            if let Ok(Some(r)) = parse_range(&header, size) {
                prop_assert!(r.start < r.end && r.end <= size, "{:?} for {}", r, size);
            }
        }

        #[test]
        fn parse_range_on_structured_input_stays_within_the_object(
            first in prop::option::of(0u64..40), last in prop::option::of(0u64..40), size in 0u64..30,
        ) {
            let fmt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
            let header = format!("bytes={}-{}", fmt(first), fmt(last));
            match parse_range(&header, size) {
                Ok(Some(r)) => prop_assert!(r.start < r.end && r.end <= size),
                Ok(None) => {}
                Err(e) => prop_assert_eq!(e.code, "InvalidRange"),
            }
        }

        #[test]
        fn parse_copy_source_range_never_panics(header in ".{0,40}", size in any::<u64>()) {
            if let Ok(r) = parse_copy_source_range(&header, size) {
                prop_assert!(r.start < r.end && r.end <= size);
            }
        }
    }
}
