//! Object and bucket tagging over a real server: tags from `x-amz-tagging`,
//! Get/Put/DeleteObjectTagging, Get/Put/DeleteBucketTagging, the tag count
//! header, every error S3 answers, and CopyObject's tagging directive.

mod common;

use base64::Engine;
use common::{TestResponse, TestServer};
use http::{Method, StatusCode};
use md5::{Digest, Md5};

const DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
const NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

async fn server_with_object() -> TestServer {
    let s = TestServer::start().await;
    assert_eq!(s.put("/bkt", "").await.status, StatusCode::OK);
    assert_eq!(s.put("/bkt/obj", "hello").await.status, StatusCode::OK);
    s
}

fn assert_error(r: &TestResponse, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert!(r.text().contains(&format!("<Code>{code}</Code>")), "expected {code}: {}", r.text());
}

/// The `Tagging` document S3 answers for `tags`.
fn tagging_xml(tags: &[(&str, &str)]) -> String {
    if tags.is_empty() {
        return format!("{DECL}<Tagging xmlns=\"{NS}\"><TagSet/></Tagging>");
    }
    let body: String = tags
        .iter()
        .map(|(k, v)| if v.is_empty() { format!("<Tag><Key>{k}</Key><Value/></Tag>") } else { format!("<Tag><Key>{k}</Key><Value>{v}</Value></Tag>") })
        .collect();
    format!("{DECL}<Tagging xmlns=\"{NS}\"><TagSet>{body}</TagSet></Tagging>")
}

/// A request body as clients send it (no namespace, indented).
fn tagging_body(tags: &[(&str, &str)]) -> String {
    let body: String = tags.iter().map(|(k, v)| format!("\n    <Tag><Key>{k}</Key><Value>{v}</Value></Tag>")).collect();
    format!("<Tagging>\n  <TagSet>{body}\n  </TagSet>\n</Tagging>")
}

async fn put_tagging(s: &TestServer, path: &str, tags: &[(&str, &str)]) -> TestResponse {
    s.request(Method::PUT, path, &[], tagging_body(tags)).await
}

#[tokio::test]
async fn tags_from_the_put_header_are_returned_by_get_object_tagging() {
    let s = server_with_object().await;
    let put = s.request(Method::PUT, "/bkt/tagged", &[("x-amz-tagging", "project=blue%20sky&empty=&a+b=c%2Fd")], "data").await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text());
    let get = s.get("/bkt/tagged?tagging").await;
    assert_eq!(get.status, StatusCode::OK, "{}", get.text());
    assert_eq!(get.header("content-type"), Some("application/xml"));
    assert_eq!(get.text(), tagging_xml(&[("a b", "c/d"), ("empty", ""), ("project", "blue sky")]));
    let head = s.request(Method::HEAD, "/bkt/tagged", &[], "").await;
    assert_eq!(head.header("x-amz-tagging-count"), Some("3"));
    assert_eq!(s.get("/bkt/tagged").await.header("x-amz-tagging-count"), Some("3"));
    // An untagged object has an empty tag set and no count header.
    assert_eq!(s.get("/bkt/obj?tagging").await.text(), tagging_xml(&[]));
    assert_eq!(s.request(Method::HEAD, "/bkt/obj", &[], "").await.header("x-amz-tagging-count"), None);
    // versionId=null addresses the one version there is.
    assert_eq!(s.get("/bkt/tagged?tagging&versionId=null").await.status, StatusCode::OK);
}

#[tokio::test]
async fn put_object_tagging_replaces_the_tag_set_and_keeps_the_object() {
    let s = server_with_object().await;
    s.request(Method::PUT, "/bkt/k", &[("x-amz-tagging", "old=1&keep=2"), ("content-type", "text/plain"), ("x-amz-meta-color", "red")], "bytes").await;
    let before = s.request(Method::HEAD, "/bkt/k", &[], "").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    let put = put_tagging(&s, "/bkt/k?tagging", &[("keep", "3"), ("new", "x y"), ("path", "a/b:c=d+e@f.g_h-i")]).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text());
    assert!(put.body.is_empty());
    assert_eq!(s.get("/bkt/k?tagging").await.text(), tagging_xml(&[("keep", "3"), ("new", "x y"), ("path", "a/b:c=d+e@f.g_h-i")]));

    let get = s.get("/bkt/k").await;
    assert_eq!(get.text(), "bytes");
    assert_eq!(get.header("x-amz-tagging-count"), Some("3"));
    for header in ["etag", "last-modified", "content-type", "x-amz-meta-color"] {
        assert_eq!(get.header(header), before.header(header), "{header} is kept");
    }
    let list = s.get("/bkt?list-type=2").await.text();
    assert!(list.contains("<Key>k</Key>"), "{list}");

    // An empty tag set removes every tag.
    assert_eq!(put_tagging(&s, "/bkt/k?tagging", &[]).await.status, StatusCode::OK);
    assert_eq!(s.get("/bkt/k?tagging").await.text(), tagging_xml(&[]));
    assert_eq!(s.get("/bkt/k").await.header("x-amz-tagging-count"), None);

    // A namespaced body with a verified Content-MD5 is accepted too.
    let body = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Tagging xmlns=\"{NS}\"><TagSet><Tag><Key>n</Key><Value>1</Value></Tag></TagSet></Tagging>");
    let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(body.as_bytes()));
    let r = s.request(Method::PUT, "/bkt/k?tagging", &[("content-md5", md5.as_str())], body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(s.get("/bkt/k?tagging").await.text(), tagging_xml(&[("n", "1")]));
}

#[tokio::test]
async fn delete_object_tagging_answers_204_and_empties_the_set() {
    let s = server_with_object().await;
    s.request(Method::PUT, "/bkt/k", &[("x-amz-tagging", "a=1")], "x").await;
    let del = s.request(Method::DELETE, "/bkt/k?tagging", &[], "").await;
    assert_eq!(del.status, StatusCode::NO_CONTENT, "{}", del.text());
    assert_eq!(s.get("/bkt/k?tagging").await.text(), tagging_xml(&[]));
    assert_eq!(s.get("/bkt/k").await.text(), "x", "the object itself stays");
    // Deleting the tags of an untagged object is fine too.
    assert_eq!(s.request(Method::DELETE, "/bkt/k?tagging", &[], "").await.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn object_tagging_errors_match_s3() {
    let s = server_with_object().await;
    // Missing key and bucket.
    assert_error(&s.get("/bkt/nope?tagging").await, StatusCode::NOT_FOUND, "NoSuchKey");
    assert_error(&put_tagging(&s, "/bkt/nope?tagging", &[("a", "1")]).await, StatusCode::NOT_FOUND, "NoSuchKey");
    assert_error(&s.request(Method::DELETE, "/bkt/nope?tagging", &[], "").await, StatusCode::NOT_FOUND, "NoSuchKey");
    assert_error(&s.get("/nobkt/obj?tagging").await, StatusCode::NOT_FOUND, "NoSuchBucket");
    assert_error(&s.get("/bkt/obj?tagging&versionId=3HL4kqtJlcpXroDTDmJ").await, StatusCode::NOT_FOUND, "NoSuchVersion");

    // Bodies that are not a Tagging document.
    for body in ["", "not xml", "<Tagging></Tagging>", "<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>", "<Other><TagSet/></Other>", "<Tagging><TagSet>"] {
        let r = s.request(Method::PUT, "/bkt/obj?tagging", &[], body).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "MalformedXML");
    }

    // Tags S3 refuses.
    let eleven: Vec<(String, String)> = (0..11).map(|i| (format!("k{i}"), "v".to_string())).collect();
    let eleven: Vec<(&str, &str)> = eleven.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = put_tagging(&s, "/bkt/obj?tagging", &eleven).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "BadRequest");
    assert!(r.text().contains("Object tags cannot be greater than 10"), "{}", r.text());
    assert_eq!(put_tagging(&s, "/bkt/obj?tagging", &eleven[..10]).await.status, StatusCode::OK, "ten tags are fine");
    let long_key = "k".repeat(129);
    let long_value = "v".repeat(257);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("a", "1"), ("a", "2")], "Cannot provide multiple Tags with the same key"),
        (vec![("", "v")], "The TagKey you have provided is invalid"),
        (vec![(long_key.as_str(), "v")], "The TagKey you have provided is invalid"),
        (vec![("k", long_value.as_str())], "The TagValue you have provided is invalid"),
        (vec![("k", "a,b")], "The TagValue you have provided is invalid"),
        (vec![("k{", "v")], "The TagKey you have provided is invalid"),
        (vec![("aws:cloudformation", "v")], "Your TagKey cannot be prefixed with aws:"),
    ];
    for (tags, message) in cases {
        let r = put_tagging(&s, "/bkt/obj?tagging", &tags).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "InvalidTag");
        assert!(r.text().contains(message), "{tags:?}: {}", r.text());
    }
    assert_eq!(put_tagging(&s, "/bkt/obj?tagging", &[(&"k".repeat(128), &"v".repeat(256))]).await.status, StatusCode::OK);

    // A body that fails its Content-MD5 is refused before anything changes.
    let r = s.request(Method::PUT, "/bkt/obj?tagging", &[("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")], tagging_body(&[("z", "z")])).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "BadDigest");
    assert!(!s.get("/bkt/obj?tagging").await.text().contains("<Key>z</Key>"));
}

#[tokio::test]
async fn the_tagging_header_is_checked_like_the_document() {
    let s = server_with_object().await;
    let eleven: Vec<String> = (0..11).map(|i| format!("k{i}=v")).collect();
    let r = s.request(Method::PUT, "/bkt/h", &[("x-amz-tagging", eleven.join("&").as_str())], "x").await;
    assert_error(&r, StatusCode::BAD_REQUEST, "BadRequest");
    assert_error(&s.request(Method::PUT, "/bkt/h", &[("x-amz-tagging", "a=x%2Cy")], "x").await, StatusCode::BAD_REQUEST, "InvalidTag");
    assert_error(&s.request(Method::PUT, "/bkt/h", &[("x-amz-tagging", "aws%3Akey=v")], "x").await, StatusCode::BAD_REQUEST, "InvalidTag");
    assert_error(&s.request(Method::PUT, "/bkt/h", &[("x-amz-tagging", "a=1&a=2")], "x").await, StatusCode::BAD_REQUEST, "InvalidArgument");
    assert_error(&s.get("/bkt/h").await, StatusCode::NOT_FOUND, "NoSuchKey");
}

#[tokio::test]
async fn multipart_uploads_carry_their_tags_to_the_object() {
    let s = server_with_object().await;
    let r = s.request(Method::POST, "/bkt/mp?uploads", &[("x-amz-tagging", "stage=upload")], "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let text = r.text();
    let id = text.split("<UploadId>").nth(1).and_then(|t| t.split("</UploadId>").next()).expect("UploadId").to_string();
    let part = s.request(Method::PUT, &format!("/bkt/mp?partNumber=1&uploadId={id}"), &[], "only part").await;
    assert_eq!(part.status, StatusCode::OK, "{}", part.text());
    let etag = part.header("etag").expect("etag").to_string();
    let body = format!("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part></CompleteMultipartUpload>");
    let done = s.request(Method::POST, &format!("/bkt/mp?uploadId={id}"), &[], body).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    assert_eq!(s.get("/bkt/mp?tagging").await.text(), tagging_xml(&[("stage", "upload")]));
    // Tagging a multipart object keeps its multipart ETag.
    let before = s.request(Method::HEAD, "/bkt/mp", &[], "").await.header("etag").map(str::to_string);
    assert_eq!(put_tagging(&s, "/bkt/mp?tagging", &[("stage", "done")]).await.status, StatusCode::OK);
    let after = s.request(Method::HEAD, "/bkt/mp", &[], "").await;
    assert_eq!(after.header("etag").map(str::to_string), before);
    assert!(before.is_some_and(|e| e.ends_with("-1\"")));
    assert_eq!(after.header("x-amz-tagging-count"), Some("1"));
}

#[tokio::test]
async fn copy_object_keeps_or_replaces_tags_by_directive() {
    let s = server_with_object().await;
    s.request(Method::PUT, "/bkt/src", &[("x-amz-tagging", "origin=source&n=1")], "copy me").await;
    let copy = |dst: &'static str, extra: &'static [(&'static str, &'static str)]| {
        let s = &s;
        async move {
            let mut headers = vec![("x-amz-copy-source", "/bkt/src")];
            headers.extend_from_slice(extra);
            let r = s.request(Method::PUT, dst, &headers, "").await;
            assert_eq!(r.status, StatusCode::OK, "{dst}: {}", r.text());
            s.get(&format!("{dst}?tagging")).await.text()
        }
    };
    let source_tags = tagging_xml(&[("n", "1"), ("origin", "source")]);
    // No directive means COPY; COPY ignores a tagging header.
    assert_eq!(copy("/bkt/d1", &[]).await, source_tags);
    assert_eq!(copy("/bkt/d2", &[("x-amz-tagging-directive", "COPY"), ("x-amz-tagging", "other=x")]).await, source_tags);
    // REPLACE takes the header's tags, or none.
    assert_eq!(copy("/bkt/d3", &[("x-amz-tagging-directive", "REPLACE"), ("x-amz-tagging", "fresh=yes")]).await, tagging_xml(&[("fresh", "yes")]));
    assert_eq!(copy("/bkt/d4", &[("x-amz-tagging-directive", "REPLACE")]).await, tagging_xml(&[]));
    // The tagging directive is independent of the metadata directive.
    let r = s.request(Method::PUT, "/bkt/d5", &[("x-amz-copy-source", "/bkt/src"), ("x-amz-metadata-directive", "REPLACE"), ("content-type", "text/x")], "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(s.get("/bkt/d5?tagging").await.text(), source_tags);
    assert_eq!(s.get("/bkt/d5").await.header("x-amz-tagging-count"), Some("2"));
    let bad = s.request(Method::PUT, "/bkt/d6", &[("x-amz-copy-source", "/bkt/src"), ("x-amz-tagging-directive", "MERGE")], "").await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "InvalidArgument");
    // Invalid tags in a REPLACE copy are refused like on PUT.
    let bad = s.request(Method::PUT, "/bkt/d7", &[("x-amz-copy-source", "/bkt/src"), ("x-amz-tagging-directive", "REPLACE"), ("x-amz-tagging", "aws%3Ax=1")], "").await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "InvalidTag");
}

#[tokio::test]
async fn bucket_tagging_round_trips_and_answers_no_such_tag_set() {
    let s = server_with_object().await;
    let r = s.get("/bkt?tagging").await;
    assert_error(&r, StatusCode::NOT_FOUND, "NoSuchTagSet");
    assert!(r.text().contains("The TagSet does not exist"), "{}", r.text());

    let put = put_tagging(&s, "/bkt?tagging", &[("cost-center", "42"), ("Owner", "team@example.com")]).await;
    assert_eq!(put.status, StatusCode::NO_CONTENT, "{}", put.text());
    let get = s.get("/bkt?tagging").await;
    assert_eq!(get.status, StatusCode::OK);
    assert_eq!(get.text(), tagging_xml(&[("cost-center", "42"), ("Owner", "team@example.com")]));

    // PUT replaces the whole set.
    assert_eq!(put_tagging(&s, "/bkt?tagging", &[("only", "one")]).await.status, StatusCode::NO_CONTENT);
    assert_eq!(s.get("/bkt?tagging").await.text(), tagging_xml(&[("only", "one")]));

    // Up to 50 tags on a bucket; more is BadRequest.
    let tags: Vec<(String, String)> = (0..51).map(|i| (format!("t{i:02}"), format!("v{i}"))).collect();
    let tags: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(put_tagging(&s, "/bkt?tagging", &tags[..50]).await.status, StatusCode::NO_CONTENT);
    assert_eq!(s.get("/bkt?tagging").await.text(), tagging_xml(&tags[..50]));
    let r = put_tagging(&s, "/bkt?tagging", &tags).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "BadRequest");
    assert!(r.text().contains("Bucket tag count cannot be greater than 50"), "{}", r.text());
    assert_error(&put_tagging(&s, "/bkt?tagging", &[("a", "1"), ("a", "1")]).await, StatusCode::BAD_REQUEST, "InvalidTag");
    assert_error(&put_tagging(&s, "/bkt?tagging", &[("aws:x", "1")]).await, StatusCode::BAD_REQUEST, "InvalidTag");
    assert_error(&s.request(Method::PUT, "/bkt?tagging", &[], "<Tagging/>").await, StatusCode::BAD_REQUEST, "MalformedXML");
    assert_eq!(s.get("/bkt?tagging").await.text(), tagging_xml(&tags[..50]), "failed puts change nothing");

    // DELETE answers 204, then the set is gone; deleting again is fine.
    assert_eq!(s.request(Method::DELETE, "/bkt?tagging", &[], "").await.status, StatusCode::NO_CONTENT);
    assert_error(&s.get("/bkt?tagging").await, StatusCode::NOT_FOUND, "NoSuchTagSet");
    assert_eq!(s.request(Method::DELETE, "/bkt?tagging", &[], "").await.status, StatusCode::NO_CONTENT);

    // An empty tag set removes the tags too.
    put_tagging(&s, "/bkt?tagging", &[("a", "1")]).await;
    assert_eq!(put_tagging(&s, "/bkt?tagging", &[]).await.status, StatusCode::NO_CONTENT);
    assert_error(&s.get("/bkt?tagging").await, StatusCode::NOT_FOUND, "NoSuchTagSet");

    // Bucket tags are not object tags.
    assert_eq!(s.get("/bkt/obj?tagging").await.text(), tagging_xml(&[]));
}

#[tokio::test]
async fn bucket_tagging_of_a_missing_bucket_is_no_such_bucket() {
    let s = TestServer::start().await;
    assert_error(&s.get("/nobkt?tagging").await, StatusCode::NOT_FOUND, "NoSuchBucket");
    assert_error(&put_tagging(&s, "/nobkt?tagging", &[("a", "1")]).await, StatusCode::NOT_FOUND, "NoSuchBucket");
    assert_error(&s.request(Method::DELETE, "/nobkt?tagging", &[], "").await, StatusCode::NOT_FOUND, "NoSuchBucket");
}

#[tokio::test]
async fn bucket_tags_go_with_the_bucket() {
    let s = TestServer::start().await;
    assert_eq!(s.put("/gone", "").await.status, StatusCode::OK);
    put_tagging(&s, "/gone?tagging", &[("a", "1")]).await;
    assert_eq!(s.request(Method::DELETE, "/gone", &[], "").await.status, StatusCode::NO_CONTENT);
    assert_eq!(s.put("/gone", "").await.status, StatusCode::OK);
    assert_error(&s.get("/gone?tagging").await, StatusCode::NOT_FOUND, "NoSuchTagSet");
}

#[tokio::test]
async fn concurrent_tagging_and_overwrites_never_mix_objects() {
    let s = server_with_object().await;
    let s = &s;
    let results = futures_util::future::join_all((0..16).map(|i| async move {
        if i % 2 == 0 {
            s.request(Method::PUT, "/bkt/race", &[("x-amz-tagging", format!("writer=w{i}").as_str())], format!("version {i}")).await.status
        } else {
            put_tagging(s, "/bkt/race?tagging", &[("tagger", &format!("t{i}"))]).await.status
        }
    }))
    .await;
    for status in results {
        // A tagging request may find the key missing before the first write lands.
        assert!(status == StatusCode::OK || status == StatusCode::NOT_FOUND, "{status}");
    }
    let get = s.get("/bkt/race").await;
    assert_eq!(get.status, StatusCode::OK);
    let md5 = format!("\"{}\"", hex_md5(&get.body));
    assert_eq!(get.header("etag"), Some(md5.as_str()), "metadata and bytes belong to the same write");
    let tags = s.get("/bkt/race?tagging").await.text();
    assert!(tags.contains("<Key>writer</Key>") || tags.contains("<Key>tagger</Key>"), "{tags}");
}

fn hex_md5(data: &[u8]) -> String {
    Md5::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}
