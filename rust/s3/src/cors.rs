//! CORS as S3 does it: validated rule sets (per bucket, from
//! PutBucketCors; or the server-wide [`CorsConfig`]), preflight matching, and
//! the response headers added to actual cross-origin requests.
//!
//! A bucket's own rule set takes precedence over the server-wide config for
//! that bucket; requests without a bucket (ListBuckets) and buckets without
//! rules use the server-wide config when it is enabled.
//!
//! Credentials: for bucket rules S3 answers `Access-Control-Allow-Origin: *`
//! when the matching rule allows any origin (`*`), and otherwise echoes the
//! origin with `Access-Control-Allow-Credentials: true`. The server-wide
//! config decides with its `allowCredentials` flag (echoing the origin, as
//! browsers refuse `*` with credentials).

use crate::config::CorsConfig;
use crate::dispatch::Ctx;
use crate::error::{S3Error, S3Result};
use crate::policy::ConfigCache;
use crate::response::{S3Response, set_header};
use crate::xml::cors::{CorsConfigurationIn, CorsConfigurationOut, CorsRuleIn, CorsRuleXml};
use crate::xml::{S3_XMLNS, from_xml, to_xml};
use http::Method;
use smartstorage_store::StoreError;
use std::sync::Arc;

/// The store kind bucket CORS configurations are kept under.
pub const CORS_KIND: &str = "cors";

/// Most rules a bucket CORS configuration may hold (S3's limit).
pub const MAX_CORS_RULES: usize = 100;

/// Longest rule ID S3 accepts.
const MAX_RULE_ID: usize = 255;

/// The methods a bucket rule may allow (S3's list).
pub const CORS_METHODS: &[&str] = &["GET", "PUT", "POST", "DELETE", "HEAD"];

/// S3's message for a preflight no rule matches (the typo is S3's own).
pub const NOT_ALLOWED_MESSAGE: &str = "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.";

/// S3's message for a preflight against a bucket without CORS rules.
pub const NOT_ENABLED_MESSAGE: &str = "CORSResponse: CORS is not enabled for this bucket.";

/// How a rule answers on credentials (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    /// Bucket rules: `*` for a wildcard origin, else echo + credentials.
    S3,
    /// Server-wide config with `allowCredentials`.
    Configured(bool),
}

/// One validated rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsRule {
    /// Origins, each with at most one `*`.
    pub origins: Vec<String>,
    /// Allowed methods, uppercase.
    pub methods: Vec<String>,
    /// Allowed request headers, lowercase, each with at most one `*`.
    pub headers: Vec<String>,
    /// Headers exposed to scripts.
    pub expose: Vec<String>,
    /// Preflight cache time, seconds.
    pub max_age: Option<u64>,
    /// Credentials behaviour.
    pub credentials: Credentials,
}

/// The per-bucket rules cache plus the server-wide rule.
pub struct CorsState {
    /// Parsed bucket rule sets.
    pub cache: ConfigCache<Vec<CorsRule>>,
    /// The server-wide rule, when enabled.
    pub server: Option<CorsRule>,
}

impl CorsState {
    /// Builds the state from the server-wide config.
    pub fn new(config: &CorsConfig) -> CorsState {
        let server = config.enabled.then(|| CorsRule {
            origins: config.allowed_origins.clone(),
            methods: config.allowed_methods.iter().map(|m| m.to_ascii_uppercase()).collect(),
            headers: config.allowed_headers.iter().map(|h| h.to_ascii_lowercase()).collect(),
            expose: config.exposed_headers.clone(),
            max_age: Some(config.max_age),
            credentials: Credentials::Configured(config.allow_credentials),
        });
        CorsState { cache: ConfigCache::new(CORS_KIND), server }
    }
}

fn invalid(message: String) -> S3Error {
    S3Error::invalid_request(message)
}

fn malformed() -> S3Error {
    S3Error::malformed_xml("The XML you provided was not well-formed or did not validate against our published schema")
}

/// Parses and validates a PutBucketCors body, with S3's errors: MalformedXML
/// for a bad document, no rules, or a rule without origin or method;
/// InvalidRequest for more than 100 rules, an unsupported method, more than
/// one wildcard in an origin or header, a wildcard in an expose header.
pub fn parse_cors_xml(body: &[u8]) -> S3Result<Vec<CorsRuleXml>> {
    let doc: CorsConfigurationIn = from_xml(body)?;
    let rules: Vec<CorsRuleXml> = doc.rules.into_iter().map(CorsRuleIn::into_rule).collect();
    if rules.is_empty() {
        return Err(malformed());
    }
    if rules.len() > MAX_CORS_RULES {
        return Err(invalid(format!("The number of CORS rules should not exceed allowed limit of {MAX_CORS_RULES} rules.")));
    }
    let mut out = Vec::with_capacity(rules.len());
    for mut rule in rules {
        let trim = |v: &mut Vec<String>| v.iter_mut().for_each(|s| *s = s.trim().to_string());
        trim(&mut rule.allowed_origins);
        trim(&mut rule.allowed_methods);
        trim(&mut rule.allowed_headers);
        trim(&mut rule.expose_headers);
        if rule.allowed_origins.is_empty() || rule.allowed_methods.is_empty() {
            return Err(malformed());
        }
        if let Some(id) = &rule.id
            && id.chars().count() > MAX_RULE_ID
        {
            return Err(invalid(format!("The ID of a CORS rule must be at most {MAX_RULE_ID} characters long.")));
        }
        if let Some(m) = rule.allowed_methods.iter().find(|m| !CORS_METHODS.contains(&m.as_str())) {
            return Err(invalid(format!("Found unsupported HTTP method in CORS config. Unsupported method is {m}")));
        }
        if let Some(o) = rule.allowed_origins.iter().find(|o| o.matches('*').count() > 1) {
            return Err(invalid(format!("AllowedOrigin \"{o}\" can not have more than one wildcard.")));
        }
        if let Some(h) = rule.allowed_headers.iter().find(|h| h.matches('*').count() > 1) {
            return Err(invalid(format!("AllowedHeader \"{h}\" can not have more than one wildcard.")));
        }
        if let Some(h) = rule.expose_headers.iter().find(|h| h.contains('*')) {
            return Err(invalid(format!(
                "ExposeHeader \"{h}\" contains wildcard. We currently do not support wildcard for ExposeHeader."
            )));
        }
        if let Some(age) = &rule.max_age_seconds {
            let age = age.trim();
            if age.parse::<u64>().is_err() {
                return Err(malformed());
            }
            rule.max_age_seconds = Some(age.to_string());
        }
        out.push(rule);
    }
    Ok(out)
}

/// The canonical document stored for (and returned by GetBucketCors) `rules`.
pub fn cors_document(rules: Vec<CorsRuleXml>) -> S3Result<String> {
    to_xml("CORSConfiguration", &CorsConfigurationOut { xmlns: S3_XMLNS, rules })
}

/// Parses a stored document into matching rules.
pub fn rules_from_document(doc: &[u8]) -> S3Result<Vec<CorsRule>> {
    Ok(parse_cors_xml(doc)?
        .into_iter()
        .map(|r| CorsRule {
            origins: r.allowed_origins,
            methods: r.allowed_methods,
            headers: r.allowed_headers.iter().map(|h| h.to_ascii_lowercase()).collect(),
            expose: r.expose_headers,
            max_age: r.max_age_seconds.and_then(|a| a.parse().ok()),
            credentials: Credentials::S3,
        })
        .collect())
}

/// Matches `text` against a pattern with at most one `*` (ASCII case-insensitive).
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern.eq_ignore_ascii_case(text),
        Some((prefix, suffix)) => {
            text.len() >= prefix.len() + suffix.len()
                && text.get(..prefix.len()).is_some_and(|p| p.eq_ignore_ascii_case(prefix))
                && text.get(text.len() - suffix.len()..).is_some_and(|s| s.eq_ignore_ascii_case(suffix))
        }
    }
}

impl CorsRule {
    /// The origin pattern matching `origin`, if any.
    fn matching_origin(&self, origin: &str) -> Option<&str> {
        self.origins.iter().find(|o| wildcard_match(o, origin)).map(String::as_str)
    }

    fn allows_method(&self, method: &str) -> bool {
        self.methods.iter().any(|m| m == method)
    }

    fn allows_header(&self, header: &str) -> bool {
        self.headers.iter().any(|h| wildcard_match(h, header))
    }
}

/// The rule set that governs a request: the bucket's, else the server-wide
/// rule. `Ok(None)`: CORS is not enabled for it.
async fn governing_rules(ctx: &Ctx) -> S3Result<Option<Arc<Vec<CorsRule>>>> {
    let cors = &ctx.state.cors;
    if let Some(bucket) = ctx.bucket.as_deref() {
        match ctx.store().head_bucket(bucket).await {
            Ok(info) => {
                let rules = cors.cache.load(ctx.store(), bucket, info.created, rules_from_document).await?;
                if rules.is_some() {
                    return Ok(rules);
                }
            }
            Err(StoreError::NoSuchBucket(_)) | Err(StoreError::InvalidBucketName { .. }) => {
                if cors.server.is_none() {
                    return Err(StoreError::NoSuchBucket(bucket.to_string()).into());
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(cors.server.clone().map(|rule| Arc::new(vec![rule])))
}

/// The origin response headers for a matched rule.
fn origin_headers(resp: &mut S3Response, rule: &CorsRule, pattern: &str, origin: &str) {
    let credentials = match rule.credentials {
        Credentials::S3 => pattern != "*",
        Credentials::Configured(c) => c,
    };
    let allow_origin = if pattern == "*" && !credentials { "*" } else { origin };
    set_header(resp, "access-control-allow-origin", allow_origin);
    if credentials {
        set_header(resp, "access-control-allow-credentials", "true");
    }
    set_header(resp, "access-control-allow-methods", &rule.methods.join(", "));
    if !rule.expose.is_empty() {
        set_header(resp, "access-control-expose-headers", &rule.expose.join(", "));
    }
    if let Some(age) = rule.max_age {
        set_header(resp, "access-control-max-age", &age.to_string());
    }
    set_header(resp, "vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method");
}

/// The 403 AccessForbidden answer to a refused preflight.
fn forbidden(ctx: &Ctx, message: &str, method: &str) -> S3Error {
    S3Error::new("AccessForbidden", http::StatusCode::FORBIDDEN, message)
        .with_field("Method", method.to_string())
        .with_field("ResourceType", if ctx.key.is_some() { "OBJECT" } else { "BUCKET" })
}

/// `OPTIONS /bucket[/key]`: the preflight answer (never authenticated).
pub async fn handle_preflight(ctx: &Ctx) -> S3Result<S3Response> {
    let origin = ctx
        .header("origin")
        .filter(|o| !o.is_empty())
        .ok_or_else(|| S3Error::new("BadRequest", http::StatusCode::BAD_REQUEST, "Insufficient information. Origin request header needed."))?;
    let method = ctx.header("access-control-request-method").unwrap_or_default().trim();
    if method.is_empty() || Method::from_bytes(method.as_bytes()).is_err() {
        let shown = if method.is_empty() { "null" } else { method };
        return Err(S3Error::new(
            "BadRequest",
            http::StatusCode::BAD_REQUEST,
            format!("Invalid Access-Control-Request-Method: {shown}"),
        ));
    }
    let requested: Vec<String> = ctx
        .headers
        .get_all("access-control-request-headers")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    let Some(rules) = governing_rules(ctx).await? else {
        return Err(forbidden(ctx, NOT_ENABLED_MESSAGE, method));
    };
    let matched = rules.iter().find_map(|rule| {
        let pattern = rule.matching_origin(origin)?;
        (rule.allows_method(method) && requested.iter().all(|h| rule.allows_header(h))).then_some((rule, pattern))
    });
    let Some((rule, pattern)) = matched else {
        return Err(forbidden(ctx, NOT_ALLOWED_MESSAGE, method));
    };
    let mut resp = crate::response::empty(http::StatusCode::OK);
    origin_headers(&mut resp, rule, pattern, origin);
    if !requested.is_empty() {
        set_header(&mut resp, "access-control-allow-headers", &requested.join(", "));
    }
    Ok(resp)
}

/// Adds the CORS headers of the matching rule to the response of an actual
/// request carrying `Origin` (successful or not). Requests without `Origin`,
/// preflights, and requests no rule matches are left alone.
pub async fn decorate(ctx: &Ctx, resp: &mut S3Response) {
    if ctx.endpoint == crate::router::Endpoint::Preflight {
        return;
    }
    let Some(origin) = ctx.header("origin").filter(|o| !o.is_empty()) else { return };
    let rules = match governing_rules(ctx).await {
        Ok(Some(rules)) => rules,
        Ok(None) | Err(_) => return,
    };
    let method = ctx.method.as_str();
    if let Some((rule, pattern)) =
        rules.iter().find_map(|r| r.matching_origin(origin).filter(|_| r.allows_method(method)).map(|p| (r, p)))
    {
        origin_headers(resp, rule, pattern, origin);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(xml: &str) -> Vec<CorsRule> {
        rules_from_document(xml.as_bytes()).unwrap()
    }

    fn err(xml: &str) -> (&'static str, String) {
        let e = parse_cors_xml(xml.as_bytes()).unwrap_err();
        (e.code, e.message)
    }

    fn rule_xml(inner: &str) -> String {
        format!("<CORSConfiguration><CORSRule>{inner}</CORSRule></CORSConfiguration>")
    }

    #[test]
    fn wildcards_allow_one_star() {
        assert!(wildcard_match("http://*.example.com", "http://app.example.com"));
        assert!(!wildcard_match("http://*.example.com", "http://example.com"));
        assert!(wildcard_match("*", "anything"));
        assert!(wildcard_match("x-amz-*", "x-amz-date"));
        assert!(wildcard_match("HTTP://A.example", "http://a.example"));
        assert!(!wildcard_match("http://a.example", "http://a.example.evil"));
        assert!(!wildcard_match("ab*ba", "aba"));
    }

    #[test]
    fn invalid_configurations_answer_as_s3() {
        assert_eq!(err("<CORSConfiguration/>").0, "MalformedXML");
        assert_eq!(err("<CORSConfiguration><CORSRule>").0, "MalformedXML");
        assert_eq!(err(&rule_xml("<AllowedOrigin>*</AllowedOrigin>")).0, "MalformedXML");
        assert_eq!(err(&rule_xml("<AllowedMethod>GET</AllowedMethod>")).0, "MalformedXML");
        assert_eq!(err(&rule_xml("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>x</MaxAgeSeconds>")).0, "MalformedXML");
        let (code, msg) = err(&rule_xml("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>"));
        assert_eq!((code, msg.as_str()), ("InvalidRequest", "Found unsupported HTTP method in CORS config. Unsupported method is PATCH"));
        let (code, msg) = err(&rule_xml("<AllowedOrigin>http://*.*.x</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"));
        assert_eq!((code, msg.as_str()), ("InvalidRequest", "AllowedOrigin \"http://*.*.x\" can not have more than one wildcard."));
        assert_eq!(err(&rule_xml("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedHeader>*-*</AllowedHeader>")).0, "InvalidRequest");
        assert_eq!(err(&rule_xml("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><ExposeHeader>*</ExposeHeader>")).0, "InvalidRequest");
        let many = "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>".repeat(101);
        let (code, msg) = err(&format!("<CORSConfiguration>{many}</CORSConfiguration>"));
        assert_eq!((code, msg.as_str()), ("InvalidRequest", "The number of CORS rules should not exceed allowed limit of 100 rules."));
        let hundred = "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>".repeat(100);
        assert_eq!(parse_cors_xml(format!("<CORSConfiguration>{hundred}</CORSConfiguration>").as_bytes()).unwrap().len(), 100);
    }

    #[test]
    fn first_matching_rule_wins_with_method_and_headers() {
        let set = rules(
            "<CORSConfiguration>\
             <CORSRule><AllowedOrigin>http://a.example</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedHeader>x-amz-*</AllowedHeader><AllowedHeader>content-type</AllowedHeader></CORSRule>\
             <CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>\
             </CORSConfiguration>",
        );
        let find = |origin: &str, method: &str, headers: &[&str]| {
            set.iter().position(|r| {
                r.matching_origin(origin).is_some() && r.allows_method(method) && headers.iter().all(|h| r.allows_header(h))
            })
        };
        assert_eq!(find("http://a.example", "PUT", &["x-amz-date", "content-type"]), Some(0));
        assert_eq!(find("http://a.example", "PUT", &["authorization"]), None);
        assert_eq!(find("http://b.example", "PUT", &[]), None);
        assert_eq!(find("http://b.example", "GET", &[]), Some(1));
        assert_eq!(find("http://a.example", "DELETE", &[]), None);
    }

    #[test]
    fn allow_origin_and_credentials_follow_s3() {
        let mut resp = crate::response::empty(http::StatusCode::OK);
        let rule = CorsRule {
            origins: vec!["*".into()],
            methods: vec!["GET".into()],
            headers: vec![],
            expose: vec!["ETag".into()],
            max_age: Some(10),
            credentials: Credentials::S3,
        };
        origin_headers(&mut resp, &rule, "*", "http://a.example");
        assert_eq!(resp.headers()["access-control-allow-origin"], "*");
        assert!(resp.headers().get("access-control-allow-credentials").is_none());
        assert_eq!(resp.headers()["access-control-expose-headers"], "ETag");
        assert_eq!(resp.headers()["access-control-max-age"], "10");
        let mut resp = crate::response::empty(http::StatusCode::OK);
        origin_headers(&mut resp, &rule, "http://*.example", "http://a.example");
        assert_eq!(resp.headers()["access-control-allow-origin"], "http://a.example");
        assert_eq!(resp.headers()["access-control-allow-credentials"], "true");
        let configured = CorsRule { credentials: Credentials::Configured(true), ..rule };
        let mut resp = crate::response::empty(http::StatusCode::OK);
        origin_headers(&mut resp, &configured, "*", "http://a.example");
        assert_eq!(resp.headers()["access-control-allow-origin"], "http://a.example");
    }
}
