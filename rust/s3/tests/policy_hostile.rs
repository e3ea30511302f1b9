//! Hostile input to the policy and CORS parsers: random bytes, random JSON
//! shapes and single-byte mutations of a valid document always give a
//! result or an S3 error (MalformedPolicy / MalformedXML / InvalidRequest),
//! never a panic; and evaluation of whatever parses never panics either.

use proptest::prelude::*;
use serde_json::Value;
use smartstorage_s3::cors::parse_cors_xml;
use smartstorage_s3::policy::condition::RequestValues;
use smartstorage_s3::policy::eval::{EvalRequest, Target};
use smartstorage_s3::policy::parse::Policy;

const VALID: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::1:user/K"]},"Action":["s3:Get*"],"Resource":"arn:aws:s3:::b/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"StringLike":{"s3:prefix":["a*"]},"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}]}"#;

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        prop_oneof![
            Just("*".to_string()),
            Just("s3:GetObject".to_string()),
            Just("arn:aws:s3:::b/*".to_string()),
            Just("Allow".to_string()),
            Just("Deny".to_string()),
            Just("2012-10-17".to_string()),
            Just("${aws:username}".to_string()),
            ".{0,12}",
        ]
        .prop_map(Value::String),
    ];
    let keys = prop_oneof![
        Just("Version".to_string()),
        Just("Statement".to_string()),
        Just("Effect".to_string()),
        Just("Principal".to_string()),
        Just("AWS".to_string()),
        Just("Action".to_string()),
        Just("NotAction".to_string()),
        Just("Resource".to_string()),
        Just("NotResource".to_string()),
        Just("Condition".to_string()),
        Just("StringLike".to_string()),
        Just("ForAnyValue:NumericLessThanIfExists".to_string()),
        Just("IpAddress".to_string()),
        Just("aws:SourceIp".to_string()),
        ".{0,8}",
    ];
    leaf.prop_recursive(4, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..5).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn evaluate_everything(policy: &Policy) {
    let mut values = RequestValues::default();
    values.set("aws:SourceIp", "10.1.2.3");
    values.set("s3:prefix", "abc");
    values.set("aws:CurrentTime", "2026-01-01T00:00:00Z");
    for principal in [None, Some("K")] {
        for target in [Target::Arn("arn:aws:s3:::b/x"), Target::Arn("arn:aws:s3:::b"), Target::AllObjects("arn:aws:s3:::b/")] {
            let _ = policy.evaluate(&EvalRequest { principal, action: "s3:GetObject", target, values: &values });
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_bytes_are_malformed_policy(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Err(e) = Policy::parse(&bytes, "b") {
            prop_assert_eq!(e.code, "MalformedPolicy");
        }
    }

    #[test]
    fn random_json_shapes_parse_or_are_malformed(doc in json()) {
        let text = serde_json::to_vec(&doc).unwrap_or_default();
        match Policy::parse(&text, "b") {
            Ok(policy) => evaluate_everything(&policy),
            Err(e) => prop_assert_eq!(e.code, "MalformedPolicy"),
        }
    }

    #[test]
    fn mutated_valid_policies_parse_or_are_malformed(at in any::<usize>(), byte in any::<u8>()) {
        let mut text = VALID.as_bytes().to_vec();
        let i = at % text.len();
        text[i] = byte;
        match Policy::parse(&text, "b") {
            Ok(policy) => evaluate_everything(&policy),
            Err(e) => prop_assert_eq!(e.code, "MalformedPolicy"),
        }
    }

    #[test]
    fn random_cors_documents_never_panic(
        pieces in prop::collection::vec(prop_oneof![
            Just("<CORSConfiguration>".to_string()),
            Just("</CORSConfiguration>".to_string()),
            Just("<CORSRule>".to_string()),
            Just("</CORSRule>".to_string()),
            Just("<AllowedOrigin>*</AllowedOrigin>".to_string()),
            Just("<AllowedMethod>GET</AllowedMethod>".to_string()),
            Just("<MaxAgeSeconds>-1</MaxAgeSeconds>".to_string()),
            Just("&amp;".to_string()),
            ".{0,10}",
        ], 0..20)
    ) {
        let doc = pieces.concat();
        if let Err(e) = parse_cors_xml(doc.as_bytes()) {
            prop_assert!(e.code == "MalformedXML" || e.code == "InvalidRequest", "{}", e.code);
        }
    }
}

#[test]
fn the_valid_policy_parses() {
    let policy = Policy::parse(VALID.as_bytes(), "b").expect("valid");
    evaluate_everything(&policy);
}
