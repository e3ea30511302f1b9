//! Hostile-input properties on stable Rust: every parser that sees raw
//! request input never panics, whatever the bytes, and keeps its invariants.
//! Each property here has a cargo-fuzz twin in `rust/fuzz/fuzz_targets/`
//! (same function, same checks) for long coverage-guided runs; these run in
//! every `cargo test`. `PROPTEST_CASES` raises the case count.

mod reliability_checks;

use http::{HeaderMap, HeaderValue, Method};
use proptest::prelude::*;
use reliability_checks::*;
use smartstorage_s3::conditional::{ReadPrecondition, evaluate_read};
use smartstorage_s3::xml::from_xml;
use smartstorage_s3::xml::multipart::CompleteMultipartUpload;
use smartstorage_s3::xml::object::Delete;
use std::time::{Duration, SystemTime};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(512),
        ..ProptestConfig::default()
    }
}

/// Text that leans towards what matters to an HTTP/S3 parser: percent
/// escapes, slashes, dots, backslashes, NUL, non-ASCII, separators.
fn hostile_text(max: usize) -> impl Strategy<Value = String> {
    let atoms = prop_oneof![
        Just("%".to_string()),
        Just("%2e".to_string()),
        Just("%2F".to_string()),
        Just("%ff".to_string()),
        Just("%c3%a9".to_string()),
        Just("%00".to_string()),
        Just("..".to_string()),
        Just("/".to_string()),
        Just("\\".to_string()),
        Just("?".to_string()),
        Just("&".to_string()),
        Just("=".to_string()),
        Just("+".to_string()),
        Just(":".to_string()),
        Just(",".to_string()),
        Just("*".to_string()),
        Just("\"".to_string()),
        Just("W/".to_string()),
        Just("bytes=".to_string()),
        Just("-".to_string()),
        "[a-z0-9]{1,6}",
        any::<char>().prop_map(|c| c.to_string()),
    ];
    prop::collection::vec(atoms, 0..max).prop_map(|v| v.concat())
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::GET),
        Just(Method::PUT),
        Just(Method::POST),
        Just(Method::DELETE),
        Just(Method::HEAD),
        Just(Method::OPTIONS),
        Just(Method::PATCH),
        "[A-Z]{1,8}".prop_map(|m| Method::from_bytes(m.as_bytes()).unwrap_or(Method::GET)),
    ]
}

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("host".to_string()),
        Just("x-amz-copy-source".to_string()),
        Just("content-type".to_string()),
        Just("if-match".to_string()),
        Just("if-none-match".to_string()),
        Just("if-modified-since".to_string()),
        Just("if-unmodified-since".to_string()),
        Just("x-amz-copy-source-if-match".to_string()),
        Just("x-amz-copy-source-if-none-match".to_string()),
        Just("x-amz-copy-source-if-modified-since".to_string()),
        Just("x-amz-copy-source-if-unmodified-since".to_string()),
        "[a-z-]{1,12}",
    ]
}

fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        hostile_text(12).prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..40),
        Just(b"Wed, 21 Oct 2015 07:28:00 GMT".to_vec()),
        Just(b"Sunday, 06-Nov-94 08:49:37 GMT".to_vec()),
        Just(b"Sun Nov  6 08:49:37 1994".to_vec()),
        Just(b"*".to_vec()),
        Just(b"bucket.localhost:9000".to_vec()),
        Just(b"[::1]:9000".to_vec()),
    ]
}

/// A syntactically plausible aws-chunked body, possibly damaged.
fn chunked_body() -> impl Strategy<Value = Vec<u8>> {
    let chunk = (
        prop::collection::vec(any::<u8>(), 0..64),
        any::<bool>(),
        0u8..8,
    )
        .prop_map(|(data, sig, damage)| {
            let mut out = format!("{:x}", data.len()).into_bytes();
            if sig {
                out.extend_from_slice(b";chunk-signature=");
                out.extend(std::iter::repeat_n(b'a', 64));
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(&data);
            out.extend_from_slice(b"\r\n");
            match damage {
                0 => out.insert(0, b'z'),
                1 => {
                    out.pop();
                }
                2 => out.extend_from_slice(b"ffffffffffffffffff\r\n"),
                _ => {}
            }
            out
        });
    (
        prop::collection::vec(chunk, 0..5),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..24),
    )
        .prop_map(|(chunks, trailer, junk)| {
            let mut body = chunks.concat();
            body.extend_from_slice(b"0\r\n");
            if trailer {
                body.extend_from_slice(b"x-amz-checksum-crc32:AAAAAA==\r\n");
            }
            body.extend_from_slice(&junk);
            body.extend_from_slice(b"\r\n");
            body
        })
}

/// Bits of XML, valid and not, for the request documents.
fn xml_doc() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        hostile_text(6),
        Just("&amp;&lt;&#x41;&#65;&#xFFFFFFFF;&bogus;".to_string()),
        Just("<![CDATA[a]]>".to_string()),
        Just("<!-- c -->".to_string()),
        Just("<?pi x?>".to_string()),
        Just("<!DOCTYPE a [<!ENTITY e \"eeeeeeeeee\">]>".to_string()),
        Just("&e;".to_string()),
        "[0-9]{1,12}".prop_map(|s| s),
        Just("true".to_string()),
        Just("-1".to_string()),
        Just("4294967296".to_string()),
    ];
    let tags = prop_oneof![
        Just("CompleteMultipartUpload"),
        Just("Part"),
        Just("PartNumber"),
        Just("ETag"),
        Just("ChecksumCRC32"),
        Just("Delete"),
        Just("Object"),
        Just("Key"),
        Just("Quiet"),
        Just("VersionId"),
        Just("CreateBucketConfiguration"),
        Just("LocationConstraint"),
        Just("x:Key"),
        Just("CORSConfiguration"),
        Just("CORSRule"),
        Just("AllowedOrigin"),
        Just("AllowedMethod"),
        Just("AllowedHeader"),
        Just("MaxAgeSeconds"),
        Just("Tagging"),
        Just("TagSet"),
        Just("Tag"),
        Just("Value"),
    ];
    leaf.prop_recursive(4, 64, 6, move |inner| {
        (
            tags.clone(),
            prop::collection::vec(inner, 0..6),
            any::<bool>(),
            0u8..6,
        )
            .prop_map(|(tag, children, attr, damage)| {
                let attrs = if attr {
                    " xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\" a='1'"
                } else {
                    ""
                };
                let close = match damage {
                    0 => String::new(),
                    1 => format!("</{tag}x>"),
                    _ => format!("</{tag}>"),
                };
                format!("<{tag}{attrs}>{}{close}", children.concat())
            })
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn router_never_panics_on_arbitrary_requests(
        method in method(),
        path in hostile_text(24),
        query in prop::option::of(hostile_text(16)),
        pairs in prop::collection::vec((header_name(), header_value()), 0..5),
    ) {
        let path = format!("/{path}");
        check_route(&method, &path, query.as_deref(), &headers(&pairs));
    }

    #[test]
    fn router_never_panics_on_arbitrary_bytes(path in ".*", query in prop::option::of(".*"), host in ".*") {
        let mut map = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&host) {
            map.insert(http::header::HOST, v);
        }
        check_route(&Method::GET, &path, query.as_deref(), &map);
        check_route(&Method::PUT, &path, query.as_deref(), &map);
    }

    #[test]
    fn range_parsers_never_panic_and_stay_within_the_object(header in hostile_text(10), size in prop_oneof![Just(0u64), 0u64..100, any::<u64>()]) {
        check_range_and_conditions(&header, size, &HeaderMap::new(), "", 0);
    }

    #[test]
    fn conditional_evaluation_never_panics(
        pairs in prop::collection::vec((header_name(), header_value()), 0..6),
        etag in "[0-9a-f]{0,32}(-[0-9]{1,3})?",
        secs in any::<u32>(),
    ) {
        let map = headers(&pairs);
        let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from(secs));
        check_range_and_conditions("", 0, &map, &etag, u64::from(secs));
        // Sanity anchors: a matching If-Match alone proceeds, If-None-Match: * alone is 304.
        let mut only = HeaderMap::new();
        only.insert("if-match", HeaderValue::from_str(&format!("\"{etag}\"")).unwrap());
        if !etag.is_empty() {
            prop_assert_eq!(evaluate_read(&only, &etag, modified), ReadPrecondition::Proceed);
        }
        let mut star = HeaderMap::new();
        star.insert("if-none-match", HeaderValue::from_static("*"));
        prop_assert_eq!(evaluate_read(&star, &etag, modified), ReadPrecondition::NotModified);
    }

    #[test]
    fn chunked_decoder_never_panics_on_arbitrary_bytes(
        body in prop::collection::vec(any::<u8>(), 0..300),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        signed in any::<bool>(),
        trailer in any::<bool>(),
    ) {
        check_chunked(&body, &cuts, signed, trailer);
    }

    #[test]
    fn chunked_decoder_never_panics_on_damaged_framing(
        body in chunked_body(),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        signed in any::<bool>(),
        trailer in any::<bool>(),
    ) {
        check_chunked(&body, &cuts, signed, trailer);
    }

    #[test]
    fn xml_request_bodies_never_panic(doc in xml_doc(), raw in prop::collection::vec(any::<u8>(), 0..64)) {
        check_xml(doc.as_bytes());
        check_xml(&raw);
        let mut prefixed = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>".to_vec();
        prefixed.extend_from_slice(doc.as_bytes());
        check_xml(&prefixed);
    }
}

/// JSON-ish policy documents: valid skeletons with hostile leaves.
fn policy_doc() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("\"*\"".to_string()),
        Just("\"s3:*\"".to_string()),
        Just("\"s3:GetObject\"".to_string()),
        Just("\"arn:aws:s3:::bucket/*\"".to_string()),
        Just("\"arn:aws:s3:::bucket/${aws:username}/*\"".to_string()),
        Just("\"arn:aws:s3:::bucket/*a*a*a*a*a*a*a*a*b\"".to_string()),
        Just("\"arn:aws:s3:::bucket/${\"".to_string()),
        Just("\"203.0.113.0/24\"".to_string()),
        Just("\"::1/129\"".to_string()),
        Just("\"2026-01-01T00:00:00Z\"".to_string()),
        Just("true".to_string()),
        Just("null".to_string()),
        Just("1e999".to_string()),
        Just("-0".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        "\"[ -~]{0,12}\"".prop_map(|s| s),
    ];
    let field = prop_oneof![
        Just("Effect"),
        Just("Principal"),
        Just("NotPrincipal"),
        Just("Action"),
        Just("NotAction"),
        Just("Resource"),
        Just("NotResource"),
        Just("Condition"),
        Just("Sid"),
        Just("AWS"),
        Just("StringLike"),
        Just("IpAddress"),
        Just("NotIpAddress"),
        Just("DateLessThan"),
        Just("Bool"),
        Just("aws:SourceIp"),
        Just("s3:prefix"),
        Just("ForAnyValue:StringEquals"),
        Just("StringEqualsIfExists"),
        Just("Null"),
        Just("NumericLessThan"),
    ];
    let value = leaf.prop_recursive(3, 24, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((field.clone(), inner), 0..4).prop_map(|v| format!(
                "{{{}}}",
                v.iter()
                    .map(|(k, v)| format!("\"{k}\":{v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            )),
        ]
    });
    (prop::collection::vec(value, 1..3), any::<bool>()).prop_map(|(statements, v2012)| {
        let version = if v2012 { "2012-10-17" } else { "2008-10-17" };
        format!(
            "{{\"Version\":\"{version}\",\"Statement\":[{}]}}",
            statements.join(",")
        )
    })
}

fn authorization() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..120),
        (hostile_text(6), hostile_text(6), "[a-z;-]{0,30}", "[0-9a-f]{0,70}").prop_map(|(ak, scope, signed, sig)| {
            format!("AWS4-HMAC-SHA256 Credential={ak}/20260101/{scope}/s3/aws4_request, SignedHeaders={signed}, Signature={sig}")
                .into_bytes()
        }),
        hostile_text(20).prop_map(|t| format!("AWS4-HMAC-SHA256 {t}").into_bytes()),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn policy_documents_never_panic(doc in policy_doc(), raw in prop::collection::vec(any::<u8>(), 0..80), key in hostile_text(6)) {
        check_policy(doc.as_bytes(), &key);
        check_policy(&raw, &key);
    }

    #[test]
    fn sigv4_parsing_never_panics(header in authorization(), query in hostile_text(16), path in hostile_text(16)) {
        check_sigv4(&header, &query, &format!("/{path}"));
    }

    #[test]
    fn cors_and_tagging_documents_never_panic(doc in xml_doc(), raw in prop::collection::vec(any::<u8>(), 0..64)) {
        check_config_xml(doc.as_bytes());
        check_config_xml(&raw);
    }

    #[test]
    fn post_object_forms_never_panic(
        boundary in "[ -~]{0,12}",
        parts in prop::collection::vec((hostile_text(4), prop::collection::vec(any::<u8>(), 0..40)), 0..4),
        junk in prop::collection::vec(any::<u8>(), 0..40),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let mut body = Vec::new();
        for (name, data) in &parts {
            body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes());
            body.extend_from_slice(data);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(&junk);
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        check_form(&boundary, &body, &cuts);
        check_form(&boundary, &junk, &cuts);
    }
}

#[test]
fn valid_request_documents_parse() {
    let doc: Delete = from_xml(b"<Delete><Quiet>true</Quiet><Object><Key>a&amp;b</Key></Object><Object><Key>c</Key></Object></Delete>").unwrap();
    assert_eq!(
        doc.objects
            .iter()
            .map(|o| o.key.as_str())
            .collect::<Vec<_>>(),
        ["a&b", "c"]
    );
    let doc: CompleteMultipartUpload =
        from_xml(b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"x\"</ETag></Part></CompleteMultipartUpload>").unwrap();
    assert_eq!(doc.parts.len(), 1);
    // An entity bomb neither panics nor expands.
    let bomb = format!(
        "<!DOCTYPE d [<!ENTITY a \"{}\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]><Delete><Object><Key>&c;</Key></Object></Delete>",
        "x".repeat(1000)
    );
    if let Ok(doc) = from_xml::<Delete>(bomb.as_bytes()) {
        assert!(
            doc.objects.iter().all(|o| o.key.len() < 100_000),
            "an entity expanded"
        );
    }
}
