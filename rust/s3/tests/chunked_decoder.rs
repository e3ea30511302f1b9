//! Public-API tests of the aws-chunked decoder: the AWS documentation
//! examples, what real SDKs send, every rejection, and proptests that any split
//! of a valid body decodes the same and that garbage never panics.

use bytes::Bytes;
use smartstorage_s3::S3Result;
use smartstorage_s3::chunked::{AwsChunkedDecoder, ChunkedEvent, MAX_LINE_LEN, MAX_TRAILERS};
use proptest::prelude::*;

const SIG_A: &str = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648";

/// Pushes `pieces` one by one, drains after each, then finishes and drains.
fn decode(mut decoder: AwsChunkedDecoder, pieces: &[&[u8]]) -> S3Result<Vec<ChunkedEvent>> {
    let mut events = Vec::new();
    for piece in pieces {
        decoder.push(Bytes::copy_from_slice(piece));
        while let Some(event) = decoder.next_event()? {
            events.push(event);
        }
    }
    decoder.finish()?;
    while let Some(event) = decoder.next_event()? {
        events.push(event);
    }
    assert!(decoder.is_done(), "no End after finish");
    assert_eq!(decoder.next_event()?, None);
    Ok(events)
}

/// Merges consecutive `Data` events so splits do not matter.
fn coalesce(events: Vec<ChunkedEvent>) -> Vec<ChunkedEvent> {
    let mut out: Vec<ChunkedEvent> = Vec::new();
    for event in events {
        if let ChunkedEvent::Data(bytes) = &event {
            assert!(!bytes.is_empty(), "empty Data event");
            if let Some(ChunkedEvent::Data(prev)) = out.last_mut() {
                *prev = [prev.as_ref(), bytes.as_ref()].concat().into();
                continue;
            }
        }
        out.push(event);
    }
    out
}

fn data(bytes: &[u8]) -> ChunkedEvent {
    ChunkedEvent::Data(Bytes::copy_from_slice(bytes))
}

fn chunk_end(size: u64, signature: Option<&str>) -> ChunkedEvent {
    ChunkedEvent::ChunkEnd { size, signature: signature.map(str::to_string) }
}

fn trailer(name: &str, value: &str) -> ChunkedEvent {
    ChunkedEvent::Trailer { name: name.into(), value: value.into() }
}

fn code_of(result: S3Result<Vec<ChunkedEvent>>) -> &'static str {
    match result {
        Ok(events) => panic!("expected an error, got {events:?}"),
        Err(err) => err.code,
    }
}

/// The AWS documentation example (sigv4-streaming "Example: PUT Object"):
/// 65 KiB of 'a' in a 64 KiB chunk, a 1 KiB chunk and the final chunk.
fn aws_doc_example() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(format!("10000;chunk-signature={SIG_A}\r\n").as_bytes());
    body.extend_from_slice(&[b'a'; 65536]);
    body.extend_from_slice(b"\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n");
    body.extend_from_slice(&[b'a'; 1024]);
    body.extend_from_slice(b"\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n");
    body
}

fn aws_doc_example_events() -> Vec<ChunkedEvent> {
    vec![
        data(&[b'a'; 65536]),
        chunk_end(65536, Some(SIG_A)),
        data(&[b'a'; 1024]),
        chunk_end(1024, Some("0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497")),
        chunk_end(0, Some("b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9")),
        ChunkedEvent::End,
    ]
}

#[test]
fn signed_aws_doc_example_decodes_with_the_documented_content_length() {
    let body = aws_doc_example();
    assert_eq!(body.len(), 66824, "Content-Length of the AWS example");
    let events = decode(AwsChunkedDecoder::new(true, false), &[&body]).unwrap();
    assert_eq!(events, aws_doc_example_events());
}

#[test]
fn signed_aws_doc_example_decodes_byte_by_byte() {
    let body = aws_doc_example();
    let pieces: Vec<&[u8]> = body.chunks(1).collect();
    let mut decoder = AwsChunkedDecoder::new(true, false);
    let mut events = Vec::new();
    for piece in &pieces {
        decoder.push(Bytes::copy_from_slice(piece));
        while let Some(event) = decoder.next_event().unwrap() {
            events.push(event);
        }
    }
    decoder.finish().unwrap();
    assert_eq!(decoder.next_event().unwrap(), None, "End was already returned");
    assert_eq!(decoder.decoded_len(), 66560);
    assert_eq!(coalesce(events), aws_doc_example_events());
}

#[test]
fn data_events_are_zero_copy_slices_of_the_input() {
    let body = Bytes::from(aws_doc_example());
    let mut decoder = AwsChunkedDecoder::new(true, false);
    decoder.push(body.clone());
    let Some(ChunkedEvent::Data(first)) = decoder.next_event().unwrap() else { panic!("no data") };
    assert_eq!(first.len(), 65536);
    let offset = first.as_ptr() as usize - body.as_ptr() as usize;
    assert_eq!(offset, 88, "data points into the pushed buffer");
}

/// sigv4-streaming-trailers example: signed chunks, a CRC32C trailer and
/// the trailer signature.
fn aws_trailer_example(blank_after_final: bool, final_crlf: bool) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(b"10000;chunk-signature=b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2\r\n");
    body.extend_from_slice(&[b'a'; 65536]);
    body.extend_from_slice(b"\r\n400;chunk-signature=1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7\r\n");
    body.extend_from_slice(&[b'a'; 1024]);
    body.extend_from_slice(b"\r\n0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n");
    if blank_after_final {
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"x-amz-checksum-crc32c:sOO8/Q==\r\n");
    body.extend_from_slice(b"x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435");
    if final_crlf {
        body.extend_from_slice(b"\r\n\r\n");
    }
    body
}

#[test]
fn signed_trailer_aws_doc_example_decodes_in_every_tolerated_shape() {
    let expected = vec![
        data(&[b'a'; 65536]),
        chunk_end(65536, Some("b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2")),
        data(&[b'a'; 1024]),
        chunk_end(1024, Some("1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7")),
        chunk_end(0, Some("2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992")),
        trailer("x-amz-checksum-crc32c", "sOO8/Q=="),
        ChunkedEvent::TrailerSignature("d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435".into()),
        ChunkedEvent::End,
    ];
    for (blank, crlf) in [(false, true), (true, true), (false, false), (true, false)] {
        let body = aws_trailer_example(blank, crlf);
        let events = decode(AwsChunkedDecoder::new(true, true), &[&body]).unwrap();
        assert_eq!(coalesce(events), expected, "blank={blank} crlf={crlf}");
    }
}

#[test]
fn unsigned_trailer_as_sent_by_aws_sdk_js_v3() {
    let body = b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
    let mut decoder = AwsChunkedDecoder::new(false, true);
    decoder.push(Bytes::from_static(body));
    let mut events = Vec::new();
    while let Some(event) = decoder.next_event().unwrap() {
        events.push(event);
    }
    // End arrives with the final empty line, before EOF.
    assert_eq!(
        events,
        vec![
            data(b"hello"),
            chunk_end(5, None),
            data(b" world"),
            chunk_end(6, None),
            chunk_end(0, None),
            trailer("x-amz-checksum-crc32", "DUoRhQ=="),
            ChunkedEvent::End,
        ]
    );
    assert_eq!(decoder.decoded_len(), 11);
    decoder.finish().unwrap();
}

#[test]
fn unsigned_trailer_without_checksum_may_end_right_after_the_final_chunk() {
    // The JS SDK writes "0\r\n" and nothing else when it has no checksum.
    let events = decode(AwsChunkedDecoder::new(false, true), &[b"3\r\nabc\r\n0\r\n"]).unwrap();
    assert_eq!(events, vec![data(b"abc"), chunk_end(3, None), chunk_end(0, None), ChunkedEvent::End]);
    let events = decode(AwsChunkedDecoder::new(false, true), &[b"0\r\n\r\n"]).unwrap();
    assert_eq!(events, vec![chunk_end(0, None), ChunkedEvent::End]);
}

#[test]
fn tolerates_whitespace_bare_lf_case_and_missing_final_line() {
    let body = format!(
        "3 ; chunk-signature = {}\nabc\n0;CHUNK-SIGNATURE={SIG_A}\r\n\tX-Amz-Checksum-CRC32 :  AAAAAA== \r\nx-amz-trailer-signature:{SIG_A}",
        SIG_A.to_uppercase()
    );
    let events = decode(AwsChunkedDecoder::new(true, true), &[body.as_bytes()]).unwrap();
    assert_eq!(
        events,
        vec![
            data(b"abc"),
            chunk_end(3, Some(SIG_A)),
            chunk_end(0, Some(SIG_A)),
            trailer("x-amz-checksum-crc32", "AAAAAA=="),
            ChunkedEvent::TrailerSignature(SIG_A.into()),
            ChunkedEvent::End,
        ]
    );
}

#[test]
fn unsigned_mode_ignores_chunk_extensions_and_leading_zeros() {
    let body = format!("0003;chunk-signature={SIG_A};foo=bar\r\nabc\r\n0\r\n\r\n");
    let events = decode(AwsChunkedDecoder::new(false, false), &[body.as_bytes()]).unwrap();
    assert_eq!(events, vec![data(b"abc"), chunk_end(3, None), chunk_end(0, None), ChunkedEvent::End]);
}

#[test]
fn truncated_bodies_are_incomplete() {
    for body in [
        &b""[..],
        b"5\r\nhel",
        b"5\r\nhello",
        b"5\r\nhello\r",
        b"5\r\nhello\r\n",
        b"5\r\nhello\r\n0",
        b"5;chunk-sig",
    ] {
        let result = decode(AwsChunkedDecoder::new(false, false), &[body]);
        assert_eq!(code_of(result), "IncompleteBody", "{:?}", body.escape_ascii().to_string());
    }
    let err = decode(AwsChunkedDecoder::new(false, false), &[b"10\r\nhello"]).unwrap_err();
    assert!(err.message.contains("11 bytes missing"), "{}", err.message);
}

#[test]
fn finish_reports_incomplete_immediately_and_stays_failed() {
    let mut decoder = AwsChunkedDecoder::new(false, true);
    decoder.push(Bytes::from_static(b"5\r\nhel"));
    while decoder.next_event().unwrap().is_some() {}
    assert_eq!(decoder.finish().unwrap_err().code, "IncompleteBody");
    assert_eq!(decoder.next_event().unwrap_err().code, "IncompleteBody");
}

#[test]
fn malformed_chunk_headers_are_rejected() {
    let cases: &[(&[u8], bool, &str)] = &[
        (b"zz\r\n", false, "InvalidRequest"),
        (b"\r\n", false, "InvalidRequest"),
        (b"-1\r\n", false, "InvalidRequest"),
        (b"+5\r\nhello\r\n", false, "InvalidRequest"),
        (b"ffffffffffffffffffff\r\n", false, "InvalidChunkSizeError"),
        (b"140000001\r\n", false, "InvalidChunkSizeError"),
        (b"5\r\nhello\r\n", true, "InvalidRequest"),
        (b"5;chunk-signature=abc\r\nhello\r\n", true, "InvalidRequest"),
        (b"3\r\nabcdef\r\n", false, "InvalidRequest"),
    ];
    for (body, signed, code) in cases {
        let result = decode(AwsChunkedDecoder::new(*signed, false), &[body]);
        assert_eq!(code_of(result), *code, "{}", body.escape_ascii());
    }
    let twice = format!("3;chunk-signature={SIG_A};chunk-signature={SIG_A}\r\nabc\r\n");
    assert_eq!(code_of(decode(AwsChunkedDecoder::new(true, false), &[twice.as_bytes()])), "InvalidRequest");
}

#[test]
fn the_largest_chunk_size_is_accepted_without_allocating() {
    let mut decoder = AwsChunkedDecoder::new(false, false);
    decoder.push(Bytes::from_static(b"140000000\r\nab"));
    assert_eq!(decoder.next_event().unwrap(), Some(data(b"ab")));
    assert_eq!(decoder.next_event().unwrap(), None);
    assert_eq!(decoder.finish().unwrap_err().code, "IncompleteBody");
}

#[test]
fn overlong_lines_fail_without_waiting_for_a_newline() {
    let mut decoder = AwsChunkedDecoder::new(false, false);
    decoder.push(Bytes::from(vec![b'1'; MAX_LINE_LEN + 2]));
    assert_eq!(decoder.next_event().unwrap_err().code, "InvalidRequest");

    let mut decoder = AwsChunkedDecoder::new(false, true);
    decoder.push(Bytes::from_static(b"0\r\n"));
    assert_eq!(decoder.next_event().unwrap(), Some(chunk_end(0, None)));
    for _ in 0..MAX_LINE_LEN {
        decoder.push(Bytes::from_static(b"x"));
        assert_eq!(decoder.next_event().unwrap(), None);
    }
    decoder.push(Bytes::from_static(b"xyz"));
    assert_eq!(decoder.next_event().unwrap_err().code, "MalformedTrailerError");

    // A line of exactly MAX_LINE_LEN bytes is fine.
    let name = "x".repeat(MAX_LINE_LEN - 2);
    let body = format!("0\r\n{name}:v\r\n\r\n");
    let events = decode(AwsChunkedDecoder::new(false, true), &[body.as_bytes()]).unwrap();
    assert_eq!(events[1], trailer(&name, "v"));
}

#[test]
fn trailer_rules_are_enforced() {
    let many: String = (0..=MAX_TRAILERS).map(|i| format!("x-amz-meta-{i}:v\r\n")).collect();
    let cases: Vec<(String, bool, bool)> = vec![
        ("0\r\nno-colon\r\n\r\n".into(), false, true),
        ("0\r\n:empty-name\r\n\r\n".into(), false, true),
        ("0\r\nbad name:v\r\n\r\n".into(), false, true),
        ("0\r\nname:bad\x01value\r\n\r\n".into(), false, true),
        ("0\r\na:1\r\nA:2\r\n\r\n".into(), false, true),
        (format!("0\r\n{many}\r\n"), false, true),
        (format!("0\r\nx-amz-trailer-signature:{SIG_A}\r\na:1\r\n\r\n"), false, true),
        ("0\r\nx-amz-trailer-signature:nothex\r\n\r\n".into(), false, true),
        ("0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n".into(), false, false),
        (format!("0;chunk-signature={SIG_A}\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"), true, true),
        (format!("0;chunk-signature={SIG_A}\r\n\r\n"), true, true),
    ];
    for (body, signed, trailer_mode) in cases {
        let result = decode(AwsChunkedDecoder::new(signed, trailer_mode), &[body.as_bytes()]);
        assert_eq!(code_of(result), "MalformedTrailerError", "{body:?}");
    }
    let exactly_max: String = (0..MAX_TRAILERS).map(|i| format!("x-amz-meta-{i}:v\r\n")).collect();
    let body = format!("0\r\n{exactly_max}\r\n");
    assert_eq!(decode(AwsChunkedDecoder::new(false, true), &[body.as_bytes()]).unwrap().len(), MAX_TRAILERS + 2);
}

#[test]
fn data_after_the_end_is_rejected() {
    let result = decode(AwsChunkedDecoder::new(false, false), &[b"0\r\n\r\n", b"junk"]);
    assert_eq!(code_of(result), "InvalidRequest");
    let result = decode(AwsChunkedDecoder::new(false, true), &[b"0\r\na:b\r\n\r\nX"]);
    assert_eq!(code_of(result), "InvalidRequest");
}

#[test]
fn min_chunk_size_rejects_a_small_chunk_that_is_not_the_last() {
    let ok = decode(
        AwsChunkedDecoder::new(false, false).with_min_chunk_size(4),
        &[b"4\r\nabcd\r\n2\r\nef\r\n0\r\n\r\n"],
    );
    assert_eq!(ok.unwrap().len(), 6);
    let result =
        decode(AwsChunkedDecoder::new(false, false).with_min_chunk_size(4), &[b"2\r\nab\r\n4\r\ncdef\r\n0\r\n\r\n"]);
    assert_eq!(code_of(result), "InvalidChunkSizeError");
}

/// Encodes `chunks` (plus the final chunk) in the given mode.
fn encode(chunks: &[Vec<u8>], signed: bool, trailer_mode: bool) -> Vec<u8> {
    let ext = |i: usize| if signed { format!(";chunk-signature={:064x}", i) } else { String::new() };
    let mut body = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        body.extend_from_slice(format!("{:x}{}\r\n", chunk.len(), ext(i)).as_bytes());
        body.extend_from_slice(chunk);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("0{}\r\n", ext(chunks.len())).as_bytes());
    if trailer_mode {
        body.extend_from_slice(b"x-amz-checksum-crc64nvme:AAAAAAAAAAA=\r\n");
        if signed {
            body.extend_from_slice(format!("x-amz-trailer-signature:{SIG_A}\r\n").as_bytes());
        }
    }
    body.extend_from_slice(b"\r\n");
    body
}

/// Cuts `body` at the given (unsorted, possibly out-of-range) points.
fn split_at_points(body: &[u8], points: &[usize]) -> Vec<Vec<u8>> {
    let mut cuts: Vec<usize> = points.iter().map(|p| p % (body.len() + 1)).collect();
    cuts.sort_unstable();
    let mut pieces = Vec::new();
    let mut start = 0;
    for cut in cuts.into_iter().chain([body.len()]) {
        pieces.push(body[start..cut].to_vec());
        start = cut;
    }
    pieces
}

proptest! {
    #[test]
    fn any_split_of_a_valid_body_yields_the_same_events(
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..300), 0..6),
        signed in any::<bool>(),
        trailer_mode in any::<bool>(),
        points in prop::collection::vec(any::<usize>(), 0..40),
    ) {
        let body = encode(&chunks, signed, trailer_mode);
        let whole = coalesce(decode(AwsChunkedDecoder::new(signed, trailer_mode), &[&body]).unwrap());
        let pieces = split_at_points(&body, &points);
        let refs: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
        let split = coalesce(decode(AwsChunkedDecoder::new(signed, trailer_mode), &refs).unwrap());
        prop_assert_eq!(&split, &whole);

        let payload: Vec<u8> = split.iter().filter_map(|e| match e {
            ChunkedEvent::Data(b) => Some(b.to_vec()),
            _ => None,
        }).flatten().collect();
        prop_assert_eq!(payload, chunks.concat());
        let ends = split.iter().filter(|e| matches!(e, ChunkedEvent::ChunkEnd { .. })).count();
        prop_assert_eq!(ends, chunks.len() + 1);
        prop_assert_eq!(split.last(), Some(&ChunkedEvent::End));
    }

    #[test]
    fn garbage_never_panics_and_fails_cleanly(
        garbage in prop::collection::vec(any::<u8>(), 0..600),
        signed in any::<bool>(),
        trailer_mode in any::<bool>(),
        points in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let pieces = split_at_points(&garbage, &points);
        let refs: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
        if let Err(err) = decode(AwsChunkedDecoder::new(signed, trailer_mode), &refs) {
            prop_assert!(err.status.is_client_error(), "{}", err);
        }
    }

    #[test]
    fn a_corrupted_valid_body_never_panics(
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..50), 0..4),
        signed in any::<bool>(),
        trailer_mode in any::<bool>(),
        position in any::<usize>(),
        byte in any::<u8>(),
        truncate in any::<bool>(),
    ) {
        let mut body = encode(&chunks, signed, trailer_mode);
        let position = position % body.len();
        if truncate { body.truncate(position) } else { body[position] = byte }
        let _ = decode(AwsChunkedDecoder::new(signed, trailer_mode), &[&body]);
    }
}

