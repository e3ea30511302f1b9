//! Buckets belong to the credential that created them; credentials can be
//! added and removed while the server runs.

mod auth_support;
mod common;

use auth_support::{Signer, as_refs, auth_config, sha256_hex};
use bytes::Bytes;
use common::{TestResponse, TestServer};
use http::{Method, StatusCode};
use smartstorage_s3::Credential;
use time::OffsetDateTime;

fn code(resp: &TestResponse) -> String {
    let text = resp.text();
    text.split_once("<Code>").and_then(|(_, rest)| rest.split_once("</Code>")).map(|(c, _)| c.to_string()).unwrap_or_default()
}

async fn send(s: &TestServer, who: &Signer, method: Method, path: &str, extra: &[(&str, &str)], body: &[u8]) -> TestResponse {
    let mut headers = vec![("host".to_string(), format!("127.0.0.1:{}", s.port))];
    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    who.sign(method.as_str(), path, &[], &mut headers, &sha256_hex(body), OffsetDateTime::now_utc());
    s.request(method, path, &as_refs(&headers), Bytes::copy_from_slice(body)).await
}

#[tokio::test]
async fn two_owners_see_and_touch_only_their_own_buckets() {
    let s = TestServer::start_with(auth_config(&[("ALICE", "alice-secret"), ("BOB", "bob-secret")])).await;
    let (alice, bob) = (Signer::new("ALICE", "alice-secret"), Signer::new("BOB", "bob-secret"));
    assert_eq!(send(&s, &alice, Method::PUT, "/alice-data", &[], b"").await.status, StatusCode::OK);
    assert_eq!(send(&s, &bob, Method::PUT, "/bob-data", &[], b"").await.status, StatusCode::OK);
    assert_eq!(send(&s, &alice, Method::PUT, "/alice-data/secret.txt", &[], b"alice only").await.status, StatusCode::OK);

    let alice_list = send(&s, &alice, Method::GET, "/", &[], b"").await.text();
    assert!(alice_list.contains("<Name>alice-data</Name>") && !alice_list.contains("bob-data"), "{alice_list}");
    let bob_list = send(&s, &bob, Method::GET, "/", &[], b"").await.text();
    assert!(bob_list.contains("<Name>bob-data</Name>") && !bob_list.contains("alice-data"), "{bob_list}");

    let taken = send(&s, &bob, Method::PUT, "/alice-data", &[], b"").await;
    assert_eq!((taken.status, code(&taken).as_str()), (StatusCode::CONFLICT, "BucketAlreadyExists"));
    let again = send(&s, &alice, Method::PUT, "/alice-data", &[], b"").await;
    assert_eq!(code(&again), "BucketAlreadyOwnedByYou");

    for (method, path) in [
        (Method::GET, "/alice-data/secret.txt"),
        (Method::HEAD, "/alice-data/secret.txt"),
        (Method::PUT, "/alice-data/planted.txt"),
        (Method::DELETE, "/alice-data/secret.txt"),
        (Method::GET, "/alice-data"),
        (Method::DELETE, "/alice-data"),
    ] {
        let resp = send(&s, &bob, method.clone(), path, &[], b"").await;
        assert_eq!(resp.status, StatusCode::FORBIDDEN, "{method} {path}");
        if method != Method::HEAD {
            assert_eq!(code(&resp), "AccessDenied", "{method} {path}");
        }
    }
    // Copying out of someone else's bucket is denied too.
    let copy = send(&s, &bob, Method::PUT, "/bob-data/stolen.txt", &[("x-amz-copy-source", "/alice-data/secret.txt")], b"").await;
    assert_eq!(code(&copy), "AccessDenied");
    // The owner still has everything.
    let get = send(&s, &alice, Method::GET, "/alice-data/secret.txt", &[], b"").await;
    assert_eq!(get.body.as_ref(), b"alice only");
    // A bucket nobody owns is NoSuchBucket for everyone.
    assert_eq!(code(&send(&s, &bob, Method::GET, "/nobody/x", &[], b"").await), "NoSuchBucket");
    s.stop().await;
}

#[tokio::test]
async fn credentials_can_be_added_and_removed_at_runtime() {
    let s = TestServer::start_with(auth_config(&[("FIRST", "first-secret")])).await;
    let credentials = s.server.as_ref().expect("running").credentials();
    let carol = Signer::new("CAROL", "carol-secret");
    assert_eq!(code(&send(&s, &carol, Method::GET, "/", &[], b"").await), "InvalidAccessKeyId");
    credentials
        .add(Credential { access_key_id: "CAROL".into(), secret_access_key: "carol-secret".into() })
        .expect("valid credential");
    assert_eq!(send(&s, &carol, Method::PUT, "/carol", &[], b"").await.status, StatusCode::OK);
    assert_eq!(credentials.list().len(), 2);
    // Rotating the secret invalidates the old one at once.
    credentials.add(Credential { access_key_id: "CAROL".into(), secret_access_key: "rotated".into() }).expect("valid");
    assert_eq!(code(&send(&s, &carol, Method::GET, "/", &[], b"").await), "SignatureDoesNotMatch");
    let rotated = Signer::new("CAROL", "rotated");
    assert_eq!(send(&s, &rotated, Method::HEAD, "/carol", &[], b"").await.status, StatusCode::OK);
    assert!(credentials.remove("CAROL"));
    assert_eq!(code(&send(&s, &rotated, Method::GET, "/", &[], b"").await), "InvalidAccessKeyId");
    s.stop().await;
}
