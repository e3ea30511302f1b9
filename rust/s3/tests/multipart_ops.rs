//! Multipart uploads over a real server: create, upload, copy, list, complete,
//! abort, every error S3 answers, checksums, GET by partNumber, and racing
//! conditional completions.

mod common;

use common::{TestResponse, TestServer};
use http::{Method, StatusCode};
use md5::{Digest as _, Md5};
use sha2::Digest as _;
use smartstorage_s3::checksum::{ChecksumAlgorithm, checksum_of};

/// S3's minimum size of every part but the last.
const MIB5: usize = 5 * 1024 * 1024;

async fn server_with_bucket() -> TestServer {
    let s = TestServer::start().await;
    assert_eq!(s.put("/bkt", "").await.status, StatusCode::OK);
    s
}

fn one(text: &str, tag: &str) -> Option<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&close)? + start;
    Some(text[start..end].replace("&quot;", "\"").replace("&amp;", "&"))
}

fn all(text: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        out.push(after[..end].to_string());
        rest = &after[end + close.len()..];
    }
    out
}

fn assert_error(r: &TestResponse, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert!(r.text().contains(&format!("<Code>{code}</Code>")), "expected {code}: {}", r.text());
}

/// Percent-encodes a key for the URL path (everything but unreserved and `/`).
fn enc(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn create(s: &TestServer, key: &str, headers: &[(&str, &str)]) -> String {
    let r = s.request(Method::POST, &format!("/bkt/{}?uploads", enc(key)), headers, "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(one(&r.text(), "Key").as_deref(), Some(key));
    one(&r.text(), "UploadId").expect("UploadId")
}

async fn upload_part(s: &TestServer, key: &str, id: &str, n: u32, body: Vec<u8>, headers: &[(&str, &str)]) -> TestResponse {
    s.request(Method::PUT, &format!("/bkt/{}?partNumber={n}&uploadId={id}", enc(key)), headers, body).await
}

async fn part_etag(s: &TestServer, key: &str, id: &str, n: u32, body: Vec<u8>) -> String {
    let r = upload_part(s, key, id, n, body, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.header("etag").expect("part etag").to_string()
}

fn completion(parts: &[(u32, &str)]) -> String {
    let mut xml = String::from("<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (n, etag) in parts {
        xml.push_str(&format!("<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"));
    }
    xml.push_str("</CompleteMultipartUpload>");
    xml
}

async fn complete(s: &TestServer, key: &str, id: &str, body: String, headers: &[(&str, &str)]) -> TestResponse {
    s.request(Method::POST, &format!("/bkt/{}?uploadId={id}", enc(key)), headers, body).await
}

fn md5_hex(data: &[u8]) -> String {
    hex::encode(Md5::digest(data))
}

fn expected_etag(parts: &[&[u8]]) -> String {
    let mut h = Md5::new();
    for p in parts {
        h.update(Md5::digest(p));
    }
    format!("\"{}-{}\"", hex::encode(h.finalize()), parts.len())
}

#[tokio::test]
async fn upload_list_complete_and_read_back_by_part() {
    let s = server_with_bucket().await;
    let id = create(&s, "dir/big file", &[("content-type", "text/x-test"), ("x-amz-meta-origin", "mp")]).await;
    let (p1, p2) = (vec![b'x'; MIB5], b"tail bytes".to_vec());
    let e2 = part_etag(&s, "dir/big file", &id, 2, p2.clone()).await;
    let e1 = part_etag(&s, "dir/big file", &id, 1, p1.clone()).await;
    assert_eq!(e1, format!("\"{}\"", md5_hex(&p1)));
    let parts = s.get(&format!("/bkt/dir/big%20file?uploadId={id}")).await;
    assert_eq!(parts.status, StatusCode::OK, "{}", parts.text());
    let text = parts.text();
    assert_eq!(all(&text, "PartNumber"), vec!["1", "2"]);
    assert_eq!(all(&text, "Size"), vec![MIB5.to_string(), "10".to_string()]);
    assert_eq!(one(&text, "StorageClass").as_deref(), Some("STANDARD"));
    assert!(one(&text, "Initiator").is_some());
    let r = complete(&s, "dir/big file", &id, completion(&[(1, &e1), (2, e2.trim_matches('"'))]), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let text = r.text();
    let etag = expected_etag(&[&p1, &p2]);
    assert_eq!(one(&text, "ETag"), Some(etag.clone()));
    assert_eq!(one(&text, "Bucket").as_deref(), Some("bkt"));
    assert_eq!(one(&text, "Key").as_deref(), Some("dir/big file"));
    assert!(one(&text, "Location").is_some_and(|l| l.ends_with("/bkt/dir/big%20file")), "{text}");
    let get = s.get("/bkt/dir/big%20file").await;
    assert_eq!(get.status, StatusCode::OK);
    assert_eq!(get.body.len(), MIB5 + 10);
    assert_eq!(&get.body[MIB5..], b"tail bytes");
    assert_eq!(get.header("etag"), Some(etag.as_str()));
    assert_eq!(get.header("content-type"), Some("text/x-test"));
    assert_eq!(get.header("x-amz-meta-origin"), Some("mp"));
    let part2 = s.get("/bkt/dir/big%20file?partNumber=2").await;
    assert_eq!(part2.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part2.text(), "tail bytes");
    assert_eq!(part2.header("x-amz-mp-parts-count"), Some("2"));
    let head = s.request(Method::HEAD, "/bkt/dir/big%20file?partNumber=1", &[], "").await;
    assert_eq!(head.header("content-length"), Some(MIB5.to_string().as_str()));
    assert_error(&s.get("/bkt/dir/big%20file?partNumber=3").await, StatusCode::RANGE_NOT_SATISFIABLE, "InvalidPartNumber");
    // The upload is gone.
    assert_error(&s.get(&format!("/bkt/dir/big%20file?uploadId={id}")).await, StatusCode::NOT_FOUND, "NoSuchUpload");
}

#[tokio::test]
async fn a_single_small_part_completes_and_parts_can_be_skipped_or_replaced() {
    let s = server_with_bucket().await;
    let id = create(&s, "k", &[]).await;
    part_etag(&s, "k", &id, 1, b"first".to_vec()).await;
    let e3 = part_etag(&s, "k", &id, 3, b"old".to_vec()).await;
    let e3b = part_etag(&s, "k", &id, 3, b"new three".to_vec()).await;
    assert_ne!(e3, e3b);
    assert_error(&complete(&s, "k", &id, completion(&[(3, &e3)]), &[]).await, StatusCode::BAD_REQUEST, "InvalidPart");
    let r = complete(&s, "k", &id, completion(&[(3, &e3b)]), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(s.get("/bkt/k").await.text(), "new three");
    assert_eq!(s.get("/bkt/k").await.header("etag"), Some(expected_etag(&[b"new three"]).as_str()));
}

#[tokio::test]
async fn completion_errors_match_s3() {
    let s = server_with_bucket().await;
    let id = create(&s, "k", &[]).await;
    let e1 = part_etag(&s, "k", &id, 1, b"small".to_vec()).await;
    let e2 = part_etag(&s, "k", &id, 2, b"also small".to_vec()).await;
    let bad = StatusCode::BAD_REQUEST;
    assert_error(&complete(&s, "k", &id, String::new(), &[]).await, bad, "MalformedXML");
    assert_error(&complete(&s, "k", &id, "<CompleteMultipartUpload/>".into(), &[]).await, bad, "MalformedXML");
    assert_error(&complete(&s, "k", &id, "<CompleteMultipartUpload><Part>".into(), &[]).await, bad, "MalformedXML");
    assert_error(&complete(&s, "k", &id, completion(&[(2, &e2), (1, &e1)]), &[]).await, bad, "InvalidPartOrder");
    assert_error(&complete(&s, "k", &id, completion(&[(1, &e1), (1, &e1)]), &[]).await, bad, "InvalidPartOrder");
    assert_error(&complete(&s, "k", &id, completion(&[(1, &e1), (7, &e2)]), &[]).await, bad, "InvalidPart");
    assert_error(&complete(&s, "k", &id, completion(&[(1, "\"0000\""), (2, &e2)]), &[]).await, bad, "InvalidPart");
    let r = complete(&s, "k", &id, completion(&[(1, &e1), (2, &e2)]), &[]).await;
    assert_error(&r, bad, "EntityTooSmall");
    assert!(r.text().contains("<MinSizeAllowed>5242880</MinSizeAllowed>"), "{}", r.text());
    assert_error(&complete(&s, "k", "nope", completion(&[(1, &e1)]), &[]).await, StatusCode::NOT_FOUND, "NoSuchUpload");
    // Nothing above created the object or consumed the upload.
    assert_error(&s.get("/bkt/k").await, StatusCode::NOT_FOUND, "NoSuchKey");
    let r = complete(&s, "k", &id, completion(&[(2, &e2)]), &[("x-amz-mp-object-size", "10")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

#[tokio::test]
async fn part_numbers_and_unknown_uploads_are_rejected() {
    let s = server_with_bucket().await;
    let id = create(&s, "k", &[]).await;
    for n in ["0", "10001", "x"] {
        let r = s.request(Method::PUT, &format!("/bkt/k?partNumber={n}&uploadId={id}"), &[], "data").await;
        assert_error(&r, StatusCode::BAD_REQUEST, "InvalidArgument");
    }
    assert_eq!(upload_part(&s, "k", &id, 10_000, b"last".to_vec(), &[]).await.status, StatusCode::OK);
    assert_error(&upload_part(&s, "k", "nope", 1, b"d".to_vec(), &[]).await, StatusCode::NOT_FOUND, "NoSuchUpload");
    assert_error(&upload_part(&s, "other", &id, 1, b"d".to_vec(), &[]).await, StatusCode::NOT_FOUND, "NoSuchUpload");
    assert_error(&s.request(Method::DELETE, "/bkt/k?uploadId=nope", &[], "").await, StatusCode::NOT_FOUND, "NoSuchUpload");
    assert_error(&s.get("/bkt/k?uploadId=nope").await, StatusCode::NOT_FOUND, "NoSuchUpload");
}

#[tokio::test]
async fn abort_discards_the_upload() {
    let s = server_with_bucket().await;
    let id = create(&s, "k", &[]).await;
    let e1 = part_etag(&s, "k", &id, 1, b"data".to_vec()).await;
    assert_eq!(s.request(Method::DELETE, &format!("/bkt/k?uploadId={id}"), &[], "").await.status, StatusCode::NO_CONTENT);
    assert_error(&complete(&s, "k", &id, completion(&[(1, &e1)]), &[]).await, StatusCode::NOT_FOUND, "NoSuchUpload");
    assert_error(&s.get("/bkt/k").await, StatusCode::NOT_FOUND, "NoSuchKey");
    assert!(!s.get("/bkt?uploads").await.text().contains("<Upload>"));
    assert_eq!(s.request(Method::DELETE, "/bkt", &[], "").await.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn list_parts_pages_with_max_parts_and_marker() {
    let s = server_with_bucket().await;
    let id = create(&s, "k", &[]).await;
    for n in 1..=5 {
        part_etag(&s, "k", &id, n, vec![b'a'; n as usize]).await;
    }
    let text = s.get(&format!("/bkt/k?uploadId={id}&max-parts=2")).await.text();
    assert_eq!(all(&text, "PartNumber"), vec!["1", "2"]);
    assert_eq!(one(&text, "IsTruncated").as_deref(), Some("true"));
    assert_eq!(one(&text, "NextPartNumberMarker").as_deref(), Some("2"));
    assert_eq!(one(&text, "MaxParts").as_deref(), Some("2"));
    let text = s.get(&format!("/bkt/k?uploadId={id}&max-parts=2&part-number-marker=4")).await.text();
    assert_eq!(all(&text, "PartNumber"), vec!["5"]);
    assert_eq!(one(&text, "IsTruncated").as_deref(), Some("false"));
    assert_eq!(one(&text, "PartNumberMarker").as_deref(), Some("4"));
    for bad in ["max-parts=-1", "part-number-marker=x"] {
        assert_error(&s.get(&format!("/bkt/k?uploadId={id}&{bad}")).await, StatusCode::BAD_REQUEST, "InvalidArgument");
    }
}

#[tokio::test]
async fn list_multipart_uploads_groups_and_pages() {
    let s = server_with_bucket().await;
    let mut ids = Vec::new();
    for key in ["a", "a", "b", "photos/1", "photos/2", "z"] {
        ids.push((key, create(&s, key, &[]).await));
    }
    let text = s.get("/bkt?uploads").await.text();
    assert_eq!(all(&text, "Upload").len(), 6);
    let text = s.get("/bkt?uploads&delimiter=/").await.text();
    assert_eq!(all(&text, "Upload").iter().filter_map(|u| one(u, "Key")).collect::<Vec<_>>(), vec!["a", "a", "b", "z"]);
    assert_eq!(all(&text, "CommonPrefixes").iter().filter_map(|p| one(p, "Prefix")).collect::<Vec<_>>(), vec!["photos/"]);
    let text = s.get("/bkt?uploads&prefix=photos/").await.text();
    assert_eq!(all(&text, "Upload").len(), 2);
    // Page through two at a time with key-marker + upload-id-marker.
    let (mut seen, mut markers) = (Vec::new(), None::<(String, String)>);
    loop {
        let mut q = "/bkt?uploads&max-uploads=2".to_string();
        if let Some((k, u)) = &markers {
            q.push_str(&format!("&key-marker={k}&upload-id-marker={u}"));
        }
        let text = s.get(&q).await.text();
        seen.extend(all(&text, "Upload").iter().filter_map(|u| one(u, "UploadId")));
        if one(&text, "IsTruncated").as_deref() != Some("true") {
            break;
        }
        markers = Some((one(&text, "NextKeyMarker").unwrap(), one(&text, "NextUploadIdMarker").unwrap()));
        assert!(seen.len() < 10);
    }
    let mut expected: Vec<String> = ids.iter().map(|(_, id)| id.clone()).collect();
    let mut got = seen.clone();
    expected.sort();
    got.sort();
    assert_eq!(got, expected, "every upload exactly once");
    let text = s.get("/bkt?uploads&key-marker=b").await.text();
    assert_eq!(all(&text, "Upload").iter().filter_map(|u| one(u, "Key")).collect::<Vec<_>>(), vec!["photos/1", "photos/2", "z"]);
    assert_error(&s.get("/bkt?uploads&max-uploads=nope").await, StatusCode::BAD_REQUEST, "InvalidArgument");
    assert_eq!(s.request(Method::DELETE, "/bkt", &[], "").await.status, StatusCode::CONFLICT, "uploads keep the bucket busy");
}

#[tokio::test]
async fn upload_part_copy_copies_ranges_with_preconditions() {
    let s = server_with_bucket().await;
    let source: Vec<u8> = (0..MIB5 + 100).map(|i| (i % 251) as u8).collect();
    let put = s.put("/bkt/src%20key", source.clone()).await;
    let src_etag = put.header("etag").unwrap().to_string();
    let id = create(&s, "dst", &[]).await;
    let r1 = copy_part(&s, &id, 1, vec![("x-amz-copy-source-range", format!("bytes=0-{}", MIB5 - 1)), ("x-amz-copy-source-if-match", src_etag.clone())]).await;
    assert_eq!(r1.status, StatusCode::OK, "{}", r1.text());
    let e1 = one(&r1.text(), "ETag").unwrap();
    assert_eq!(e1, format!("\"{}\"", md5_hex(&source[..MIB5])));
    assert!(one(&r1.text(), "LastModified").is_some());
    let r2 = copy_part(&s, &id, 2, vec![("x-amz-copy-source-range", format!("bytes={}-{}", MIB5, MIB5 + 99))]).await;
    let e2 = one(&r2.text(), "ETag").unwrap();
    assert_error(&copy_part(&s, &id, 3, vec![("x-amz-copy-source-if-match", "\"nope\"".into())]).await, StatusCode::PRECONDITION_FAILED, "PreconditionFailed");
    assert_error(&copy_part(&s, &id, 3, vec![("x-amz-copy-source-range", "bytes=0-99999999".into())]).await, StatusCode::BAD_REQUEST, "InvalidArgument");
    let r = s
        .request(Method::PUT, &format!("/bkt/dst?partNumber=3&uploadId={id}"), &[("x-amz-copy-source", "/bkt/missing")], "")
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "NoSuchKey");
    let r = complete(&s, "dst", &id, completion(&[(1, &e1), (2, &e2)]), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(s.get("/bkt/dst").await.body.as_ref(), source.as_slice());
}

async fn copy_part(s: &TestServer, id: &str, n: u32, headers: Vec<(&str, String)>) -> TestResponse {
    let mut h: Vec<(&str, &str)> = vec![("x-amz-copy-source", "/bkt/src%20key")];
    h.extend(headers.iter().map(|(k, v)| (*k, v.as_str())));
    s.request(Method::PUT, &format!("/bkt/dst?partNumber={n}&uploadId={id}"), &h, "").await
}

fn b64(algo: ChecksumAlgorithm, data: &[u8]) -> String {
    checksum_of(algo, data)
}

#[tokio::test]
async fn composite_checksums_combine_part_checksums() {
    let s = server_with_bucket().await;
    let id = create(&s, "k", &[("x-amz-checksum-algorithm", "SHA256")]).await;
    let (p1, p2) = (vec![b'q'; MIB5], b"end".to_vec());
    let sha = ChecksumAlgorithm::Sha256;
    let r = upload_part(&s, "k", &id, 1, p1.clone(), &[("x-amz-checksum-sha256", &b64(sha, &p1))]).await;
    assert_eq!(r.header("x-amz-checksum-sha256"), Some(b64(sha, &p1).as_str()));
    let e1 = r.header("etag").unwrap().to_string();
    // A wrong part checksum is BadDigest; a part without one gets it computed.
    let wrong = upload_part(&s, "k", &id, 2, p2.clone(), &[("x-amz-checksum-sha256", &b64(sha, b"other"))]).await;
    assert_error(&wrong, StatusCode::BAD_REQUEST, "BadDigest");
    let mismatch = upload_part(&s, "k", &id, 2, p2.clone(), &[("x-amz-checksum-crc32", &b64(ChecksumAlgorithm::Crc32, &p2))]).await;
    assert_error(&mismatch, StatusCode::BAD_REQUEST, "InvalidRequest");
    let r = upload_part(&s, "k", &id, 2, p2.clone(), &[]).await;
    assert_eq!(r.header("x-amz-checksum-sha256"), Some(b64(sha, &p2).as_str()));
    let e2 = r.header("etag").unwrap().to_string();
    let listed = s.get(&format!("/bkt/k?uploadId={id}")).await.text();
    assert_eq!(one(&listed, "ChecksumAlgorithm").as_deref(), Some("SHA256"));
    assert_eq!(one(&listed, "ChecksumType").as_deref(), Some("COMPOSITE"));
    let raw: Vec<u8> = [&p1[..], &p2[..]].iter().flat_map(|p| sha2::Sha256::digest(p).to_vec()).collect();
    let composite = format!("{}-2", b64(sha, &raw));
    let r = complete(&s, "k", &id, completion(&[(1, &e1), (2, &e2)]), &[("x-amz-checksum-type", "FULL_OBJECT")]).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "InvalidRequest");
    let r = complete(&s, "k", &id, completion(&[(1, &e1), (2, &e2)]), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(one(&r.text(), "ChecksumSHA256"), Some(composite.clone()));
    assert_eq!(one(&r.text(), "ChecksumType").as_deref(), Some("COMPOSITE"));
    let head = s.request(Method::HEAD, "/bkt/k", &[("x-amz-checksum-mode", "ENABLED")], "").await;
    assert_eq!(head.header("x-amz-checksum-sha256"), Some(composite.as_str()));
    assert_eq!(head.header("x-amz-checksum-type"), Some("COMPOSITE"));
}

#[tokio::test]
async fn full_object_checksums_equal_the_checksum_of_the_whole_object() {
    let s = server_with_bucket().await;
    let crc = ChecksumAlgorithm::Crc32c;
    let headers = [("x-amz-checksum-algorithm", "CRC32C"), ("x-amz-checksum-type", "FULL_OBJECT")];
    let r = s.request(Method::POST, "/bkt/k?uploads", &headers, "").await;
    assert_eq!(r.header("x-amz-checksum-type"), Some("FULL_OBJECT"));
    assert_eq!(r.header("x-amz-checksum-algorithm"), Some("CRC32C"));
    let id = one(&r.text(), "UploadId").unwrap();
    let (p1, p2) = (vec![7u8; MIB5], b"full object tail".to_vec());
    let e1 = part_etag(&s, "k", &id, 1, p1.clone()).await;
    let e2 = part_etag(&s, "k", &id, 2, p2.clone()).await;
    let whole = b64(crc, &[&p1[..], &p2[..]].concat());
    let r = complete(&s, "k", &id, completion(&[(1, &e1), (2, &e2)]), &[("x-amz-checksum-crc32c", &b64(crc, b"nope"))]).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "BadDigest");
    let r = complete(&s, "k", &id, completion(&[(1, &e1), (2, &e2)]), &[("x-amz-checksum-crc32c", &whole)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(one(&r.text(), "ChecksumCRC32C"), Some(whole.clone()));
    assert_eq!(one(&r.text(), "ChecksumType").as_deref(), Some("FULL_OBJECT"));
    // Invalid settings at creation.
    for (h, code) in [
        (vec![("x-amz-checksum-algorithm", "SHA1"), ("x-amz-checksum-type", "FULL_OBJECT")], "InvalidRequest"),
        (vec![("x-amz-checksum-type", "COMPOSITE")], "InvalidRequest"),
        (vec![("x-amz-checksum-algorithm", "MD4")], "InvalidRequest"),
    ] {
        assert_error(&s.request(Method::POST, "/bkt/x?uploads", &h, "").await, StatusCode::BAD_REQUEST, code);
    }
}

#[tokio::test]
async fn sdk_style_part_crc32s_give_a_full_object_checksum_without_create_algorithm() {
    let s = server_with_bucket().await;
    let id = create(&s, "k", &[]).await;
    let crc = ChecksumAlgorithm::Crc32;
    let (p1, p2) = (vec![1u8; MIB5], b"two".to_vec());
    let mut etags = Vec::new();
    for (n, p) in [(1, &p1), (2, &p2)] {
        let r = upload_part(&s, "k", &id, n, p.clone(), &[("x-amz-checksum-crc32", &b64(crc, p))]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        etags.push(r.header("etag").unwrap().to_string());
    }
    let body = format!(
        "<CompleteMultipartUpload><Part><ChecksumCRC32>{}</ChecksumCRC32><ETag>{}</ETag><PartNumber>1</PartNumber></Part><Part><ChecksumCRC32>{}</ChecksumCRC32><ETag>{}</ETag><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>",
        b64(crc, &p1), etags[0], b64(crc, &p2), etags[1]
    );
    let r = complete(&s, "k", &id, body, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(one(&r.text(), "ChecksumCRC32"), Some(b64(crc, &[&p1[..], &p2[..]].concat())));
}

#[tokio::test]
async fn conditional_completion_is_atomic() {
    let s = server_with_bucket().await;
    // Two uploads race to create the same key with If-None-Match: *.
    let mut uploads = Vec::new();
    for i in 0..4 {
        let id = create(&s, "race", &[]).await;
        let etag = part_etag(&s, "race", &id, 1, format!("writer {i}").into_bytes()).await;
        uploads.push((id, etag));
    }
    let results = futures_util::future::join_all(
        uploads.iter().map(|(id, etag)| complete(&s, "race", id, completion(&[(1, etag)]), &[("if-none-match", "*")])),
    )
    .await;
    let winners = results.iter().filter(|r| r.status == StatusCode::OK).count();
    assert_eq!(winners, 1, "exactly one conditional create wins");
    for r in results.iter().filter(|r| r.status != StatusCode::OK) {
        assert_error(r, StatusCode::PRECONDITION_FAILED, "PreconditionFailed");
    }
    let current = s.get("/bkt/race").await;
    let current_etag = current.header("etag").unwrap().to_string();
    // If-Match: only with the current ETag.
    let id = create(&s, "race", &[]).await;
    let e = part_etag(&s, "race", &id, 1, b"replacement".to_vec()).await;
    let r = complete(&s, "race", &id, completion(&[(1, &e)]), &[("if-match", "\"0123\"")]).await;
    assert_error(&r, StatusCode::PRECONDITION_FAILED, "PreconditionFailed");
    let r = complete(&s, "race", &id, completion(&[(1, &e)]), &[("if-match", &current_etag)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(s.get("/bkt/race").await.text(), "replacement");
    // If-Match on a key that does not exist: NoSuchKey, as S3 answers.
    let id = create(&s, "absent", &[]).await;
    let e = part_etag(&s, "absent", &id, 1, b"x".to_vec()).await;
    assert_error(&complete(&s, "absent", &id, completion(&[(1, &e)]), &[("if-match", "\"abc\"")]).await, StatusCode::NOT_FOUND, "NoSuchKey");
}

#[tokio::test]
async fn sdk_default_aws_chunked_parts_store_exactly_the_payload() {
    let s = server_with_bucket().await;
    let key = "weird/ü//../k +x";
    let id = create(&s, key, &[("x-amz-checksum-algorithm", "CRC32")]).await;
    let crc = ChecksumAlgorithm::Crc32;
    let payload = b"chunked part payload".to_vec();
    let body = format!("{:x}\r\n{}\r\n0\r\nx-amz-checksum-crc32:{}\r\n\r\n", payload.len(), String::from_utf8_lossy(&payload), b64(crc, &payload));
    let len = payload.len().to_string();
    let headers = [
        ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
        ("content-encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", len.as_str()),
        ("x-amz-trailer", "x-amz-checksum-crc32"),
        ("x-amz-sdk-checksum-algorithm", "CRC32"),
    ];
    let r = upload_part(&s, key, &id, 1, body.into_bytes(), &headers).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("etag"), Some(format!("\"{}\"", md5_hex(&payload)).as_str()));
    assert_eq!(r.header("x-amz-checksum-crc32"), Some(b64(crc, &payload).as_str()));
    // A wrong trailer checksum is BadDigest and stores nothing.
    let bad = format!("{:x}\r\n{}\r\n0\r\nx-amz-checksum-crc32:{}\r\n\r\n", payload.len(), String::from_utf8_lossy(&payload), b64(crc, b"x"));
    assert_error(&upload_part(&s, key, &id, 2, bad.into_bytes(), &headers).await, StatusCode::BAD_REQUEST, "BadDigest");
    // So does a wrong Content-MD5.
    let r = upload_part(&s, key, &id, 2, b"abc".to_vec(), &[("content-md5", "AAAAAAAAAAAAAAAAAAAAAA==")]).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "BadDigest");
    let listed = s.get(&format!("/bkt/{}?uploadId={id}", enc(key))).await.text();
    assert_eq!(all(&listed, "PartNumber"), vec!["1"]);
    let e1 = format!("\"{}\"", md5_hex(&payload));
    let r = complete(&s, key, &id, completion(&[(1, &e1)]), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(one(&r.text(), "ChecksumCRC32"), Some(format!("{}-1", b64(crc, &b64_raw(crc, &payload)))));
    assert_eq!(one(&r.text(), "Key").as_deref(), Some(key));
    assert_eq!(s.get(&format!("/bkt/{}", enc(key))).await.body.as_ref(), payload.as_slice());
}

/// The raw bytes of a base64 checksum.
fn b64_raw(algo: ChecksumAlgorithm, data: &[u8]) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(b64(algo, data)).unwrap()
}

#[tokio::test]
async fn virtual_hosted_completion_reports_a_virtual_hosted_location() {
    let s = server_with_bucket().await;
    let host = format!("bkt.localhost:{}", s.port);
    let h = [("host", host.as_str())];
    let r = s.request(Method::POST, "/v%20k?uploads", &h, "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let id = one(&r.text(), "UploadId").unwrap();
    let r = s.request(Method::PUT, &format!("/v%20k?partNumber=1&uploadId={id}"), &h, "vh").await;
    let etag = r.header("etag").unwrap().to_string();
    let r = s.request(Method::POST, &format!("/v%20k?uploadId={id}"), &h, completion(&[(1, &etag)])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(one(&r.text(), "Location"), Some(format!("http://{host}/v%20k")));
    let uploads = s.request(Method::GET, "/?uploads", &h, "").await;
    assert!(!uploads.text().contains("<Upload>"), "{}", uploads.text());
}
