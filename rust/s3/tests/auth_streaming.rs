//! Signed aws-chunked uploads (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`):
//! every chunk signature and the trailer signature are verified as the body
//! streams, and a body that fails is never stored.

mod auth_support;
mod common;

use auth_support::{Signer, as_refs, auth_config, sha256_hex};
use bytes::Bytes;
use common::{TestResponse, TestServer};
use http::{Method, StatusCode};
use smartstorage_s3::checksum::{ChecksumAlgorithm, checksum_of};
use time::OffsetDateTime;

const KEY: &str = "AKIDSTREAM";
const SECRET: &str = "stream-secret";

fn code(resp: &TestResponse) -> String {
    let text = resp.text();
    text.split_once("<Code>").and_then(|(_, rest)| rest.split_once("</Code>")).map(|(c, _)| c.to_string()).unwrap_or_default()
}

async fn server() -> (TestServer, Signer) {
    let s = TestServer::start_with(auth_config(&[(KEY, SECRET)])).await;
    let me = Signer::new(KEY, SECRET);
    let resp = signed(&s, &me, Method::PUT, "/bkt1", Bytes::new()).await;
    assert_eq!(resp.status, StatusCode::OK);
    (s, me)
}

async fn signed(s: &TestServer, me: &Signer, method: Method, path: &str, body: Bytes) -> TestResponse {
    let mut headers = vec![("host".to_string(), format!("127.0.0.1:{}", s.port))];
    me.sign(method.as_str(), path, &[], &mut headers, &sha256_hex(&body), OffsetDateTime::now_utc());
    s.request(method, path, &as_refs(&headers), body).await
}

/// Signed streaming headers for `path` and the seed signature.
fn streaming_headers(s: &TestServer, me: &Signer, path: &str, decoded_len: usize, trailer: Option<&str>, t: OffsetDateTime) -> (Vec<(String, String)>, String) {
    let mut headers = vec![
        ("host".to_string(), format!("127.0.0.1:{}", s.port)),
        ("content-encoding".to_string(), "aws-chunked".to_string()),
        ("x-amz-decoded-content-length".to_string(), decoded_len.to_string()),
    ];
    let mode = match trailer {
        Some(name) => {
            headers.push(("x-amz-trailer".to_string(), name.to_string()));
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
        }
        None => "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    };
    let seed = me.sign("PUT", path, &[], &mut headers, mode, t);
    (headers, seed)
}

async fn stored(s: &TestServer, me: &Signer, path: &str) -> Option<Bytes> {
    let resp = signed(s, me, Method::GET, path, Bytes::new()).await;
    match resp.status {
        StatusCode::OK => Some(resp.body),
        _ => {
            assert_eq!(code(&resp), "NoSuchKey");
            None
        }
    }
}

#[tokio::test]
async fn a_signed_streaming_upload_is_verified_and_stored() {
    let (s, me) = server().await;
    let t = OffsetDateTime::now_utc();
    let (first, second) = (vec![b'a'; 65536], vec![b'b'; 1024]);
    let (headers, seed) = streaming_headers(&s, &me, "/bkt1/obj", 66560, None, t);
    let body = me.chunked_body(&seed, t, &[&first, &second], None);
    let resp = s.request(Method::PUT, "/bkt1/obj", &as_refs(&headers), body).await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    let got = stored(&s, &me, "/bkt1/obj").await.expect("stored");
    assert_eq!(got.len(), 66560);
    assert!(got[..65536].iter().all(|&b| b == b'a') && got[65536..].iter().all(|&b| b == b'b'));
    s.stop().await;
}

#[tokio::test]
async fn a_forged_chunk_fails_and_nothing_is_stored() {
    let (s, me) = server().await;
    let t = OffsetDateTime::now_utc();
    let data = vec![b'a'; 65536];
    let (headers, seed) = streaming_headers(&s, &me, "/bkt1/obj", 65536 + 9000, None, t);
    let mut body = me.chunked_body(&seed, t, &[&data, &[b'c'; 9000]], None);
    // Flip one payload byte of the first chunk (after its ~85-byte header).
    body[200] ^= 1;
    let resp = s.request(Method::PUT, "/bkt1/obj", &as_refs(&headers), body).await;
    assert_eq!((resp.status, code(&resp).as_str()), (StatusCode::FORBIDDEN, "SignatureDoesNotMatch"), "{}", resp.text());
    assert!(resp.text().contains("AWS4-HMAC-SHA256-PAYLOAD"));
    assert_eq!(stored(&s, &me, "/bkt1/obj").await, None);
    // A body signed for another request (another seed) fails on its first chunk.
    let (headers, _) = streaming_headers(&s, &me, "/bkt1/obj", 65536, None, t);
    let body = me.chunked_body(&"0".repeat(64), t, &[&data], None);
    let resp = s.request(Method::PUT, "/bkt1/obj", &as_refs(&headers), body).await;
    assert_eq!(code(&resp), "SignatureDoesNotMatch");
    // A forged final-chunk signature fails too, though all the data verified.
    let (headers, seed) = streaming_headers(&s, &me, "/bkt1/obj", 65536, None, t);
    let body = me.chunked_body(&seed, t, &[&data], None);
    let text = String::from_utf8_lossy(&body).into_owned();
    let last = text.rfind("0;chunk-signature=").expect("final chunk") + "0;chunk-signature=".len();
    let mut body = body;
    body[last] = if body[last] == b'0' { b'1' } else { b'0' };
    let resp = s.request(Method::PUT, "/bkt1/obj", &as_refs(&headers), body).await;
    assert_eq!(code(&resp), "SignatureDoesNotMatch");
    assert_eq!(stored(&s, &me, "/bkt1/obj").await, None);
    s.stop().await;
}

#[tokio::test]
async fn the_trailer_signature_is_verified() {
    let (s, me) = server().await;
    let t = OffsetDateTime::now_utc();
    let data = vec![b'z'; 20_000];
    let crc = checksum_of(ChecksumAlgorithm::Crc32, &data);
    let (headers, seed) = streaming_headers(&s, &me, "/bkt1/trailed", data.len(), Some("x-amz-checksum-crc32"), t);
    let body = me.chunked_body(&seed, t, &[&data], Some(("x-amz-checksum-crc32", &crc)));
    let resp = s.request(Method::PUT, "/bkt1/trailed", &as_refs(&headers), body.clone()).await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    assert_eq!(resp.header("x-amz-checksum-crc32"), Some(crc.as_str()));
    // Swap the trailer value for another well-formed checksum, keeping its signature.
    let other = checksum_of(ChecksumAlgorithm::Crc32, b"something else");
    let (headers, seed) = streaming_headers(&s, &me, "/bkt1/forged", data.len(), Some("x-amz-checksum-crc32"), t);
    let body = me.chunked_body(&seed, t, &[&data], Some(("x-amz-checksum-crc32", &crc)));
    let forged = String::from_utf8_lossy(&body).replace(&crc, &other);
    let resp = s.request(Method::PUT, "/bkt1/forged", &as_refs(&headers), forged.into_bytes()).await;
    assert_eq!(code(&resp), "SignatureDoesNotMatch", "{}", resp.text());
    assert!(resp.text().contains("AWS4-HMAC-SHA256-TRAILER"));
    assert_eq!(stored(&s, &me, "/bkt1/forged").await, None);
    s.stop().await;
}

#[tokio::test]
async fn small_chunks_before_the_last_are_refused_in_signed_mode() {
    let (s, me) = server().await;
    let t = OffsetDateTime::now_utc();
    let (headers, seed) = streaming_headers(&s, &me, "/bkt1/small", 8192, None, t);
    let body = me.chunked_body(&seed, t, &[&[b'x'; 4096], &[b'y'; 4096]], None);
    let resp = s.request(Method::PUT, "/bkt1/small", &as_refs(&headers), body).await;
    assert_eq!((resp.status, code(&resp).as_str()), (StatusCode::BAD_REQUEST, "InvalidChunkSizeError"));
    assert_eq!(stored(&s, &me, "/bkt1/small").await, None);
    // A single small chunk is fine: it is the last one.
    let (headers, seed) = streaming_headers(&s, &me, "/bkt1/small", 10, None, t);
    let body = me.chunked_body(&seed, t, &[b"0123456789"], None);
    let resp = s.request(Method::PUT, "/bkt1/small", &as_refs(&headers), body).await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    s.stop().await;
}
