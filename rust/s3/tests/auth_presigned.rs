//! Presigned URLs (SigV4 query-string authentication) against a real server.

mod auth_support;
mod common;

use auth_support::{Signer, as_refs, auth_config, sha256_hex};
use bytes::Bytes;
use common::{TestResponse, TestServer};
use http::{Method, StatusCode};
use time::{Duration, OffsetDateTime};

const KEY: &str = "AKIDPRESIGN";
const SECRET: &str = "presign-secret";

fn code(resp: &TestResponse) -> String {
    let text = resp.text();
    text.split_once("<Code>").and_then(|(_, rest)| rest.split_once("</Code>")).map(|(c, _)| c.to_string()).unwrap_or_default()
}

/// A server with bucket `bkt1` holding `bkt1/k` = "presigned content".
async fn server_with_object() -> (TestServer, Signer, String) {
    let s = TestServer::start_with(auth_config(&[(KEY, SECRET)])).await;
    let me = Signer::new(KEY, SECRET);
    let host = format!("127.0.0.1:{}", s.port);
    for (path, body) in [("/bkt1", &b""[..]), ("/bkt1/k", &b"presigned content"[..])] {
        let mut headers = vec![("host".to_string(), host.clone())];
        me.sign("PUT", path, &[], &mut headers, &sha256_hex(body), OffsetDateTime::now_utc());
        let resp = s.request(Method::PUT, path, &as_refs(&headers), Bytes::copy_from_slice(body)).await;
        assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    }
    (s, me, host)
}

async fn get(s: &TestServer, host: &str, url: &str) -> TestResponse {
    s.request(Method::GET, url, &[("host", host)], Bytes::new()).await
}

#[tokio::test]
async fn presigned_get_and_put_work_with_plain_http() {
    let (s, me, host) = server_with_object().await;
    let url = me.presign("GET", "/bkt1/k", &host, 3600, OffsetDateTime::now_utc());
    let resp = get(&s, &host, &url).await;
    assert_eq!((resp.status, resp.body.as_ref()), (StatusCode::OK, &b"presigned content"[..]), "{}", resp.text());
    let put_url = me.presign("PUT", "/bkt1/uploaded", &host, 3600, OffsetDateTime::now_utc());
    let resp = s.request(Method::PUT, &put_url, &[("host", &host)], Bytes::from_static(b"via presigned PUT")).await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    let read_back = get(&s, &host, &me.presign("GET", "/bkt1/uploaded", &host, 60, OffsetDateTime::now_utc())).await;
    assert_eq!(read_back.body.as_ref(), b"via presigned PUT");
    // A presigned GET URL cannot be replayed as a PUT.
    let resp = s.request(Method::PUT, &url, &[("host", &host)], Bytes::from_static(b"x")).await;
    assert_eq!(code(&resp), "SignatureDoesNotMatch");
    s.stop().await;
}

#[tokio::test]
async fn expired_and_not_yet_valid_urls_are_access_denied() {
    let (s, me, host) = server_with_object().await;
    let old = me.presign("GET", "/bkt1/k", &host, 60, OffsetDateTime::now_utc() - Duration::minutes(5));
    let resp = get(&s, &host, &old).await;
    assert_eq!((resp.status, code(&resp).as_str()), (StatusCode::FORBIDDEN, "AccessDenied"));
    assert!(resp.text().contains("<Message>Request has expired</Message><X-Amz-Expires>60</X-Amz-Expires><Expires>"), "{}", resp.text());
    assert!(resp.text().contains("<ServerTime>"));
    let future = me.presign("GET", "/bkt1/k", &host, 60, OffsetDateTime::now_utc() + Duration::hours(1));
    let resp = get(&s, &host, &future).await;
    assert_eq!(code(&resp), "AccessDenied");
    assert!(resp.text().contains("Request is not valid yet"), "{}", resp.text());
    s.stop().await;
}

#[tokio::test]
async fn urls_valid_for_more_than_seven_days_are_refused() {
    let (s, me, host) = server_with_object().await;
    let resp = get(&s, &host, &me.presign("GET", "/bkt1/k", &host, 604_801, OffsetDateTime::now_utc())).await;
    assert_eq!((resp.status, code(&resp).as_str()), (StatusCode::BAD_REQUEST, "AuthorizationQueryParametersError"));
    assert!(resp.text().contains("604800"));
    let resp = get(&s, &host, &me.presign("GET", "/bkt1/k", &host, 604_800, OffsetDateTime::now_utc())).await;
    assert_eq!(resp.status, StatusCode::OK, "exactly 7 days is allowed");
    s.stop().await;
}

#[tokio::test]
async fn tampered_or_foreign_presigned_urls_fail() {
    let (s, me, host) = server_with_object().await;
    let url = me.presign("GET", "/bkt1/k", &host, 3600, OffsetDateTime::now_utc());
    let resp = get(&s, &host, &url.replace("X-Amz-Expires=3600", "X-Amz-Expires=7200")).await;
    assert_eq!(code(&resp), "SignatureDoesNotMatch");
    let resp = get(&s, &host, &format!("{url}&response-content-type=text%2Fhtml")).await;
    assert_eq!(code(&resp), "SignatureDoesNotMatch", "an added parameter is not covered");
    let resp = get(&s, &host, &url.replace("/bkt1/k?", "/bkt1/other?")).await;
    assert_eq!(code(&resp), "SignatureDoesNotMatch");
    let stranger = Signer::new("AKIDSTRANGER", SECRET).presign("GET", "/bkt1/k", &host, 60, OffsetDateTime::now_utc());
    assert_eq!(code(&get(&s, &host, &stranger).await), "InvalidAccessKeyId");
    let resp = get(&s, &host, "/bkt1/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00").await;
    assert_eq!(code(&resp), "AuthorizationQueryParametersError");
    let resp = get(&s, &host, "/bkt1/k?AWSAccessKeyId=AKIDPRESIGN&Expires=9999999999&Signature=abc").await;
    assert_eq!((resp.status, code(&resp).as_str()), (StatusCode::BAD_REQUEST, "InvalidRequest"));
    s.stop().await;
}
