//! XML of the bucket CORS operations: `CORSConfiguration` with its
//! `CORSRule` elements, read from PutBucketCors and written by GetBucketCors.

use serde::{Deserialize, Serialize};

/// `CORSConfiguration` as a client sends it.
#[derive(Debug, Deserialize, Default)]
pub struct CorsConfigurationIn {
    /// The rules, in order.
    #[serde(rename = "CORSRule", default)]
    pub rules: Vec<CorsRuleIn>,
}

/// One `CORSRule` as sent: its elements in any order (S3 accepts e.g.
/// `AllowedMethod` elements interleaved with `AllowedOrigin` ones).
#[derive(Debug, Deserialize, Default)]
pub struct CorsRuleIn {
    /// The child elements, in document order.
    #[serde(rename = "$value", default)]
    pub elements: Vec<CorsRuleElement>,
}

/// A child element of `CORSRule`; any other element name is MalformedXML.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub enum CorsRuleElement {
    #[serde(rename = "ID")]
    Id(String),
    AllowedHeader(String),
    AllowedMethod(String),
    AllowedOrigin(String),
    ExposeHeader(String),
    MaxAgeSeconds(String),
}

impl CorsRuleIn {
    /// The rule's elements gathered by name.
    pub fn into_rule(self) -> CorsRuleXml {
        let mut rule = CorsRuleXml::default();
        for element in self.elements {
            match element {
                CorsRuleElement::Id(v) => rule.id = Some(v),
                CorsRuleElement::AllowedHeader(v) => rule.allowed_headers.push(v),
                CorsRuleElement::AllowedMethod(v) => rule.allowed_methods.push(v),
                CorsRuleElement::AllowedOrigin(v) => rule.allowed_origins.push(v),
                CorsRuleElement::ExposeHeader(v) => rule.expose_headers.push(v),
                CorsRuleElement::MaxAgeSeconds(v) => rule.max_age_seconds = Some(v),
            }
        }
        rule
    }
}

/// `CORSConfiguration` as S3 answers it.
#[derive(Debug, Serialize)]
pub struct CorsConfigurationOut {
    /// Namespace attribute.
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    /// The rules, in order.
    #[serde(rename = "CORSRule")]
    pub rules: Vec<CorsRuleXml>,
}

/// One `CORSRule`, element names as S3 spells them.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct CorsRuleXml {
    /// Optional rule id (≤ 255 characters).
    #[serde(rename = "ID", skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Request headers a preflight may ask for (one `*` wildcard each).
    #[serde(rename = "AllowedHeader")]
    pub allowed_headers: Vec<String>,
    /// GET, PUT, POST, DELETE or HEAD.
    #[serde(rename = "AllowedMethod")]
    pub allowed_methods: Vec<String>,
    /// Origins (one `*` wildcard each).
    #[serde(rename = "AllowedOrigin")]
    pub allowed_origins: Vec<String>,
    /// Response headers scripts may read.
    #[serde(rename = "ExposeHeader")]
    pub expose_headers: Vec<String>,
    /// How long a browser may cache the preflight answer, seconds.
    #[serde(rename = "MaxAgeSeconds", skip_serializing_if = "Option::is_none")]
    pub max_age_seconds: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{S3_XMLNS, from_xml, to_xml};

    #[test]
    fn cors_configuration_round_trips_as_s3_writes_it() {
        let body = br#"<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
            <CORSRule><ID>r1</ID><AllowedOrigin>http://a.example</AllowedOrigin><AllowedMethod>PUT</AllowedMethod>
            <AllowedMethod>GET</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader>
            <MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule>
            <CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>
        </CORSConfiguration>"#;
        let parsed: CorsConfigurationIn = from_xml(body).unwrap();
        let rules: Vec<CorsRuleXml> = parsed.rules.into_iter().map(CorsRuleIn::into_rule).collect();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].allowed_methods, ["PUT", "GET"]);
        let out = CorsConfigurationOut { xmlns: S3_XMLNS, rules };
        assert_eq!(
            to_xml("CORSConfiguration", &out).unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CORSConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><CORSRule><ID>r1</ID><AllowedHeader>*</AllowedHeader><AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod><AllowedOrigin>http://a.example</AllowedOrigin><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule><CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>"
        );
    }

    #[test]
    fn interleaved_elements_are_accepted() {
        let body = b"<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PUT</AllowedMethod></CORSRule></CORSConfiguration>";
        let parsed: CorsConfigurationIn = from_xml(body).unwrap();
        let rule = parsed.rules.into_iter().next().unwrap().into_rule();
        assert_eq!(rule.allowed_methods, ["GET", "PUT"]);
        assert_eq!(rule.allowed_origins, ["*"]);
    }

    #[test]
    fn unknown_rule_elements_are_refused() {
        let body = b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><Bogus>1</Bogus></CORSRule></CORSConfiguration>";
        assert!(from_xml::<CorsConfigurationIn>(body).is_err());
    }
}
