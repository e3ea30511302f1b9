//! Checks shared by the hostile-input proptests (`reliability_proptests.rs`,
//! run by every `cargo test`) and the cargo-fuzz targets in `rust/fuzz`
//! (which include this file with `#[path]`), so both exercise exactly the
//! same functions with the same assertions. Each check panics on a violated
//! invariant; any panic inside the library is a bug too.
#![allow(dead_code)]

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use smartstorage_s3::chunked::{AwsChunkedDecoder, ChunkedEvent};
use smartstorage_s3::conditional::{evaluate_copy_source, evaluate_read};
use smartstorage_s3::range::{parse_copy_source_range, parse_range};
use smartstorage_s3::router::{Query, route};
use smartstorage_s3::xml::bucket::CreateBucketConfiguration;
use smartstorage_s3::xml::from_xml;
use smartstorage_s3::xml::multipart::CompleteMultipartUpload;
use smartstorage_s3::xml::object::Delete;
use std::time::{Duration, SystemTime};

/// A header map from arbitrary (name, value) pairs; pairs `http` rejects are skipped.
pub fn headers(pairs: &[(String, Vec<u8>)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            map.append(n, v);
        }
    }
    map
}

/// A header map from fuzzer input lines `name: value` (names lower-cased,
/// both sides trimmed); lines without `:` and pairs `http` rejects are skipped.
pub fn header_lines<'a>(lines: impl Iterator<Item = &'a [u8]>) -> HeaderMap {
    let pairs: Vec<(String, Vec<u8>)> = lines
        .filter_map(|l| {
            let at = l.iter().position(|&b| b == b':')?;
            Some((
                String::from_utf8_lossy(&l[..at]).trim().to_ascii_lowercase(),
                l[at + 1..].trim_ascii().to_vec(),
            ))
        })
        .collect();
    headers(&pairs)
}

/// The checks shared with the `router` fuzz target.
pub fn check_route(method: &Method, path: &str, query: Option<&str>, headers: &HeaderMap) {
    if let Ok(r) = route(method, path, query, headers, "localhost") {
        assert!(
            r.key.as_deref() != Some(""),
            "an empty key must mean no key"
        );
        assert!(
            r.key.is_none() || r.bucket.is_some(),
            "a key without a bucket: {r:?}"
        );
        assert!(!r.endpoint.name().is_empty());
    }
    let _ = Query::parse(query);
}

/// The checks shared with the `range_conditional` fuzz target: the range
/// parsers stay within the object, conditional evaluation never panics.
pub fn check_range_and_conditions(
    range_header: &str,
    size: u64,
    headers: &HeaderMap,
    etag: &str,
    modified_secs: u64,
) {
    if let Ok(Some(r)) = parse_range(range_header, size) {
        assert!(
            r.start < r.end && r.end <= size,
            "{range_header:?} on {size}: {r:?}"
        );
    }
    if let Ok(r) = parse_copy_source_range(range_header, size) {
        assert!(
            r.start < r.end && r.end <= size,
            "copy {range_header:?} on {size}: {r:?}"
        );
    }
    let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(modified_secs);
    let _ = evaluate_read(headers, etag, modified);
    let _ = evaluate_copy_source(headers, etag, modified);
}

/// The checks shared with the `chunked` fuzz target: feeds `body` split at
/// `cuts`, drains events, and checks data accounting and sticky errors.
pub fn check_chunked(body: &[u8], cuts: &[usize], signed: bool, trailer: bool) {
    let mut decoder = AwsChunkedDecoder::new(signed, trailer);
    let mut data_len = 0u64;
    let mut ended = false;
    let mut failed = None;
    let mut pieces = Vec::new();
    let mut last = 0;
    let mut sorted: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
    sorted.sort_unstable();
    for cut in sorted {
        pieces.push(&body[last..cut]);
        last = cut;
    }
    pieces.push(&body[last..]);
    let drain = |decoder: &mut AwsChunkedDecoder,
                 data_len: &mut u64,
                 ended: &mut bool,
                 failed: &mut Option<String>| {
        for _ in 0..100_000 {
            match decoder.next_event() {
                Ok(None) => return,
                Ok(Some(ChunkedEvent::Data(d))) => {
                    assert!(!d.is_empty(), "empty Data event");
                    assert!(!*ended, "data after End");
                    *data_len += d.len() as u64;
                }
                Ok(Some(ChunkedEvent::End)) => {
                    assert!(!*ended, "End twice");
                    *ended = true;
                }
                Ok(Some(_)) => assert!(!*ended, "event after End"),
                Err(e) => {
                    if let Some(first) = failed.as_ref() {
                        assert_eq!(first, e.code, "errors must be sticky");
                    }
                    *failed = Some(e.code.to_string());
                    // Sticky: the same error again.
                    assert_eq!(decoder.next_event().unwrap_err().code, e.code);
                    return;
                }
            }
        }
        panic!("the decoder produced 100 000 events without asking for input");
    };
    for piece in pieces {
        decoder.push(Bytes::copy_from_slice(piece));
        drain(&mut decoder, &mut data_len, &mut ended, &mut failed);
        if failed.is_some() {
            break;
        }
    }
    if failed.is_none() {
        if decoder.finish().is_ok() {
            drain(&mut decoder, &mut data_len, &mut ended, &mut failed);
        }
        if failed.is_none() && ended {
            assert!(decoder.is_done());
        }
    }
    assert_eq!(
        decoder.decoded_len(),
        data_len,
        "decoded_len must count exactly the Data bytes"
    );
    assert!(data_len <= body.len() as u64, "more data than input");
}

/// The checks shared with the `xml` fuzz target: parsing into every request
/// struct never panics.
pub fn check_xml(body: &[u8]) {
    if let Ok(doc) = from_xml::<CompleteMultipartUpload>(body) {
        let _ = doc
            .parts
            .iter()
            .map(|p| p.checksums().count())
            .sum::<usize>();
    }
    let _ = from_xml::<Delete>(body);
    let _ = from_xml::<CreateBucketConfiguration>(body);
}

/// The checks shared with the `policy` fuzz target: parsing a bucket policy
/// never panics, and a parsed policy evaluates any request without panicking.
pub fn check_policy(text: &[u8], key: &str) {
    use smartstorage_s3::policy::condition::RequestValues;
    use smartstorage_s3::policy::eval::{EvalRequest, Target};
    use smartstorage_s3::policy::parse::Policy;
    let Ok(policy) = Policy::parse(text, "bucket") else {
        return;
    };
    let mut values = RequestValues::default();
    values.set("aws:SourceIp", "203.0.113.7");
    values.set("aws:SecureTransport", "false");
    values.set("aws:CurrentTime", "2026-01-01T00:00:00Z");
    values.set("s3:prefix", key);
    values.set("aws:username", key);
    let arn = format!("arn:aws:s3:::bucket/{key}");
    for principal in [None, Some("AKIDEXAMPLE")] {
        for action in [
            "s3:GetObject",
            "s3:PutObject",
            "s3:ListBucket",
            "s3:DeleteObject",
        ] {
            for target in [
                Target::Arn(&arn),
                Target::Arn("arn:aws:s3:::bucket"),
                Target::AllObjects("arn:aws:s3:::bucket/"),
            ] {
                let _ = policy.evaluate(&EvalRequest {
                    principal,
                    action,
                    target,
                    values: &values,
                });
            }
        }
    }
}

/// The checks shared with the `sigv4` fuzz target: the Authorization header
/// parser, presigned query parsing, the date parser and the canonical forms
/// never panic on arbitrary input.
pub fn check_sigv4(header: &[u8], raw_query: &str, path: &str) {
    use smartstorage_s3::auth::header::{parse_authorization, parse_signed_headers};
    use smartstorage_s3::auth::presigned::parse_presigned;
    use smartstorage_s3::auth::sigv4::{AmzDate, canonical_query, canonical_uri};
    // An empty Signature= parses (verification then fails with
    // SignatureDoesNotMatch); only a panic is a failure here.
    let _ = parse_authorization(header);
    let text = String::from_utf8_lossy(header);
    let _ = parse_signed_headers(&text);
    let _ = AmzDate::parse(&text);
    let _ = AmzDate::from_http_date(&text);
    if let Ok(query) = Query::parse(Some(raw_query)) {
        let _ = parse_presigned(&query);
    }
    let _ = canonical_query(Some(raw_query), None);
    let _ = canonical_query(Some(raw_query), Some("X-Amz-Signature"));
    let _ = canonical_uri(path);
}

/// The checks shared with the `xml` fuzz target for the documents added with
/// bucket configuration: CORS and tagging. Never panics.
pub fn check_config_xml(body: &[u8]) {
    if let Ok(rules) = smartstorage_s3::cors::parse_cors_xml(body)
        && let Ok(doc) = smartstorage_s3::cors::cors_document(rules)
    {
        // What we store must load back.
        smartstorage_s3::cors::rules_from_document(doc.as_bytes())
            .expect("a stored CORS document must load back");
    }
    let _ = smartstorage_s3::cors::rules_from_document(body);
    let _ = smartstorage_s3::xml::tagging::parse_tagging(body);
}

/// The checks shared with the `form` fuzz target: the multipart/form-data
/// parser of POST Object never panics and never yields data after the end.
pub fn check_form(boundary: &str, body: &[u8], cuts: &[usize]) {
    use smartstorage_s3::form::{FormEvent, FormParser};
    let Ok(mut parser) = FormParser::new(boundary) else {
        return;
    };
    let mut sorted: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
    sorted.sort_unstable();
    let mut last = 0;
    let mut pieces: Vec<&[u8]> = Vec::new();
    for cut in sorted {
        pieces.push(&body[last..cut]);
        last = cut;
    }
    pieces.push(&body[last..]);
    let mut ended = false;
    let n = pieces.len();
    for (i, piece) in pieces.into_iter().enumerate() {
        parser.push(piece);
        if i + 1 == n {
            parser.finish();
        }
        for _ in 0..100_000 {
            match parser.next_event() {
                Ok(None) | Err(_) => break,
                Ok(Some(FormEvent::End)) => ended = true,
                Ok(Some(_)) => assert!(!ended, "an event after End"),
            }
        }
    }
}
