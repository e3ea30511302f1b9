//! The POST Object policy document: base64 JSON with an `expiration` and
//! `conditions` (`{"field": "value"}` exact matches, `["eq", "$field", v]`,
//! `["starts-with", "$field", prefix]`, `["content-length-range", min, max]`),
//! checked against the form fields as S3 does, plus the form fields
//! themselves.

use crate::error::{S3Error, S3Result};
use base64::Engine;
use serde_json::Value;
use time::OffsetDateTime;

/// The form fields before the file, in order; names compared
/// case-insensitively, as S3 does.
#[derive(Debug, Clone, Default)]
pub struct FormFields {
    fields: Vec<(String, String)>,
}

impl FormFields {
    /// Adds a field; a repeated name is InvalidArgument (which value a
    /// condition checked would otherwise be ambiguous).
    pub fn add(&mut self, name: String, value: String) -> S3Result<()> {
        if self.get(&name).is_some() {
            return Err(S3Error::invalid_argument(format!("The POST form field {name:?} appears more than once"))
                .with_field("ArgumentName", name));
        }
        self.fields.push((name, value));
        Ok(())
    }

    /// The value of `name`, if sent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Every field, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// One policy condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostCondition {
    /// The field must equal the value (`eq`, or the object form).
    Eq {
        /// Field name (lowercase, without `$`).
        field: String,
        /// Required value.
        value: String,
        /// The condition as S3 quotes it in errors.
        shown: String,
    },
    /// The field must start with the prefix (`""` allows anything).
    StartsWith {
        /// Field name (lowercase, without `$`).
        field: String,
        /// Required prefix.
        prefix: String,
        /// The condition as S3 quotes it in errors.
        shown: String,
    },
    /// The file size must be within `min..=max` bytes.
    ContentLengthRange {
        /// Smallest size.
        min: u64,
        /// Largest size.
        max: u64,
    },
}

/// A decoded policy document.
#[derive(Debug, Clone)]
pub struct PostPolicy {
    /// When the policy stops being valid.
    pub expiration: OffsetDateTime,
    /// Conditions, in order.
    pub conditions: Vec<PostCondition>,
}

fn invalid_policy(message: impl Into<String>) -> S3Error {
    S3Error::new("InvalidPolicyDocument", http::StatusCode::BAD_REQUEST, format!("Invalid Policy: {}", message.into()))
}

fn policy_denied(detail: impl std::fmt::Display) -> S3Error {
    S3Error::access_denied(format!("Invalid according to Policy: {detail}"))
}

/// Form fields that need no condition (S3's list, plus `x-ignore-*`).
fn exempt(field: &str) -> bool {
    let f = field.to_ascii_lowercase();
    matches!(f.as_str(), "x-amz-signature" | "file" | "policy" | "awsaccesskeyid" | "signature") || f.starts_with("x-ignore-")
}

fn field_name(raw: &str) -> S3Result<String> {
    raw.strip_prefix('$')
        .filter(|f| !f.is_empty())
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| invalid_policy(format!("Condition field name {raw:?} must start with '$'")))
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn as_size(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl PostPolicy {
    /// Decodes the base64 `policy` field and validates its structure.
    pub fn parse(encoded: &str) -> S3Result<PostPolicy> {
        let cleaned: String = encoded.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let json = base64::engine::general_purpose::STANDARD
            .decode(cleaned.as_bytes())
            .map_err(|_| invalid_policy("the policy field is not valid base64"))?;
        let Ok(Value::Object(doc)) = serde_json::from_slice::<Value>(&json) else {
            return Err(invalid_policy("Invalid JSON."));
        };
        let expiration = match doc.get("expiration") {
            Some(Value::String(s)) => crate::policy::condition::parse_date(s)
                .filter(|_| !s.trim().bytes().all(|b| b.is_ascii_digit()))
                .and_then(|n| OffsetDateTime::from_unix_timestamp_nanos(n).ok())
                .ok_or_else(|| invalid_policy(format!("Invalid 'expiration' value: '{s}'")))?,
            Some(other) => return Err(invalid_policy(format!("Invalid 'expiration' value: '{other}'"))),
            None => return Err(invalid_policy("Policy missing expiration.")),
        };
        let Some(Value::Array(items)) = doc.get("conditions") else {
            return Err(invalid_policy("Policy missing conditions."));
        };
        let mut conditions = Vec::with_capacity(items.len());
        for item in items {
            conditions.push(parse_condition(item)?);
        }
        Ok(PostPolicy { expiration, conditions })
    }

    /// Checks expiration, every eq / starts-with condition, and that every
    /// form field is covered by a condition. `bucket` is the `$bucket` value.
    pub fn check_fields(&self, fields: &FormFields, bucket: &str, now: OffsetDateTime) -> S3Result<()> {
        if now >= self.expiration {
            return Err(policy_denied("Policy expired."));
        }
        let value_of = |field: &str| -> String {
            if field == "bucket" { bucket.to_string() } else { fields.get(field).unwrap_or_default().to_string() }
        };
        for condition in &self.conditions {
            let (ok, shown) = match condition {
                PostCondition::Eq { field, value, shown } => (value_of(field) == *value, shown),
                PostCondition::StartsWith { field, prefix, shown } => (value_of(field).starts_with(prefix.as_str()), shown),
                PostCondition::ContentLengthRange { .. } => continue,
            };
            if !ok {
                return Err(policy_denied(format!("Policy Condition failed: {shown}")));
            }
        }
        let extra: Vec<&str> = fields
            .iter()
            .map(|(name, _)| name)
            .filter(|name| !exempt(name))
            .filter(|name| {
                !self.conditions.iter().any(|c| match c {
                    PostCondition::Eq { field, .. } | PostCondition::StartsWith { field, .. } => field.eq_ignore_ascii_case(name),
                    PostCondition::ContentLengthRange { .. } => false,
                })
            })
            .collect();
        if !extra.is_empty() {
            return Err(policy_denied(format!("Extra input fields: {}", extra.join(", "))));
        }
        Ok(())
    }

    /// The `content-length-range` bounds, if the policy has one (the last wins).
    pub fn length_range(&self) -> Option<(u64, u64)> {
        self.conditions.iter().rev().find_map(|c| match c {
            PostCondition::ContentLengthRange { min, max } => Some((*min, *max)),
            _ => None,
        })
    }
}

fn parse_condition(item: &Value) -> S3Result<PostCondition> {
    match item {
        Value::Object(map) => {
            let mut entries = map.iter();
            let (Some((name, value)), None) = (entries.next(), entries.next()) else {
                return Err(invalid_policy(format!("Invalid Condition: {item}: an object condition names exactly one field")));
            };
            let value = as_text(value).ok_or_else(|| invalid_policy(format!("Invalid Condition: {item}")))?;
            let field = name.trim_start_matches('$').to_ascii_lowercase();
            let shown = format!("[\"eq\", \"${name}\", \"{value}\"]");
            Ok(PostCondition::Eq { field, value, shown })
        }
        Value::Array(parts) => {
            let op = parts.first().and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase();
            match (op.as_str(), parts.as_slice()) {
                ("eq" | "starts-with", [_, Value::String(raw), value]) => {
                    let field = field_name(raw)?;
                    let value = as_text(value).ok_or_else(|| invalid_policy(format!("Invalid Condition: {item}")))?;
                    let shown = format!("[\"{op}\", \"{raw}\", \"{value}\"]");
                    Ok(if op == "eq" {
                        PostCondition::Eq { field, value, shown }
                    } else {
                        PostCondition::StartsWith { field, prefix: value, shown }
                    })
                }
                ("content-length-range", [_, min, max]) => match (as_size(min), as_size(max)) {
                    (Some(min), Some(max)) if min <= max => Ok(PostCondition::ContentLengthRange { min, max }),
                    _ => Err(invalid_policy(format!("Invalid content-length-range: {item}"))),
                },
                _ => Err(invalid_policy(format!("Invalid Condition: {item}"))),
            }
        }
        other => Err(invalid_policy(format!("Invalid Condition: {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(json: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(json)
    }

    fn fields(pairs: &[(&str, &str)]) -> FormFields {
        let mut f = FormFields::default();
        for (k, v) in pairs {
            f.add(k.to_string(), v.to_string()).unwrap();
        }
        f
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap()
    }

    const POLICY: &str = r#"{"expiration":"2030-01-01T00:00:00.000Z","conditions":[{"bucket":"b1"},["starts-with","$key","user/eric/"],{"acl":"public-read"},["eq","$Content-Type","image/png"],["starts-with","$x-amz-meta-tag",""],["content-length-range",10,1048576]]}"#;

    #[test]
    fn conditions_accept_matching_fields() {
        let p = PostPolicy::parse(&encode(POLICY)).unwrap();
        assert_eq!(p.length_range(), Some((10, 1_048_576)));
        let f = fields(&[("key", "user/eric/${filename}"), ("acl", "public-read"), ("Content-Type", "image/png"), ("x-amz-meta-tag", "x"), ("policy", "..."), ("x-amz-signature", "..."), ("x-ignore-me", "1")]);
        p.check_fields(&f, "b1", now()).unwrap();
    }

    #[test]
    fn failed_conditions_quote_the_condition() {
        let p = PostPolicy::parse(&encode(POLICY)).unwrap();
        let f = fields(&[("key", "user/other/x"), ("acl", "public-read"), ("Content-Type", "image/png")]);
        let e = p.check_fields(&f, "b1", now()).unwrap_err();
        assert_eq!(e.code, "AccessDenied");
        assert_eq!(e.message, r#"Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "user/eric/"]"#);
        let f = fields(&[("key", "user/eric/x"), ("acl", "public-read"), ("Content-Type", "image/png")]);
        assert_eq!(p.check_fields(&f, "other", now()).unwrap_err().message, r#"Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "b1"]"#);
        let f = fields(&[("key", "user/eric/x"), ("acl", "public-read"), ("Content-Type", "image/png"), ("success_action_status", "201")]);
        assert_eq!(p.check_fields(&f, "b1", now()).unwrap_err().message, "Invalid according to Policy: Extra input fields: success_action_status");
    }

    #[test]
    fn expired_policies_are_denied() {
        let p = PostPolicy::parse(&encode(r#"{"expiration":"2020-01-01T00:00:00Z","conditions":[]}"#)).unwrap();
        assert_eq!(p.check_fields(&FormFields::default(), "b", now()).unwrap_err().message, "Invalid according to Policy: Policy expired.");
    }

    #[test]
    fn malformed_policies_are_invalid_policy_documents() {
        for doc in [
            "not base64!!",
            &encode("not json"),
            &encode("[]"),
            &encode(r#"{"conditions":[]}"#),
            &encode(r#"{"expiration":"tomorrow","conditions":[]}"#),
            &encode(r#"{"expiration":"2030-01-01T00:00:00Z"}"#),
            &encode(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["matches","$key","x"]]}"#),
            &encode(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["eq","key","x"]]}"#),
            &encode(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["content-length-range",10,1]]}"#),
            &encode(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[{"a":"1","b":"2"}]}"#),
            &encode(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[7]}"#),
        ] {
            assert_eq!(PostPolicy::parse(doc).unwrap_err().code, "InvalidPolicyDocument", "{doc}");
        }
    }

    #[test]
    fn repeated_fields_are_refused() {
        let mut f = FormFields::default();
        f.add("key".into(), "a".into()).unwrap();
        assert_eq!(f.add("Key".into(), "b".into()).unwrap_err().code, "InvalidArgument");
    }
}
