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
