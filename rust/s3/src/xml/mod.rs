//! XML documents of the S3 API: serde structs named after AWS's elements,
//! serialized with quick-xml, each tested against the exact expected string.
//! One file per operation family.

use crate::error::{S3Error, S3Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::SystemTime;

/// The S3 XML namespace, set on every response root element.
pub const S3_XMLNS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// Largest XML request body accepted (DeleteObjects with 1000 long keys fits
/// comfortably; anything bigger is abuse), checked before parsing.
pub const MAX_XML_BODY: usize = 2 * 1024 * 1024;

/// Serializes `value` as the document element `root`, with the XML declaration.
pub fn to_xml<T: Serialize>(root: &str, value: &T) -> S3Result<String> {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let mut ser = quick_xml::se::Serializer::with_root(&mut out, Some(root))
        .map_err(|e| S3Error::internal_error(format!("serializing {root}: {e}")))?;
    ser.expand_empty_elements(false);
    value.serialize(ser).map_err(|e| S3Error::internal_error(format!("serializing {root}: {e}")))?;
    Ok(out)
}

/// Parses a request body as XML into `T`; any failure is MalformedXML.
pub fn from_xml<T: DeserializeOwned>(body: &[u8]) -> S3Result<T> {
    let text = std::str::from_utf8(body)
        .map_err(|_| S3Error::malformed_xml("The XML you provided was not well-formed or did not validate against our published schema (body is not UTF-8)"))?;
    quick_xml::de::from_str(text).map_err(|e| {
        S3Error::malformed_xml(format!(
            "The XML you provided was not well-formed or did not validate against our published schema ({e})"
        ))
    })
}

/// A timestamp as S3 writes it in XML: `2006-02-03T16:45:09.000Z`.
pub fn iso8601(t: SystemTime) -> String {
    let dt = time::OffsetDateTime::from(t);
    if !(0..=9999).contains(&dt.year()) {
        let fmt = time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        return dt.format(&fmt).unwrap_or_default();
    }
    // Formatted by hand: listings write one per entry, and interpreting a
    // format description costs several times more.
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_has_milliseconds_and_z() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_139_006_709_123);
        assert_eq!(iso8601(t), "2006-02-03T22:45:09.123Z");
    }

    #[test]
    fn to_xml_writes_declaration_and_root() {
        #[derive(Serialize)]
        struct Doc {
            #[serde(rename = "@xmlns")]
            xmlns: &'static str,
            #[serde(rename = "Name")]
            name: String,
        }
        let doc = Doc { xmlns: S3_XMLNS, name: "a&b".into() };
        assert_eq!(
            to_xml("Root", &doc).unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Root xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>a&amp;b</Name></Root>"
        );
    }
}
pub mod bucket;
pub mod cors;
pub mod list;
pub mod multipart;
pub mod object;
pub mod post_object;
pub mod tagging;
