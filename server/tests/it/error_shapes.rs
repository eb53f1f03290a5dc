//! Every answer under `/v1` is the API's JSON error shape, `{"error": {"code", "message"}}`, with
//! a code the OpenAPI document lists and the status that code maps to: never `text/plain`, never
//! an HTML page, never a 5xx. Covers what is answered before a handler runs or outside the API's
//! own code (the body limit, a path axum cannot decode, an unknown method or path) and the JSON
//! bodies the handlers refuse, on the public API and the dashboard's JSON API
//! (`/v1/integrations/twitter/credentials`), on SQLite and PostgreSQL.

use std::collections::BTreeSet;

use crate::common::{Backend, Client, Reply, TestApp, send};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

on_both_databases!(
    oversized_bodies_answer_413_payload_too_large_on_every_route,
    a_path_that_is_not_utf8_answers_400_invalid_path,
    wrong_methods_answer_405_with_allow,
    unknown_paths_answer_404_not_found,
    bodies_that_are_not_the_json_an_endpoint_takes_answer_400_bad_request,
);

const CRED: &str = "/v1/integrations/twitter/credentials";

/// A signed-in owner (for the dashboard's JSON API), an API key, and the error codes the
/// OpenAPI document lists.
struct Setup {
    app: TestApp,
    owner: Client,
    key: String,
    documented: BTreeSet<String>,
}

async fn setup(b: Backend) -> Setup {
    let app = TestApp::spawn(b).await;
    let owner = app.owner("Acme", "owner@acme.example").await;
    let r = owner.call("keys/create", &[("name", "CMS")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let key = r.json()["key"].as_str().unwrap().to_owned();
    let doc = app.client().get("/v1/openapi.json").await.json();
    let documented = doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    Setup { app, owner, key, documented }
}

/// Asserts the answer is the API's JSON error with `code` (documented, and answered with its
/// own status); returns its message.
fn assert_error(s: &Setup, what: &str, r: &Reply, status: u16, code: &str) -> String {
    assert_eq!(r.status, status, "{what}: {}", r.body);
    assert!(
        r.header("content-type").starts_with("application/json"),
        "{what}: {} {}",
        r.header("content-type"),
        r.body
    );
    let v: Value = serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", r.body));
    assert_eq!(v["error"]["code"], code, "{what}: {}", r.body);
    assert!(s.documented.contains(code), "{what}: {code} is not in the OpenAPI document's error codes");
    let message = v["error"]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.len() > 20, "{what}: a message that says what to do: {}", r.body);
    // The security headers are on these answers too.
    assert_eq!(r.header("x-content-type-options"), "nosniff", "{what}");
    message
}

/// A client of its own for each oversized request: Perch answers 413 from the Content-Length
/// without reading the body and closes the connection, which a pooled client could pick up again.
fn fresh() -> reqwest::Client {
    reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build().unwrap()
}

/// Sends `body` with `Transfer-Encoding: chunked` (no Content-Length, so the limit can only be
/// found while reading) over a raw connection, and reads the answer.
async fn chunked(s: &Setup, method: &str, path: &str, auth: Option<&str>, body: &[u8]) -> Reply {
    let mut stream = tokio::net::TcpStream::connect(s.app.addr).await.unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n",
        s.app.addr
    );
    if let Some(a) = auth {
        head.push_str(&format!("authorization: {a}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    // Perch may answer and close before it has read everything: later writes may then fail.
    for piece in body.chunks(8 * 1024) {
        let frame = [format!("{:x}\r\n", piece.len()).as_bytes(), piece, b"\r\n"].concat();
        if stream.write_all(&frame).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut raw = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(30), stream.read_to_end(&mut raw)).await;
    assert!(read.is_ok(), "{method} {path}: no answer in 30 s");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("{method} {path}: no HTTP answer: {text}"));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|c| c.parse().ok()).unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            headers.append(
                reqwest::header::HeaderName::from_bytes(k.trim().as_bytes()).unwrap(),
                v.trim().parse().unwrap(),
            );
        }
    }
    // A chunked answer: take the JSON between the chunk sizes.
    let body = if headers.get("transfer-encoding").is_some_and(|v| v == "chunked") {
        body.split("\r\n").skip(1).step_by(2).collect::<String>()
    } else {
        body.to_owned()
    };
    Reply { status, headers, body }
}

/// 413 `payload_too_large` for a body over 64 KiB: on every route when its Content-Length
/// announces it (even where nothing reads a body), and when it is found while reading a chunked
/// body on every route that reads one; with a key or without, on the public API and the
/// dashboard's JSON API. Nothing is created.
async fn oversized_bodies_answer_413_payload_too_large_on_every_route(b: Backend) {
    let s = setup(b).await;
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(100 * 1024));
    let reading = [
        ("POST", "/v1/brands"),
        ("POST", "/v1/accounts/connect"),
        ("POST", "/v1/posts"),
        ("PUT", CRED),
        ("POST", "/v1/integrations/twitter/credentials/test"),
    ];
    let not_reading = [
        ("DELETE", "/v1/accounts/xac_00000000000000000000000000000000"),
        ("GET", "/v1/brands"),
        ("GET", "/v1/accounts"),
        ("DELETE", CRED),
        ("POST", "/v1/nothing-here"),
    ];
    for (method, path) in reading.iter().chain(&not_reading) {
        for auth in [Some(format!("Bearer {}", s.key)), None] {
            let what = format!("{method} {path} with a Content-Length, key: {}", auth.is_some());
            let mut req = fresh()
                .request(method.parse().unwrap(), format!("{}{path}", s.app.base))
                .header("content-type", "application/json")
                .body(big.clone());
            if let Some(a) = &auth {
                req = req.header("authorization", a);
            }
            assert_error(&s, &what, &send(req).await, 413, "payload_too_large");
        }
    }
    for (method, path) in reading {
        for auth in [Some(format!("Bearer {}", s.key)), None] {
            // The dashboard's routes refuse any key first (dashboard_only); without one the body is read.
            if path.starts_with(CRED) && auth.is_some() {
                continue;
            }
            let what = format!("{method} {path} chunked, key: {}", auth.is_some());
            assert_error(
                &s,
                &what,
                &chunked(&s, method, path, auth.as_deref(), big.as_bytes()).await,
                413,
                "payload_too_large",
            );
        }
    }
    assert_eq!(s.app.count("brands").await, 0);
    assert_eq!(s.app.count("twitter_credentials").await, 0);
    // Just under the limit is read (and refused for what it says, not for its size).
    let name = "y".repeat(BODY_LIMIT_MINUS_ENVELOPE);
    let r = send(
        fresh()
            .post(format!("{}/v1/brands", s.app.base))
            .bearer_auth(&s.key)
            .json(&serde_json::json!({ "name": name })),
    )
    .await;
    assert_error(&s, "a body just under the limit", &r, 422, "validation");
}

/// A name that makes `{"name":"…"}` one byte under 64 KiB.
const BODY_LIMIT_MINUS_ENVELOPE: usize = 64 * 1024 - 1 - "{\"name\":\"\"}".len();

/// 400 `invalid_path` for a path whose percent-encoding is not UTF-8, whatever the route, method
/// or key; a path that decodes but names nothing is a 404 as usual.
async fn a_path_that_is_not_utf8_answers_400_invalid_path(b: Backend) {
    let s = setup(b).await;
    let http = fresh();
    for bad in ["%FF", "%C3%28", "%ED%A0%80", "xac_%E0%80", "%c3"] {
        for (method, path) in [
            ("DELETE", format!("/v1/accounts/{bad}")),
            ("GET", format!("/v1/accounts/{bad}")),
            ("GET", format!("/v1/{bad}")),
            ("GET", format!("/v1/brands/{bad}")),
            ("DELETE", format!("{CRED}/{bad}")),
        ] {
            for key in [Some(s.key.as_str()), None] {
                let mut req = http.request(method.parse().unwrap(), format!("{}{path}", s.app.base));
                if let Some(k) = key {
                    req = req.bearer_auth(k);
                }
                let what = format!("{method} {path}, key: {}", key.is_some());
                let message = assert_error(&s, &what, &send(req).await, 400, "invalid_path");
                assert!(message.contains("UTF-8"), "{what}: {message}");
            }
        }
    }
    // Percent-encoded UTF-8 is read, and an id that does not exist is a 404.
    for path in ["/v1/accounts/%C3%A9t%C3%A9", "/v1/accounts/a%2Fb", "/v1/accounts/100%25"] {
        let r = send(http.delete(format!("{}{path}", s.app.base)).bearer_auth(&s.key)).await;
        assert_error(&s, path, &r, 404, "not_found");
    }
}

/// 405 `method_not_allowed`, with `Allow` naming the methods the path takes, on every API path.
async fn wrong_methods_answer_405_with_allow(b: Backend) {
    let s = setup(b).await;
    let http = fresh();
    let cases: [(&str, &[&str]); 6] = [
        ("/v1/brands", &["PUT", "PATCH", "DELETE"]),
        ("/v1/accounts", &["POST", "PUT", "PATCH", "DELETE"]),
        ("/v1/accounts/connect", &["GET", "PUT", "PATCH", "DELETE"]),
        ("/v1/accounts/xac_00000000000000000000000000000000", &["GET", "POST", "PUT", "PATCH"]),
        ("/v1/posts", &["GET", "PUT", "PATCH", "DELETE"]),
        ("/v1/openapi.json", &["POST", "PUT", "PATCH", "DELETE"]),
    ];
    for (path, methods) in cases {
        for method in methods {
            let r =
                send(http.request(method.parse().unwrap(), format!("{}{path}", s.app.base)).bearer_auth(&s.key)).await;
            assert_error(&s, &format!("{method} {path}"), &r, 405, "method_not_allowed");
            assert!(!r.header("allow").is_empty(), "{method} {path}: Allow lists the methods");
            assert!(!r.header("allow").contains(method), "{method} {path}: {}", r.header("allow"));
        }
    }
    for (method, path) in [("POST", CRED.to_owned()), ("PATCH", CRED.to_owned()), ("GET", format!("{CRED}/test"))] {
        let r = send(
            s.owner
                .http
                .request(method.parse().unwrap(), format!("{}{path}", s.app.base))
                .header("origin", &s.app.base),
        )
        .await;
        assert_error(&s, &format!("{method} {path}"), &r, 405, "method_not_allowed");
    }
}

/// 404 `not_found` for any path under `/v1` that is no endpoint, `/v1` itself included, with any
/// method, with a key or without.
async fn unknown_paths_answer_404_not_found(b: Backend) {
    let s = setup(b).await;
    let http = fresh();
    for path in [
        "/v1",
        "/v1/",
        "/v1/nothing-here",
        "/v1/brands/brd_1",
        "/v1/accounts/a/b",
        "/v1/posts/1",
        "/v1/openapi.yaml",
        "/v1//brands",
    ] {
        for method in ["GET", "POST", "DELETE"] {
            for key in [Some(s.key.as_str()), None] {
                let mut req = http.request(method.parse().unwrap(), format!("{}{path}", s.app.base));
                if let Some(k) = key {
                    req = req.bearer_auth(k);
                }
                let r = send(req).await;
                assert_error(&s, &format!("{method} {path}, key: {}", key.is_some()), &r, 404, "not_found");
            }
        }
    }
}

/// 400 `bad_request` for every body that is not the JSON object an endpoint takes: the wrong
/// content type, none, not JSON, truncated, not UTF-8, deeply nested arrays and objects, the
/// wrong types, unknown fields; on each endpoint that takes a body, and the dashboard's JSON API.
async fn bodies_that_are_not_the_json_an_endpoint_takes_answer_400_bad_request(b: Backend) {
    let s = setup(b).await;
    let http = fresh();
    let json = Some("application/json");
    let bad: Vec<(&str, Option<&str>, Vec<u8>)> = vec![
        ("not JSON", json, b"name=Acme".to_vec()),
        ("truncated JSON", json, br#"{"name": "Ac"#.to_vec()),
        ("an empty body", json, vec![]),
        ("null", json, b"null".to_vec()),
        ("an array", json, b"[]".to_vec()),
        ("a string", json, b"\"Acme\"".to_vec()),
        ("not UTF-8", json, vec![b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}']),
        ("deeply nested arrays", json, "[".repeat(10_000).into_bytes()),
        ("deeply nested objects", json, "{\"a\":".repeat(10_000).into_bytes()),
        ("nested under a field", json, format!("{{\"name\": {}}}", "[".repeat(5_000)).into_bytes()),
        ("a number for a string", json, br#"{"name": 5, "platform": 5, "account_id": 5, "text": 5, "client_id": 5, "client_secret": 5}"#.to_vec()),
        ("an unknown field", json, br#"{"name": "Acme", "platform": "twitter", "account_id": "xac_1", "text": "hi", "client_id": "a", "client_secret": "b", "is_admin": true}"#.to_vec()),
        ("form encoded", Some("application/x-www-form-urlencoded"), b"name=Acme&platform=twitter".to_vec()),
        ("JSON as text/plain", Some("text/plain"), br#"{"name": "Acme", "platform": "twitter"}"#.to_vec()),
        ("JSON without a content type", None, br#"{"name": "Acme", "platform": "twitter"}"#.to_vec()),
        ("a look-alike content type", Some("application/jsonp"), br#"{"name": "Acme", "platform": "twitter"}"#.to_vec()),
    ];
    for (what, content_type, body) in &bad {
        for path in ["/v1/brands", "/v1/accounts/connect", "/v1/posts"] {
            let mut req = http.post(format!("{}{path}", s.app.base)).bearer_auth(&s.key).body(body.clone());
            if let Some(t) = content_type {
                req = req.header("content-type", *t);
            }
            assert_error(&s, &format!("{what} to POST {path}"), &send(req).await, 400, "bad_request");
        }
        for (method, path) in [("PUT", CRED.to_owned()), ("POST", format!("{CRED}/test"))] {
            let mut req = s
                .owner
                .http
                .request(method.parse().unwrap(), format!("{}{path}", s.app.base))
                .header("origin", &s.app.base)
                .body(body.clone());
            if let Some(t) = content_type {
                req = req.header("content-type", *t);
            }
            assert_error(&s, &format!("{what} to {method} {path}"), &send(req).await, 400, "bad_request");
        }
    }
    // A query the listing does not take.
    for query in ["brand=x", "brand_id=a&brand_id=b", "brand_id[]=x"] {
        let r = send(http.get(format!("{}/v1/accounts?{query}", s.app.base)).bearer_auth(&s.key)).await;
        assert_error(&s, &format!("GET /v1/accounts?{query}"), &r, 400, "bad_request");
    }
    assert_eq!(s.app.count("brands").await, 0);
    assert_eq!(s.app.count("twitter_credentials").await, 0);
}
