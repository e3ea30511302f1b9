//! SigV4 Authorization-header authentication against a real server with auth on.

mod auth_support;
mod common;

use auth_support::{EMPTY_SHA256, Signer, as_refs, auth_config, encode, sha256_hex};
use bytes::Bytes;
use common::{TestResponse, TestServer};
use http::{Method, StatusCode};
use time::{Duration, OffsetDateTime};

const KEY: &str = "AKIDOWNER1";
const SECRET: &str = "secret/one+EXAMPLE";

async fn server() -> TestServer {
    TestServer::start_with(auth_config(&[(KEY, SECRET)])).await
}

fn code(resp: &TestResponse) -> String {
    let text = resp.text();
    text.split_once("<Code>").and_then(|(_, rest)| rest.split_once("</Code>")).map(|(c, _)| c.to_string()).unwrap_or_default()
}

fn field(resp: &TestResponse, name: &str) -> String {
    let text = resp.text();
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    text.split_once(&open).and_then(|(_, rest)| rest.split_once(&close)).map(|(c, _)| c.to_string()).unwrap_or_default()
}

/// Sends a request signed by `signer` at `t`; `path` is sent (and signed) as given.
async fn send_at(
    server: &TestServer,
    signer: &Signer,
    method: Method,
    path: &str,
    query: &[(&str, &str)],
    body: &[u8],
    t: OffsetDateTime,
) -> TestResponse {
    let mut headers = vec![("host".to_string(), format!("127.0.0.1:{}", server.port))];
    let pairs: Vec<(String, String)> = query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    signer.sign(method.as_str(), path, &pairs, &mut headers, &sha256_hex(body), t);
    let uri = if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", query.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&"))
    };
    server.request(method, &uri, &as_refs(&headers), Bytes::copy_from_slice(body)).await
}

async fn send(server: &TestServer, signer: &Signer, method: Method, path: &str, body: &[u8]) -> TestResponse {
    send_at(server, signer, method, path, &[], body, OffsetDateTime::now_utc()).await
}

#[tokio::test]
async fn header_signed_requests_are_accepted() {
    let s = server().await;
    let me = Signer::new(KEY, SECRET);
    assert_eq!(send(&s, &me, Method::PUT, "/photos", b"").await.status, StatusCode::OK);
    // A key with spaces, unicode and reserved characters, encoded as the SDKs do.
    let path = format!("/photos/{}", "a b/ü!(x)*'.txt".split('/').map(encode).collect::<Vec<_>>().join("/"));
    let put = send(&s, &me, Method::PUT, &path, b"hello").await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text());
    let get = send(&s, &me, Method::GET, &path, b"").await;
    assert_eq!((get.status, get.body.as_ref()), (StatusCode::OK, &b"hello"[..]));
    let list = send_at(&s, &me, Method::GET, "/photos", &[("list-type", "2"), ("prefix", "a b/")], b"", OffsetDateTime::now_utc()).await;
    assert!(list.text().contains("<Key>a b/ü!(x)*&apos;.txt</Key>") || list.text().contains("<Key>a b/ü!(x)*'.txt</Key>"), "{}", list.text());
    let buckets = send(&s, &me, Method::GET, "/", b"").await;
    assert!(buckets.text().contains("<Name>photos</Name>"));
    s.stop().await;
}

#[tokio::test]
async fn a_wrong_secret_is_signature_does_not_match_with_aws_fields() {
    let s = server().await;
    let resp = send(&s, &Signer::new(KEY, "not-the-secret"), Method::GET, "/", b"").await;
    assert_eq!((resp.status, code(&resp).as_str()), (StatusCode::FORBIDDEN, "SignatureDoesNotMatch"));
    assert_eq!(field(&resp, "AWSAccessKeyId"), KEY);
    assert!(field(&resp, "StringToSign").starts_with("AWS4-HMAC-SHA256\n"));
    assert!(field(&resp, "CanonicalRequest").starts_with("GET\n/\n\nhost:127.0.0.1:"));
    assert!(field(&resp, "CanonicalRequestBytes").starts_with("47 45 54 0a"));
    s.stop().await;
}

#[tokio::test]
async fn an_unknown_access_key_is_invalid_access_key_id() {
    let s = server().await;
    let resp = send(&s, &Signer::new("AKIDNOBODY", SECRET), Method::GET, "/", b"").await;
    assert_eq!((resp.status, code(&resp).as_str()), (StatusCode::FORBIDDEN, "InvalidAccessKeyId"));
    assert_eq!(field(&resp, "AWSAccessKeyId"), "AKIDNOBODY");
    s.stop().await;
}

#[tokio::test]
async fn a_tampered_query_or_path_is_rejected() {
    let s = server().await;
    let me = Signer::new(KEY, SECRET);
    send(&s, &me, Method::PUT, "/bkt1", b"").await;
    let mut headers = vec![("host".to_string(), format!("127.0.0.1:{}", s.port))];
    me.sign("GET", "/bkt1", &[("prefix".into(), "a".into())], &mut headers, EMPTY_SHA256, OffsetDateTime::now_utc());
    let ok = s.request(Method::GET, "/bkt1?prefix=a", &as_refs(&headers), Bytes::new()).await;
    assert_eq!(ok.status, StatusCode::OK);
    let tampered = s.request(Method::GET, "/bkt1?prefix=b", &as_refs(&headers), Bytes::new()).await;
    assert_eq!(code(&tampered), "SignatureDoesNotMatch");
    let added = s.request(Method::GET, "/bkt1?prefix=a&max-keys=1", &as_refs(&headers), Bytes::new()).await;
    assert_eq!(code(&added), "SignatureDoesNotMatch");
    let other_path = s.request(Method::GET, "/bkt2?prefix=a", &as_refs(&headers), Bytes::new()).await;
    assert_eq!(code(&other_path), "SignatureDoesNotMatch");
    s.stop().await;
}

#[tokio::test]
async fn a_skewed_clock_is_request_time_too_skewed() {
    let s = server().await;
    let me = Signer::new(KEY, SECRET);
    for skew in [Duration::minutes(-20), Duration::minutes(20)] {
        let resp = send_at(&s, &me, Method::GET, "/", &[], b"", OffsetDateTime::now_utc() + skew).await;
        assert_eq!((resp.status, code(&resp).as_str()), (StatusCode::FORBIDDEN, "RequestTimeTooSkewed"));
        assert_eq!(field(&resp, "MaxAllowedSkewMilliseconds"), "900000");
    }
    let resp = send_at(&s, &me, Method::GET, "/", &[], b"", OffsetDateTime::now_utc() - Duration::minutes(10)).await;
    assert_eq!(resp.status, StatusCode::OK, "10 minutes is within the window");
    s.stop().await;
}

#[tokio::test]
async fn anonymous_requests_are_denied_but_health_is_open() {
    let s = server().await;
    let me = Signer::new(KEY, SECRET);
    assert_eq!(send(&s, &me, Method::PUT, "/bkt1", b"").await.status, StatusCode::OK);
    assert_eq!(send(&s, &me, Method::PUT, "/bkt1/k", b"private").await.status, StatusCode::OK);
    for (method, path) in [
        (Method::GET, "/"),
        (Method::PUT, "/bkt2"),
        (Method::GET, "/bkt1"),
        (Method::GET, "/bkt1/k"),
        (Method::PUT, "/bkt1/k"),
        (Method::DELETE, "/bkt1/k"),
    ] {
        let resp = s.request(method.clone(), path, &[], Bytes::new()).await;
        assert_eq!((resp.status, code(&resp).as_str()), (StatusCode::FORBIDDEN, "AccessDenied"), "{method} {path}");
    }
    assert_eq!(s.get("/_smartstorage/health").await.status, StatusCode::OK);
    s.stop().await;
}

#[tokio::test]
async fn with_auth_off_everything_is_accepted_as_before() {
    let s = TestServer::start().await;
    let resp = s.request(Method::PUT, "/open", &[("authorization", "AWS4-HMAC-SHA256 garbage")], Bytes::new()).await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(s.put("/open/k", "v").await.status, StatusCode::OK);
    assert_eq!(s.get("/open/k").await.body.as_ref(), b"v");
    s.stop().await;
}

#[tokio::test]
async fn hostile_authorization_headers_get_s3_errors() {
    let s = server().await;
    let date = auth_support::amz_dates(OffsetDateTime::now_utc()).0;
    let huge = format!("AWS4-HMAC-SHA256 Credential={}", "A".repeat(60_000));
    let cases: Vec<(String, &str)> = vec![
        ("garbage".into(), "InvalidArgument"),
        ("AWS AKIDOWNER1:c2lnbmF0dXJl".into(), "InvalidRequest"),
        ("AWS4-HMAC-SHA256".into(), "AuthorizationHeaderMalformed"),
        ("AWS4-HMAC-SHA256 Credential=AKIDOWNER1".into(), "AuthorizationHeaderMalformed"),
        ("AWS4-HMAC-SHA256 Credential=AKIDOWNER1/x/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00".into(), "AuthorizationHeaderMalformed"),
        (format!("AWS4-HMAC-SHA256 Credential=AKIDOWNER1/{}/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=00", &date[..8]), "AuthorizationHeaderMalformed"),
        (format!("AWS4-HMAC-SHA256 Credential=AKIDOWNER1/{}/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=zz", &date[..8]), "SignatureDoesNotMatch"),
        ("AWS4-HMAC-SHA256 ,,,,=,=;;Credential==/////".into(), "AuthorizationHeaderMalformed"),
        (huge, "AuthorizationHeaderMalformed"),
    ];
    for (auth, want) in &cases {
        let headers = [("authorization", auth.as_str()), ("x-amz-date", date.as_str()), ("x-amz-content-sha256", EMPTY_SHA256)];
        let resp = s.request(Method::GET, "/", &headers, Bytes::new()).await;
        assert!(resp.status.is_client_error(), "{auth:.60}: {}", resp.status);
        assert_eq!(code(&resp), *want, "{auth:.60}: {}", resp.text());
    }
    // Non-UTF-8 bytes in the header.
    let mut raw = b"GET / HTTP/1.1\r\nhost: x\r\nauthorization: AWS4-HMAC-SHA256 Credential=\xff\xfe\r\n".to_vec();
    raw.extend_from_slice(format!("x-amz-date: {date}\r\nx-amz-content-sha256: {EMPTY_SHA256}\r\nconnection: close\r\n\r\n").as_bytes());
    let answer = s.raw(&raw, std::time::Duration::from_secs(5)).await;
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 400"), "{}", String::from_utf8_lossy(&answer));
    assert_eq!(s.get("/_smartstorage/health").await.status, StatusCode::OK, "still serving");
    s.stop().await;
}

#[tokio::test]
async fn missing_hash_wrong_region_and_unsigned_headers_are_refused() {
    let s = server().await;
    let host = format!("127.0.0.1:{}", s.port);
    let mut headers = vec![("host".to_string(), host.clone())];
    Signer::new(KEY, SECRET).sign("GET", "/", &[], &mut headers, EMPTY_SHA256, OffsetDateTime::now_utc());
    let without: Vec<(String, String)> = headers.iter().filter(|(k, _)| k != "x-amz-content-sha256").cloned().collect();
    let resp = s.request(Method::GET, "/", &as_refs(&without), Bytes::new()).await;
    assert_eq!((resp.status, code(&resp).as_str()), (StatusCode::BAD_REQUEST, "InvalidRequest"));
    let mut extra = headers.clone();
    extra.push(("x-amz-meta-sneaky".into(), "1".into()));
    let resp = s.request(Method::GET, "/", &as_refs(&extra), Bytes::new()).await;
    assert_eq!((code(&resp).as_str(), field(&resp, "HeadersNotSigned").as_str()), ("AccessDenied", "x-amz-meta-sneaky"));
    let mut west = Signer::new(KEY, SECRET);
    west.region = "eu-west-1".into();
    let resp = send(&s, &west, Method::GET, "/", b"").await;
    assert_eq!((resp.status, code(&resp).as_str()), (StatusCode::BAD_REQUEST, "AuthorizationHeaderMalformed"));
    assert_eq!(field(&resp, "Region"), "us-east-1");
    s.stop().await;
}

#[tokio::test]
async fn a_body_that_does_not_match_its_signed_hash_is_never_stored() {
    let s = server().await;
    let me = Signer::new(KEY, SECRET);
    send(&s, &me, Method::PUT, "/bkt1", b"").await;
    let mut headers = vec![("host".to_string(), format!("127.0.0.1:{}", s.port))];
    me.sign("PUT", "/bkt1/k", &[], &mut headers, &sha256_hex(b"promised"), OffsetDateTime::now_utc());
    let resp = s.request(Method::PUT, "/bkt1/k", &as_refs(&headers), Bytes::from_static(b"delivered")).await;
    assert_eq!((resp.status, code(&resp).as_str()), (StatusCode::BAD_REQUEST, "XAmzContentSHA256Mismatch"));
    assert_eq!(code(&send(&s, &me, Method::GET, "/bkt1/k", b"").await), "NoSuchKey");
    // Small XML bodies too: a CreateBucket whose configuration was swapped.
    let config = b"<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>";
    let mut headers = vec![("host".to_string(), format!("127.0.0.1:{}", s.port))];
    me.sign("PUT", "/bkt2", &[], &mut headers, &sha256_hex(config), OffsetDateTime::now_utc());
    let resp = s.request(Method::PUT, "/bkt2", &as_refs(&headers), Bytes::from_static(b"<CreateBucketConfiguration/>")).await;
    assert_eq!(code(&resp), "XAmzContentSHA256Mismatch");
    assert_eq!(send(&s, &me, Method::HEAD, "/bkt2", b"").await.status, StatusCode::NOT_FOUND);
    let resp = s.request(Method::PUT, "/bkt2", &as_refs(&headers), Bytes::from_static(config)).await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    s.stop().await;
}
