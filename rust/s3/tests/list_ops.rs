//! Listing over a real server: ListObjects v1/v2 and ListObjectVersions,
//! pagination with and without delimiters, weird keys, encoding-type=url.

mod common;

use common::{TestResponse, TestServer};
use http::{Method, StatusCode};

/// Keys whose byte order and grouping are easy to get wrong.
const WEIRD_KEYS: &[&str] = &["a", "a/b", "a//b", "a/c", "b", "c d", "c+d", "z/", "ü/x", "名前"];

async fn server_with_keys(keys: &[&str]) -> TestServer {
    let s = TestServer::start().await;
    assert_eq!(s.put("/bkt", "").await.status, StatusCode::OK);
    for key in keys {
        let path = format!("/bkt/{}", encode_path(key));
        let r = s.put(&path, key.to_string()).await;
        assert_eq!(r.status, StatusCode::OK, "PUT {key}: {}", r.text());
    }
    s
}

/// Percent-encodes a key for a URL path or query value (everything but unreserved and `/`).
fn encode_path(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Every text of `<tag>…</tag>` in order (XML entities decoded for `&amp;` etc.).
fn all(text: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        out.push(after[..end].replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&"));
        rest = &after[end + close.len()..];
    }
    out
}

fn one(text: &str, tag: &str) -> Option<String> {
    all(text, tag).into_iter().next()
}

/// Keys of `<Contents>` (or `<Version>`) entries: the first `<Key>` inside each.
fn keys(text: &str, entry: &str) -> Vec<String> {
    all(text, entry).iter().filter_map(|e| one(e, "Key")).collect()
}

fn prefixes(text: &str) -> Vec<String> {
    all(text, "CommonPrefixes").iter().filter_map(|e| one(e, "Prefix")).collect()
}

async fn list(s: &TestServer, query: &str) -> TestResponse {
    let r = s.get(&format!("/bkt?{query}")).await;
    assert_eq!(r.status, StatusCode::OK, "GET ?{query}: {}", r.text());
    r
}

fn sorted_bytewise(keys: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn list_v1_returns_every_key_in_byte_order_with_owner_and_etag() {
    let s = server_with_keys(WEIRD_KEYS).await;
    let r = list(&s, "").await;
    let text = r.text();
    assert_eq!(keys(&text, "Contents"), sorted_bytewise(WEIRD_KEYS));
    assert_eq!(one(&text, "IsTruncated").as_deref(), Some("false"));
    assert_eq!(one(&text, "MaxKeys").as_deref(), Some("1000"));
    assert_eq!(one(&text, "Name").as_deref(), Some("bkt"));
    assert!(one(&text, "NextMarker").is_none());
    let first = &all(&text, "Contents")[0];
    assert_eq!(one(first, "ETag").as_deref(), Some("\"0cc175b9c0f1b6a831c399e269772661\""), "{first}"); // md5("a")
    assert_eq!(one(first, "Size").as_deref(), Some("1"));
    assert_eq!(one(first, "StorageClass").as_deref(), Some("STANDARD"));
    assert!(one(first, "Owner").is_some(), "v1 always has Owner: {first}");
    assert!(one(first, "LastModified").is_some_and(|t| t.ends_with('Z')));
}

#[tokio::test]
async fn list_v1_pages_with_delimiter_through_next_marker() {
    let s = server_with_keys(WEIRD_KEYS).await;
    let (mut got_keys, mut got_prefixes, mut marker) = (Vec::new(), Vec::new(), String::new());
    let mut pages = 0;
    loop {
        let r = list(&s, &format!("delimiter=/&max-keys=2&marker={}", encode_path(&marker))).await;
        let text = r.text();
        let (k, p) = (keys(&text, "Contents"), prefixes(&text));
        assert!(k.len() + p.len() <= 2, "{text}");
        got_keys.extend(k);
        got_prefixes.extend(p);
        pages += 1;
        assert!(pages < 20, "pagination does not terminate");
        if one(&text, "IsTruncated").as_deref() != Some("true") {
            assert!(one(&text, "NextMarker").is_none());
            break;
        }
        marker = one(&text, "NextMarker").expect("NextMarker with a delimiter on a truncated page");
    }
    assert_eq!(got_keys, vec!["a", "b", "c d", "c+d", "名前"]);
    assert_eq!(got_prefixes, vec!["a/", "z/", "ü/"]);
    // Inside "a/": "a//b" groups under "a//", "a/b" and "a/c" are keys.
    let text = list(&s, "delimiter=/&prefix=a/").await.text();
    assert_eq!(keys(&text, "Contents"), vec!["a/b", "a/c"]);
    assert_eq!(prefixes(&text), vec!["a//"]);
    assert_eq!(one(&text, "Prefix").as_deref(), Some("a/"));
    assert_eq!(one(&text, "Delimiter").as_deref(), Some("/"));
}

#[tokio::test]
async fn list_v1_without_delimiter_continues_from_the_last_key() {
    let s = server_with_keys(WEIRD_KEYS).await;
    let text = list(&s, "max-keys=4").await.text();
    assert_eq!(one(&text, "IsTruncated").as_deref(), Some("true"));
    assert!(one(&text, "NextMarker").is_none(), "S3 sends NextMarker only with a delimiter");
    let page = keys(&text, "Contents");
    assert_eq!(page, sorted_bytewise(WEIRD_KEYS)[..4].to_vec());
    let text = list(&s, &format!("marker={}", encode_path(page.last().unwrap()))).await.text();
    assert_eq!(keys(&text, "Contents"), sorted_bytewise(WEIRD_KEYS)[4..].to_vec());
    assert_eq!(one(&text, "Marker").as_deref(), Some("a/c"));
}

#[tokio::test]
async fn list_v2_pages_with_continuation_tokens_and_counts_prefixes() {
    let s = server_with_keys(WEIRD_KEYS).await;
    let (mut seen, mut token, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let mut q = "list-type=2&delimiter=/&max-keys=3".to_string();
        if let Some(t) = &token {
            q.push_str(&format!("&continuation-token={}", encode_path(t)));
        }
        let text = list(&s, &q).await.text();
        let (k, p) = (keys(&text, "Contents"), prefixes(&text));
        assert_eq!(one(&text, "KeyCount"), Some((k.len() + p.len()).to_string()), "{text}");
        assert_eq!(one(&text, "ContinuationToken"), token.clone());
        assert!(!text.contains("<Owner>"), "no owner without fetch-owner: {text}");
        seen.extend(k.into_iter().chain(p));
        pages += 1;
        assert!(pages < 20);
        if one(&text, "IsTruncated").as_deref() != Some("true") {
            assert!(one(&text, "NextContinuationToken").is_none());
            break;
        }
        token = Some(one(&text, "NextContinuationToken").expect("token on a truncated page"));
    }
    assert_eq!(pages, 3);
    seen.sort();
    assert_eq!(seen, vec!["a", "a/", "b", "c d", "c+d", "z/", "ü/", "名前"]);
}

#[tokio::test]
async fn list_v2_start_after_fetch_owner_and_bad_tokens() {
    let s = server_with_keys(WEIRD_KEYS).await;
    let text = list(&s, "list-type=2&start-after=c%20d&fetch-owner=true").await.text();
    assert_eq!(keys(&text, "Contents"), vec!["c+d", "z/", "ü/x", "名前"]);
    assert_eq!(one(&text, "StartAfter").as_deref(), Some("c d"));
    assert_eq!(all(&text, "Owner").len(), 4);
    assert_eq!(one(&text, "KeyCount").as_deref(), Some("4"));
    let r = s.get("/bkt?list-type=2&continuation-token=not-a-token").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("<Code>InvalidArgument</Code>"), "{}", r.text());
    // max-keys=0: an empty page.
    let text = list(&s, "list-type=2&max-keys=0").await.text();
    assert_eq!(one(&text, "KeyCount").as_deref(), Some("0"));
    assert!(keys(&text, "Contents").is_empty());
}

#[tokio::test]
async fn encoding_type_url_encodes_keys_prefixes_and_markers() {
    let s = server_with_keys(WEIRD_KEYS).await;
    let text = list(&s, "list-type=2&encoding-type=url&prefix=c").await.text();
    assert_eq!(one(&text, "EncodingType").as_deref(), Some("url"));
    assert_eq!(keys(&text, "Contents"), vec!["c+d", "c%2Bd"]);
    let text = list(&s, "encoding-type=url&delimiter=/&marker=z/").await.text();
    assert_eq!(prefixes(&text), vec!["%C3%BC/"]);
    assert_eq!(keys(&text, "Contents"), vec!["%E5%90%8D%E5%89%8D"]);
    assert_eq!(one(&text, "Marker").as_deref(), Some("z/"));
    let text = list(&s, "encoding-type=url&delimiter=/&max-keys=1&marker=c%20d").await.text();
    assert_eq!(one(&text, "Marker").as_deref(), Some("c+d"));
    assert_eq!(one(&text, "NextMarker").as_deref(), Some("c%2Bd"));
    // Without encoding-type, nothing is encoded.
    let text = list(&s, "prefix=c").await.text();
    assert_eq!(keys(&text, "Contents"), vec!["c d", "c+d"]);
    assert!(one(&text, "EncodingType").is_none());
}

#[tokio::test]
async fn bad_listing_parameters_are_invalid_argument() {
    let s = server_with_keys(&["a"]).await;
    for q in ["max-keys=-1", "max-keys=ten", "encoding-type=base64", "list-type=2&max-keys=x", "versions&max-keys=-5"] {
        let r = s.get(&format!("/bkt?{q}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}");
        assert!(r.text().contains("<Code>InvalidArgument</Code>"), "{q}: {}", r.text());
    }
    let text = list(&s, "max-keys=100000").await.text();
    assert_eq!(one(&text, "MaxKeys").as_deref(), Some("1000"));
    let r = s.get("/nobucket?list-type=2").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.text().contains("<Code>NoSuchBucket</Code>"));
}

#[tokio::test]
async fn list_object_versions_lists_each_object_once_as_null_version() {
    let s = server_with_keys(WEIRD_KEYS).await;
    let text = list(&s, "versions").await.text();
    assert_eq!(keys(&text, "Version"), sorted_bytewise(WEIRD_KEYS));
    for v in all(&text, "Version") {
        assert_eq!(one(&v, "VersionId").as_deref(), Some("null"));
        assert_eq!(one(&v, "IsLatest").as_deref(), Some("true"));
    }
    assert!(!text.contains("<DeleteMarker>"));
    // Paging with key-marker / version-id-marker, as tools emptying buckets do.
    let (mut seen, mut markers) = (Vec::new(), None::<(String, Option<String>)>);
    loop {
        let mut q = "versions&max-keys=3".to_string();
        if let Some((k, v)) = &markers {
            q.push_str(&format!("&key-marker={}", encode_path(k)));
            if let Some(v) = v {
                q.push_str(&format!("&version-id-marker={v}"));
            }
        }
        let text = list(&s, &q).await.text();
        seen.extend(keys(&text, "Version"));
        if one(&text, "IsTruncated").as_deref() != Some("true") {
            break;
        }
        let next = one(&text, "NextKeyMarker").expect("NextKeyMarker");
        assert_eq!(one(&text, "NextVersionIdMarker").as_deref(), Some("null"));
        markers = Some((next, one(&text, "NextVersionIdMarker")));
        assert!(seen.len() <= WEIRD_KEYS.len());
    }
    assert_eq!(seen, sorted_bytewise(WEIRD_KEYS));
    let text = list(&s, "versions&delimiter=/").await.text();
    assert_eq!(prefixes(&text), vec!["a/", "z/", "ü/"]);
    let r = s.get("/bkt?versions&version-id-marker=null").await;
    assert!(r.text().contains("<Code>InvalidArgument</Code>"), "{}", r.text());
    let r = s.get("/bkt?versions&key-marker=a&version-id-marker=v123").await;
    assert!(r.text().contains("<Code>InvalidArgument</Code>"), "{}", r.text());
}

#[tokio::test]
async fn listings_follow_deletes_and_overwrites() {
    let s = server_with_keys(&["k1", "k2"]).await;
    s.put("/bkt/k1", "longer body").await;
    assert_eq!(s.request(Method::DELETE, "/bkt/k2", &[], "").await.status, StatusCode::NO_CONTENT);
    let text = list(&s, "list-type=2").await.text();
    assert_eq!(keys(&text, "Contents"), vec!["k1"]);
    assert_eq!(one(&text, "Size").as_deref(), Some("11"));
}

/// What S3 lists for `keys` under `prefix` grouped by `delimiter`: keys and
/// common prefixes merged in UTF-8 byte order.
fn model(keys: &std::collections::BTreeSet<String>, prefix: &str, delimiter: Option<&str>) -> Vec<String> {
    let mut out = std::collections::BTreeSet::new();
    for key in keys.iter().filter(|k| k.starts_with(prefix)) {
        let rest = &key[prefix.len()..];
        match delimiter.and_then(|d| rest.find(d).map(|i| i + d.len())) {
            Some(end) => out.insert(format!("{prefix}{}", &rest[..end])),
            None => out.insert(key.clone()),
        };
    }
    out.into_iter().collect()
}

/// Pages through ListObjectsV2 (tokens) or v1 (NextMarker / last key) and
/// returns every key and common prefix seen, in response order.
async fn page_all(s: &TestServer, v2: bool, prefix: &str, delimiter: Option<&str>, max: usize) -> Vec<String> {
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..200 {
        let mut q = format!("prefix={}&max-keys={max}", encode_path(prefix));
        if v2 {
            q.push_str("&list-type=2");
        }
        if let Some(d) = delimiter {
            q.push_str(&format!("&delimiter={}", encode_path(d)));
        }
        if let Some(n) = &next {
            let name = if v2 { "continuation-token" } else { "marker" };
            q.push_str(&format!("&{name}={}", encode_path(n)));
        }
        let text = list(s, &q).await.text();
        let mut page: Vec<String> = keys(&text, "Contents").into_iter().chain(prefixes(&text)).collect();
        page.sort();
        assert!(page.len() <= max, "{text}");
        let last = page.last().cloned();
        seen.extend(page);
        if one(&text, "IsTruncated").as_deref() != Some("true") {
            return seen;
        }
        next = if v2 {
            one(&text, "NextContinuationToken")
        } else {
            one(&text, "NextMarker").or(last)
        };
        assert!(next.is_some(), "truncated page without a way to continue: {text}");
    }
    panic!("listing did not terminate");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]

    #[test]
    fn paged_listings_match_the_s3_model(
        keys in proptest::collection::btree_set("[ab/. +ü]{1,5}", 1..14),
        prefix in proptest::sample::select(vec!["", "a", "a/", "ü"]),
        delimiter in proptest::sample::select(vec![None, Some("/"), Some("b"), Some("ü")]),
        max in 1usize..4,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
            let s = server_with_keys(&refs).await;
            let expected = model(&keys, prefix, delimiter);
            for v2 in [false, true] {
                let got = page_all(&s, v2, prefix, delimiter, max).await;
                assert_eq!(got, expected, "v2={v2} prefix={prefix:?} delimiter={delimiter:?} max={max}");
            }
            s.stop().await;
        });
    }
}

#[tokio::test]
async fn listings_report_checksum_algorithm_and_type() {
    let s = server_with_keys(&["plain"]).await;
    let r = s.request(Method::PUT, "/bkt/summed", &[("x-amz-checksum-crc32", "NhCmhg==")], "hello").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let with = "<ChecksumAlgorithm>CRC32</ChecksumAlgorithm><ChecksumType>FULL_OBJECT</ChecksumType><Size>5</Size>";
    for path in ["/bkt", "/bkt?list-type=2", "/bkt?versions"] {
        let text = s.get(path).await.text();
        assert!(text.contains("<Key>summed</Key>") && text.contains(with), "{path}: {text}");
        assert_eq!(text.matches("<ChecksumType>").count(), 1, "only objects with checksums carry a type: {text}");
    }
}
