//! Conditional reads (`If-Match`, `If-Unmodified-Since`, `If-None-Match`,
//! `If-Modified-Since`) and copy-source conditions (`x-amz-copy-source-if-*`).
//!
//! S3 evaluates them in the RFC 9110 §13.2.2 order:
//!
//! 1. `If-Match` present: false → 412.
//! 2. Otherwise `If-Unmodified-Since`: false → 412.
//! 3. `If-None-Match` present: false → 304.
//! 4. Otherwise `If-Modified-Since`: false → 304.
//!
//! Which gives the cases the S3 API reference spells out: `If-Match` true and
//! `If-Unmodified-Since` false → 200; `If-None-Match` false and
//! `If-Modified-Since` true → 304. Copy sources use the same order, but every
//! failure is 412 (S3 never answers a copy with 304).
//!
//! Entity tags may be quoted or not (S3 accepts both), weak (`W/"…"`), `*`,
//! or comma-separated lists. `If-Match` compares strongly (a weak tag never
//! matches), `If-None-Match` weakly (RFC 9110 §13.1.1-2). Dates are HTTP-dates
//! (IMF-fixdate, RFC 850, asctime); an unparseable date is ignored, as RFC 9110
//! requires. Last-Modified is sent in whole seconds, so the object's time is
//! truncated to the second before comparing.

use std::time::{SystemTime, UNIX_EPOCH};

use http::HeaderMap;

/// The outcome of the read preconditions of a GET or HEAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadPrecondition {
    /// Serve the object.
    Proceed,
    /// 304 Not Modified (with `ETag` and `Last-Modified`, no body).
    NotModified,
    /// 412 PreconditionFailed; the header that failed (for the `Condition`
    /// field of the error), e.g. `If-Match`.
    PreconditionFailed(&'static str),
}

/// The four header names of one family of conditions.
struct Names {
    if_match: &'static str,
    if_unmodified_since: &'static str,
    if_none_match: &'static str,
    if_modified_since: &'static str,
}

/// Request headers of conditional GET/HEAD, spelled as in AWS's `Condition` field.
const READ: Names = Names {
    if_match: "If-Match",
    if_unmodified_since: "If-Unmodified-Since",
    if_none_match: "If-None-Match",
    if_modified_since: "If-Modified-Since",
};

/// Conditions on the source of CopyObject / UploadPartCopy.
const COPY_SOURCE: Names = Names {
    if_match: "x-amz-copy-source-if-match",
    if_unmodified_since: "x-amz-copy-source-if-unmodified-since",
    if_none_match: "x-amz-copy-source-if-none-match",
    if_modified_since: "x-amz-copy-source-if-modified-since",
};

/// Evaluates the read preconditions of a GET/HEAD against the object's
/// `etag` (unquoted, as stored) and `last_modified`.
pub fn evaluate_read(headers: &HeaderMap, etag: &str, last_modified: SystemTime) -> ReadPrecondition {
    evaluate(headers, &READ, etag, last_modified)
}

/// Evaluates `x-amz-copy-source-if-*` against the copy source. `Err` carries
/// the failing header (all failures are 412 PreconditionFailed for copies).
pub fn evaluate_copy_source(headers: &HeaderMap, etag: &str, last_modified: SystemTime) -> Result<(), &'static str> {
    match evaluate(headers, &COPY_SOURCE, etag, last_modified) {
        ReadPrecondition::Proceed => Ok(()),
        ReadPrecondition::PreconditionFailed(header) => Err(header),
        ReadPrecondition::NotModified => Err(if headers.contains_key(COPY_SOURCE.if_none_match) {
            COPY_SOURCE.if_none_match
        } else {
            COPY_SOURCE.if_modified_since
        }),
    }
}

fn evaluate(headers: &HeaderMap, names: &Names, etag: &str, last_modified: SystemTime) -> ReadPrecondition {
    let modified = unix_seconds(last_modified);
    if let Some(list) = header_text(headers, names.if_match) {
        if !etag_list_matches(&list, etag, false) {
            return ReadPrecondition::PreconditionFailed(names.if_match);
        }
    } else if let Some(since) = header_date(headers, names.if_unmodified_since)
        && modified > since
    {
        return ReadPrecondition::PreconditionFailed(names.if_unmodified_since);
    }
    if let Some(list) = header_text(headers, names.if_none_match) {
        if etag_list_matches(&list, etag, true) {
            return ReadPrecondition::NotModified;
        }
    } else if let Some(since) = header_date(headers, names.if_modified_since)
        && modified <= since
    {
        return ReadPrecondition::NotModified;
    }
    ReadPrecondition::Proceed
}

/// All values of `name` joined with commas (a list header may be repeated);
/// `None` if absent or blank. Non-UTF-8 values become U+FFFD, matching nothing.
fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    let joined = headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap_or("\u{fffd}"))
        .collect::<Vec<_>>()
        .join(",");
    (!joined.trim().is_empty()).then_some(joined)
}

/// The date of a single-valued date header, in Unix seconds; `None` if absent,
/// repeated or not an HTTP-date (the condition is then ignored).
fn header_date(headers: &HeaderMap, name: &str) -> Option<i64> {
    let mut values = headers.get_all(name).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let date = httpdate::parse_http_date(value.to_str().ok()?.trim()).ok()?;
    Some(unix_seconds(date))
}

/// Whole seconds since the Unix epoch, rounded down (negative before 1970).
fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => {
            let d = before.duration();
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            -secs - i64::from(d.subsec_nanos() > 0)
        }
    }
}

/// Whether a comma-separated entity-tag list (or `*`) matches `etag`
/// (unquoted). `weak`: weak comparison (`W/` tags match by their opaque
/// value); otherwise strong comparison (weak tags never match).
fn etag_list_matches(list: &str, etag: &str, weak: bool) -> bool {
    let etag = etag.trim_matches('"');
    let mut rest = list;
    loop {
        rest = rest.trim_start_matches([',', ' ', '\t']);
        if rest.is_empty() {
            return false;
        }
        if let Some(after) = rest.strip_prefix('*') {
            let after = after.trim_start_matches([' ', '\t']);
            if after.is_empty() || after.starts_with(',') {
                return true;
            }
        }
        let (is_weak, tag_start) = match rest.strip_prefix("W/") {
            Some(after) => (true, after),
            None => (false, rest),
        };
        let (tag, after) = match tag_start.strip_prefix('"') {
            // Quoted: up to the closing quote (an unterminated one runs to the end).
            Some(quoted) => match quoted.find('"') {
                Some(close) => (&quoted[..close], &quoted[close + 1..]),
                None => (quoted, ""),
            },
            // Unquoted (accepted by S3): up to the next comma.
            None => match tag_start.find(',') {
                Some(comma) => (tag_start[..comma].trim_end(), &tag_start[comma..]),
                None => (tag_start.trim_end(), ""),
            },
        };
        if tag == etag && (weak || !is_weak) {
            return true;
        }
        rest = after;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use proptest::prelude::*;
    use std::time::Duration;

    const ETAG: &str = "5eb63bbbe01eeed093cb22bb8f5acdc3";
    /// Last-Modified: Wed, 21 Oct 2015 07:28:00 GMT, plus 0.5 s (truncated away).
    fn modified() -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(1_445_412_480_500)
    }
    const BEFORE: &str = "Wed, 21 Oct 2015 07:27:59 GMT";
    const EXACT: &str = "Wed, 21 Oct 2015 07:28:00 GMT";
    const AFTER: &str = "Wed, 21 Oct 2015 07:28:01 GMT";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn read(pairs: &[(&'static str, &str)]) -> ReadPrecondition {
        evaluate_read(&headers(pairs), ETAG, modified())
    }

    use ReadPrecondition::{NotModified, PreconditionFailed as Failed, Proceed};

    #[test]
    fn no_conditions_proceed() {
        assert_eq!(read(&[]), Proceed);
        assert_eq!(read(&[("if-match", "  ")]), Proceed);
    }

    #[test]
    fn if_match_accepts_quoted_unquoted_lists_and_star_but_not_weak_tags() {
        let quoted = format!("\"{ETAG}\"");
        for value in [quoted.as_str(), ETAG, "*", &format!("\"x\", {quoted}"), &format!("x,{ETAG}"), " * "] {
            assert_eq!(read(&[("if-match", value)]), Proceed, "{value}");
        }
        for value in ["\"other\"", &format!("W/{quoted}"), "\"\"", &format!("\"{ETAG}x\""), "**"] {
            assert_eq!(read(&[("if-match", value)]), Failed("If-Match"), "{value}");
        }
        // Repeated headers form one list.
        assert_eq!(read(&[("if-match", "\"a\""), ("if-match", &quoted)]), Proceed);
    }

    #[test]
    fn if_none_match_compares_weakly() {
        let quoted = format!("\"{ETAG}\"");
        for value in [quoted.as_str(), ETAG, "*", &format!("W/{quoted}"), &format!("\"a\",W/{quoted}")] {
            assert_eq!(read(&[("if-none-match", value)]), NotModified, "{value}");
        }
        assert_eq!(read(&[("if-none-match", "\"other\", W/\"x\"")]), Proceed);
    }

    #[test]
    fn dates_compare_in_whole_seconds() {
        assert_eq!(read(&[("if-modified-since", BEFORE)]), Proceed);
        assert_eq!(read(&[("if-modified-since", EXACT)]), NotModified);
        assert_eq!(read(&[("if-modified-since", AFTER)]), NotModified);
        assert_eq!(read(&[("if-unmodified-since", BEFORE)]), Failed("If-Unmodified-Since"));
        assert_eq!(read(&[("if-unmodified-since", EXACT)]), Proceed);
        assert_eq!(read(&[("if-unmodified-since", AFTER)]), Proceed);
        // RFC 850 and asctime forms are HTTP-dates too.
        assert_eq!(read(&[("if-modified-since", "Wednesday, 21-Oct-15 07:28:00 GMT")]), NotModified);
        assert_eq!(read(&[("if-modified-since", "Wed Oct 21 07:28:00 2015")]), NotModified);
    }

    #[test]
    fn unparseable_or_repeated_dates_are_ignored() {
        for value in ["yesterday", "2015-10-21T07:28:00Z", ""] {
            assert_eq!(read(&[("if-modified-since", value)]), Proceed, "{value}");
            assert_eq!(read(&[("if-unmodified-since", value)]), Proceed, "{value}");
        }
        assert_eq!(read(&[("if-unmodified-since", BEFORE), ("if-unmodified-since", BEFORE)]), Proceed);
    }

    /// The S3 GetObject truth table: (If-Match, If-Unmodified-Since,
    /// If-None-Match, If-Modified-Since) as true/false/absent → outcome.
    #[test]
    fn s3_truth_table() {
        let quoted = format!("\"{ETAG}\"");
        let if_match = |ok: bool| ("if-match", if ok { quoted.clone() } else { "\"nope\"".to_string() });
        let if_unmodified = |ok: bool| ("if-unmodified-since", (if ok { AFTER } else { BEFORE }).to_string());
        let if_none_match = |ok: bool| ("if-none-match", if ok { "\"nope\"".to_string() } else { quoted.clone() });
        let if_modified = |ok: bool| ("if-modified-since", (if ok { BEFORE } else { AFTER }).to_string());
        let cases: Vec<(Vec<(&'static str, String)>, ReadPrecondition)> = vec![
            // Documented by S3: If-Match true + If-Unmodified-Since false → 200.
            (vec![if_match(true), if_unmodified(false)], Proceed),
            // Documented by S3: If-None-Match false + If-Modified-Since true → 304.
            (vec![if_none_match(false), if_modified(true)], NotModified),
            (vec![if_match(false), if_unmodified(true)], Failed("If-Match")),
            (vec![if_match(false), if_none_match(false)], Failed("If-Match")),
            (vec![if_match(true), if_none_match(false)], NotModified),
            (vec![if_match(true), if_modified(false)], NotModified),
            (vec![if_match(true), if_modified(true)], Proceed),
            (vec![if_unmodified(false), if_none_match(true)], Failed("If-Unmodified-Since")),
            (vec![if_unmodified(false), if_none_match(false)], Failed("If-Unmodified-Since")),
            (vec![if_unmodified(false), if_modified(false)], Failed("If-Unmodified-Since")),
            (vec![if_unmodified(true), if_modified(false)], NotModified),
            (vec![if_none_match(true), if_modified(false)], Proceed),
            (vec![if_match(true), if_unmodified(false), if_none_match(true), if_modified(false)], Proceed),
            (vec![if_match(true), if_unmodified(true), if_none_match(true), if_modified(true)], Proceed),
        ];
        for (pairs, expected) in cases {
            let pairs: Vec<(&'static str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
            assert_eq!(read(&pairs), expected, "{pairs:?}");
        }
    }

    #[test]
    fn copy_source_failures_are_all_412() {
        let copy = |pairs: &[(&'static str, &str)]| evaluate_copy_source(&headers(pairs), ETAG, modified());
        let quoted = format!("\"{ETAG}\"");
        assert_eq!(copy(&[]), Ok(()));
        assert_eq!(copy(&[("x-amz-copy-source-if-match", &quoted)]), Ok(()));
        assert_eq!(copy(&[("x-amz-copy-source-if-match", "\"no\"")]), Err("x-amz-copy-source-if-match"));
        assert_eq!(copy(&[("x-amz-copy-source-if-none-match", ETAG)]), Err("x-amz-copy-source-if-none-match"));
        assert_eq!(copy(&[("x-amz-copy-source-if-modified-since", AFTER)]), Err("x-amz-copy-source-if-modified-since"));
        assert_eq!(copy(&[("x-amz-copy-source-if-unmodified-since", BEFORE)]), Err("x-amz-copy-source-if-unmodified-since"));
        // Documented by S3: if-match true + if-unmodified-since false → copy proceeds.
        assert_eq!(
            copy(&[("x-amz-copy-source-if-match", ETAG), ("x-amz-copy-source-if-unmodified-since", BEFORE)]),
            Ok(())
        );
        // Documented by S3: if-none-match false + if-modified-since true → 412.
        assert_eq!(
            copy(&[("x-amz-copy-source-if-none-match", ETAG), ("x-amz-copy-source-if-modified-since", BEFORE)]),
            Err("x-amz-copy-source-if-none-match")
        );
        // Plain If-* headers do not apply to the copy source.
        assert_eq!(copy(&[("if-match", "\"no\"")]), Ok(()));
    }

    #[test]
    fn times_before_the_epoch_do_not_panic() {
        let old = UNIX_EPOCH - Duration::from_millis(1500);
        assert_eq!(unix_seconds(old), -2);
        assert_eq!(evaluate_read(&headers(&[("if-modified-since", BEFORE)]), ETAG, old), NotModified);
    }

    proptest! {
        #[test]
        fn etag_lists_never_panic(list in ".{0,60}", etag in "[a-f0-9\"-]{0,40}") {
            let _ = etag_list_matches(&list, &etag, true);
            let _ = etag_list_matches(&list, &etag, false);
        }
    }
}
