//! Presigned URLs (SigV4 query-string authentication): parsing the
//! `X-Amz-*` parameters and the validity window, with S3's
//! AuthorizationQueryParametersError / AccessDenied answers.

use super::header::{CREDENTIAL_FORMAT, CredentialScope, echo, parse_signed_headers};
use super::sigv4::{ALGORITHM, AmzDate, iso8601};
use crate::error::{S3Error, S3Result};
use crate::router::Query;
use time::{Duration, OffsetDateTime};

/// Longest validity of a presigned URL: 7 days, S3's limit for SigV4.
pub const MAX_EXPIRES_SECS: i64 = 604_800;

/// The query parameter carrying the signature (left out of the canonical query).
pub const SIGNATURE_PARAM: &str = "X-Amz-Signature";

/// Parameters whose presence makes a request a SigV4 presigned one.
const MARKERS: [&str; 3] = ["X-Amz-Algorithm", "X-Amz-Credential", SIGNATURE_PARAM];

/// The parsed `X-Amz-*` parameters of a presigned URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedParams {
    /// `X-Amz-Credential`.
    pub credential: CredentialScope,
    /// `X-Amz-Date`.
    pub date: AmzDate,
    /// `X-Amz-Date` exactly as sent (the timestamp line of the string to sign).
    pub date_text: String,
    /// `X-Amz-Expires`, in seconds (1..=604800).
    pub expires: i64,
    /// `X-Amz-SignedHeaders`.
    pub signed_headers: Vec<String>,
    /// `X-Amz-Signature`.
    pub signature: String,
    /// `X-Amz-Security-Token`, if sent.
    pub security_token: Option<String>,
}

/// Whether the query carries SigV4 query-string authentication.
pub fn is_presigned_v4(query: &Query) -> bool {
    MARKERS.iter().any(|m| query.has(m))
}

/// Whether the query carries SigV2 query-string authentication (refused).
pub fn is_presigned_v2(query: &Query) -> bool {
    query.has("AWSAccessKeyId") && query.has("Signature")
}

/// `AuthorizationQueryParametersError` (400).
pub fn query_error(message: impl Into<String>) -> S3Error {
    S3Error::authorization_query_parameters_error(message)
}

/// Parses the presigned parameters (not the signature's validity).
pub fn parse_presigned(query: &Query) -> S3Result<PresignedParams> {
    let get = |name: &str| query.get(name);
    let (Some(algorithm), Some(credential), Some(signature), Some(date), Some(signed_headers), Some(expires)) = (
        get("X-Amz-Algorithm"),
        get("X-Amz-Credential"),
        get(SIGNATURE_PARAM),
        get("X-Amz-Date"),
        get("X-Amz-SignedHeaders"),
        get("X-Amz-Expires"),
    ) else {
        return Err(query_error(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
        ));
    };
    if algorithm != ALGORITHM {
        return Err(query_error(format!("X-Amz-Algorithm only supports \"{ALGORITHM}\" (got \"{}\")", echo(algorithm))));
    }
    let credential = CredentialScope::parse(credential)
        .ok_or_else(|| query_error(format!("Error parsing the X-Amz-Credential parameter; {CREDENTIAL_FORMAT}")))?;
    let parsed_date = AmzDate::parse(date)
        .ok_or_else(|| query_error("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""))?;
    let expires = parse_expires(expires)?;
    let signed_headers = parse_signed_headers(signed_headers).ok_or_else(|| {
        query_error(format!(
            "X-Amz-SignedHeaders \"{}\" must be a ';'-separated list of lowercase header names",
            echo(signed_headers)
        ))
    })?;
    Ok(PresignedParams {
        credential,
        date: parsed_date,
        date_text: date.to_string(),
        expires,
        signed_headers,
        signature: signature.to_string(),
        security_token: get("X-Amz-Security-Token").map(str::to_string),
    })
}

fn parse_expires(value: &str) -> S3Result<i64> {
    let n: i64 = value.trim().parse().map_err(|_| query_error("X-Amz-Expires should be a number"))?;
    if n < 0 {
        return Err(query_error("X-Amz-Expires must be non-negative"));
    }
    if n == 0 {
        return Err(query_error("X-Amz-Expires must be at least 1 second"));
    }
    if n > MAX_EXPIRES_SECS {
        return Err(query_error(format!(
            "X-Amz-Expires must be less than a week (in seconds) that is {MAX_EXPIRES_SECS}"
        )));
    }
    Ok(n)
}

/// Checks the validity window: AccessDenied "Request is not valid yet" before
/// `X-Amz-Date` (beyond the allowed clock skew), "Request has expired" after
/// `X-Amz-Date + X-Amz-Expires`, with the fields S3 adds.
pub fn check_window(params: &PresignedParams, now: OffsetDateTime, max_skew: Duration) -> S3Result<()> {
    let start = params.date.0;
    // Checked: dates near year 9999 must not overflow into a panic.
    if start.checked_sub(max_skew).is_some_and(|earliest| earliest > now) {
        return Err(S3Error::access_denied("Request is not valid yet")
            .with_field("X-Amz-Date", params.date_text.clone())
            .with_field("ServerTime", iso8601(now)));
    }
    let Some(end) = start.checked_add(Duration::seconds(params.expires)) else {
        return Ok(());
    };
    if now > end {
        return Err(S3Error::access_denied("Request has expired")
            .with_field("X-Amz-Expires", params.expires.to_string())
            .with_field("Expires", iso8601(end))
            .with_field("ServerTime", iso8601(now)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DOC_QUERY: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

    fn q(s: &str) -> Query {
        Query::parse(Some(s)).unwrap()
    }

    fn at(s: &str) -> OffsetDateTime {
        AmzDate::parse(s).unwrap().0
    }

    #[test]
    fn the_documented_presigned_url_parses() {
        let query = q(DOC_QUERY);
        assert!(is_presigned_v4(&query));
        let p = parse_presigned(&query).unwrap();
        assert_eq!(p.credential.access_key, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(p.credential.scope(), "20130524/us-east-1/s3/aws4_request");
        assert_eq!(p.expires, 86400);
        assert_eq!(p.signed_headers, ["host"]);
        assert_eq!(p.security_token, None);
    }

    #[test]
    fn the_validity_window_is_enforced_with_aws_fields() {
        let p = parse_presigned(&q(DOC_QUERY)).unwrap();
        let skew = Duration::minutes(15);
        assert!(check_window(&p, at("20130524T000000Z"), skew).is_ok());
        assert!(check_window(&p, at("20130525T000000Z"), skew).is_ok());
        let e = check_window(&p, at("20130525T000001Z"), skew).unwrap_err();
        assert_eq!((e.code, e.message.as_str()), ("AccessDenied", "Request has expired"));
        assert_eq!(e.fields[0], ("X-Amz-Expires", "86400".to_string()));
        assert_eq!(e.fields[1], ("Expires", "2013-05-25T00:00:00Z".to_string()));
        assert_eq!(e.fields[2], ("ServerTime", "2013-05-25T00:00:01Z".to_string()));
        assert!(check_window(&p, at("20130523T235000Z"), skew).is_ok(), "within the skew");
        let e = check_window(&p, at("20130523T230000Z"), skew).unwrap_err();
        assert_eq!(e.message, "Request is not valid yet");
    }

    #[test]
    fn bad_parameters_get_query_parameter_errors() {
        let cases = [
            (DOC_QUERY.replace("&X-Amz-Expires=86400", ""), "requires the X-Amz-Algorithm"),
            (DOC_QUERY.replace("86400", "604801"), "less than a week"),
            (DOC_QUERY.replace("86400", "-1"), "non-negative"),
            (DOC_QUERY.replace("86400", "0"), "at least 1"),
            (DOC_QUERY.replace("86400", "1e3"), "should be a number"),
            (DOC_QUERY.replace("AWS4-HMAC-SHA256&", "AWS4-HMAC-SHA1&"), "only supports"),
            (DOC_QUERY.replace("%2Fus-east-1", ""), "Credential is mal-formed"),
            (DOC_QUERY.replace("20130524T000000Z", "2013-05-24T00:00:00Z"), "ISO8601"),
            (DOC_QUERY.replace("SignedHeaders=host", "SignedHeaders=Host"), "X-Amz-SignedHeaders"),
        ];
        for (query, want) in cases {
            let e = parse_presigned(&q(&query)).unwrap_err();
            assert_eq!(e.code, "AuthorizationQueryParametersError", "{query}");
            assert!(e.message.contains(want), "{}: {want}", e.message);
        }
        assert!(parse_presigned(&q(&DOC_QUERY.replace("86400", "604800"))).is_ok());
    }

    #[test]
    fn sigv2_query_auth_is_recognised() {
        assert!(is_presigned_v2(&q("AWSAccessKeyId=A&Expires=1&Signature=x")));
        assert!(!is_presigned_v4(&q("AWSAccessKeyId=A&Expires=1&Signature=x")));
        assert!(!is_presigned_v2(&q("prefix=a")));
    }

    proptest! {
        #[test]
        fn presigned_parsing_never_panics(
            values in proptest::collection::vec("[ -~\u{e9}]{0,30}", 6),
        ) {
            let names = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Expires"];
            let query = Query(names.iter().zip(&values).map(|(n, v)| (n.to_string(), v.clone())).collect());
            if let Ok(p) = parse_presigned(&query) {
                let _ = check_window(&p, OffsetDateTime::now_utc(), Duration::minutes(15));
            }
        }
    }
}
