//! The worked examples of the AWS documentation ("Signature Calculations for
//! the Authorization Header", "Authenticating Requests: Using Query
//! Parameters", "… Transferring Payload in Multiple Chunks", "… Including
//! Trailing Headers"), verified end to end with their documented signatures,
//! plus the failure modes of [`authenticate`].

use super::credentials::CredentialStore;
use super::sigv4::{self, AmzDate};
use super::verify::{AuthMethod, Authenticated, SignedRequest, authenticate};
use crate::config::Credential;
use crate::error::{S3Error, S3Result};
use crate::router::Query;
use http::{HeaderMap, Method};

const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const EMPTY: &str = sigv4::EMPTY_SHA256;

fn store() -> CredentialStore {
    CredentialStore::new([Credential { access_key_id: ACCESS_KEY.into(), secret_access_key: SECRET.into() }])
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        map.append(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
    }
    map
}

fn auth_header(signed: &str, signature: &str) -> String {
    format!("AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20130524/us-east-1/s3/aws4_request,SignedHeaders={signed},Signature={signature}")
}

/// Authenticates at `now` (default: the examples' own timestamp).
fn run_at(method: Method, uri: &str, h: &HeaderMap, now: &str) -> S3Result<Option<Authenticated>> {
    let (path, query) = match uri.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (uri, None),
    };
    let parsed = Query::parse(query)?;
    let req = SignedRequest { method: &method, raw_path: path, raw_query: query, query: &parsed, headers: h };
    authenticate(&req, &store(), "us-east-1", AmzDate::parse(now).unwrap().0)
}

fn run(method: Method, uri: &str, h: &HeaderMap) -> S3Result<Option<Authenticated>> {
    run_at(method, uri, h, "20130524T000000Z")
}

fn field<'a>(e: &'a S3Error, name: &str) -> &'a str {
    e.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str()).unwrap_or_default()
}

fn get_object_headers(signature: &str) -> HeaderMap {
    headers(&[
        ("host", "examplebucket.s3.amazonaws.com"),
        ("range", "bytes=0-9"),
        ("x-amz-content-sha256", EMPTY),
        ("x-amz-date", "20130524T000000Z"),
        ("authorization", &auth_header("host;range;x-amz-content-sha256;x-amz-date", signature)),
    ])
}

const GET_OBJECT_SIGNATURE: &str = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";

#[test]
fn example_get_object() {
    let h = get_object_headers(GET_OBJECT_SIGNATURE);
    let lines: Vec<(&str, Vec<u8>)> = ["host", "range", "x-amz-content-sha256", "x-amz-date"]
        .iter()
        .map(|n| (*n, sigv4::canonical_header_value(&h, n).unwrap()))
        .collect();
    let creq = sigv4::canonical_request("GET", &sigv4::canonical_uri("/test.txt"), "", &lines, EMPTY);
    assert_eq!(
        String::from_utf8(creq.clone()).unwrap(),
        format!("GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\nx-amz-content-sha256:{EMPTY}\nx-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n{EMPTY}")
    );
    let sts = sigv4::string_to_sign("20130524T000000Z", "20130524/us-east-1/s3/aws4_request", &creq);
    assert_eq!(sts, "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    let key = sigv4::derive_signing_key(SECRET, "20130524", "us-east-1", "s3");
    assert_eq!(sigv4::sign(&key, sts.as_bytes()), GET_OBJECT_SIGNATURE);
    let auth = run(Method::GET, "/test.txt", &h).unwrap().unwrap();
    assert_eq!((auth.access_key.as_str(), auth.method), (ACCESS_KEY, AuthMethod::Header));
}

#[test]
fn example_put_object() {
    let h = headers(&[
        ("date", "Fri, 24 May 2013 00:00:00 GMT"),
        ("host", "examplebucket.s3.amazonaws.com"),
        ("x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"),
        ("x-amz-date", "20130524T000000Z"),
        ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        (
            "authorization",
            &auth_header(
                "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
            ),
        ),
    ]);
    assert!(run(Method::PUT, "/test%24file.text", &h).unwrap().is_some());
    // The same request with `$` unescaped on the wire: S3 normalises the encoding.
    assert!(run(Method::PUT, "/test$file.text", &h).unwrap().is_some());
    // Its body is "Welcome to Amazon S3.", whose hash is the one signed.
    assert_eq!(sigv4::sha256_hex(b"Welcome to Amazon S3."), "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
}

fn bucket_get(query: &str, signature: &str) -> S3Result<Option<Authenticated>> {
    let h = headers(&[
        ("host", "examplebucket.s3.amazonaws.com"),
        ("x-amz-content-sha256", EMPTY),
        ("x-amz-date", "20130524T000000Z"),
        ("authorization", &auth_header("host;x-amz-content-sha256;x-amz-date", signature)),
    ]);
    run(Method::GET, &format!("/?{query}"), &h)
}

#[test]
fn example_get_bucket_lifecycle() {
    assert_eq!(sigv4::canonical_query(Some("lifecycle"), None), "lifecycle=");
    assert!(bucket_get("lifecycle", "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543").unwrap().is_some());
}

#[test]
fn example_get_bucket_list_objects() {
    assert_eq!(sigv4::canonical_query(Some("max-keys=2&prefix=J"), None), "max-keys=2&prefix=J");
    let sig = "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7";
    assert!(bucket_get("max-keys=2&prefix=J", sig).unwrap().is_some());
    assert!(bucket_get("prefix=J&max-keys=2", sig).unwrap().is_some(), "order on the wire does not matter");
    let e = bucket_get("max-keys=3&prefix=J", sig).unwrap_err();
    assert_eq!(e.code, "SignatureDoesNotMatch", "a tampered query fails");
    assert!(field(&e, "CanonicalRequest").contains("\nmax-keys=3&prefix=J\n"));
}

const PRESIGNED: &str = "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

#[test]
fn example_presigned_url() {
    let h = headers(&[("host", "examplebucket.s3.amazonaws.com")]);
    let auth = run_at(Method::GET, PRESIGNED, &h, "20130524T120000Z").unwrap().unwrap();
    assert_eq!(auth.method, AuthMethod::Presigned);
    let e = run_at(Method::GET, PRESIGNED, &h, "20130525T000001Z").unwrap_err();
    assert_eq!((e.code, e.message.as_str()), ("AccessDenied", "Request has expired"));
    let e = run_at(Method::GET, &PRESIGNED.replace("86400", "86401"), &h, "20130524T000000Z").unwrap_err();
    assert_eq!(e.code, "SignatureDoesNotMatch", "extending the expiry breaks the signature");
    assert!(field(&e, "CanonicalRequest").ends_with("\nhost\nUNSIGNED-PAYLOAD"));
    let e = run(Method::PUT, PRESIGNED, &h).unwrap_err();
    assert_eq!(e.code, "SignatureDoesNotMatch", "the method is signed");
}

fn streaming_headers(trailer: bool, signature: &str) -> HeaderMap {
    let mut pairs = vec![
        ("content-encoding", "aws-chunked"),
        ("host", "s3.amazonaws.com"),
        ("x-amz-date", "20130524T000000Z"),
        ("x-amz-decoded-content-length", "66560"),
        ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
    ];
    let signed = if trailer {
        pairs.push(("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"));
        pairs.push(("x-amz-trailer", "x-amz-checksum-crc32c"));
        "content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer"
    } else {
        pairs.push(("content-length", "66824"));
        pairs.push(("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"));
        "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class"
    };
    let auth = auth_header(signed, signature);
    pairs.push(("authorization", &auth));
    headers(&pairs)
}

#[test]
fn example_streaming_put_object_seed_and_chunk_signatures() {
    let h = streaming_headers(false, "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
    let auth = run(Method::PUT, "/examplebucket/chunkObject.txt", &h).unwrap().unwrap();
    let mut chain = auth.signature_chain();
    chain.update(&[b'a'; 65536]);
    chain.verify_chunk(65536, Some("ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648")).unwrap();
    chain.update(&[b'a'; 1024]);
    chain.verify_chunk(1024, Some("0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497")).unwrap();
    chain.verify_chunk(0, Some("b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9")).unwrap();
}

#[test]
fn example_streaming_put_object_with_trailer_seed_signature() {
    let h = streaming_headers(true, "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e");
    let auth = run(Method::PUT, "/examplebucket/chunkObject.txt", &h).unwrap().unwrap();
    let mut chain = auth.signature_chain();
    chain.update(&[b'a'; 65536]);
    chain.verify_chunk(65536, Some("b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2")).unwrap();
    chain.update(&[b'a'; 1024]);
    chain.verify_chunk(1024, Some("1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7")).unwrap();
    chain.verify_chunk(0, Some("2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992")).unwrap();
    chain.add_trailer("x-amz-checksum-crc32c", "sOO8/Q==");
    chain.verify_trailer("d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435").unwrap();
}

#[test]
fn a_wrong_signature_reports_what_aws_reports() {
    let bad = GET_OBJECT_SIGNATURE.replace('f', "e");
    let e = run(Method::GET, "/test.txt", &get_object_headers(&bad)).unwrap_err();
    assert_eq!((e.code, e.status.as_u16()), ("SignatureDoesNotMatch", 403));
    let names: Vec<&str> = e.fields.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        ["AWSAccessKeyId", "StringToSign", "SignatureProvided", "StringToSignBytes", "CanonicalRequest", "CanonicalRequestBytes"]
    );
    assert_eq!(field(&e, "StringToSign"), "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    assert!(field(&e, "StringToSignBytes").starts_with("41 57 53 34 2d"));
    assert_eq!(field(&e, "SignatureProvided"), bad);
}

#[test]
fn unknown_keys_regions_and_dates_get_their_own_errors() {
    let h = get_object_headers(GET_OBJECT_SIGNATURE);
    let with_auth = |value: String| {
        let mut h = h.clone();
        h.insert("authorization", value.parse().unwrap());
        run(Method::GET, "/test.txt", &h).unwrap_err()
    };
    let base = auth_header("host;range;x-amz-content-sha256;x-amz-date", GET_OBJECT_SIGNATURE);
    let e = with_auth(base.replace(ACCESS_KEY, "AKIDUNKNOWN"));
    assert_eq!((e.code, field(&e, "AWSAccessKeyId")), ("InvalidAccessKeyId", "AKIDUNKNOWN"));
    let e = with_auth(base.replace("us-east-1", "eu-west-1"));
    assert_eq!(e.code, "AuthorizationHeaderMalformed");
    assert_eq!(e.message, "The authorization header is malformed; the region 'eu-west-1' is wrong; expecting 'us-east-1'");
    assert_eq!(field(&e, "Region"), "us-east-1");
    let e = with_auth(base.replace("/20130524/", "/20130525/"));
    assert!(e.message.contains("Invalid credential date \"20130525\""), "{e}");
    let e = with_auth(base.replace("/s3/", "/ec2/"));
    assert!(e.message.contains("incorrect service \"ec2\""), "{e}");
    let e = with_auth(base.replace("aws4_request", "aws5_request"));
    assert!(e.message.contains("incorrect terminal \"aws5_request\""), "{e}");
}

#[test]
fn the_clock_must_be_within_fifteen_minutes() {
    let h = get_object_headers(GET_OBJECT_SIGNATURE);
    assert!(run_at(Method::GET, "/test.txt", &h, "20130524T001500Z").is_ok());
    let e = run_at(Method::GET, "/test.txt", &h, "20130524T001501Z").unwrap_err();
    assert_eq!((e.code, e.status.as_u16()), ("RequestTimeTooSkewed", 403));
    assert_eq!(field(&e, "RequestTime"), "20130524T000000Z");
    assert_eq!(field(&e, "ServerTime"), "2013-05-24T00:15:01Z");
    assert_eq!(field(&e, "MaxAllowedSkewMilliseconds"), "900000");
    assert!(run_at(Method::GET, "/test.txt", &h, "20130523T234500Z").is_ok());
    assert!(run_at(Method::GET, "/test.txt", &h, "20130523T234459Z").is_err());
}

#[test]
fn required_headers_and_signed_headers_are_enforced() {
    let mut h = get_object_headers(GET_OBJECT_SIGNATURE);
    h.remove("x-amz-content-sha256");
    let e = run(Method::GET, "/test.txt", &h).unwrap_err();
    assert_eq!(e.code, "InvalidRequest");
    assert_eq!(e.message, "Missing required header for this request: x-amz-content-sha256");
    let mut h = get_object_headers(GET_OBJECT_SIGNATURE);
    h.remove("x-amz-date");
    let e = run(Method::GET, "/test.txt", &h).unwrap_err();
    assert_eq!((e.code, e.message.as_str()), ("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header"));
    let mut h = get_object_headers(GET_OBJECT_SIGNATURE);
    h.insert("x-amz-meta-extra", "1".parse().unwrap());
    let e = run(Method::GET, "/test.txt", &h).unwrap_err();
    assert_eq!((e.code, field(&e, "HeadersNotSigned")), ("AccessDenied", "x-amz-meta-extra"));
    let mut h = get_object_headers(GET_OBJECT_SIGNATURE);
    h.insert("authorization", auth_header("range;x-amz-content-sha256;x-amz-date", GET_OBJECT_SIGNATURE).parse().unwrap());
    let e = run(Method::GET, "/test.txt", &h).unwrap_err();
    assert_eq!(field(&e, "HeadersNotSigned"), "host");
    let mut h = get_object_headers(GET_OBJECT_SIGNATURE);
    h.insert("authorization", auth_header("host;range;x-amz-date", GET_OBJECT_SIGNATURE).parse().unwrap());
    let e = run(Method::GET, "/test.txt", &h).unwrap_err();
    assert_eq!((e.code, e.message.as_str()), ("InvalidRequest", "header 'x-amz-content-sha256' must be included in signature"));
    let mut h = get_object_headers(GET_OBJECT_SIGNATURE);
    h.insert("x-amz-security-token", "t".parse().unwrap());
    assert_eq!(run(Method::GET, "/test.txt", &h).unwrap_err().code, "AccessDenied", "unsigned token header");
    // An unsigned header that is not x-amz-* may be added freely (S3 ignores it).
    let mut h = get_object_headers(GET_OBJECT_SIGNATURE);
    h.insert("user-agent", "anything".parse().unwrap());
    assert!(run(Method::GET, "/test.txt", &h).is_ok());
}

#[test]
fn mixed_and_unsupported_mechanisms_are_refused() {
    let h = get_object_headers(GET_OBJECT_SIGNATURE);
    let e = run(Method::GET, PRESIGNED, &h).unwrap_err();
    assert_eq!(e.code, "InvalidArgument");
    assert!(e.message.starts_with("Only one auth mechanism allowed"));
    let e = run(Method::GET, "/test.txt?AWSAccessKeyId=A&Expires=1&Signature=x", &HeaderMap::new()).unwrap_err();
    assert_eq!(e.code, "InvalidRequest");
    let anonymous = headers(&[("host", "h"), ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")]);
    assert_eq!(run(Method::PUT, "/b/k", &anonymous).unwrap_err().code, "InvalidRequest");
    assert!(run(Method::GET, "/b/k", &headers(&[("host", "h")])).unwrap().is_none(), "anonymous");
    let presigned_token = format!("{PRESIGNED}&X-Amz-Security-Token=abc");
    let e = run(Method::GET, &presigned_token, &headers(&[("host", "examplebucket.s3.amazonaws.com")])).unwrap_err();
    assert_eq!(e.code, "InvalidToken");
}

#[test]
fn presigned_region_and_unsigned_headers_are_checked() {
    let h = headers(&[("host", "examplebucket.s3.amazonaws.com")]);
    let e = run(Method::GET, &PRESIGNED.replace("us-east-1", "us-west-2"), &h).unwrap_err();
    assert_eq!(e.code, "AuthorizationQueryParametersError");
    assert_eq!(e.message, "Error parsing the X-Amz-Credential parameter; the region 'us-west-2' is wrong; expecting 'us-east-1'");
    let h = headers(&[("host", "examplebucket.s3.amazonaws.com"), ("x-amz-acl", "public-read")]);
    let e = run(Method::GET, PRESIGNED, &h).unwrap_err();
    assert_eq!((e.code, field(&e, "HeadersNotSigned")), ("AccessDenied", "x-amz-acl"));
    let h = headers(&[("host", "examplebucket.s3.amazonaws.com"), ("x-amz-content-sha256", "UNSIGNED-PAYLOAD")]);
    assert!(run(Method::GET, PRESIGNED, &h).is_ok(), "an unsigned content hash is tolerated");
}
