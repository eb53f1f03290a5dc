//! Hostile input, on SQLite and PostgreSQL (docs/security.md H.36):
//!
//! - H.40: every name a user chooses (brand, organization, API key) and every name an X user
//!   chooses (display name, username) is escaped wherever a page shows it: element text,
//!   attributes and `<title>`. Each page is checked for the payload's raw form and for what a
//!   working injection would leave behind (a `<script>` without the page's nonce, an `on…`
//!   attribute, an `<img>` that is neither Perch's nor an avatar, a `<title>` that ends early).
//! - H.38: an id with a NUL byte or any character outside the id alphabet is refused at the edge
//!   (404 for the thing a path, query or form acts on, 422 for an id in a body field), in the
//!   API's JSON shape on `/v1`, and never reaches a query (PostgreSQL answers a NUL with an
//!   error, which used to become a 500); free text with a NUL is refused with a message naming
//!   the field; invalid UTF-8 gets a 4xx; and nothing changes.
//!
//! Run with `cargo test -p server --test it -- hostile_input::`.

use crate::common::connect::*;
use crate::common::{Backend, Client, Reply, TestApp, brand, send};
use fake_x::FakeUser;
use serde_json::{Value, json};

// ---- payloads and the HTML check -------------------------------------------------------------

/// Markup that would run or break out if shown unescaped: out of `<title>` (or any element),
/// out of a double-quoted attribute, out of a single-quoted one, and an entity that must show
/// as typed (neither decoded nor escaped twice).
const PAYLOADS: [&str; 4] = [
    "</title><script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "x' onfocus='alert(1)' autofocus='",
    "Tom &amp; Jerry's",
];

/// The payload as element text shows it when escaped (`&`, `<`, `>`).
fn as_text(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// A start tag: its name and attributes (values as written, undecoded).
#[derive(Debug)]
struct Tag {
    name: String,
    attrs: Vec<(String, String)>,
}

/// The start tags of a document, and the raw text of its `<title>` elements. A small tokenizer
/// that follows HTML's rules where an injection would show: quoted attribute values, and
/// elements whose content is raw text (`script`, `style`, `title`, `textarea`).
fn scan(html: &str) -> (Vec<Tag>, Vec<String>) {
    let b = html.as_bytes();
    let (mut tags, mut titles) = (Vec::new(), Vec::new());
    let find = |from: usize, needle: &str| html[from..].find(needle).map(|p| from + p);
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        if html[i..].starts_with("<!--") {
            i = find(i, "-->").map_or(b.len(), |p| p + 3);
            continue;
        }
        if !b.get(i + 1).is_some_and(u8::is_ascii_alphabetic) {
            // `</…>`, `<!DOCTYPE…>`: nothing to check inside.
            i = if matches!(b.get(i + 1), Some(b'/' | b'!')) { find(i, ">").map_or(b.len(), |p| p + 1) } else { i + 1 };
            continue;
        }
        let mut j = i + 1;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'-') {
            j += 1;
        }
        let name = html[i + 1..j].to_ascii_lowercase();
        let mut attrs = Vec::new();
        loop {
            while j < b.len() && (b[j].is_ascii_whitespace() || b[j] == b'/') {
                j += 1;
            }
            if j >= b.len() || b[j] == b'>' {
                j += 1;
                break;
            }
            let start = j;
            while j < b.len() && !b[j].is_ascii_whitespace() && !matches!(b[j], b'=' | b'>' | b'/') {
                j += 1;
            }
            let attr = html[start..j].to_ascii_lowercase();
            let mut value = String::new();
            if b.get(j) == Some(&b'=') {
                j += 1;
                match b.get(j) {
                    Some(&q @ (b'"' | b'\'')) => {
                        let end = html[j + 1..].find(q as char).map_or(b.len(), |p| j + 1 + p);
                        value = html[j + 1..end.min(b.len())].to_owned();
                        j = end + 1;
                    }
                    _ => {
                        let start = j;
                        while j < b.len() && !b[j].is_ascii_whitespace() && b[j] != b'>' {
                            j += 1;
                        }
                        value = html[start..j].to_owned();
                    }
                }
            }
            attrs.push((attr, value));
        }
        if matches!(name.as_str(), "script" | "style" | "title" | "textarea") {
            let close = format!("</{name}");
            let end = html[j.min(b.len())..].to_ascii_lowercase().find(&close).map_or(b.len(), |p| j + p);
            if name == "title" {
                titles.push(html[j.min(end)..end].to_owned());
            }
            i = end;
        } else {
            i = j;
        }
        tags.push(Tag { name, attrs });
    }
    (tags, titles)
}

/// H.40 for one page: the page shows the text it is about (escaped), the raw payloads appear
/// nowhere (not in text, attributes, hydration data or `<title>`), and the document holds no
/// trace of a working injection. `title` is the text the page's `<title>` must decode to.
fn assert_escaped(what: &str, page: &Reply, shown: &[String], title: Option<&str>) {
    assert_eq!(page.status, 200, "{what}: {}", page.body);
    let html = &page.body;
    for p in PAYLOADS.iter().filter(|p| p.contains(['<', '>', '"'])) {
        assert!(!html.contains(*p), "{what}: {p:?} appears unescaped: {html}");
    }
    for s in shown {
        assert!(html.contains(&as_text(s)), "{what} shows {s:?}, escaped: {html}");
    }
    let (tags, titles) = scan(html);
    let nonce = page
        .header("content-security-policy")
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .unwrap_or_default()
        .to_owned();
    for t in &tags {
        for (attr, value) in &t.attrs {
            assert!(
                !attr.starts_with("on") && attr != "autofocus",
                "{what}: an injected attribute {attr}={value:?} on <{}>: {html}",
                t.name
            );
        }
        if t.name == "script" {
            assert!(
                !nonce.is_empty() && t.attrs.iter().any(|(a, v)| a == "nonce" && *v == nonce),
                "{what}: a <script> without the page's nonce: {:?}",
                t.attrs
            );
        }
        if t.name == "img" {
            let src = t.attrs.iter().find(|(a, _)| a == "src").map(|(_, v)| v.as_str()).unwrap_or_default();
            let ours = (src.starts_with('/') && !src.starts_with("//")) || src.starts_with("https://pbs.twimg.com/");
            assert!(ours, "{what}: an <img> that is neither Perch's nor an avatar: {src:?}");
        }
    }
    assert_eq!(titles.len(), 1, "{what}: one <title>: {titles:?}");
    assert!(!titles[0].contains('<'), "{what}: <title> holds markup: {:?}", titles[0]);
    if let Some(t) = title {
        assert_eq!(unescape(&titles[0]), t, "{what}: <title> shows the name as typed, escaped once");
    }
}

/// A page by its path, or by a redirect's `Location` (which may be absolute).
async fn page(c: &Client, path: &str) -> Reply {
    c.get(path.strip_prefix(&c.base).unwrap_or(path)).await
}

/// Every page of the dashboard, for text shown on all of them (the organization's name).
const DASHBOARD_PAGES: [&str; 5] = ["/brands", "/accounts", "/settings", "/settings/twitter", "/settings/api-keys"];

/// The JSON error shape of `/v1` with this status and code.
fn assert_api_error(what: &str, r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.body);
    let body: Value = r.json();
    assert_eq!(body["error"]["code"], code, "{what}: {}", r.body);
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {}", r.body);
    assert!(body["error"].get("correlation_id").is_none(), "{what}: a client error, not an internal one: {}", r.body);
}

/// A fingerprint of everything a refused request could have changed.
async fn state_of(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in [
        "brands",
        "twitter_accounts",
        "twitter_oauth_flows",
        "api_keys",
        "audit_events",
        "twitter_credentials",
        "posts",
        "organizations",
        "users",
    ] {
        counts.push(app.count(table).await);
    }
    counts
}

mod escaping;
mod ids;
mod text;
