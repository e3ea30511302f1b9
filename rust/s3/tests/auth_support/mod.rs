//! A small SigV4 *client* for the auth integration tests, written from the AWS
//! documentation independently of the server's verifier (it shares no code
//! with `smartstorage_s3::auth`): it signs the path exactly as it is sent, like
//! the AWS SDKs do, and builds presigned URLs and signed aws-chunked bodies.
#![allow(dead_code)]

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use smartstorage_s3::{AuthConfig, Credential, ServerConfig};
use time::OffsetDateTime;

/// The region the test servers run in.
pub const REGION: &str = "us-east-1";
/// SHA-256 of nothing.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// A server config with auth on and these `(key, secret)` credentials.
pub fn auth_config(credentials: &[(&str, &str)]) -> ServerConfig {
    ServerConfig {
        auth: AuthConfig {
            enabled: true,
            credentials: credentials
                .iter()
                .map(|(k, s)| Credential {
                    access_key_id: k.to_string(),
                    secret_access_key: s.to_string(),
                })
                .collect(),
        },
        ..ServerConfig::default()
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// AWS encoding of a query component (everything but `A-Za-z0-9-._~`).
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `20130524T000000Z` and `20130524`.
pub fn amz_dates(t: OffsetDateTime) -> (String, String) {
    let long = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let short = long[..8].to_string();
    (long, short)
}

/// One credential signing requests.
#[derive(Clone)]
pub struct Signer {
    pub access_key: String,
    pub secret: String,
    pub region: String,
}

impl Signer {
    pub fn new(access_key: &str, secret: &str) -> Self {
        Signer {
            access_key: access_key.into(),
            secret: secret.into(),
            region: REGION.into(),
        }
    }

    fn key(&self, short: &str) -> Vec<u8> {
        let k = hmac(format!("AWS4{}", self.secret).as_bytes(), short.as_bytes());
        let k = hmac(&k, self.region.as_bytes());
        let k = hmac(&k, b"s3");
        hmac(&k, b"aws4_request")
    }

    fn scope(&self, short: &str) -> String {
        format!("{short}/{}/s3/aws4_request", self.region)
    }

    fn signature(&self, short: &str, string_to_sign: &str) -> String {
        hex::encode(hmac(&self.key(short), string_to_sign.as_bytes()))
    }

    /// Canonical query from `(decoded name, decoded value)` pairs.
    fn canonical_query(pairs: &[(String, String)]) -> String {
        let mut encoded: Vec<(String, String)> =
            pairs.iter().map(|(k, v)| (encode(k), encode(v))).collect();
        encoded.sort();
        encoded
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    }

    fn canonical_request(
        method: &str,
        path: &str,
        query: &str,
        headers: &[(String, String)],
        payload: &str,
    ) -> (String, String) {
        let mut sorted: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| {
                (
                    k.to_ascii_lowercase(),
                    v.split_whitespace().collect::<Vec<_>>().join(" "),
                )
            })
            .collect();
        sorted.sort();
        let lines: String = sorted.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
        let signed = sorted
            .iter()
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>()
            .join(";");
        (
            format!("{method}\n{path}\n{query}\n{lines}\n{signed}\n{payload}"),
            signed,
        )
    }

    /// Adds `x-amz-date`, `x-amz-content-sha256` and `authorization` to
    /// `headers` (which must include `host`), signing all of them. `path` is
    /// the encoded path as sent; `query` decoded pairs. Returns the signature.
    pub fn sign(
        &self,
        method: &str,
        path: &str,
        query: &[(String, String)],
        headers: &mut Vec<(String, String)>,
        payload_hash: &str,
        t: OffsetDateTime,
    ) -> String {
        let (long, short) = amz_dates(t);
        headers.push(("x-amz-date".into(), long.clone()));
        headers.push(("x-amz-content-sha256".into(), payload_hash.into()));
        let (creq, signed) = Self::canonical_request(
            method,
            path,
            &Self::canonical_query(query),
            headers,
            payload_hash,
        );
        let sts = format!(
            "AWS4-HMAC-SHA256\n{long}\n{}\n{}",
            self.scope(&short),
            sha256_hex(creq.as_bytes())
        );
        let signature = self.signature(&short, &sts);
        headers.push((
            "authorization".into(),
            format!(
                "AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={signed}, Signature={signature}",
                self.access_key,
                self.scope(&short)
            ),
        ));
        signature
    }

    /// A presigned `path?query` (only `host` signed, UNSIGNED-PAYLOAD).
    pub fn presign(
        &self,
        method: &str,
        path: &str,
        host: &str,
        expires: i64,
        t: OffsetDateTime,
    ) -> String {
        let (long, short) = amz_dates(t);
        let mut query = vec![
            (
                "X-Amz-Algorithm".to_string(),
                "AWS4-HMAC-SHA256".to_string(),
            ),
            (
                "X-Amz-Credential".to_string(),
                format!("{}/{}", self.access_key, self.scope(&short)),
            ),
            ("X-Amz-Date".to_string(), long.clone()),
            ("X-Amz-Expires".to_string(), expires.to_string()),
            ("X-Amz-SignedHeaders".to_string(), "host".to_string()),
        ];
        let canonical_query = Self::canonical_query(&query);
        let (creq, _) = Self::canonical_request(
            method,
            path,
            &canonical_query,
            &[("host".into(), host.into())],
            "UNSIGNED-PAYLOAD",
        );
        let sts = format!(
            "AWS4-HMAC-SHA256\n{long}\n{}\n{}",
            self.scope(&short),
            sha256_hex(creq.as_bytes())
        );
        query.push(("X-Amz-Signature".to_string(), self.signature(&short, &sts)));
        format!(
            "{path}?{}",
            query
                .iter()
                .map(|(k, v)| format!("{k}={}", encode(v)))
                .collect::<Vec<_>>()
                .join("&")
        )
    }

    /// A signed aws-chunked body: each chunk's signature chained from `seed`,
    /// then the final empty chunk, then (with `trailer`) the trailer and its signature.
    pub fn chunked_body(
        &self,
        seed: &str,
        t: OffsetDateTime,
        chunks: &[&[u8]],
        trailer: Option<(&str, &str)>,
    ) -> Vec<u8> {
        let (long, short) = amz_dates(t);
        let scope = self.scope(&short);
        let mut previous = seed.to_string();
        let mut body = Vec::new();
        for data in chunks.iter().copied().chain(std::iter::once(&[][..])) {
            let sts = format!(
                "AWS4-HMAC-SHA256-PAYLOAD\n{long}\n{scope}\n{previous}\n{EMPTY_SHA256}\n{}",
                sha256_hex(data)
            );
            previous = self.signature(&short, &sts);
            body.extend_from_slice(
                format!("{:x};chunk-signature={previous}\r\n", data.len()).as_bytes(),
            );
            body.extend_from_slice(data);
            if !data.is_empty() {
                body.extend_from_slice(b"\r\n");
            }
        }
        match trailer {
            Some((name, value)) => {
                let line = format!("{name}:{value}\n");
                let sts = format!(
                    "AWS4-HMAC-SHA256-TRAILER\n{long}\n{scope}\n{previous}\n{}",
                    sha256_hex(line.as_bytes())
                );
                let signature = self.signature(&short, &sts);
                body.extend_from_slice(
                    format!("{name}:{value}\r\nx-amz-trailer-signature:{signature}\r\n\r\n")
                        .as_bytes(),
                );
            }
            None => body.extend_from_slice(b"\r\n"),
        }
        body
    }
}

/// Header pairs as `&str` tuples for `TestServer::request`.
pub fn as_refs(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}
