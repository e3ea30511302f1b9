//! Parsing the SigV4 `Authorization` header and the credential scope it
//! carries, with the error codes and messages S3 answers for each defect.
//!
//! ```text
//! AWS4-HMAC-SHA256 Credential=AKIA…/20130524/us-east-1/s3/aws4_request,
//!     SignedHeaders=host;range;x-amz-date, Signature=fe5f80f7…
//! ```

use super::sigv4::ALGORITHM;
use crate::error::{S3Error, S3Result};

/// Most characters of a client value echoed back in an error field: enough to
/// recognise it, bounded so a hostile 100 KiB header is not reflected whole.
pub const MAX_ECHO: usize = 256;

/// The message S3 answers for SigV2 and other signing algorithms it refuses.
pub const UNSUPPORTED_MECHANISM: &str =
    "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.";

/// Most names in `SignedHeaders`: far above what any client signs (the AWS
/// SDKs sign 5–15), low enough to bound the canonical request we build.
pub const MAX_SIGNED_HEADERS: usize = 128;

/// `<access key>/<YYYYMMDD>/<region>/<service>/aws4_request`, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialScope {
    /// The access key id.
    pub access_key: String,
    /// The scope date, `YYYYMMDD`.
    pub date: String,
    /// The region the client signed for.
    pub region: String,
    /// The service the client signed for (`s3`).
    pub service: String,
    /// The terminator (`aws4_request`).
    pub terminator: String,
}

impl CredentialScope {
    /// Splits a credential into its five `/`-separated parts; `None` unless
    /// there are exactly five and none is empty.
    pub fn parse(value: &str) -> Option<CredentialScope> {
        let parts: Vec<&str> = value.split('/').collect();
        match parts.as_slice() {
            [key, date, region, service, terminator] if parts.iter().all(|p| !p.is_empty()) => Some(CredentialScope {
                access_key: key.to_string(),
                date: date.to_string(),
                region: region.to_string(),
                service: service.to_string(),
                terminator: terminator.to_string(),
            }),
            _ => None,
        }
    }

    /// `date/region/service/terminator`: the scope line of the string to sign.
    pub fn scope(&self) -> String {
        format!("{}/{}/{}/{}", self.date, self.region, self.service, self.terminator)
    }
}

/// A parsed `AWS4-HMAC-SHA256` Authorization header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationHeader {
    /// The `Credential=` component.
    pub credential: CredentialScope,
    /// The `SignedHeaders=` names, in the order given.
    pub signed_headers: Vec<String>,
    /// The `Signature=` value, as sent.
    pub signature: String,
}

/// `AuthorizationHeaderMalformed` (400) with S3's message prefix.
pub fn malformed(detail: impl std::fmt::Display) -> S3Error {
    S3Error::authorization_header_malformed(format!("The authorization header is malformed; {detail}"))
}

/// The text S3 uses for a credential that does not have five parts.
pub const CREDENTIAL_FORMAT: &str =
    "the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".";

/// `s` cut to [`MAX_ECHO`] characters for an error field.
pub fn echo(s: &str) -> String {
    match s.char_indices().nth(MAX_ECHO) {
        Some((cut, _)) => format!("{}...", &s[..cut]),
        None => s.to_string(),
    }
}

/// Parses an Authorization header value. SigV2 (`AWS key:sig`) and SigV4a are
/// answered with S3's "use AWS4-HMAC-SHA256" InvalidRequest; unknown schemes
/// with InvalidArgument "Unsupported Authorization Type".
pub fn parse_authorization(raw: &[u8]) -> S3Result<AuthorizationHeader> {
    let text = String::from_utf8_lossy(raw);
    let value = text.trim_matches([' ', '\t']);
    let unsupported_type = || {
        S3Error::invalid_argument("Unsupported Authorization Type")
            .with_field("ArgumentName", "Authorization")
            .with_field("ArgumentValue", echo(value))
    };
    let (scheme, rest) = value.split_once([' ', '\t']).unwrap_or((value, ""));
    if scheme != ALGORITHM {
        return Err(match scheme {
            "AWS" | "AWS4-ECDSA-P256-SHA256" | "AWS4-HMAC-SHA1" | "AWS4-HMAC-SHA512" => {
                S3Error::invalid_request(UNSUPPORTED_MECHANISM)
            }
            _ => unsupported_type(),
        });
    }
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for component in rest.split(',').map(|c| c.trim_matches([' ', '\t'])).filter(|c| !c.is_empty()) {
        let Some((name, value)) = component.split_once('=') else {
            return Err(malformed(format!("the authorization component \"{}\" is malformed.", echo(component))));
        };
        let slot = match name.trim_matches([' ', '\t']) {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => return Err(malformed(format!("the authorization component \"{}\" is malformed.", echo(component)))),
        };
        if slot.is_some() {
            return Err(malformed(format!("the authorization component \"{}\" is given twice.", echo(name))));
        }
        *slot = Some(value.trim_matches([' ', '\t']));
    }
    let (Some(credential), Some(signed_headers), Some(signature)) = (credential, signed_headers, signature) else {
        return Err(malformed(
            "the authorization header requires three components: Credential, SignedHeaders, and Signature.",
        ));
    };
    let credential = CredentialScope::parse(credential).ok_or_else(|| malformed(CREDENTIAL_FORMAT))?;
    let signed_headers = parse_signed_headers(signed_headers).ok_or_else(|| {
        malformed(format!(
            "the SignedHeaders component \"{}\" must be a ';'-separated list of lowercase header names.",
            echo(signed_headers)
        ))
    })?;
    Ok(AuthorizationHeader { credential, signed_headers, signature: signature.to_string() })
}

/// Splits `host;range;x-amz-date`; `None` if empty, too long, or a name is
/// not a lowercase HTTP token.
pub fn parse_signed_headers(value: &str) -> Option<Vec<String>> {
    let names: Vec<String> = value.split(';').map(str::to_string).collect();
    let valid = |n: &String| {
        !n.is_empty()
            && n.bytes().all(|b| {
                (b.is_ascii_graphic() && !b.is_ascii_uppercase()) && !b"\"(),/:;<=>?@[\\]{}".contains(&b)
            })
    };
    (names.len() <= MAX_SIGNED_HEADERS && names.iter().all(valid)).then_some(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DOC_HEADER: &str = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";

    #[test]
    fn the_documented_header_parses() {
        let h = parse_authorization(DOC_HEADER.as_bytes()).unwrap();
        assert_eq!(h.credential.access_key, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(h.credential.scope(), "20130524/us-east-1/s3/aws4_request");
        assert_eq!(h.signed_headers, ["host", "range", "x-amz-content-sha256", "x-amz-date"]);
        assert_eq!(h.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
        // Spaces after commas, as the JS SDK writes it.
        let spaced = DOC_HEADER.replace(",S", ", S");
        assert_eq!(parse_authorization(spaced.as_bytes()).unwrap(), h);
    }

    #[test]
    fn sigv2_and_other_schemes_get_s3_errors() {
        let e = parse_authorization(b"AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=").unwrap_err();
        assert_eq!((e.code, e.message.as_str()), ("InvalidRequest", UNSUPPORTED_MECHANISM));
        let e = parse_authorization(b"Bearer abc").unwrap_err();
        assert_eq!((e.code, e.message.as_str()), ("InvalidArgument", "Unsupported Authorization Type"));
        assert_eq!(e.fields[1], ("ArgumentValue", "Bearer abc".to_string()));
    }

    #[test]
    fn missing_or_unknown_components_are_malformed() {
        for bad in [
            "AWS4-HMAC-SHA256",
            "AWS4-HMAC-SHA256 Credential=a/b/c/s3/aws4_request, Signature=00",
            "AWS4-HMAC-SHA256 Credential=a/b/c/s3/aws4_request, SignedHeaders=host, Signature=00, Foo=1",
            "AWS4-HMAC-SHA256 Credential=a/b/c/s3/aws4_request, SignedHeaders=host, Signature=00, Signature=00",
            "AWS4-HMAC-SHA256 Credential=a/b/s3/aws4_request, SignedHeaders=host, Signature=00",
            "AWS4-HMAC-SHA256 Credential=a//c/s3/aws4_request, SignedHeaders=host, Signature=00",
            "AWS4-HMAC-SHA256 Credential=a/b/c/s3/aws4_request, SignedHeaders=Host, Signature=00",
            "AWS4-HMAC-SHA256 Credential=a/b/c/s3/aws4_request, SignedHeaders=host;;x, Signature=00",
            "AWS4-HMAC-SHA256 Credential=a/b/c/s3/aws4_request, SignedHeaders, Signature=00",
        ] {
            let e = parse_authorization(bad.as_bytes()).unwrap_err();
            assert_eq!(e.code, "AuthorizationHeaderMalformed", "{bad}: {e}");
            assert_eq!(e.status, http::StatusCode::BAD_REQUEST);
            assert!(e.message.starts_with("The authorization header is malformed; "), "{e}");
        }
    }

    #[test]
    fn echoed_values_are_bounded() {
        let huge = format!("Bearer {}", "x".repeat(10_000));
        let e = parse_authorization(huge.as_bytes()).unwrap_err();
        assert!(e.fields[1].1.len() <= MAX_ECHO + 3);
    }

    proptest! {
        #[test]
        fn the_header_parser_never_panics(raw in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse_authorization(&raw);
        }

        #[test]
        fn near_valid_headers_never_panic(
            parts in proptest::collection::vec("(Credential|SignedHeaders|Signature|X)?=?[a-zA-Z0-9/;=, \t\u{e9}-]{0,40}", 0..6)
        ) {
            let raw = format!("AWS4-HMAC-SHA256 {}", parts.join(","));
            match parse_authorization(raw.as_bytes()) {
                Ok(h) => prop_assert!(!h.signed_headers.is_empty()),
                Err(e) => prop_assert!(e.status.is_client_error()),
            }
        }
    }
}
