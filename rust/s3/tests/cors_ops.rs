//! Bucket CORS over HTTP: Put/Get/DeleteBucketCors, preflight matching, the
//! headers of actual requests (errors included), the server-wide config and
//! its precedence, and preflights with auth on.

mod common;

use bytes::Bytes;
use common::{TestResponse, TestServer};
use http::{Method, StatusCode};
use smartstorage_s3::{AuthConfig, CorsConfig, Credential, ServerConfig};

fn code(resp: &TestResponse) -> String {
    let text = resp.text();
    text.split_once("<Code>").and_then(|(_, r)| r.split_once("</Code>")).map(|(c, _)| c.to_string()).unwrap_or_default()
}

const RULES: &str = "<CORSConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
    <CORSRule><ID>app</ID><AllowedOrigin>http://app.example</AllowedOrigin><AllowedOrigin>http://*.dev.example</AllowedOrigin>\
    <AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod><AllowedHeader>content-type</AllowedHeader><AllowedHeader>x-amz-*</AllowedHeader>\
    <ExposeHeader>ETag</ExposeHeader><ExposeHeader>x-amz-request-id</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule>\
    <CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>HEAD</AllowedMethod></CORSRule>\
    </CORSConfiguration>";

async fn put_cors(s: &TestServer, bucket: &str, doc: &str) -> TestResponse {
    s.request(Method::PUT, &format!("/{bucket}?cors"), &[], Bytes::from(doc.to_string())).await
}

async fn preflight(s: &TestServer, path: &str, origin: &str, method: &str, headers: Option<&str>) -> TestResponse {
    let mut h = vec![("origin", origin), ("access-control-request-method", method)];
    if let Some(v) = headers {
        h.push(("access-control-request-headers", v));
    }
    s.request(Method::OPTIONS, path, &h, Bytes::new()).await
}

#[tokio::test]
async fn cors_configuration_round_trips() {
    let s = TestServer::start().await;
    s.put("/web", "").await;
    let missing = s.get("/web?cors").await;
    assert_eq!((missing.status, code(&missing).as_str()), (StatusCode::NOT_FOUND, "NoSuchCORSConfiguration"));
    assert_eq!(put_cors(&s, "web", RULES).await.status, StatusCode::OK);
    let got = s.get("/web?cors").await;
    assert_eq!(got.status, StatusCode::OK);
    let text = got.text();
    assert!(text.starts_with("<?xml"), "{text}");
    assert!(text.contains("<CORSRule><ID>app</ID><AllowedHeader>content-type</AllowedHeader><AllowedHeader>x-amz-*</AllowedHeader><AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod><AllowedOrigin>http://app.example</AllowedOrigin>"), "{text}");
    assert!(text.contains("<MaxAgeSeconds>600</MaxAgeSeconds>"), "{text}");
    assert_eq!(s.request(Method::DELETE, "/web?cors", &[], Bytes::new()).await.status, StatusCode::NO_CONTENT);
    assert_eq!(code(&s.get("/web?cors").await), "NoSuchCORSConfiguration");
    assert_eq!(code(&s.get("/nobucket?cors").await), "NoSuchBucket");
    s.stop().await;
}

#[tokio::test]
async fn invalid_configurations_are_refused_as_s3_does() {
    let s = TestServer::start().await;
    s.put("/web", "").await;
    let rule = |inner: &str| format!("<CORSConfiguration><CORSRule>{inner}</CORSRule></CORSConfiguration>");
    for (doc, want) in [
        ("not xml".to_string(), "MalformedXML"),
        ("<CORSConfiguration></CORSConfiguration>".to_string(), "MalformedXML"),
        (rule("<AllowedOrigin>*</AllowedOrigin>"), "MalformedXML"),
        (rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><Unknown/>"), "MalformedXML"),
        (rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>OPTIONS</AllowedMethod>"), "InvalidRequest"),
        (rule("<AllowedOrigin>http://*.*.example</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"), "InvalidRequest"),
        (rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><ExposeHeader>x-*</ExposeHeader>"), "InvalidRequest"),
        (
            format!("<CORSConfiguration>{}</CORSConfiguration>", "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>".repeat(101)),
            "InvalidRequest",
        ),
    ] {
        let resp = put_cors(&s, "web", &doc).await;
        assert_eq!((resp.status, code(&resp).as_str()), (StatusCode::BAD_REQUEST, want), "{doc:.120}");
    }
    assert_eq!(code(&s.get("/web?cors").await), "NoSuchCORSConfiguration");
    s.stop().await;
}

#[tokio::test]
async fn preflight_uses_the_first_matching_rule() {
    let s = TestServer::start().await;
    s.put("/web", "").await;
    put_cors(&s, "web", RULES).await;
    let ok = preflight(&s, "/web/photo.jpg", "http://app.example", "PUT", Some("Content-Type, x-amz-date")).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    assert_eq!(ok.header("access-control-allow-origin"), Some("http://app.example"));
    assert_eq!(ok.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(ok.header("access-control-allow-methods"), Some("PUT, GET"));
    assert_eq!(ok.header("access-control-allow-headers"), Some("content-type, x-amz-date"));
    assert_eq!(ok.header("access-control-expose-headers"), Some("ETag, x-amz-request-id"));
    assert_eq!(ok.header("access-control-max-age"), Some("600"));
    assert!(ok.header("vary").is_some_and(|v| v.contains("Origin")));
    let wild = preflight(&s, "/web/photo.jpg", "http://feature.dev.example", "GET", None).await;
    assert_eq!(wild.header("access-control-allow-origin"), Some("http://feature.dev.example"));
    // Any other origin: only the second rule (GET/HEAD, `*`, no credentials).
    let any = preflight(&s, "/web", "http://other.example", "GET", None).await;
    assert_eq!(any.status, StatusCode::OK);
    assert_eq!(any.header("access-control-allow-origin"), Some("*"));
    assert_eq!(any.header("access-control-allow-credentials"), None);
    s.stop().await;
}

#[tokio::test]
async fn refused_preflights_are_403_access_forbidden() {
    let s = TestServer::start().await;
    s.put("/web", "").await;
    let off = preflight(&s, "/web/k", "http://app.example", "GET", None).await;
    assert_eq!((off.status, code(&off).as_str()), (StatusCode::FORBIDDEN, "AccessForbidden"));
    assert!(off.text().contains("CORSResponse: CORS is not enabled for this bucket."), "{}", off.text());
    put_cors(&s, "web", RULES).await;
    for (origin, method, headers) in [
        ("http://other.example", "PUT", None),
        ("http://app.example", "DELETE", None),
        ("http://app.example", "PUT", Some("authorization")),
        ("http://app.example.evil", "PUT", None),
    ] {
        let resp = preflight(&s, "/web/k", origin, method, headers).await;
        assert_eq!((resp.status, code(&resp).as_str()), (StatusCode::FORBIDDEN, "AccessForbidden"), "{origin} {method} {headers:?}");
        let text = resp.text();
        assert!(text.contains("CORSResponse: This CORS request is not allowed."), "{text}");
        assert!(text.contains(&format!("<Method>{method}</Method>")) && text.contains("<ResourceType>OBJECT</ResourceType>"), "{text}");
        assert_eq!(resp.header("access-control-allow-origin"), None);
    }
    let no_origin = s.request(Method::OPTIONS, "/web/k", &[("access-control-request-method", "GET")], Bytes::new()).await;
    assert_eq!((no_origin.status, code(&no_origin).as_str()), (StatusCode::BAD_REQUEST, "BadRequest"));
    let no_method = s.request(Method::OPTIONS, "/web/k", &[("origin", "http://app.example")], Bytes::new()).await;
    assert_eq!(no_method.status, StatusCode::BAD_REQUEST);
    assert!(no_method.text().contains("Invalid Access-Control-Request-Method: null"));
    s.stop().await;
}

#[tokio::test]
async fn actual_requests_get_cors_headers_including_errors() {
    let s = TestServer::start().await;
    s.put("/web", "").await;
    put_cors(&s, "web", RULES).await;
    let put = s.request(Method::PUT, "/web/k", &[("origin", "http://app.example"), ("content-length", "2")], Bytes::from_static(b"hi")).await;
    assert_eq!(put.status, StatusCode::OK);
    assert_eq!(put.header("access-control-allow-origin"), Some("http://app.example"));
    assert_eq!(put.header("access-control-expose-headers"), Some("ETag, x-amz-request-id"));
    let get = s.request(Method::GET, "/web/k", &[("origin", "http://other.example")], Bytes::new()).await;
    assert_eq!(get.header("access-control-allow-origin"), Some("*"));
    let missing = s.request(Method::GET, "/web/nope", &[("origin", "http://app.example")], Bytes::new()).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.header("access-control-allow-origin"), Some("http://app.example"));
    let refused = s.request(Method::DELETE, "/web/k", &[("origin", "http://other.example")], Bytes::new()).await;
    assert_eq!(refused.status, StatusCode::NO_CONTENT);
    assert_eq!(refused.header("access-control-allow-origin"), None, "no rule allows DELETE");
    let no_origin = s.get("/web/k").await;
    assert_eq!(no_origin.header("access-control-allow-origin"), None);
    s.stop().await;
}

fn server_wide(credentials: bool) -> ServerConfig {
    ServerConfig {
        cors: CorsConfig {
            enabled: true,
            allowed_origins: vec!["*".into()],
            allowed_methods: vec!["GET".into(), "PUT".into(), "POST".into(), "DELETE".into(), "HEAD".into()],
            allowed_headers: vec!["*".into()],
            exposed_headers: vec!["ETag".into()],
            max_age: 300,
            allow_credentials: credentials,
        },
        ..ServerConfig::default()
    }
}

#[tokio::test]
async fn server_wide_config_applies_unless_the_bucket_has_rules() {
    let s = TestServer::start_with(server_wide(false)).await;
    s.put("/open", "").await;
    s.put("/strict", "").await;
    let open = preflight(&s, "/open/k", "http://anything.example", "DELETE", Some("x-custom")).await;
    assert_eq!(open.status, StatusCode::OK);
    assert_eq!(open.header("access-control-allow-origin"), Some("*"));
    assert_eq!(open.header("access-control-max-age"), Some("300"));
    let list = s.request(Method::GET, "/", &[("origin", "http://anything.example")], Bytes::new()).await;
    assert_eq!(list.header("access-control-allow-origin"), Some("*"), "ListBuckets uses the server-wide config");
    let service = preflight(&s, "/", "http://anything.example", "GET", Some("authorization")).await;
    assert_eq!(service.status, StatusCode::OK, "ListBuckets can be preflighted");
    let missing_bucket = preflight(&s, "/nobucket/k", "http://anything.example", "PUT", None).await;
    assert_eq!(missing_bucket.status, StatusCode::OK);

    put_cors(&s, "strict", "<CORSConfiguration><CORSRule><AllowedOrigin>http://app.example</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>").await;
    assert_eq!(preflight(&s, "/strict/k", "http://anything.example", "GET", None).await.status, StatusCode::FORBIDDEN);
    assert_eq!(preflight(&s, "/strict/k", "http://app.example", "GET", None).await.status, StatusCode::OK);
    s.stop().await;

    let s = TestServer::start_with(server_wide(true)).await;
    s.put("/open", "").await;
    let creds = preflight(&s, "/open/k", "http://app.example", "GET", None).await;
    assert_eq!(creds.header("access-control-allow-origin"), Some("http://app.example"), "never `*` with credentials");
    assert_eq!(creds.header("access-control-allow-credentials"), Some("true"));
    s.stop().await;
}

#[tokio::test]
async fn preflights_are_never_authenticated() {
    let config = ServerConfig {
        auth: AuthConfig {
            enabled: true,
            credentials: vec![Credential { access_key_id: "AK".into(), secret_access_key: "SECRET".into() }],
        },
        ..server_wide(false)
    };
    let s = TestServer::start_with(config).await;
    let resp = preflight(&s, "/some-bucket/k", "http://app.example", "PUT", Some("authorization, x-amz-date, x-amz-content-sha256")).await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    // The refused anonymous request still carries CORS headers, so the page can read the error.
    let denied = s.request(Method::GET, "/", &[("origin", "http://app.example")], Bytes::new()).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(denied.header("access-control-allow-origin"), Some("*"));
    s.stop().await;
}
