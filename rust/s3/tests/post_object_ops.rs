//! POST Object (browser form uploads) end to end: fields, `${filename}`,
//! metadata, success_action_status / redirect, policy conditions and
//! expiration, SigV4 form signatures, bucket policies for anonymous forms,
//! malformed bodies, and a large file streamed through.

mod common;

use base64::Engine;
use bytes::Bytes;
use common::{TestResponse, TestServer};
use hmac::{Hmac, KeyInit, Mac};
use http::{Method, StatusCode};
use md5::Digest as _;
use sha2::Digest as _;
use smartstorage_s3::{AuthConfig, Credential, ServerConfig};
use time::OffsetDateTime;

const BOUNDARY: &str = "----SmartStorageFormBoundary7MA4YWxkTrZu0gW";

fn code(resp: &TestResponse) -> String {
    let text = resp.text();
    text.split_once("<Code>").and_then(|(_, r)| r.split_once("</Code>")).map(|(c, _)| c.to_string()).unwrap_or_default()
}

fn message(resp: &TestResponse) -> String {
    let text = resp.text();
    let raw = text.split_once("<Message>").and_then(|(_, r)| r.split_once("</Message>")).map(|(m, _)| m).unwrap_or_default();
    raw.replace("&quot;", "\"").replace("&apos;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// A multipart/form-data body: `fields` in order, then the file part.
fn form(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
    }
    if let Some((filename, bytes)) = file {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn post(s: &TestServer, bucket: &str, body: Vec<u8>) -> TestResponse {
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    let len = body.len().to_string();
    s.request(Method::POST, &format!("/{bucket}"), &[("content-type", &ct), ("content-length", &len)], Bytes::from(body)).await
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test]
async fn a_plain_form_upload_stores_the_file_with_its_metadata() {
    let s = TestServer::start().await;
    s.put("/forms", "").await;
    let fields = [("key", "uploads/${filename}"), ("Content-Type", "text/plain"), ("x-amz-meta-color", "blue"), ("Cache-Control", "max-age=60")];
    let resp = post(&s, "forms", form(&fields, Some(("hello.txt", b"hello form")))).await;
    assert_eq!(resp.status, StatusCode::NO_CONTENT, "{}", resp.text());
    let etag = format!("\"{}\"", hex::encode(md5::Md5::digest(b"hello form")));
    assert_eq!(resp.header("etag"), Some(etag.as_str()));
    assert!(resp.header("location").is_some_and(|l| l.ends_with("/forms/uploads/hello.txt")));
    let got = s.get("/forms/uploads/hello.txt").await;
    assert_eq!(got.text(), "hello form");
    assert_eq!(got.header("content-type"), Some("text/plain"));
    assert_eq!(got.header("x-amz-meta-color"), Some("blue"));
    assert_eq!(got.header("cache-control"), Some("max-age=60"));
    s.stop().await;
}

#[tokio::test]
async fn success_action_status_and_redirect_shape_the_answer() {
    let s = TestServer::start().await;
    s.put("/forms", "").await;
    let created = post(&s, "forms", form(&[("key", "a b.txt"), ("success_action_status", "201")], Some(("x", b"1")))).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let text = created.text();
    assert!(text.contains("<PostResponse><Location>") && text.contains("<Bucket>forms</Bucket><Key>a b.txt</Key><ETag>\""), "{text}");
    assert!(text.contains("/forms/a%20b.txt</Location>"), "{text}");
    let ok = post(&s, "forms", form(&[("key", "k"), ("success_action_status", "200")], Some(("x", b"1")))).await;
    assert_eq!((ok.status, ok.body.len()), (StatusCode::OK, 0));
    let other = post(&s, "forms", form(&[("key", "k"), ("success_action_status", "302")], Some(("x", b"1")))).await;
    assert_eq!(other.status, StatusCode::NO_CONTENT);
    let redirect = post(&s, "forms", form(&[("key", "dir/k 1"), ("success_action_redirect", "http://app.example/done?x=1")], Some(("x", b"1")))).await;
    assert_eq!(redirect.status, StatusCode::SEE_OTHER);
    let location = redirect.header("location").unwrap_or_default();
    assert!(location.starts_with("http://app.example/done?x=1&bucket=forms&key=dir%2Fk%201&etag=%22"), "{location}");
    s.stop().await;
}

#[tokio::test]
async fn policy_conditions_are_enforced_even_with_auth_off() {
    let s = TestServer::start().await;
    s.put("/forms", "").await;
    let policy = b64(r#"{"expiration":"2999-01-01T00:00:00.000Z","conditions":[{"bucket":"forms"},["starts-with","$key","user/eric/"],["content-length-range",2,10]]}"#);
    let with = |key: &str, data: &'static [u8]| form(&[("key", key), ("policy", &policy)], Some(("f.bin", data)));
    assert_eq!(post(&s, "forms", with("user/eric/${filename}", b"12345")).await.status, StatusCode::NO_CONTENT);
    let bad_key = post(&s, "forms", with("user/other/x", b"12345")).await;
    assert_eq!((bad_key.status, code(&bad_key).as_str()), (StatusCode::FORBIDDEN, "AccessDenied"));
    assert_eq!(message(&bad_key), "Invalid according to Policy: Policy Condition failed: [\"starts-with\", \"$key\", \"user/eric/\"]");
    let big = post(&s, "forms", with("user/eric/big", b"0123456789A")).await;
    assert_eq!((big.status, code(&big).as_str()), (StatusCode::BAD_REQUEST, "EntityTooLarge"));
    assert!(big.text().contains("<MaxSizeAllowed>10</MaxSizeAllowed>"));
    let small = post(&s, "forms", with("user/eric/small", b"1")).await;
    assert_eq!(code(&small), "EntityTooSmall");
    assert_eq!(s.get("/forms/user/eric/big").await.status, StatusCode::NOT_FOUND, "nothing stored");
    assert_eq!(s.get("/forms/user/eric/small").await.status, StatusCode::NOT_FOUND);
    let extra = post(&s, "forms", form(&[("key", "user/eric/e"), ("policy", &policy), ("acl", "public-read")], Some(("f", b"123")))).await;
    assert_eq!(message(&extra), "Invalid according to Policy: Extra input fields: acl");
    let expired = b64(r#"{"expiration":"2001-01-01T00:00:00Z","conditions":[]}"#);
    let old = post(&s, "forms", form(&[("key", "k"), ("policy", &expired)], Some(("f", b"1")))).await;
    assert_eq!(message(&old), "Invalid according to Policy: Policy expired.");
    let garbage = post(&s, "forms", form(&[("key", "k"), ("policy", "%%%")], Some(("f", b"1")))).await;
    assert_eq!(code(&garbage), "InvalidPolicyDocument");
    s.stop().await;
}

#[tokio::test]
async fn missing_fields_and_malformed_bodies_are_s3_errors() {
    let s = TestServer::start().await;
    s.put("/forms", "").await;
    let no_file = post(&s, "forms", form(&[("key", "k")], None)).await;
    assert_eq!(code(&no_file), "InvalidArgument");
    assert!(message(&no_file).contains("exactly one file"));
    let no_key = post(&s, "forms", form(&[], Some(("f", b"1")))).await;
    assert_eq!(code(&no_key), "InvalidArgument");
    assert!(no_key.text().contains("<ArgumentName>key</ArgumentName>"));
    let empty_key = post(&s, "forms", form(&[("key", "${filename}")], Some(("", b"1")))).await;
    assert_eq!(code(&empty_key), "InvalidArgument");
    let mut truncated = form(&[("key", "trunc")], Some(("f", b"some data")));
    truncated.truncate(truncated.len() - 12);
    let resp = post(&s, "forms", truncated).await;
    assert_eq!((resp.status, code(&resp).as_str()), (StatusCode::BAD_REQUEST, "MalformedPOSTRequest"));
    assert_eq!(s.get("/forms/trunc").await.status, StatusCode::NOT_FOUND, "a truncated form stores nothing");
    let no_boundary = s.request(Method::POST, "/forms", &[("content-type", "multipart/form-data"), ("content-length", "3")], Bytes::from_static(b"abc")).await;
    assert_eq!(code(&no_boundary), "MalformedPOSTRequest");
    let huge_field = "v".repeat(70 * 1024);
    let resp = post(&s, "forms", form(&[("key", "k"), ("x-amz-meta-big", &huge_field)], Some(("f", b"1")))).await;
    assert_eq!(code(&resp), "MaxPostPreDataLengthExceeded");
    let missing = post(&s, "nobucket", form(&[("key", "k")], Some(("f", b"1")))).await;
    assert_eq!(code(&missing), "NoSuchBucket");
    s.stop().await;
}

#[tokio::test]
async fn a_large_file_streams_through() {
    let s = TestServer::start().await;
    s.put("/forms", "").await;
    let data: Vec<u8> = (0..6 * 1024 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let resp = post(&s, "forms", form(&[("key", "big.bin")], Some(("big.bin", &data)))).await;
    assert_eq!(resp.status, StatusCode::NO_CONTENT, "{}", resp.text());
    let got = s.get("/forms/big.bin").await;
    assert_eq!(got.body.len(), data.len());
    assert!(got.body == data);
    s.stop().await;
}

// ---- signed forms (auth on) ----

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The SigV4 POST fields for `policy_json`, signed independently of the server's code.
fn signed_fields(access_key: &str, secret: &str, policy_json: &str) -> Vec<(String, String)> {
    let now = OffsetDateTime::now_utc();
    let date = format!("{:04}{:02}{:02}", now.year(), now.month() as u8, now.day());
    let amz_date = format!("{date}T{:02}{:02}{:02}Z", now.hour(), now.minute(), now.second());
    let credential = format!("{access_key}/{date}/us-east-1/s3/aws4_request");
    let policy = b64(&policy_json.replace("CREDENTIAL", &credential).replace("AMZDATE", &amz_date));
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    for part in ["us-east-1", "s3", "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let signature = hex::encode(hmac(&key, policy.as_bytes()));
    vec![
        ("x-amz-algorithm".into(), "AWS4-HMAC-SHA256".into()),
        ("x-amz-credential".into(), credential),
        ("x-amz-date".into(), amz_date),
        ("policy".into(), policy),
        ("x-amz-signature".into(), signature),
    ]
}

const SIGNED_POLICY: &str = r#"{"expiration":"2999-01-01T00:00:00Z","conditions":[{"bucket":"private"},["starts-with","$key","in/"],{"x-amz-algorithm":"AWS4-HMAC-SHA256"},{"x-amz-credential":"CREDENTIAL"},{"x-amz-date":"AMZDATE"}]}"#;

fn auth_on() -> ServerConfig {
    ServerConfig {
        auth: AuthConfig {
            enabled: true,
            credentials: vec![
                Credential { access_key_id: "OWNER".into(), secret_access_key: "owner-secret".into() },
                Credential { access_key_id: "OTHER".into(), secret_access_key: "other-secret".into() },
            ],
        },
        ..ServerConfig::default()
    }
}

/// A request signed by OWNER (header SigV4, written from the AWS docs here).
/// `query` is the canonical query string (`policy=` for `?policy`).
async fn owner_request(s: &TestServer, method: Method, path: &str, query: &str, body: &[u8]) -> TestResponse {
    let now = OffsetDateTime::now_utc();
    let date = format!("{:04}{:02}{:02}", now.year(), now.month() as u8, now.day());
    let amz_date = format!("{date}T{:02}{:02}{:02}Z", now.hour(), now.minute(), now.second());
    let host = format!("127.0.0.1:{}", s.port);
    let payload = hex::encode(sha2::Sha256::digest(body));
    let len = body.len().to_string();
    let creq = format!(
        "{method}\n{path}\n{query}\ncontent-length:{len}\nhost:{host}\nx-amz-content-sha256:{payload}\nx-amz-date:{amz_date}\n\ncontent-length;host;x-amz-content-sha256;x-amz-date\n{payload}"
    );
    let scope = format!("{date}/us-east-1/s3/aws4_request");
    let sts = format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex::encode(sha2::Sha256::digest(creq.as_bytes())));
    let mut key = hmac(b"AWS4owner-secret", date.as_bytes());
    for part in ["us-east-1", "s3", "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=OWNER/{scope}, SignedHeaders=content-length;host;x-amz-content-sha256;x-amz-date, Signature={}",
        hex::encode(hmac(&key, sts.as_bytes()))
    );
    let uri = if query.is_empty() { path.to_string() } else { format!("{path}?{}", query.trim_end_matches('=')) };
    let headers = [("host", host.as_str()), ("content-length", len.as_str()), ("x-amz-date", amz_date.as_str()), ("x-amz-content-sha256", payload.as_str()), ("authorization", auth.as_str())];
    s.request(method, &uri, &headers, Bytes::copy_from_slice(body)).await
}

async fn create_private_bucket(s: &TestServer) {
    let resp = owner_request(s, Method::PUT, "/private", "", b"").await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
}

fn with_key(mut fields: Vec<(String, String)>, key: &str) -> Vec<(String, String)> {
    fields.insert(0, ("key".into(), key.into()));
    fields
}

fn refs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[tokio::test]
async fn signed_forms_upload_as_their_credential() {
    let s = TestServer::start_with(auth_on()).await;
    create_private_bucket(&s).await;
    let fields = with_key(signed_fields("OWNER", "owner-secret", SIGNED_POLICY), "in/${filename}");
    let resp = post(&s, "private", form(&refs(&fields), Some(("doc.txt", b"signed upload")))).await;
    assert_eq!(resp.status, StatusCode::NO_CONTENT, "{}", resp.text());

    let mut tampered = with_key(signed_fields("OWNER", "owner-secret", SIGNED_POLICY), "in/x");
    if let Some(sig) = tampered.iter_mut().find(|(k, _)| k == "x-amz-signature") {
        sig.1 = "0".repeat(64);
    }
    let resp = post(&s, "private", form(&refs(&tampered), Some(("f", b"1")))).await;
    assert_eq!((resp.status, code(&resp).as_str()), (StatusCode::FORBIDDEN, "SignatureDoesNotMatch"));

    let wrong_secret = with_key(signed_fields("OWNER", "not-the-secret", SIGNED_POLICY), "in/x");
    assert_eq!(code(&post(&s, "private", form(&refs(&wrong_secret), Some(("f", b"1")))).await), "SignatureDoesNotMatch");
    let unknown = with_key(signed_fields("NOBODY", "x", SIGNED_POLICY), "in/x");
    assert_eq!(code(&post(&s, "private", form(&refs(&unknown), Some(("f", b"1")))).await), "InvalidAccessKeyId");
    let outside = with_key(signed_fields("OWNER", "owner-secret", SIGNED_POLICY), "out/x");
    assert_eq!(code(&post(&s, "private", form(&refs(&outside), Some(("f", b"1")))).await), "AccessDenied");
    // Another credential's valid signature does not grant access to the owner's bucket.
    let other = with_key(signed_fields("OTHER", "other-secret", SIGNED_POLICY), "in/x");
    let resp = post(&s, "private", form(&refs(&other), Some(("f", b"1")))).await;
    assert_eq!((resp.status, code(&resp).as_str()), (StatusCode::FORBIDDEN, "AccessDenied"));
    let v2 = post(&s, "private", form(&[("key", "in/x"), ("AWSAccessKeyId", "OWNER"), ("signature", "x"), ("policy", "e30=")], Some(("f", b"1")))).await;
    assert_eq!(code(&v2), "InvalidRequest");
    let unsigned_policy = post(&s, "private", form(&[("key", "in/x"), ("policy", "e30=")], Some(("f", b"1")))).await;
    assert_eq!(code(&unsigned_policy), "InvalidArgument");
    s.stop().await;
}

#[tokio::test]
async fn anonymous_forms_need_a_bucket_policy() {
    let s = TestServer::start_with(auth_on()).await;
    create_private_bucket(&s).await;
    let anon = post(&s, "private", form(&[("key", "drop/a.txt")], Some(("a.txt", b"anon")))).await;
    assert_eq!((anon.status, code(&anon).as_str()), (StatusCode::FORBIDDEN, "AccessDenied"));
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::private/drop/*"}]}"#;
    let put = owner_request(&s, Method::PUT, "/private", "policy=", policy.as_bytes()).await;
    assert_eq!(put.status, StatusCode::NO_CONTENT, "{}", put.text());
    let ok = post(&s, "private", form(&[("key", "drop/a.txt")], Some(("a.txt", b"anon")))).await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT, "{}", ok.text());
    let elsewhere = post(&s, "private", form(&[("key", "other/a.txt")], Some(("a.txt", b"anon")))).await;
    assert_eq!(code(&elsewhere), "AccessDenied");
    s.stop().await;
}
