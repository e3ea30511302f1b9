//! Policy `Condition` blocks: the operators (String*, Numeric*, Date*, Bool,
//! IpAddress/NotIpAddress, Arn*, Null, with the `…IfExists` suffix and the
//! `ForAnyValue:` / `ForAllValues:` set qualifiers), their values parsed once
//! when the policy is stored, and their evaluation against a request's
//! condition keys.

use super::malformed_policy;
use super::pattern::Pattern;
use crate::error::S3Result;
use std::net::IpAddr;

/// The comparison an operator makes, without IfExists / set qualifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum BaseOp {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnNotEquals,
    ArnLike,
    ArnNotLike,
    Null,
}

/// Every operator name IAM accepts (before `IfExists`), matched case-insensitively.
const OPERATORS: &[(&str, BaseOp)] = &[
    ("StringEquals", BaseOp::StringEquals),
    ("StringNotEquals", BaseOp::StringNotEquals),
    ("StringEqualsIgnoreCase", BaseOp::StringEqualsIgnoreCase),
    ("StringNotEqualsIgnoreCase", BaseOp::StringNotEqualsIgnoreCase),
    ("StringLike", BaseOp::StringLike),
    ("StringNotLike", BaseOp::StringNotLike),
    ("NumericEquals", BaseOp::NumericEquals),
    ("NumericNotEquals", BaseOp::NumericNotEquals),
    ("NumericLessThan", BaseOp::NumericLessThan),
    ("NumericLessThanEquals", BaseOp::NumericLessThanEquals),
    ("NumericGreaterThan", BaseOp::NumericGreaterThan),
    ("NumericGreaterThanEquals", BaseOp::NumericGreaterThanEquals),
    ("DateEquals", BaseOp::DateEquals),
    ("DateNotEquals", BaseOp::DateNotEquals),
    ("DateLessThan", BaseOp::DateLessThan),
    ("DateLessThanEquals", BaseOp::DateLessThanEquals),
    ("DateGreaterThan", BaseOp::DateGreaterThan),
    ("DateGreaterThanEquals", BaseOp::DateGreaterThanEquals),
    ("Bool", BaseOp::Bool),
    ("IpAddress", BaseOp::IpAddress),
    ("NotIpAddress", BaseOp::NotIpAddress),
    ("ArnEquals", BaseOp::ArnEquals),
    ("ArnNotEquals", BaseOp::ArnNotEquals),
    ("ArnLike", BaseOp::ArnLike),
    ("ArnNotLike", BaseOp::ArnNotLike),
    ("Null", BaseOp::Null),
];

impl BaseOp {
    /// Negated operators hold when *no* value matches, and also when the key is
    /// absent from the request (IAM's rule for missing keys).
    fn negated(self) -> bool {
        use BaseOp::*;
        matches!(
            self,
            StringNotEquals | StringNotEqualsIgnoreCase | StringNotLike | NumericNotEquals | DateNotEquals | NotIpAddress
                | ArnNotEquals | ArnNotLike
        )
    }
}

/// How a condition compares a request key with several values of its own
/// (every key this server provides is single-valued, so both behave alike
/// except for a missing key: ForAllValues holds, ForAnyValue does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetQualifier {
    /// `ForAnyValue:`: at least one request value matches.
    ForAnyValue,
    /// `ForAllValues:`: every request value matches (true for none).
    ForAllValues,
}

/// An IPv4 or IPv6 network (`10.0.0.0/8`, `2001:db8::/32`, or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d[/n]` or `v6[/n]`.
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (text.trim().parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    /// Whether `ip` is inside (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = if self.prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(self.prefix)) };
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = if self.prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(self.prefix)) };
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Parses an IAM date: ISO 8601 / RFC 3339 (`2026-01-01T00:00:00Z`, with or
/// without fractions), a bare date (`2026-01-01`, midnight UTC), or epoch
/// seconds. Returns Unix nanoseconds.
pub fn parse_date(text: &str) -> Option<i128> {
    use time::format_description::well_known::{Iso8601, Rfc3339};
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<i64>().ok().map(|s| i128::from(s) * 1_000_000_000);
    }
    if let Ok(t) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t.unix_timestamp_nanos());
    }
    if let Ok(t) = time::OffsetDateTime::parse(text, &Iso8601::DEFAULT) {
        return Some(t.unix_timestamp_nanos());
    }
    let date_only = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &date_only).ok().map(|d| d.midnight().assume_utc().unix_timestamp_nanos())
}

/// A condition's values, parsed for its operator.
#[derive(Debug, Clone)]
enum Values {
    /// String/Arn operators (patterns: wildcards used only by the *Like ones).
    Text(Vec<Pattern>),
    Numbers(Vec<f64>),
    Dates(Vec<i128>),
    Bools(Vec<bool>),
    Networks(Vec<Cidr>),
}

/// One `"Operator": { "key": values }` entry.
#[derive(Debug, Clone)]
pub struct Condition {
    /// The operator as written (for error messages).
    pub operator: String,
    base: BaseOp,
    qualifier: Option<SetQualifier>,
    if_exists: bool,
    /// The condition key, lowercased (keys are case-insensitive).
    pub key: String,
    values: Values,
}

/// Values a request offers to conditions: condition key (lowercase) → value.
#[derive(Debug, Clone, Default)]
pub struct RequestValues {
    entries: Vec<(String, String)>,
}

impl RequestValues {
    /// Sets `key` (lowercased) to `value`.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        let key = key.to_ascii_lowercase();
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    /// The value of `key` (lowercase), if the request has one.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The value as an owned string, for policy variables.
    pub fn lookup(&self, key: &str) -> Option<String> {
        self.get(key).map(str::to_string)
    }
}

impl Condition {
    /// Parses one operator/key/values triple. `variables`: the policy allows
    /// `${…}` variables (version 2012-10-17).
    pub fn parse(operator: &str, key: &str, raw: &[String], variables: bool) -> S3Result<Condition> {
        let (qualifier, rest) = match operator.split_once(':') {
            Some((q, rest)) if q.eq_ignore_ascii_case("ForAnyValue") => (Some(SetQualifier::ForAnyValue), rest),
            Some((q, rest)) if q.eq_ignore_ascii_case("ForAllValues") => (Some(SetQualifier::ForAllValues), rest),
            Some(_) => return Err(unknown_operator(operator)),
            None => (None, operator),
        };
        let (name, if_exists) = match rest.len().checked_sub("IfExists".len()) {
            Some(cut) if rest.is_char_boundary(cut) && rest[cut..].eq_ignore_ascii_case("IfExists") => (&rest[..cut], true),
            _ => (rest, false),
        };
        let base = OPERATORS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, op)| *op)
            .ok_or_else(|| unknown_operator(operator))?;
        if base == BaseOp::Null && if_exists {
            return Err(unknown_operator(operator));
        }
        if key.trim().is_empty() {
            return Err(malformed_policy(format!("Policy has an empty condition key under {operator}")));
        }
        if raw.is_empty() {
            return Err(malformed_policy(format!("Condition {operator} on {key} has no values")));
        }
        let bad = |what: &str, v: &str| {
            malformed_policy(format!("Invalid Condition value {v:?} for {operator} on {key}: expected {what}"))
        };
        use BaseOp::*;
        let values = match base {
            NumericEquals | NumericNotEquals | NumericLessThan | NumericLessThanEquals | NumericGreaterThan
            | NumericGreaterThanEquals => Values::Numbers(
                raw.iter().map(|v| v.trim().parse::<f64>().ok().filter(|n| n.is_finite()).ok_or_else(|| bad("a number", v))).collect::<S3Result<_>>()?,
            ),
            DateEquals | DateNotEquals | DateLessThan | DateLessThanEquals | DateGreaterThan | DateGreaterThanEquals => {
                Values::Dates(raw.iter().map(|v| parse_date(v).ok_or_else(|| bad("an ISO 8601 date or epoch seconds", v))).collect::<S3Result<_>>()?)
            }
            Bool | Null => Values::Bools(
                raw.iter()
                    .map(|v| match v.trim().to_ascii_lowercase().as_str() {
                        "true" => Ok(true),
                        "false" => Ok(false),
                        _ => Err(bad("true or false", v)),
                    })
                    .collect::<S3Result<_>>()?,
            ),
            IpAddress | NotIpAddress => {
                Values::Networks(raw.iter().map(|v| Cidr::parse(v).ok_or_else(|| bad("an IP address or CIDR block", v))).collect::<S3Result<_>>()?)
            }
            StringEqualsIgnoreCase | StringNotEqualsIgnoreCase => {
                Values::Text(raw.iter().map(|v| Pattern::new(v, variables, true)).collect())
            }
            _ => Values::Text(raw.iter().map(|v| Pattern::new(v, variables, false)).collect()),
        };
        Ok(Condition { operator: operator.to_string(), base, qualifier, if_exists, key: key.trim().to_ascii_lowercase(), values })
    }

    /// Whether the condition holds for a request.
    pub fn holds(&self, request: &RequestValues) -> bool {
        let value = request.get(&self.key);
        if self.base == BaseOp::Null {
            let Values::Bools(b) = &self.values else { return false };
            return b.iter().any(|want_null| *want_null == value.is_none());
        }
        let Some(value) = value else {
            return self.if_exists || self.qualifier == Some(SetQualifier::ForAllValues) || self.base.negated();
        };
        let any = self.any_value_matches(value, request);
        if self.base.negated() { !any } else { any }
    }

    /// Whether `value` satisfies the positive form of the operator for some
    /// policy value.
    fn any_value_matches(&self, value: &str, request: &RequestValues) -> bool {
        use BaseOp::*;
        let lookup = |k: &str| request.lookup(k);
        match &self.values {
            Values::Text(patterns) => patterns.iter().any(|p| match self.base {
                // IAM's Arn operators all take wildcards, ArnEquals included.
                StringLike | StringNotLike | ArnLike | ArnNotLike | ArnEquals | ArnNotEquals => p.matches_with(value, &lookup),
                StringEqualsIgnoreCase | StringNotEqualsIgnoreCase => {
                    p.expand(&lookup).is_some_and(|e| e.to_lowercase() == value.to_lowercase())
                }
                _ => p.expand(&lookup).is_some_and(|e| e == value),
            }),
            Values::Numbers(numbers) => {
                let Ok(v) = value.trim().parse::<f64>() else { return false };
                numbers.iter().any(|n| compare(self.base, v.partial_cmp(n)))
            }
            Values::Dates(dates) => {
                let Some(v) = parse_date(value) else { return false };
                dates.iter().any(|d| compare(self.base, Some(v.cmp(d))))
            }
            Values::Bools(bools) => {
                let v = value.eq_ignore_ascii_case("true");
                (value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false")) && bools.contains(&v)
            }
            Values::Networks(nets) => value.parse::<IpAddr>().is_ok_and(|ip| nets.iter().any(|n| n.contains(ip))),
        }
    }
}

/// Applies an ordering operator (the negated equality ones compare as equality).
fn compare(op: BaseOp, ord: Option<std::cmp::Ordering>) -> bool {
    use BaseOp::*;
    use std::cmp::Ordering::*;
    let Some(ord) = ord else { return false };
    match op {
        NumericLessThan | DateLessThan => ord == Less,
        NumericLessThanEquals | DateLessThanEquals => ord != Greater,
        NumericGreaterThan | DateGreaterThan => ord == Greater,
        NumericGreaterThanEquals | DateGreaterThanEquals => ord != Less,
        _ => ord == Equal,
    }
}

fn unknown_operator(op: &str) -> crate::error::S3Error {
    malformed_policy(format!("Invalid Condition type : {op}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(op: &str, key: &str, values: &[&str]) -> Condition {
        Condition::parse(op, key, &values.iter().map(|s| s.to_string()).collect::<Vec<_>>(), true).unwrap()
    }

    fn req(pairs: &[(&str, &str)]) -> RequestValues {
        let mut r = RequestValues::default();
        for (k, v) in pairs {
            r.set(k, *v);
        }
        r
    }

    #[test]
    fn string_operators_compare_any_value_and_negate() {
        let r = req(&[("s3:prefix", "home/alice/")]);
        assert!(cond("StringEquals", "s3:prefix", &["x", "home/alice/"]).holds(&r));
        assert!(!cond("StringNotEquals", "s3:prefix", &["x", "home/alice/"]).holds(&r));
        assert!(cond("StringNotEquals", "s3:prefix", &["x"]).holds(&r));
        assert!(cond("StringLike", "S3:Prefix", &["home/*"]).holds(&r));
        assert!(!cond("StringNotLike", "s3:prefix", &["home/*"]).holds(&r));
        assert!(cond("StringEqualsIgnoreCase", "s3:prefix", &["HOME/ALICE/"]).holds(&r));
        assert!(!cond("StringEquals", "s3:prefix", &["home/*"]).holds(&r));
    }

    #[test]
    fn missing_keys_follow_iam_rules() {
        let r = req(&[]);
        assert!(!cond("StringEquals", "s3:prefix", &["a"]).holds(&r));
        assert!(cond("StringNotEquals", "s3:prefix", &["a"]).holds(&r));
        assert!(cond("StringEqualsIfExists", "s3:prefix", &["a"]).holds(&r));
        assert!(cond("ForAllValues:StringEquals", "s3:prefix", &["a"]).holds(&r));
        assert!(!cond("ForAnyValue:StringEquals", "s3:prefix", &["a"]).holds(&r));
        assert!(cond("Null", "s3:prefix", &["true"]).holds(&r));
        assert!(!cond("Null", "s3:prefix", &["false"]).holds(&r));
        let present = req(&[("s3:prefix", "b")]);
        assert!(!cond("StringEqualsIfExists", "s3:prefix", &["a"]).holds(&present));
        assert!(cond("Null", "s3:prefix", &["false"]).holds(&present));
    }

    #[test]
    fn numeric_operators_compare_numbers() {
        let r = req(&[("s3:max-keys", "10")]);
        assert!(cond("NumericLessThanEquals", "s3:max-keys", &["10"]).holds(&r));
        assert!(!cond("NumericLessThan", "s3:max-keys", &["10"]).holds(&r));
        assert!(cond("NumericGreaterThan", "s3:max-keys", &["9.5"]).holds(&r));
        assert!(cond("NumericNotEquals", "s3:max-keys", &["11"]).holds(&r));
        assert!(!cond("NumericEquals", "s3:max-keys", &["11"]).holds(&req(&[("s3:max-keys", "abc")])));
    }

    #[test]
    fn date_operators_accept_iso_and_epoch() {
        let r = req(&[("aws:CurrentTime", "2026-03-01T12:00:00Z")]);
        assert!(cond("DateGreaterThan", "aws:CurrentTime", &["2026-01-01T00:00:00Z"]).holds(&r));
        assert!(cond("DateLessThan", "aws:CurrentTime", &["2027-01-01"]).holds(&r));
        assert!(!cond("DateLessThan", "aws:CurrentTime", &["1700000000"]).holds(&r));
        assert!(cond("DateGreaterThanEquals", "aws:currenttime", &["2026-03-01T12:00:00.000Z"]).holds(&r));
    }

    #[test]
    fn ip_operators_match_cidr_blocks() {
        let r = req(&[("aws:SourceIp", "192.168.1.20")]);
        assert!(cond("IpAddress", "aws:SourceIp", &["192.168.1.0/24"]).holds(&r));
        assert!(!cond("IpAddress", "aws:SourceIp", &["10.0.0.0/8"]).holds(&r));
        assert!(cond("NotIpAddress", "aws:SourceIp", &["10.0.0.0/8"]).holds(&r));
        assert!(cond("IpAddress", "aws:SourceIp", &["0.0.0.0/0"]).holds(&r));
        let v6 = req(&[("aws:SourceIp", "2001:db8::1")]);
        assert!(cond("IpAddress", "aws:SourceIp", &["2001:db8::/32"]).holds(&v6));
        assert!(!cond("IpAddress", "aws:SourceIp", &["192.168.1.0/24"]).holds(&v6));
        let mapped = req(&[("aws:SourceIp", "::ffff:192.168.1.20")]);
        assert!(cond("IpAddress", "aws:SourceIp", &["192.168.1.20"]).holds(&mapped));
    }

    #[test]
    fn bool_operator_reads_true_and_false() {
        let r = req(&[("aws:SecureTransport", "false")]);
        assert!(cond("Bool", "aws:SecureTransport", &["false"]).holds(&r));
        assert!(!cond("Bool", "aws:SecureTransport", &["true"]).holds(&r));
    }

    #[test]
    fn arn_operators_take_wildcards() {
        let r = req(&[("aws:SourceArn", "arn:aws:s3:::b1")]);
        assert!(cond("ArnLike", "aws:SourceArn", &["arn:aws:s3:::b*"]).holds(&r));
        assert!(cond("ArnEquals", "aws:SourceArn", &["arn:aws:s3:::b?"]).holds(&r));
        assert!(!cond("ArnNotLike", "aws:SourceArn", &["arn:aws:s3:::*"]).holds(&r));
        assert!(cond("ArnNotEquals", "aws:SourceArn", &["arn:aws:s3:::other"]).holds(&r));
    }

    #[test]
    fn bad_operators_and_values_are_malformed_policy() {
        let parse = |op: &str, v: &str| Condition::parse(op, "k", &[v.to_string()], true).map(|_| ()).map_err(|e| e.code);
        assert_eq!(parse("StringEqualz", "a"), Err("MalformedPolicy"));
        assert_eq!(parse("ForSomeValues:StringEquals", "a"), Err("MalformedPolicy"));
        assert_eq!(parse("NullIfExists", "true"), Err("MalformedPolicy"));
        assert_eq!(parse("NumericEquals", "ten"), Err("MalformedPolicy"));
        assert_eq!(parse("DateLessThan", "tomorrow"), Err("MalformedPolicy"));
        assert_eq!(parse("IpAddress", "10.0.0.0/33"), Err("MalformedPolicy"));
        assert_eq!(parse("Bool", "yes"), Err("MalformedPolicy"));
        assert_eq!(Condition::parse("StringEquals", "k", &[], true).map(|_| ()).map_err(|e| e.code), Err("MalformedPolicy"));
        assert!(parse("stringlikeifexists", "a").is_ok());
    }
}
