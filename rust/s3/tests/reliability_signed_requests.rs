//! Signed-request fuzzing with auth on: random requests correctly signed by an
//! independent SigV4 client (`auth_support`), then, most of the time, one
//! signed element mutated (a path byte, a signed header value, the date, the
//! body under a signed payload hash, a signature or scope character, the
//! access key, a query parameter). The unmutated request must succeed and store
//! exactly its bytes; every mutated one must be refused with an S3 4xx error
//! and leave nothing behind. `SMARTSTORAGE_SIGNED_CASES` sets the count
//! (default 300).

mod auth_support;
mod common;

use auth_support::{Signer, as_refs, auth_config, encode, sha256_hex};
use bytes::Bytes;
use common::{TestResponse, TestServer};
use http::{Method, StatusCode};
use time::OffsetDateTime;

const KEY: &str = "AKIDSIGNED1";
const SECRET: &str = "signed/secret+EXAMPLE";

/// SplitMix64, seeded per run (printed for replay).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mutation {
    None,
    PathByte,
    SignedHeaderValue,
    Date,
    BodyUnderSignedHash,
    SignatureChar,
    AccessKey,
    ScopeRegion,
    QueryParam,
    DropSignedHeader,
}

const MUTATIONS: [Mutation; 10] = [
    Mutation::None,
    Mutation::PathByte,
    Mutation::SignedHeaderValue,
    Mutation::Date,
    Mutation::BodyUnderSignedHash,
    Mutation::SignatureChar,
    Mutation::AccessKey,
    Mutation::ScopeRegion,
    Mutation::QueryParam,
    Mutation::DropSignedHeader,
];

fn code(resp: &TestResponse) -> String {
    let text = resp.text();
    text.split_once("<Code>")
        .and_then(|(_, r)| r.split_once("</Code>"))
        .map(|(c, _)| c.to_string())
        .unwrap_or_default()
}

fn set_header(headers: &mut [(String, String)], name: &str, f: impl FnOnce(&str) -> String) {
    if let Some(h) = headers.iter_mut().find(|(k, _)| k == name) {
        h.1 = f(&h.1);
    }
}

/// Changes one character of `s` at a position picked by `rng` (to another
/// character valid at that place: hex stays hex, digits stay digits).
fn alter_char(s: &str, rng: &mut Rng) -> String {
    let mut bytes = s.as_bytes().to_vec();
    if bytes.is_empty() {
        return "x".into();
    }
    let i = rng.below(bytes.len() as u64) as usize;
    bytes[i] = match bytes[i] {
        b'0'..=b'8' => bytes[i] + 1,
        b'9' => b'0',
        b'a'..=b'y' => bytes[i] + 1,
        b'z' => b'a',
        b'A'..=b'Y' => bytes[i] + 1,
        b'Z' => b'A',
        _ => b'x',
    };
    String::from_utf8_lossy(&bytes).into_owned()
}

#[tokio::test]
async fn only_exactly_signed_requests_are_accepted() {
    let cases: u64 = std::env::var("SMARTSTORAGE_SIGNED_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let seed: u64 = std::env::var("SMARTSTORAGE_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("[signed] seed {seed}");
    let mut rng = Rng(seed);
    let s = TestServer::start_with(auth_config(&[(KEY, SECRET)])).await;
    let me = Signer::new(KEY, SECRET);
    let host = format!("127.0.0.1:{}", s.port);
    // The bucket, correctly signed.
    let mut headers = vec![("host".to_string(), host.clone())];
    me.sign(
        "PUT",
        "/signed",
        &[],
        &mut headers,
        &sha256_hex(b""),
        OffsetDateTime::now_utc(),
    );
    assert_eq!(
        s.request(Method::PUT, "/signed", &as_refs(&headers), Bytes::new())
            .await
            .status,
        StatusCode::OK
    );

    let mut refused = std::collections::BTreeMap::<String, u64>::new();
    for case in 0..cases {
        let mutation = MUTATIONS[rng.below(MUTATIONS.len() as u64) as usize];
        let key = format!(
            "case{case}/{}",
            ["a b", "ü/x", "..%2f", "x+y", "tilde~", "q?", "a//b"][rng.below(7) as usize]
        );
        let path = format!(
            "/signed/{}",
            key.split('/').map(encode).collect::<Vec<_>>().join("/")
        );
        let body: Vec<u8> = (0..rng.below(2000))
            .map(|i| (i as u8).wrapping_mul(31))
            .collect();
        let unsigned_payload = rng.below(3) == 0;
        let payload_hash = if unsigned_payload {
            "UNSIGNED-PAYLOAD".to_string()
        } else {
            sha256_hex(&body)
        };
        let mut headers = vec![
            ("host".to_string(), host.clone()),
            ("content-type".to_string(), "text/plain".to_string()),
            ("x-amz-meta-case".to_string(), format!("{case}")),
        ];
        let mut query: Vec<(String, String)> = Vec::new();
        if mutation == Mutation::QueryParam {
            // Signed as a tagging-free PUT with a harmless parameter, sent with another value.
            query.push(("x-id".to_string(), "PutObject".to_string()));
        }
        me.sign(
            "PUT",
            &path,
            &query,
            &mut headers,
            &payload_hash,
            OffsetDateTime::now_utc(),
        );
        let mut sent_path = path.clone();
        let mut sent_body = body.clone();
        let mut sent_query = query
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        match mutation {
            Mutation::None => {}
            Mutation::PathByte => sent_path = format!("{path}x"),
            Mutation::SignedHeaderValue => {
                set_header(&mut headers, "content-type", |_| "text/html".into())
            }
            Mutation::Date => set_header(&mut headers, "x-amz-date", |d| {
                // One second later: well within the allowed skew, but signed.
                let mut b = d.as_bytes().to_vec();
                b[14] = if b[14] == b'9' { b'8' } else { b[14] + 1 };
                String::from_utf8(b).unwrap()
            }),
            Mutation::BodyUnderSignedHash => {
                if unsigned_payload {
                    // The body is not signed then: change a signed header instead.
                    set_header(&mut headers, "x-amz-meta-case", |v| format!("{v}0"));
                } else if sent_body.is_empty() {
                    sent_body.push(1);
                } else {
                    let i = rng.below(sent_body.len() as u64) as usize;
                    sent_body[i] ^= 0x20;
                }
            }
            Mutation::SignatureChar => set_header(&mut headers, "authorization", |a| {
                let (head, sig) = a.rsplit_once("Signature=").unwrap();
                format!("{head}Signature={}", alter_char(sig, &mut rng))
            }),
            Mutation::AccessKey => set_header(&mut headers, "authorization", |a| {
                a.replacen(KEY, "AKIDSIGNED2", 1)
            }),
            Mutation::ScopeRegion => set_header(&mut headers, "authorization", |a| {
                a.replacen("/us-east-1/", "/eu-west-1/", 1)
            }),
            Mutation::QueryParam => sent_query = "x-id=DeleteObject".to_string(),
            Mutation::DropSignedHeader => headers.retain(|(k, _)| k != "x-amz-meta-case"),
        }
        // S3 clients send Content-Length with an empty body too (the test
        // client adds it only for a non-empty one); without it S3 answers 411.
        if sent_body.is_empty() {
            headers.push(("content-length".to_string(), "0".to_string()));
        }
        let uri = if sent_query.is_empty() {
            sent_path.clone()
        } else {
            format!("{sent_path}?{sent_query}")
        };
        let resp = s
            .request(
                Method::PUT,
                &uri,
                &as_refs(&headers),
                Bytes::from(sent_body),
            )
            .await;
        // Read back with a correctly signed GET of the intended key.
        let mut get_headers = vec![("host".to_string(), host.clone())];
        me.sign(
            "GET",
            &path,
            &[],
            &mut get_headers,
            &sha256_hex(b""),
            OffsetDateTime::now_utc(),
        );
        let stored = s
            .request(Method::GET, &path, &as_refs(&get_headers), Bytes::new())
            .await;
        if mutation == Mutation::None {
            assert_eq!(
                resp.status,
                StatusCode::OK,
                "case {case}: a correctly signed PUT was refused: {}",
                resp.text()
            );
            assert_eq!(stored.status, StatusCode::OK, "case {case}");
            assert_eq!(
                stored.body.as_ref(),
                &body[..],
                "case {case}: stored bytes differ"
            );
        } else {
            assert!(
                resp.status.is_client_error() && resp.text().contains("<Error><Code>"),
                "case {case}: {mutation:?} was not refused: {} {}",
                resp.status,
                resp.text()
            );
            assert_eq!(
                stored.status,
                StatusCode::NOT_FOUND,
                "case {case}: {mutation:?} was refused but something was stored"
            );
            *refused
                .entry(format!("{mutation:?}→{}", code(&resp)))
                .or_default() += 1;
        }
    }
    eprintln!("[signed] {cases} signed requests; refusals by mutation: {refused:?}");
    s.stop().await;
}
