//! Bucket policies enforced with auth on: the owner / other credential /
//! anonymous matrix, Deny over Allow, NotAction/NotResource, wildcard
//! resources, condition operators, copies, DeleteObjects, and the owner's
//! policy operations.

mod auth_support;
mod common;

use auth_support::{Signer, as_refs, auth_config, sha256_hex};
use bytes::Bytes;
use common::{TestResponse, TestServer};
use http::{Method, StatusCode};
use time::OffsetDateTime;

fn code(resp: &TestResponse) -> String {
    let text = resp.text();
    text.split_once("<Code>").and_then(|(_, r)| r.split_once("</Code>")).map(|(c, _)| c.to_string()).unwrap_or_default()
}

/// A signed request (`who`), or an anonymous one (`None`). `uri` may carry a query.
async fn send(s: &TestServer, who: Option<&Signer>, method: Method, uri: &str, extra: &[(&str, &str)], body: &[u8]) -> TestResponse {
    let mut headers = vec![("host".to_string(), format!("127.0.0.1:{}", s.port))];
    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    if method == Method::PUT || method == Method::POST {
        headers.push(("content-length".to_string(), body.len().to_string()));
    }
    if let Some(who) = who {
        let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
        let pairs: Vec<(String, String)> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                let dec = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
                (dec(k), dec(v))
            })
            .collect();
        who.sign(method.as_str(), path, &pairs, &mut headers, &sha256_hex(body), OffsetDateTime::now_utc());
    }
    s.request(method, uri, &as_refs(&headers), Bytes::copy_from_slice(body)).await
}

struct World {
    s: TestServer,
    alice: Signer,
    bob: Signer,
}

/// ALICE owns bucket `shared` holding `public/a.txt`, `secret/s.txt`, `tmp/t.txt`; BOB owns `bobs`.
async fn world() -> World {
    let s = TestServer::start_with(auth_config(&[("ALICE", "alice-secret"), ("BOB", "bob-secret")])).await;
    let (alice, bob) = (Signer::new("ALICE", "alice-secret"), Signer::new("BOB", "bob-secret"));
    assert_eq!(send(&s, Some(&alice), Method::PUT, "/shared", &[], b"").await.status, StatusCode::OK);
    assert_eq!(send(&s, Some(&bob), Method::PUT, "/bobs", &[], b"").await.status, StatusCode::OK);
    for key in ["public/a.txt", "secret/s.txt", "tmp/t.txt"] {
        let resp = send(&s, Some(&alice), Method::PUT, &format!("/shared/{key}"), &[], key.as_bytes()).await;
        assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    }
    World { s, alice, bob }
}

impl World {
    async fn policy(&self, statements: &str) {
        let doc = format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#);
        let resp = send(&self.s, Some(&self.alice), Method::PUT, "/shared?policy", &[], doc.as_bytes()).await;
        assert_eq!(resp.status, StatusCode::NO_CONTENT, "{}", resp.text());
    }

    async fn status(&self, who: Option<&Signer>, method: Method, uri: &str) -> StatusCode {
        send(&self.s, who, method, uri, &[], b"").await.status
    }
}

const OK: StatusCode = StatusCode::OK;
const DENIED: StatusCode = StatusCode::FORBIDDEN;

#[tokio::test]
async fn without_a_policy_only_the_owner_gets_in() {
    let w = world().await;
    assert_eq!(w.status(Some(&w.alice), Method::GET, "/shared/public/a.txt").await, OK);
    assert_eq!(w.status(Some(&w.bob), Method::GET, "/shared/public/a.txt").await, DENIED);
    let anon = send(&w.s, None, Method::GET, "/shared/public/a.txt", &[], b"").await;
    assert_eq!((anon.status, code(&anon).as_str()), (DENIED, "AccessDenied"));
    assert_eq!(w.status(None, Method::GET, "/").await, DENIED);
    assert_eq!(w.status(None, Method::PUT, "/anon-bucket").await, DENIED);
    w.s.stop().await;
}

#[tokio::test]
async fn anonymous_read_is_allowed_by_a_public_read_policy() {
    let w = world().await;
    w.policy(r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/public/*"}"#).await;
    let resp = send(&w.s, None, Method::GET, "/shared/public/a.txt", &[], b"").await;
    assert_eq!((resp.status, resp.text().as_str()), (OK, "public/a.txt"));
    assert_eq!(w.status(None, Method::HEAD, "/shared/public/a.txt").await, OK);
    assert_eq!(w.status(Some(&w.bob), Method::GET, "/shared/public/a.txt").await, OK);
    assert_eq!(w.status(None, Method::GET, "/shared/secret/s.txt").await, DENIED);
    assert_eq!(w.status(None, Method::PUT, "/shared/public/new.txt").await, DENIED);
    assert_eq!(w.status(None, Method::GET, "/shared").await, DENIED, "listing needs s3:ListBucket");
    assert_eq!(w.status(None, Method::DELETE, "/shared/public/a.txt").await, DENIED);
    // The owner keeps full access.
    assert_eq!(w.status(Some(&w.alice), Method::PUT, "/shared/public/new.txt").await, OK);
    w.s.stop().await;
}

#[tokio::test]
async fn explicit_deny_beats_allow_even_for_the_owner() {
    let w = world().await;
    w.policy(
        r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/BOB"},"Action":"s3:*","Resource":["arn:aws:s3:::shared","arn:aws:s3:::shared/*"]},
           {"Effect":"Deny","Principal":"*","Action":["s3:GetObject","s3:DeleteObject"],"Resource":"arn:aws:s3:::shared/secret/*"}"#,
    )
    .await;
    assert_eq!(w.status(Some(&w.bob), Method::GET, "/shared/public/a.txt").await, OK);
    assert_eq!(w.status(Some(&w.bob), Method::GET, "/shared").await, OK);
    assert_eq!(w.status(Some(&w.bob), Method::GET, "/shared/secret/s.txt").await, DENIED);
    assert_eq!(w.status(Some(&w.alice), Method::GET, "/shared/secret/s.txt").await, DENIED);
    assert_eq!(w.status(Some(&w.alice), Method::DELETE, "/shared/secret/s.txt").await, DENIED);
    assert_eq!(w.status(Some(&w.alice), Method::PUT, "/shared/secret/s.txt").await, OK, "PutObject is not denied");
    w.s.stop().await;
}

#[tokio::test]
async fn not_action_not_resource_and_wildcards() {
    let w = world().await;
    w.policy(
        r#"{"Effect":"Allow","Principal":{"AWS":"BOB"},"NotAction":["s3:Delete*","s3:Put*"],"NotResource":"arn:aws:s3:::shared/secret/*"},
           {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/t?p/*.txt"}"#,
    )
    .await;
    assert_eq!(w.status(Some(&w.bob), Method::GET, "/shared/public/a.txt").await, OK);
    assert_eq!(w.status(Some(&w.bob), Method::GET, "/shared/secret/s.txt").await, DENIED);
    assert_eq!(w.status(Some(&w.bob), Method::DELETE, "/shared/public/a.txt").await, DENIED);
    assert_eq!(w.status(Some(&w.bob), Method::PUT, "/shared/public/b.txt").await, DENIED);
    assert_eq!(w.status(None, Method::GET, "/shared/tmp/t.txt").await, OK);
    assert_eq!(w.status(None, Method::GET, "/shared/public/a.txt").await, DENIED);
    w.s.stop().await;
}

#[tokio::test]
async fn source_ip_and_secure_transport_conditions() {
    let w = world().await;
    w.policy(r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/public/*","Condition":{"IpAddress":{"aws:SourceIp":["127.0.0.0/8","::1/128"]}}},
                {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/tmp/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}"#).await;
    assert_eq!(w.status(None, Method::GET, "/shared/public/a.txt").await, OK);
    assert_eq!(w.status(None, Method::GET, "/shared/tmp/t.txt").await, DENIED);
    // A common hardening policy: deny everything over plain HTTP. Here every
    // request is plain HTTP, so it denies even the owner's object reads.
    w.policy(r#"{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#).await;
    assert_eq!(w.status(Some(&w.alice), Method::GET, "/shared/public/a.txt").await, DENIED);
    w.policy(r#"{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/*","Condition":{"NotIpAddress":{"aws:SourceIp":["127.0.0.1/32","::1"]}}}"#).await;
    assert_eq!(w.status(Some(&w.alice), Method::GET, "/shared/public/a.txt").await, OK);
    w.s.stop().await;
}

#[tokio::test]
async fn listing_conditions_on_prefix_delimiter_and_max_keys() {
    let w = world().await;
    w.policy(r#"{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::shared","Condition":{"StringLike":{"s3:prefix":"public/*"},"NumericLessThanEquals":{"s3:max-keys":"100"},"StringEqualsIfExists":{"s3:delimiter":"/"}}}"#).await;
    let listed = send(&w.s, None, Method::GET, "/shared?list-type=2&prefix=public/&max-keys=10", &[], b"").await;
    assert_eq!(listed.status, OK, "{}", listed.text());
    assert!(listed.text().contains("<Key>public/a.txt</Key>"));
    assert_eq!(w.status(None, Method::GET, "/shared?list-type=2&prefix=public/&max-keys=10&delimiter=/").await, OK);
    assert_eq!(w.status(None, Method::GET, "/shared?list-type=2&prefix=public/&max-keys=10&delimiter=-").await, DENIED);
    assert_eq!(w.status(None, Method::GET, "/shared?list-type=2&prefix=secret/&max-keys=10").await, DENIED);
    assert_eq!(w.status(None, Method::GET, "/shared?list-type=2&prefix=public/&max-keys=1000").await, DENIED);
    assert_eq!(w.status(None, Method::GET, "/shared?list-type=2&max-keys=10").await, DENIED, "no prefix: s3:prefix is absent");
    assert_eq!(w.status(None, Method::GET, "/shared?prefix=public/&max-keys=5").await, OK, "ListObjects v1 too");
    w.s.stop().await;
}

#[tokio::test]
async fn date_and_string_conditions() {
    let w = world().await;
    w.policy(r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/public/*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"},"DateLessThan":{"aws:CurrentTime":"2999-01-01T00:00:00Z"}}},
                {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/tmp/*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2999-01-01T00:00:00Z"}}},
                {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/secret/*","Condition":{"StringEquals":{"aws:Referer":"http://trusted.example/"},"StringNotLike":{"aws:UserAgent":"*bot*"}}}"#).await;
    assert_eq!(w.status(None, Method::GET, "/shared/public/a.txt").await, OK);
    assert_eq!(w.status(None, Method::GET, "/shared/tmp/t.txt").await, DENIED);
    let referer = |r: &'static str, ua: &'static str| [("referer", r), ("user-agent", ua)];
    let get = |h: [(&'static str, &'static str); 2]| {
        let s = &w.s;
        async move { send(s, None, Method::GET, "/shared/secret/s.txt", &h, b"").await.status }
    };
    assert_eq!(get(referer("http://trusted.example/", "browser")).await, OK);
    assert_eq!(get(referer("http://evil.example/", "browser")).await, DENIED);
    assert_eq!(get(referer("http://trusted.example/", "crawlbot/1")).await, DENIED);
    w.s.stop().await;
}

#[tokio::test]
async fn the_owner_cannot_lock_themselves_out_of_the_policy() {
    let w = world().await;
    w.policy(r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::shared","arn:aws:s3:::shared/*"]}"#).await;
    assert_eq!(w.status(Some(&w.alice), Method::GET, "/shared/public/a.txt").await, DENIED);
    assert_eq!(w.status(Some(&w.alice), Method::GET, "/shared?policy").await, OK);
    assert_eq!(w.status(Some(&w.alice), Method::DELETE, "/shared?policy").await, StatusCode::NO_CONTENT);
    assert_eq!(w.status(Some(&w.alice), Method::GET, "/shared/public/a.txt").await, OK, "the cache was invalidated");
    w.s.stop().await;
}

#[tokio::test]
async fn non_owners_allowed_policy_operations_get_method_not_allowed() {
    let w = world().await;
    w.policy(r#"{"Effect":"Allow","Principal":{"AWS":"BOB"},"Action":"s3:GetBucketPolicy","Resource":"arn:aws:s3:::shared"}"#).await;
    let resp = send(&w.s, Some(&w.bob), Method::GET, "/shared?policy", &[], b"").await;
    assert_eq!((resp.status, code(&resp).as_str()), (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed"));
    let resp = send(&w.s, Some(&w.bob), Method::DELETE, "/shared?policy", &[], b"").await;
    assert_eq!((resp.status, code(&resp).as_str()), (DENIED, "AccessDenied"));
    w.s.stop().await;
}

#[tokio::test]
async fn copies_need_read_access_to_the_source() {
    let w = world().await;
    let copy = |key: &'static str| {
        let (s, bob) = (&w.s, &w.bob);
        async move {
            let source = format!("/shared/{key}");
            send(s, Some(bob), Method::PUT, "/bobs/copy.txt", &[("x-amz-copy-source", source.as_str())], b"").await
        }
    };
    assert_eq!(code(&copy("public/a.txt").await), "AccessDenied");
    w.policy(r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::BOB:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/public/*"}"#).await;
    let ok = copy("public/a.txt").await;
    assert_eq!(ok.status, OK, "{}", ok.text());
    assert_eq!(send(&w.s, Some(&w.bob), Method::GET, "/bobs/copy.txt", &[], b"").await.text(), "public/a.txt");
    assert_eq!(code(&copy("secret/s.txt").await), "AccessDenied");
    w.s.stop().await;
}

#[tokio::test]
async fn delete_objects_needs_delete_on_every_key() {
    let w = world().await;
    let body = b"<Delete><Object><Key>tmp/t.txt</Key></Object></Delete>";
    let md5 = {
        use base64::Engine;
        use md5::Digest;
        base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(body))
    };
    let delete = |who: &'static str| {
        let (s, signer) = (&w.s, if who == "bob" { &w.bob } else { &w.alice });
        let md5 = md5.clone();
        async move { send(s, Some(signer), Method::POST, "/shared?delete", &[("content-md5", md5.as_str())], body).await }
    };
    w.policy(r#"{"Effect":"Allow","Principal":{"AWS":"BOB"},"Action":"s3:DeleteObject","Resource":"arn:aws:s3:::shared/tmp/*"}"#).await;
    assert_eq!(code(&delete("bob").await), "AccessDenied", "tmp/* does not cover every key the body may name");
    w.policy(r#"{"Effect":"Allow","Principal":{"AWS":"BOB"},"Action":"s3:DeleteObject","Resource":"arn:aws:s3:::shared/*"},
                {"Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::shared/secret/*"}"#).await;
    assert_eq!(code(&delete("bob").await), "AccessDenied", "a Deny on some keys refuses the batch");
    assert_eq!(code(&delete("alice").await), "AccessDenied", "for the owner too");
    w.policy(r#"{"Effect":"Allow","Principal":{"AWS":"BOB"},"Action":"s3:DeleteObject","Resource":"arn:aws:s3:::shared/*"}"#).await;
    assert_eq!(delete("bob").await.status, OK);
    assert_eq!(w.status(Some(&w.alice), Method::GET, "/shared/tmp/t.txt").await, StatusCode::NOT_FOUND);
    w.s.stop().await;
}

#[tokio::test]
async fn policy_variables_give_each_user_a_home() {
    let w = world().await;
    w.policy(r#"{"Effect":"Allow","Principal":"*","Action":["s3:PutObject","s3:GetObject"],"Resource":"arn:aws:s3:::shared/home/${aws:username}/*"}"#).await;
    assert_eq!(w.status(Some(&w.bob), Method::PUT, "/shared/home/BOB/notes.txt").await, OK);
    assert_eq!(w.status(Some(&w.bob), Method::PUT, "/shared/home/ALICE/notes.txt").await, DENIED);
    assert_eq!(w.status(None, Method::PUT, "/shared/home//notes.txt").await, DENIED);
    w.s.stop().await;
}
