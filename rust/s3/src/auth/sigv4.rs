//! SigV4 building blocks, exactly as S3 computes them: AWS URI encoding, the
//! canonical URI / query / headers, the canonical request, the string to sign
//! (request, chunk and trailer flavours), signing-key derivation and HMACs.
//!
//! Everything here is pure and allocation-light; the flow that uses it (which
//! header, which errors) lives in [`super::verify`].

use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use sha2::{Digest, Sha256};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// The only signing algorithm S3 accepts from us (SigV4 with HMAC-SHA256).
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Algorithm line of a chunk's string to sign (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD*`).
pub const PAYLOAD_ALGORITHM: &str = "AWS4-HMAC-SHA256-PAYLOAD";
/// Algorithm line of the trailer's string to sign (`…-PAYLOAD-TRAILER`).
pub const TRAILER_ALGORITHM: &str = "AWS4-HMAC-SHA256-TRAILER";
/// Last element of every credential scope.
pub const TERMINATOR: &str = "aws4_request";
/// The service name S3 signatures are scoped to.
pub const SERVICE: &str = "s3";
/// Payload hash of requests whose body is not signed (and of every presigned URL).
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// SHA-256 of the empty string: the "previous data" hash in every chunk string to sign.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// A derived signing key (`HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request")`).
pub type SigningKey = [u8; 32];

/// HMAC-SHA256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length; new_from_slice cannot fail for it.
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Lowercase hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Derives the signing key for `date` (`YYYYMMDD`), `region` and `service`.
pub fn derive_signing_key(secret: &str, date: &str, region: &str, service: &str) -> SigningKey {
    let mut key = Vec::with_capacity(4 + secret.len());
    key.extend_from_slice(b"AWS4");
    key.extend_from_slice(secret.as_bytes());
    let k_date = hmac_sha256(&key, date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, TERMINATOR.as_bytes())
}

/// The hex signature of `string_to_sign` under `key`.
pub fn sign(key: &SigningKey, string_to_sign: &[u8]) -> String {
    hex::encode(hmac_sha256(key, string_to_sign))
}

/// Appends `bytes` AWS-URI-encoded: every byte except the unreserved
/// `A-Z a-z 0-9 - . _ ~` becomes `%XX` (uppercase hex); `/` is kept when
/// `keep_slash` (paths) and encoded otherwise (query components).
pub fn uri_encode(out: &mut String, bytes: &[u8], keep_slash: bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
}

/// Percent-decodes to bytes; a `%` not followed by two hex digits stays literal.
fn percent_decode(s: &str) -> Vec<u8> {
    percent_encoding::percent_decode_str(s).collect()
}

/// The canonical URI S3 computes: the path decoded, then re-encoded with the
/// AWS rules (`/` kept, no `.`/`..`/`//` normalisation: S3 keys may contain
/// them). So `%2f` vs `%2F`, or `~` vs `%7E`, do not matter.
pub fn canonical_uri(raw_path: &str) -> String {
    if raw_path.is_empty() {
        return "/".to_string();
    }
    let mut out = String::with_capacity(raw_path.len() + 8);
    uri_encode(&mut out, &percent_decode(raw_path), true);
    out
}

/// The canonical query string: each `name=value` pair decoded (`+` is a
/// space, as the router reads it) and re-encoded with the AWS rules, sorted by
/// name then value, joined with `&`; a name without `=` gets an empty value.
/// `skip` drops parameters by exact decoded name (`X-Amz-Signature` of presigned URLs).
pub fn canonical_query(raw_query: Option<&str>, skip: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for part in raw_query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        let name = percent_decode(&name.replace('+', " "));
        if skip.is_some_and(|s| s.as_bytes() == name.as_slice()) {
            continue;
        }
        let value = percent_decode(&value.replace('+', " "));
        let (mut n, mut v) = (String::new(), String::new());
        uri_encode(&mut n, &name, false);
        uri_encode(&mut v, &value, false);
        pairs.push((n, v));
    }
    pairs.sort();
    let mut out = String::new();
    for (i, (n, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(n);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// The canonical value of header `name`: each value trimmed of spaces and
/// tabs with inner runs collapsed to one space, several values joined with
/// `,`. Raw bytes are kept (non-ASCII values are hashed as sent). `None` when
/// the header is absent.
pub fn canonical_header_value(headers: &HeaderMap, name: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut any = false;
    for value in headers.get_all(name) {
        if any {
            out.push(b',');
        }
        any = true;
        let mut pending_space = false;
        let mut started = false;
        for &b in value.as_bytes() {
            if b == b' ' || b == b'\t' {
                pending_space = started;
                continue;
            }
            if pending_space {
                out.push(b' ');
            }
            pending_space = false;
            started = true;
            out.push(b);
        }
    }
    any.then_some(out)
}

/// The canonical request, as bytes (header values may be non-UTF-8):
///
/// ```text
/// METHOD\nURI\nQUERY\nname:value\n…\n\nsigned;headers\nPAYLOAD-HASH
/// ```
///
/// `headers` are the signed headers in `signed_headers` order with their
/// canonical values (a missing header contributes an empty value).
pub fn canonical_request(
    method: &str,
    uri: &str,
    query: &str,
    headers: &[(&str, Vec<u8>)],
    payload_hash: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    for part in [method, uri, query] {
        out.extend_from_slice(part.as_bytes());
        out.push(b'\n');
    }
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        out.extend_from_slice(value);
        out.push(b'\n');
    }
    out.push(b'\n');
    for (i, (name, _)) in headers.iter().enumerate() {
        if i > 0 {
            out.push(b';');
        }
        out.extend_from_slice(name.as_bytes());
    }
    out.push(b'\n');
    out.extend_from_slice(payload_hash.as_bytes());
    out
}

/// `AWS4-HMAC-SHA256\n<timestamp>\n<scope>\n<hex sha256 of canonical request>`.
pub fn string_to_sign(timestamp: &str, scope: &str, canonical_request: &[u8]) -> String {
    format!("{ALGORITHM}\n{timestamp}\n{scope}\n{}", sha256_hex(canonical_request))
}

/// The string to sign of one aws-chunked chunk, chained to `previous_signature`.
pub fn chunk_string_to_sign(timestamp: &str, scope: &str, previous_signature: &str, chunk_sha256_hex: &str) -> String {
    format!("{PAYLOAD_ALGORITHM}\n{timestamp}\n{scope}\n{previous_signature}\n{EMPTY_SHA256}\n{chunk_sha256_hex}")
}

/// The string to sign of the trailer section (`name:value\n` per trailer, hashed).
pub fn trailer_string_to_sign(timestamp: &str, scope: &str, previous_signature: &str, trailers_sha256_hex: &str) -> String {
    format!("{TRAILER_ALGORITHM}\n{timestamp}\n{scope}\n{previous_signature}\n{trailers_sha256_hex}")
}

/// A request timestamp, as SigV4 writes it (`20130524T000000Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmzDate(pub OffsetDateTime);

impl AmzDate {
    /// Parses the ISO 8601 basic format `YYYYMMDD'T'HHMMSS'Z'`; `None` if malformed.
    pub fn parse(s: &str) -> Option<AmzDate> {
        let b = s.as_bytes();
        if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
            return None;
        }
        let digits = |range: std::ops::Range<usize>| -> Option<u32> {
            let part = s.get(range)?;
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        let year = i32::try_from(digits(0..4)?).ok()?;
        let month = Month::try_from(u8::try_from(digits(4..6)?).ok()?).ok()?;
        let day = u8::try_from(digits(6..8)?).ok()?;
        let date = Date::from_calendar_date(year, month, day).ok()?;
        let (h, m, sec) = (digits(9..11)?, digits(11..13)?, digits(13..15)?);
        let time = Time::from_hms(u8::try_from(h).ok()?, u8::try_from(m).ok()?, u8::try_from(sec).ok()?).ok()?;
        Some(AmzDate(PrimitiveDateTime::new(date, time).assume_utc()))
    }

    /// Parses an HTTP `Date` header (RFC 7231 formats).
    pub fn from_http_date(s: &str) -> Option<AmzDate> {
        let t = httpdate::parse_http_date(s).ok()?;
        Some(AmzDate(OffsetDateTime::from(t)))
    }

    /// `20130524T000000Z`.
    pub fn long(&self) -> String {
        let t = self.0;
        format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }

    /// `20130524`: the credential-scope date.
    pub fn short(&self) -> String {
        self.long()[..8].to_string()
    }
}

/// `2013-05-24T00:00:00Z`: how S3 writes times in error fields (`ServerTime`, `Expires`).
pub fn iso8601(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Bytes as AWS shows them in `StringToSignBytes` / `CanonicalRequestBytes`:
/// two lowercase hex digits per byte, separated by spaces.
pub fn spaced_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&format!("{b:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_encoding_keeps_unreserved_and_optionally_slash() {
        let mut s = String::new();
        uri_encode(&mut s, "a-b_c.d~e/f g+h$é*".as_bytes(), true);
        assert_eq!(s, "a-b_c.d~e/f%20g%2Bh%24%C3%A9%2A");
        let mut s = String::new();
        uri_encode(&mut s, b"a/b", false);
        assert_eq!(s, "a%2Fb");
    }

    #[test]
    fn canonical_uri_normalises_the_encoding_but_not_the_path() {
        assert_eq!(canonical_uri("/test$file.text"), "/test%24file.text");
        assert_eq!(canonical_uri("/b/a%2fb/%7e/./../x//"), "/b/a/b/~/./../x//");
        assert_eq!(canonical_uri("/b/caf%c3%a9"), "/b/caf%C3%A9");
        assert_eq!(canonical_uri(""), "/");
    }

    #[test]
    fn canonical_query_sorts_and_encodes() {
        assert_eq!(canonical_query(Some("prefix=J&max-keys=2"), None), "max-keys=2&prefix=J");
        assert_eq!(canonical_query(Some("lifecycle"), None), "lifecycle=");
        assert_eq!(canonical_query(Some("b=2&a=z&a=y&c=a+b%2Bc%2f"), None), "a=y&a=z&b=2&c=a%20b%2Bc%2F");
        assert_eq!(canonical_query(Some("X-Amz-Signature=x&a=1"), Some("X-Amz-Signature")), "a=1");
        assert_eq!(canonical_query(None, None), "");
    }

    #[test]
    fn header_values_are_trimmed_folded_and_joined() {
        let mut h = HeaderMap::new();
        h.append("x-a", "  a   b \t c  ".parse().unwrap());
        h.append("x-b", "v1".parse().unwrap());
        h.append("x-b", "  v2  ".parse().unwrap());
        assert_eq!(canonical_header_value(&h, "x-a").unwrap(), b"a b c");
        assert_eq!(canonical_header_value(&h, "x-b").unwrap(), b"v1,v2");
        assert_eq!(canonical_header_value(&h, "x-c"), None);
    }

    #[test]
    fn amz_dates_parse_strictly() {
        let d = AmzDate::parse("20130524T000000Z").unwrap();
        assert_eq!(d.long(), "20130524T000000Z");
        assert_eq!(d.short(), "20130524");
        for bad in ["20130524T000000", "2013052XT000000Z", "20131324T000000Z", "20130524T250000Z", "+0130524T000000Z", "２0130524T00000Z"] {
            assert_eq!(AmzDate::parse(bad), None, "{bad}");
        }
        let d = AmzDate::from_http_date("Fri, 24 May 2013 00:00:00 GMT").unwrap();
        assert_eq!(d.long(), "20130524T000000Z");
        assert_eq!(iso8601(d.0), "2013-05-24T00:00:00Z");
    }

    #[test]
    fn spaced_hex_matches_aws_format() {
        assert_eq!(spaced_hex(b"AWS4\n"), "41 57 53 34 0a");
    }
}
