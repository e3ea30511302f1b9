//! XML of POST Object: the `PostResponse` sent for `success_action_status=201`.

use serde::Serialize;

/// `PostResponse`.
#[derive(Debug, Serialize)]
pub struct PostResponse {
    /// URL of the stored object.
    #[serde(rename = "Location")]
    pub location: String,
    /// The bucket.
    #[serde(rename = "Bucket")]
    pub bucket: String,
    /// The object key.
    #[serde(rename = "Key")]
    pub key: String,
    /// The quoted ETag.
    #[serde(rename = "ETag")]
    pub etag: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::to_xml;

    #[test]
    fn post_response_matches_s3() {
        let doc = PostResponse {
            location: "http://localhost:3000/b1/a%20b".into(),
            bucket: "b1".into(),
            key: "a b".into(),
            etag: "\"9b2cf535f27731c974343645a3985328\"".into(),
        };
        assert_eq!(
            to_xml("PostResponse", &doc).unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PostResponse><Location>http://localhost:3000/b1/a%20b</Location><Bucket>b1</Bucket><Key>a b</Key><ETag>\"9b2cf535f27731c974343645a3985328\"</ETag></PostResponse>"
        );
    }
}
