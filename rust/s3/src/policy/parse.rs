//! The bucket policy grammar: JSON text → a typed, validated [`Policy`].
//! Anything IAM would refuse is MalformedPolicy with a message naming the
//! statement and the offending value.
//!
//! ## Principals
//! Access keys are this server's identities. A principal names one with any of:
//! `"*"` / `{"AWS": "*"}` (everyone, anonymous included),
//! `{"AWS": "arn:aws:iam::<anything>:user/<accessKeyId>"}`,
//! `{"AWS": "arn:aws:iam::<accessKeyId>:root"}`, `{"AWS": "<accessKeyId>"}`
//! and `{"CanonicalUser": "<accessKeyId>"}` (owner ids are access key ids).
//! `Service` and `Federated` principals are accepted and match no request.

use super::condition::Condition;
use super::malformed_policy;
use super::pattern::Pattern;
use crate::error::S3Result;
use serde_json::{Map, Value};

/// Largest policy document accepted (AWS's bucket policy limit: 20 KiB).
pub const MAX_POLICY_SIZE: usize = 20 * 1024;

/// The ARN prefix of every S3 resource.
pub const S3_ARN_PREFIX: &str = "arn:aws:s3:::";

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Grants the request unless another statement denies it.
    Allow,
    /// Refuses the request whatever else is allowed.
    Deny,
}

/// Who a statement is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Principals {
    /// `*`: everyone, anonymous requests included.
    pub everyone: bool,
    /// Access key ids named by the ARNs / ids.
    pub access_keys: Vec<String>,
}

impl Principals {
    /// Whether the request's principal (`None`: anonymous) is named.
    pub fn contains(&self, principal: Option<&str>) -> bool {
        self.everyone || principal.is_some_and(|p| self.access_keys.iter().any(|k| k == p))
    }
}

/// A list of patterns, matched normally (`Action`) or inverted (`NotAction`).
#[derive(Debug, Clone)]
pub struct PatternList {
    /// The patterns.
    pub patterns: Vec<Pattern>,
    /// `Not…`: the statement applies to what matches *none* of the patterns.
    pub negated: bool,
}

/// One statement.
#[derive(Debug, Clone)]
pub struct Statement {
    /// `Sid`, if given.
    pub sid: Option<String>,
    /// Allow or Deny.
    pub effect: Effect,
    /// `Principal` (or `NotPrincipal` when `principal_negated`).
    pub principal: Principals,
    /// The statement is a `NotPrincipal` one.
    pub principal_negated: bool,
    /// `Action` / `NotAction` (case-insensitive patterns).
    pub actions: PatternList,
    /// `Resource` / `NotResource` ARN patterns.
    pub resources: PatternList,
    /// Every condition must hold.
    pub conditions: Vec<Condition>,
}

/// A parsed bucket policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// `Version` (`2012-10-17` enables policy variables).
    pub version: String,
    /// `Id`, if given.
    pub id: Option<String>,
    /// The statements, in order.
    pub statements: Vec<Statement>,
}

impl Policy {
    /// Parses and validates `text` as the policy of `bucket`.
    pub fn parse(text: &[u8], bucket: &str) -> S3Result<Policy> {
        if text.len() > MAX_POLICY_SIZE {
            return Err(malformed_policy(format!(
                "Policy exceeds the maximum allowed document size: {} bytes sent, {MAX_POLICY_SIZE} allowed",
                text.len()
            )));
        }
        let value: Value = serde_json::from_slice(text)
            .map_err(|e| malformed_policy(format!("This policy contains invalid Json: {e}")))?;
        let Value::Object(doc) = value else {
            return Err(malformed_policy("Policies must be valid JSON and the first byte must be '{'"));
        };
        check_fields(&doc, &["Version", "Id", "Statement"], "the policy")?;
        let version = match doc.get("Version") {
            None => "2008-10-17".to_string(),
            Some(Value::String(v)) if v == "2012-10-17" || v == "2008-10-17" => v.clone(),
            Some(other) => {
                return Err(malformed_policy(format!(
                    "The policy must contain a valid version string: got {other}, expected \"2012-10-17\" or \"2008-10-17\""
                )));
            }
        };
        let id = optional_string(&doc, "Id", "the policy")?;
        let statements = match doc.get("Statement") {
            None => return Err(malformed_policy("Missing required field Statement")),
            Some(Value::Array(items)) => items.iter().collect::<Vec<_>>(),
            Some(single @ Value::Object(_)) => vec![single],
            Some(other) => return Err(malformed_policy(format!("Statement must be an object or an array of objects, got {other}"))),
        };
        if statements.is_empty() {
            return Err(malformed_policy("Could not parse the policy: Statement is empty!"));
        }
        let variables = version == "2012-10-17";
        let mut parsed = Vec::with_capacity(statements.len());
        for (i, st) in statements.into_iter().enumerate() {
            let statement = parse_statement(st, i, bucket, variables)?;
            if let Some(sid) = &statement.sid
                && parsed.iter().any(|s: &Statement| s.sid.as_ref() == Some(sid))
            {
                return Err(malformed_policy(format!("Statement IDs (SID) in a single policy must be unique: {sid:?} repeats")));
            }
            parsed.push(statement);
        }
        Ok(Policy { version, id, statements: parsed })
    }
}

fn check_fields(obj: &Map<String, Value>, allowed: &[&str], what: &str) -> S3Result<()> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(malformed_policy(format!("Unknown field {unknown} in {what}"))),
        None => Ok(()),
    }
}

fn optional_string(obj: &Map<String, Value>, name: &str, what: &str) -> S3Result<Option<String>> {
    match obj.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(malformed_policy(format!("{name} in {what} must be a string, got {other}"))),
    }
}

/// A string or an array of strings (IAM's "one or many" shape), non-empty.
fn string_or_list(value: &Value, name: &str, what: &str) -> S3Result<Vec<String>> {
    let items = match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(malformed_policy(format!("{name} in {what} must hold strings, got {other}"))),
            })
            .collect::<S3Result<Vec<_>>>()?,
        other => return Err(malformed_policy(format!("{name} in {what} must be a string or an array of strings, got {other}"))),
    };
    if items.is_empty() {
        return Err(malformed_policy(format!("{name} in {what} must not be empty")));
    }
    Ok(items)
}

/// Exactly one of `name` / `Not<name>`.
fn one_of<'a>(obj: &'a Map<String, Value>, name: &str, what: &str) -> S3Result<(&'a Value, bool)> {
    let not = format!("Not{name}");
    match (obj.get(name), obj.get(&not)) {
        (Some(v), None) => Ok((v, false)),
        (None, Some(v)) => Ok((v, true)),
        (Some(_), Some(_)) => Err(malformed_policy(format!("{what} has both {name} and {not}; use one of them"))),
        (None, None) => Err(malformed_policy(format!("Missing required field {name} in {what}"))),
    }
}

fn parse_statement(value: &Value, index: usize, bucket: &str, variables: bool) -> S3Result<Statement> {
    let Value::Object(obj) = value else {
        return Err(malformed_policy(format!("Statement {index} must be an object, got {value}")));
    };
    check_fields(
        obj,
        &["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"],
        &format!("statement {index}"),
    )?;
    let sid = optional_string(obj, "Sid", &format!("statement {index}"))?;
    let what = match &sid {
        Some(s) => format!("statement {s:?}"),
        None => format!("statement {index}"),
    };
    let effect = match obj.get("Effect") {
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        Some(other) => return Err(malformed_policy(format!("Invalid effect {other} in {what}: use \"Allow\" or \"Deny\""))),
        None => return Err(malformed_policy(format!("Missing required field Effect in {what}"))),
    };
    let (principal_value, principal_negated) = one_of(obj, "Principal", &what)?;
    let principal = parse_principal(principal_value, &what)?;
    let (action_value, actions_negated) = one_of(obj, "Action", &what)?;
    let actions = string_or_list(action_value, "Action", &what)?
        .iter()
        .map(|a| parse_action(a, &what))
        .collect::<S3Result<Vec<_>>>()?;
    let (resource_value, resources_negated) = one_of(obj, "Resource", &what)?;
    let resources = string_or_list(resource_value, "Resource", &what)?
        .iter()
        .map(|r| parse_resource(r, bucket, variables, &what))
        .collect::<S3Result<Vec<_>>>()?;
    let conditions = match obj.get("Condition") {
        None => Vec::new(),
        Some(c) => parse_conditions(c, variables, &what)?,
    };
    Ok(Statement {
        sid,
        effect,
        principal,
        principal_negated,
        actions: PatternList { patterns: actions, negated: actions_negated },
        resources: PatternList { patterns: resources, negated: resources_negated },
        conditions,
    })
}

fn parse_principal(value: &Value, what: &str) -> S3Result<Principals> {
    let invalid = |v: &str| malformed_policy(format!("Invalid principal in policy: {v:?} in {what}"));
    match value {
        Value::String(s) if s == "*" => Ok(Principals { everyone: true, access_keys: Vec::new() }),
        Value::Object(map) if !map.is_empty() => {
            let mut principals = Principals::default();
            for (kind, ids) in map {
                let ids = string_or_list(ids, &format!("Principal.{kind}"), what)?;
                match kind.as_str() {
                    "AWS" => {
                        for id in ids {
                            if id == "*" {
                                principals.everyone = true;
                            } else {
                                principals.access_keys.push(access_key_of(&id).ok_or_else(|| invalid(&id))?);
                            }
                        }
                    }
                    "CanonicalUser" => {
                        for id in ids {
                            if id.is_empty() || id.contains(char::is_whitespace) {
                                return Err(invalid(&id));
                            }
                            principals.access_keys.push(id);
                        }
                    }
                    "Service" | "Federated" => {}
                    other => return Err(malformed_policy(format!("Invalid principal type {other:?} in {what}: use AWS or CanonicalUser"))),
                }
            }
            Ok(principals)
        }
        other => Err(malformed_policy(format!(
            "Invalid principal in policy: {other} in {what}; use \"*\" or {{\"AWS\": [\"arn:aws:iam::<account>:user/<accessKeyId>\", ...]}}"
        ))),
    }
}

/// The access key id an AWS principal names, or `None` when it is not a
/// principal form this server understands.
fn access_key_of(id: &str) -> Option<String> {
    let valid_key = |k: &str| !k.is_empty() && k.bytes().all(|b| b.is_ascii_graphic() && b != b'/' && b != b'*');
    let Some(rest) = id.strip_prefix("arn:") else {
        return valid_key(id).then(|| id.to_string());
    };
    // arn:<partition>:iam::<account>:<resource>
    let mut fields = rest.splitn(5, ':');
    let (_partition, service, _region, account, resource) =
        (fields.next()?, fields.next()?, fields.next()?, fields.next()?, fields.next()?);
    if service != "iam" {
        return None;
    }
    if resource == "root" {
        return valid_key(account).then(|| account.to_string());
    }
    let user = resource.strip_prefix("user/")?;
    let name = user.rsplit('/').next()?;
    valid_key(name).then(|| name.to_string())
}

fn parse_action(action: &str, what: &str) -> S3Result<Pattern> {
    let invalid = || malformed_policy(format!("Policy has invalid action: {action:?} in {what}; S3 actions look like \"s3:GetObject\" or \"s3:Get*\""));
    if action == "*" {
        return Ok(Pattern::new(action, false, true));
    }
    let (service, name) = action.split_once(':').ok_or_else(invalid)?;
    let name_ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'*' || b == b'?');
    if !service.eq_ignore_ascii_case("s3") || !name_ok {
        return Err(invalid());
    }
    Ok(Pattern::new(action, false, true))
}

fn parse_resource(resource: &str, bucket: &str, variables: bool, what: &str) -> S3Result<Pattern> {
    let pattern = Pattern::new(resource, variables, false);
    if resource == "*" {
        return Ok(pattern);
    }
    if !resource.starts_with(S3_ARN_PREFIX) && !resource.starts_with("arn:*") && !resource.starts_with("arn:aws:*") {
        return Err(malformed_policy(format!(
            "Policy has invalid resource: {resource:?} in {what}; use \"arn:aws:s3:::{bucket}\" or \"arn:aws:s3:::{bucket}/<key pattern>\""
        )));
    }
    // Variables make the resource request-dependent; everything else must be
    // able to name this bucket or one of its objects, as S3 checks.
    let bucket_arn = format!("{S3_ARN_PREFIX}{bucket}");
    let reaches_bucket = pattern.has_variables()
        || pattern.matches(&bucket_arn)
        || pattern.matches_some_with_prefix(&format!("{bucket_arn}/"), &|_| None);
    if !reaches_bucket {
        return Err(malformed_policy(format!(
            "Policy has invalid resource: {resource:?} in {what} does not name bucket {bucket:?} or its objects"
        )));
    }
    Ok(pattern)
}

fn parse_conditions(value: &Value, variables: bool, what: &str) -> S3Result<Vec<Condition>> {
    let Value::Object(ops) = value else {
        return Err(malformed_policy(format!("Condition in {what} must be an object, got {value}")));
    };
    let mut out = Vec::new();
    for (operator, keys) in ops {
        let Value::Object(keys) = keys else {
            return Err(malformed_policy(format!("Condition {operator} in {what} must map keys to values, got {keys}")));
        };
        if keys.is_empty() {
            return Err(malformed_policy(format!("Condition {operator} in {what} has no keys")));
        }
        for (key, values) in keys {
            let values = match values {
                Value::Array(items) => items.iter().map(|v| scalar(v, operator, what)).collect::<S3Result<Vec<_>>>()?,
                single => vec![scalar(single, operator, what)?],
            };
            out.push(Condition::parse(operator, key, &values, variables)?);
        }
    }
    Ok(out)
}

/// Condition values may be strings, numbers or booleans; IAM compares them as text.
fn scalar(value: &Value, operator: &str, what: &str) -> S3Result<String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(malformed_policy(format!("Condition {operator} in {what} has an invalid value {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> S3Result<Policy> {
        Policy::parse(json.as_bytes(), "b1")
    }

    fn err(json: &str) -> String {
        let e = parse(json).expect_err("must be malformed");
        assert_eq!(e.code, "MalformedPolicy", "{json}");
        assert_eq!(e.status, http::StatusCode::BAD_REQUEST);
        e.message
    }

    const OK: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Principal":"*","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::b1/*"}]}"#;

    #[test]
    fn valid_policies_parse() {
        let p = parse(OK).unwrap();
        assert_eq!(p.statements.len(), 1);
        assert!(p.statements[0].principal.everyone);
        let p = parse(
            r#"{"Version":"2008-10-17","Id":"x","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::123:user/AKID1","arn:aws:iam::AKID2:root","AKID3"]},
            "NotAction":"s3:Delete*","NotResource":["arn:aws:s3:::b1/keep/*"],
            "Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8"]},"NumericLessThanEquals":{"s3:max-keys":10},"Bool":{"aws:SecureTransport":false}}}}"#,
        )
        .unwrap();
        let st = &p.statements[0];
        assert_eq!(st.effect, Effect::Deny);
        assert!(st.principal_negated && st.actions.negated && st.resources.negated);
        assert_eq!(st.principal.access_keys, ["AKID1", "AKID2", "AKID3"]);
        assert_eq!(st.conditions.len(), 3);
        // Missing Version defaults to 2008-10-17; wildcard resources naming the bucket are fine.
        assert!(parse(r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"*","Resource":["arn:aws:s3:::b?","arn:aws:s3:::*","*"]}]}"#).is_ok());
    }

    #[test]
    fn invalid_json_and_shapes_are_malformed() {
        assert!(err("{").contains("invalid Json"));
        err("[]");
        err(r#"{"Version":"2012-10-17"}"#);
        err(r#"{"Version":"2012-10-17","Statement":[]}"#);
        err(r#"{"Version":"2020-01-01","Statement":[]}"#);
        err(r#"{"Version":"2012-10-17","Statement":"x"}"#);
        assert!(err(r#"{"Version":"2012-10-17","Statement":[],"Extra":1}"#).contains("Extra"));
    }

    #[test]
    fn statement_grammar_is_enforced() {
        let st = |body: &str| format!(r#"{{"Version":"2012-10-17","Statement":[{body}]}}"#);
        err(&st(r#"{"Effect":"Permit","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b1/*"}"#));
        err(&st(r#"{"Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b1/*"}"#));
        assert!(err(&st(r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b1/*"}"#)).contains("Principal"));
        err(&st(r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","NotAction":"s3:PutObject","Resource":"arn:aws:s3:::b1/*"}"#));
        err(&st(r#"{"Effect":"Allow","Principal":"*","Resource":"arn:aws:s3:::b1/*"}"#));
        err(&st(r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject"}"#));
        assert!(err(&st(r#"{"Effect":"Allow","Principal":"*","Action":"iam:PassRole","Resource":"arn:aws:s3:::b1/*"}"#)).contains("invalid action"));
        err(&st(r#"{"Effect":"Allow","Principal":"*","Action":"GetObject","Resource":"arn:aws:s3:::b1/*"}"#));
        err(&st(r#"{"Effect":"Allow","Principal":"*","Action":[],"Resource":"arn:aws:s3:::b1/*"}"#));
        err(&st(r#"{"Effect":"Allow","Principal":"*","Action":[1],"Resource":"arn:aws:s3:::b1/*"}"#));
        assert!(err(&st(r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}"#)).contains("invalid resource"));
        err(&st(r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"b1/*"}"#));
        assert!(err(&st(r#"{"Effect":"Allow","Principal":"me","Action":"s3:GetObject","Resource":"arn:aws:s3:::b1/*"}"#)).contains("principal"));
        err(&st(r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:sqs::1:queue"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b1/*"}"#));
        err(&st(r#"{"Effect":"Allow","Principal":{"Bogus":"x"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b1/*"}"#));
        err(&st(r#"{"Effect":"Allow","Principal":{},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b1/*"}"#));
        assert!(err(&st(r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b1/*","Condition":{"StringMaybe":{"s3:prefix":"a"}}}"#)).contains("Condition type"));
        err(&st(r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b1/*","Condition":{"StringEquals":"a"}}"#));
        err(&st(r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b1/*","Condition":{"StringEquals":{"k":{"x":1}}}}"#));
        err(&st(r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b1/*","Cond":{}}"#));
        let dup = r#"{"Sid":"a","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b1/*"}"#;
        assert!(err(&st(&format!("{dup},{dup}"))).contains("unique"));
    }

    #[test]
    fn oversized_policies_are_refused() {
        let big = format!(r#"{{"Id":"{}","Statement":[]}}"#, "x".repeat(MAX_POLICY_SIZE));
        assert!(err(&big).contains("size"));
    }

    #[test]
    fn principal_arns_map_to_access_keys() {
        assert_eq!(access_key_of("arn:aws:iam::123456789012:user/AKID").as_deref(), Some("AKID"));
        assert_eq!(access_key_of("arn:aws:iam::anything:user/path/to/AKID").as_deref(), Some("AKID"));
        assert_eq!(access_key_of("arn:aws:iam::AKID:root").as_deref(), Some("AKID"));
        assert_eq!(access_key_of("AKID").as_deref(), Some("AKID"));
        assert_eq!(access_key_of("arn:aws:iam::1:role/x"), None);
        assert_eq!(access_key_of("arn:aws:s3:::b"), None);
        assert_eq!(access_key_of("arn:aws:iam"), None);
    }
}
