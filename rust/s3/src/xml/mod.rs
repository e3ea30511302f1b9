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
    // Written digit by digit: listings write one per entry, and both a format
    // description and `format!` cost several times more.
    let mut out = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut value: u32| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, dt.year() as u32);
    put(5, 2, u8::from(dt.month()).into());
    put(8, 2, dt.day().into());
    put(11, 2, dt.hour().into());
    put(14, 2, dt.minute().into());
    put(17, 2, dt.second().into());
    put(20, 3, dt.millisecond().into());
    // ASCII digits and separators only, so always valid UTF-8.
    String::from_utf8(out.to_vec()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_has_milliseconds_and_z() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_139_006_709_123);
        assert_eq!(iso8601(t), "2006-02-03T22:45:09.123Z");
        assert_eq!(iso8601(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let padded = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_007);
        assert_eq!(iso8601(padded), "2023-11-14T22:13:20.007Z");
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
