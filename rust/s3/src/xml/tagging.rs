//! XML of the tagging operations: the one `Tagging` document that
//! PutObjectTagging / PutBucketTagging send and GetObjectTagging /
//! GetBucketTagging answer:
//! `<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag>…</TagSet></Tagging>`.

use super::{S3_XMLNS, from_xml};
use crate::error::{S3Error, S3Result};
use quick_xml::events::Event;
use serde::{Deserialize, Serialize};

/// The document's root element.
pub const TAGGING_ROOT: &str = "Tagging";

/// One tag: a key and its value (`<Value/>` is the empty value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// The tag key.
    #[serde(rename = "Key")]
    pub key: String,
    /// The tag value.
    #[serde(rename = "Value")]
    pub value: String,
}

/// The `TagSet` element: the tags, in document order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagSet {
    /// One `Tag` element per tag.
    #[serde(rename = "Tag", default)]
    pub tags: Vec<Tag>,
}

/// `Tagging` as a response (with S3's namespace on the root).
#[derive(Debug, Serialize)]
pub struct Tagging {
    /// Namespace attribute.
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    /// The tags.
    #[serde(rename = "TagSet")]
    pub tag_set: TagSet,
}

impl Tagging {
    /// The answer for `tags` (in the given order).
    pub fn new<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> Self {
        let tags = tags.into_iter().map(|(k, v)| Tag { key: k.into(), value: v.into() }).collect();
        Tagging { xmlns: S3_XMLNS, tag_set: TagSet { tags } }
    }
}

/// `Tagging` as a request body. `TagSet` is required; each `Tag` needs `Key`
/// and `Value`. The namespace may be present or not (AWS's samples omit it).
#[derive(Debug, Deserialize)]
struct TaggingRequest {
    /// The tags.
    #[serde(rename = "TagSet")]
    tag_set: TagSet,
}

/// Parses a PutObjectTagging / PutBucketTagging body into its tags, in document
/// order (validation of the tags themselves is the caller's). Anything that is
/// not a well-formed `Tagging` document with a `TagSet` is MalformedXML.
pub fn parse_tagging(body: &[u8]) -> S3Result<Vec<Tag>> {
    let root = root_element(body)?;
    if root != TAGGING_ROOT {
        return Err(S3Error::malformed_xml(format!(
            "The XML you provided was not well-formed or did not validate against our published schema: expected a <{TAGGING_ROOT}> document, got <{root}>"
        )));
    }
    let request: TaggingRequest = from_xml(body)?;
    Ok(request.tag_set.tags)
}

/// The local name of a document's root element.
fn root_element(body: &[u8]) -> S3Result<String> {
    let malformed = |detail: String| {
        S3Error::malformed_xml(format!(
            "The XML you provided was not well-formed or did not validate against our published schema ({detail})"
        ))
    };
    let mut reader = quick_xml::Reader::from_reader(body);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                return Ok(e.local_name().into_inner().to_string());
            }
            Ok(Event::Eof) => return Err(malformed("the document is empty".into())),
            Ok(Event::Text(t)) if t.chars().all(|c| c.is_ascii_whitespace()) => {}
            Ok(Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_)) => {}
            Ok(_) => return Err(malformed("content before the root element".into())),
            Err(e) => return Err(malformed(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::to_xml;

    const DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

    #[test]
    fn tagging_xml_matches_s3() {
        let doc = Tagging::new([("env", "prod & test"), ("empty", "")]);
        assert_eq!(
            to_xml(TAGGING_ROOT, &doc).unwrap(),
            format!(
                "{DECL}<Tagging xmlns=\"{S3_XMLNS}\"><TagSet><Tag><Key>env</Key><Value>prod &amp; test</Value></Tag><Tag><Key>empty</Key><Value/></Tag></TagSet></Tagging>"
            )
        );
    }

    #[test]
    fn empty_tag_set_is_an_empty_element() {
        let doc = Tagging::new(Vec::<(String, String)>::new());
        assert_eq!(to_xml(TAGGING_ROOT, &doc).unwrap(), format!("{DECL}<Tagging xmlns=\"{S3_XMLNS}\"><TagSet/></Tagging>"));
    }

    #[test]
    fn requests_parse_with_or_without_namespace_and_keep_order_and_spaces() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
            <Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <TagSet>
                <Tag><Key>b</Key><Value> two words </Value></Tag>
                <Tag><Key>a&amp;z</Key><Value/></Tag>
                <Tag><Key>c</Key><Value></Value></Tag>
              </TagSet>
            </Tagging>"#;
        let tags = parse_tagging(body).unwrap();
        let pairs: Vec<(&str, &str)> = tags.iter().map(|t| (t.key.as_str(), t.value.as_str())).collect();
        assert_eq!(pairs, vec![("b", " two words "), ("a&z", ""), ("c", "")]);
        assert_eq!(parse_tagging(b"<Tagging><TagSet/></Tagging>").unwrap(), vec![]);
        assert_eq!(parse_tagging(b"<Tagging><TagSet></TagSet></Tagging>").unwrap(), vec![]);
    }

    #[test]
    fn malformed_requests_are_malformed_xml() {
        for body in [
            &b""[..],
            b"   ",
            b"not xml",
            b"<Tagging>",
            b"<Tagging></Tagging>",
            b"<Tagging/>",
            b"<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>",
            b"<Tagging><TagSet><Tag><Value>v</Value></Tag></TagSet></Tagging>",
            b"<Other><TagSet/></Other>",
            b"<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet>",
            b"\xff\xfe<Tagging/>",
        ] {
            let err = parse_tagging(body).unwrap_err();
            assert_eq!(err.code, "MalformedXML", "{:?}", String::from_utf8_lossy(body));
        }
    }
}
