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

on_both_databases!(
    h40_brand_names_are_escaped_in_text_attributes_and_title,
    h40_organization_names_are_escaped_on_every_dashboard_page,
    h40_api_key_names_are_escaped_on_the_keys_page_and_the_audit_trail,
    h40_x_display_names_and_usernames_are_escaped_on_every_page_that_shows_them,
    h38_v1_ids_outside_the_id_alphabet_answer_404_or_422_in_json_and_change_nothing,
    h38_the_connect_form_refuses_malformed_ids_before_any_query,
    h38_server_functions_refuse_malformed_ids_with_404_or_422_and_change_nothing,
    h38_text_with_a_nul_byte_is_refused_with_a_message_naming_the_field,
    h38_invalid_utf8_in_forms_paths_and_queries_gets_a_clear_4xx,
    h38_text_the_database_cannot_store_is_a_client_error_not_a_500,
);

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

// ---- H.40 ------------------------------------------------------------------------------------

/// H.40: brand names on the brand list, the brand's page (its `<title>`, heading, breadcrumb,
/// the rename field's value and the delete confirmation), the accounts page's cards, and the
/// Twitter settings (its brand table and the audit trail, which names the brand whose X app
/// was saved).
async fn h40_brand_names_are_escaped_in_text_attributes_and_title(b: Backend) {
    let w = world(b).await;
    let mut ids = Vec::new();
    for p in PAYLOADS {
        let id = brand(&w.owner, p).await;
        assert_eq!(w.owner.call("brands/get", &[("id", &id)]).await.json()["name"], p, "stored as typed");
        assert_eq!(save(&w.owner, ID_B, SECRET_B, Some(&id)).await.status, 201);
        ids.push(id);
    }
    let all: Vec<String> = PAYLOADS.iter().map(|p| (*p).to_owned()).collect();
    assert_escaped("/brands", &page(&w.owner, "/brands").await, &all, Some("Brands · Perch"));
    for (p, id) in PAYLOADS.iter().zip(&ids) {
        let title = format!("{p} · Perch");
        for path in [format!("/brands/{id}"), format!("/brands/{id}?confirm=delete")] {
            let r = page(&w.owner, &path).await;
            assert_escaped(&path, &r, &[(*p).to_owned()], Some(&title));
        }
    }
    assert_escaped("/accounts", &page(&w.owner, "/accounts").await, &all, Some("X accounts · Perch"));
    assert_escaped(
        "/settings/twitter",
        &page(&w.owner, "/settings/twitter").await,
        &all,
        Some("Twitter integration · Perch"),
    );
}

/// H.40: the organization's name in the top bar of every dashboard page, and on Settings (as
/// text and as the rename field's value), whatever name it was signed up or renamed with.
async fn h40_organization_names_are_escaped_on_every_dashboard_page(b: Backend) {
    let app = TestApp::spawn(b).await;
    let c = app.owner(PAYLOADS[0], "owner@acme.example").await;
    let id = brand(&c, "Coffee").await;
    for (i, p) in PAYLOADS.iter().enumerate() {
        if i > 0 {
            let r = c.call("org/rename", &[("org_name", p)]).await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
        assert_eq!(c.viewer().await["org_name"], *p, "stored as typed");
        for path in DASHBOARD_PAGES.iter().map(|p| (*p).to_owned()).chain([format!("/brands/{id}")]) {
            assert_escaped(&path, &page(&c, &path).await, &[(*p).to_owned()], None);
        }
    }
}

/// H.40: API key names on the keys page (the list, the revoke buttons' labels, the banner after
/// a revocation, the box that shows a key created without JavaScript) and in the audit trail,
/// which names the key whose connect link connected an account.
async fn h40_api_key_names_are_escaped_on_the_keys_page_and_the_audit_trail(b: Backend) {
    let w = world(b).await;
    let mut keys = Vec::new();
    for p in PAYLOADS {
        let r = w.owner.call("keys/create", &[("name", p)]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["view"]["name"], p, "stored as typed");
        keys.push((r.json()["key"].as_str().unwrap().to_owned(), r.json()["view"]["id"].as_str().unwrap().to_owned()));
    }
    let all: Vec<String> = PAYLOADS.iter().map(|p| (*p).to_owned()).collect();
    assert_escaped("/settings/api-keys", &page(&w.owner, "/settings/api-keys").await, &all, Some("API keys · Perch"));

    // A connect link made with each key puts the key's name in the audit trail.
    for (i, (key, _)) in keys.iter().enumerate() {
        let user = format!("170000000000000000{i}");
        w.x.set_next_user(FakeUser::new(user.clone(), "Someone", format!("someone{i}")));
        let r = send(
            reqwest::Client::new()
                .post(format!("{}/v1/accounts/connect", w.app.base))
                .bearer_auth(key)
                .json(&json!({"platform": "twitter"})),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let back =
            at_x(&url::Url::parse(r.json()["auth_url"].as_str().unwrap()).unwrap(), "authorize", Some(&user), None)
                .await;
        let done = send(reqwest::Client::new().get(back.as_str())).await;
        assert_escaped("the connect link's page", &done, &[], Some("Connect your X account · Perch"));
    }
    let trail: Vec<String> = PAYLOADS.iter().map(|p| format!("API key “{p}” (connect link)")).collect();
    assert_escaped("/settings/twitter", &page(&w.owner, "/settings/twitter").await, &trail, None);

    // Revoked: the banner names the key.
    let r = w.owner.post_form("keys/revoke", &[("key_id", &keys[0].1)], "/settings/api-keys").await;
    assert!((300..400).contains(&r.status), "back to the page: {} {}", r.status, r.body);
    let back = r.header("location");
    assert!(back.contains("revoked="), "{back}");
    assert_escaped(
        "the keys page after a revocation",
        &page(&w.owner, &back).await,
        &[format!("Revoked “{}”", PAYLOADS[0])],
        None,
    );
    // Created without JavaScript: the page that shows the key once names it.
    let r = w.owner.post_form("keys/create", &[("name", PAYLOADS[1])], "/settings/api-keys").await;
    assert!((300..400).contains(&r.status), "back to the page: {} {}", r.status, r.body);
    assert_escaped(
        "the keys page with a new key",
        &page(&w.owner, &r.header("location")).await,
        &[format!("Key “{}” created.", PAYLOADS[1])],
        None,
    );
}

/// H.40: what an X user chose (display name, username) on the accounts page (the account's
/// name, handle, avatar initial, `data-username` and the buttons' labels), in the results of
/// Connect, Check and Disconnect, in the audit trail, and on the page at the end of a connect
/// link, which a stranger sees.
async fn h40_x_display_names_and_usernames_are_escaped_on_every_page_that_shows_them(b: Backend) {
    let w = world(b).await;
    let mut accounts = Vec::new();
    for (i, p) in PAYLOADS.iter().enumerate() {
        // The username of one user is the display name of the next: every payload is both.
        let (user, name, username) = (format!("180000000000000000{i}"), *p, PAYLOADS[(i + 1) % PAYLOADS.len()]);
        w.x.set_next_user(FakeUser::new(user.clone(), name, username));
        let done = connect_through(&w.owner, None, Some(&user)).await;
        assert_eq!(result_of(&done), "connected", "{done}");
        let handle = format!("@{username}");
        assert_escaped(
            "the connect result",
            &page(&w.owner, &done).await,
            &[name.to_owned(), format!("{handle} is connected")],
            None,
        );
        let id = account_of(&done);
        let r = check(&w.owner, &id).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let checked = app::api::accounts::check_url(app::domain::CheckResult::Working, &id);
        assert_escaped("the check result", &page(&w.owner, &checked).await, &[handle], None);
        accounts.push(id);
    }
    let all: Vec<String> = PAYLOADS.iter().map(|p| (*p).to_owned()).collect();
    assert_escaped("/accounts", &page(&w.owner, "/accounts").await, &all, Some("X accounts · Perch"));

    // The page at the end of a connect link.
    let key = w.owner.call("keys/create", &[("name", "Onboarding")]).await.json()["key"].as_str().unwrap().to_owned();
    w.x.set_next_user(FakeUser::new("1900000000000000000", PAYLOADS[1], PAYLOADS[0]));
    let r = send(
        reqwest::Client::new()
            .post(format!("{}/v1/accounts/connect", w.app.base))
            .bearer_auth(&key)
            .json(&json!({"platform": "twitter"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let back = at_x(
        &url::Url::parse(r.json()["auth_url"].as_str().unwrap()).unwrap(),
        "authorize",
        Some("1900000000000000000"),
        None,
    )
    .await;
    let done = send(reqwest::Client::new().get(back.as_str())).await;
    assert_escaped(
        "the connect link's page",
        &done,
        &[format!("@{}", PAYLOADS[0])],
        Some("Connect your X account · Perch"),
    );

    // Disconnect: its banner, then the audit trail, name the username.
    for (i, id) in accounts.iter().enumerate() {
        let r = w.owner.post_form("twitter/accounts/disconnect", &[("account_id", id)], "/accounts").await;
        assert!((300..400).contains(&r.status), "back to the page: {} {}", r.status, r.body);
        let username = PAYLOADS[(i + 1) % PAYLOADS.len()];
        assert_escaped(
            "the disconnect result",
            &page(&w.owner, &r.header("location")).await,
            &[format!("@{username}")],
            None,
        );
    }
    let trail: Vec<String> = PAYLOADS.iter().map(|p| format!("@{p}")).collect();
    assert_escaped("/settings/twitter", &page(&w.owner, "/settings/twitter").await, &trail, None);
}

// ---- H.38: ids -------------------------------------------------------------------------------

/// Ids that cannot exist, as they go in a URL: a NUL alone and inside a well-formed id, a quote,
/// markup, a non-ASCII letter, an upper-case prefix, the wrong prefix.
const BAD_IDS_IN_URLS: [&str; 7] =
    ["%00", "xac_0123%0045", "xac_%27%22", "xac_%3Cb%3E", "xac_%C3%A9", "XAC_0123", "brd_0123"];
/// The same in a JSON body or a form.
const BAD_IDS: [&str; 6] = ["\u{0}", "xac_0123\u{0}45", "brd_0123\u{0}45", "'\"", "<b>", "é"];

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

/// H.38 on `/v1`: `DELETE /v1/accounts/{id}` and `GET /v1/accounts?brand_id=` answer 404 for an
/// id that cannot exist; `POST /v1/accounts/connect` and `POST /v1/posts` answer 422 naming the
/// field. Always the JSON error shape, nothing changed, X never called.
async fn h38_v1_ids_outside_the_id_alphabet_answer_404_or_422_in_json_and_change_nothing(b: Backend) {
    let w = world(b).await;
    let key = w.owner.call("keys/create", &[("name", "CMS")]).await.json()["key"].as_str().unwrap().to_owned();
    connect_through(&w.owner, None, None).await;
    brand(&w.owner, "Coffee").await;
    let http = reqwest::Client::new();
    let before = state_of(&w.app).await;
    let calls_to_x = w.x.requests().len();

    for bad in BAD_IDS_IN_URLS {
        let r = send(http.delete(format!("{}/v1/accounts/{bad}", w.app.base)).bearer_auth(&key)).await;
        assert_api_error(&format!("DELETE /v1/accounts/{bad}"), &r, 404, "not_found");
        let bad_brand = bad.replace("xac_", "brd_").replace("brd_0123", "xac_0123");
        let r = send(http.get(format!("{}/v1/accounts?brand_id={bad_brand}", w.app.base)).bearer_auth(&key)).await;
        assert_api_error(&format!("GET /v1/accounts?brand_id={bad_brand}"), &r, 404, "not_found");
    }
    // Not even UTF-8: no id either (refused before routing, or as no account).
    for bad in ["%FF", "xac_%FF%FE"] {
        let r = send(http.delete(format!("{}/v1/accounts/{bad}", w.app.base)).bearer_auth(&key)).await;
        assert!((400..500).contains(&r.status), "DELETE /v1/accounts/{bad}: {} {}", r.status, r.body);
        assert!(r.json()["error"]["code"].is_string() && r.json()["error"]["correlation_id"].is_null(), "{}", r.body);
    }
    for bad in BAD_IDS {
        let r = send(
            http.post(format!("{}/v1/accounts/connect", w.app.base))
                .bearer_auth(&key)
                .json(&json!({"platform": "twitter", "brand_id": bad})),
        )
        .await;
        assert_api_error(&format!("connect link for brand {bad:?}"), &r, 422, "validation");
        assert_eq!(r.json()["error"]["field"], "brand_id");
        let r = send(
            http.post(format!("{}/v1/posts", w.app.base))
                .bearer_auth(&key)
                .json(&json!({"account_id": bad, "text": "Hello"})),
        )
        .await;
        assert_api_error(&format!("post from account {bad:?}"), &r, 422, "validation");
        assert_eq!(r.json()["error"]["field"], "account_id");
    }
    assert_eq!(state_of(&w.app).await, before, "nothing changed");
    assert_eq!(w.x.requests().len(), calls_to_x, "X was never called");
}

/// H.38 on the Connect form (`POST /oauth/connect/twitter`): a `brand_id` or `account_id` that
/// cannot exist gets 422 on the error page, before any query; no flow starts.
async fn h38_the_connect_form_refuses_malformed_ids_before_any_query(b: Backend) {
    let w = world(b).await;
    connect_through(&w.owner, None, None).await;
    let before = state_of(&w.app).await;
    let calls_to_x = w.x.requests().len();
    for bad in BAD_IDS {
        for field in ["brand_id", "account_id"] {
            let r = press(&w.owner, field, bad).await;
            assert_eq!(r.status, 422, "{field}={bad:?}: {}", r.body);
            assert!(
                r.body.contains(&format!("&quot;{field}&quot; is not a")),
                "{field}={bad:?}: a message naming the field: {}",
                r.body
            );
        }
    }
    // A form that is not even UTF-8.
    let r = send(
        w.owner
            .http
            .post(format!("{}{CONNECT}", w.app.base))
            .header("origin", &w.app.base)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(b"brand_id=\xff\xfe".to_vec()),
    )
    .await;
    assert!((400..500).contains(&r.status), "{}: {}", r.status, r.body);
    assert_eq!(state_of(&w.app).await, before, "nothing changed");
    assert_eq!(w.x.requests().len(), calls_to_x, "X was never called");
    // The card's own values still work.
    assert_eq!(press(&w.owner, "brand_id", "default").await.status, 303);
}

/// H.38 on the dashboard's server functions: an id that cannot exist names nothing (404) where it
/// is what the function acts on, and is invalid (422) where it is a field of a form; the
/// credentials' JSON API likewise (422 in a body, 404 in a query).
async fn h38_server_functions_refuse_malformed_ids_with_404_or_422_and_change_nothing(b: Backend) {
    let w = world(b).await;
    let c = &w.owner;
    let account = account_of(&connect_through(c, None, None).await);
    let coffee = brand(c, "Coffee").await;
    c.call("keys/create", &[("name", "CMS")]).await;
    let before = state_of(&w.app).await;
    let calls_to_x = w.x.requests().len();
    for bad in BAD_IDS {
        for (function, form, status) in [
            ("brands/get", vec![("id", bad)], 404),
            ("brands/rename", vec![("id", bad), ("name", "Tea")], 404),
            ("brands/delete", vec![("id", bad)], 404),
            ("twitter/accounts/check", vec![("account_id", bad)], 404),
            ("twitter/accounts/disconnect", vec![("account_id", bad)], 404),
            ("keys/revoke", vec![("key_id", bad)], 404),
            (
                "twitter/submit",
                vec![("client_id", ID_B), ("client_secret", SECRET_B), ("brand_id", bad), ("intent", "save")],
                422,
            ),
            (
                "twitter/submit",
                vec![("client_id", ID_B), ("client_secret", SECRET_B), ("brand_id", bad), ("intent", "test")],
                422,
            ),
            ("twitter/remove", vec![("brand_id", bad)], 404),
        ] {
            let r = c.call(function, &form).await;
            assert_eq!(r.status, status, "{function} {form:?}: {}", r.body);
            assert!(r.json()["correlation_id"].is_null(), "{function}: a client error: {}", r.body);
            if status == 422 {
                assert_eq!(r.json()["field"], "brand_id", "{function}: {}", r.body);
            }
        }
        let r = save(c, ID_B, SECRET_B, Some(bad)).await;
        assert_api_error(&format!("PUT {CRED} brand_id={bad:?}"), &r, 422, "validation");
    }
    for bad in BAD_IDS_IN_URLS {
        let bad = bad.replace("xac_", "brd_").replace("brd_0123", "xac_0123");
        let r = send(c.http.delete(format!("{}{CRED}?brand_id={bad}", w.app.base)).header("origin", &w.app.base)).await;
        assert_api_error(&format!("DELETE {CRED}?brand_id={bad}"), &r, 404, "not_found");
        // A page whose path names no brand is the not-found page.
        assert_eq!(c.get(&format!("/brands/{bad}")).await.status, 404, "/brands/{bad}");
    }
    assert_eq!(state_of(&w.app).await, before, "nothing changed");
    assert_eq!(w.x.requests().len(), calls_to_x, "X was never called");
    // The real ids still work.
    assert_eq!(c.call("brands/get", &[("id", &coffee)]).await.status, 200);
    assert_eq!(check(c, &account).await.status, 200);
}

// ---- H.38: text ------------------------------------------------------------------------------

/// H.38: free text with a NUL byte (brand, organization and key names, emails at sign-up and
/// sign-in, post text) is refused with 422 and a message on the field, on both databases, and
/// nothing is stored (not even a failed sign-in).
async fn h38_text_with_a_nul_byte_is_refused_with_a_message_naming_the_field(b: Backend) {
    let w = world(b).await;
    let c = &w.owner;
    let coffee = brand(c, "Coffee").await;
    let key = c.call("keys/create", &[("name", "CMS")]).await.json()["key"].as_str().unwrap().to_owned();
    let account = account_of(&connect_through(c, None, None).await);
    let before = state_of(&w.app).await;
    let throttled = w.app.count("login_throttle").await;
    let nul = "Acme\u{0}Corp";
    let stranger = w.app.client();
    for (who, function, form, field) in [
        (c, "brands/create", vec![("name", nul)], "name"),
        (c, "brands/rename", vec![("id", coffee.as_str()), ("name", nul)], "name"),
        (c, "org/rename", vec![("org_name", nul)], "org_name"),
        (c, "keys/create", vec![("name", nul)], "name"),
        (
            &stranger,
            "signup",
            vec![("org_name", nul), ("email", "new@example.com"), ("password", crate::common::PASSWORD)],
            "org_name",
        ),
        (
            &stranger,
            "signup",
            vec![("org_name", "New"), ("email", "new\u{0}@example.com"), ("password", crate::common::PASSWORD)],
            "email",
        ),
        (
            &stranger,
            "login",
            vec![("email", "owner@acme.example\u{0}"), ("password", crate::common::PASSWORD)],
            "email",
        ),
    ] {
        let r = who.call(function, &form).await;
        assert_eq!(r.status, 422, "{function} {form:?}: {}", r.body);
        assert_eq!(r.json()["field"], field, "{function}: {}", r.body);
        assert!(r.json()["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let http = reqwest::Client::new();
    let r = send(http.post(format!("{}/v1/brands", w.app.base)).bearer_auth(&key).json(&json!({"name": nul}))).await;
    assert_api_error("POST /v1/brands with a NUL", &r, 422, "validation");
    let r = send(
        http.post(format!("{}/v1/posts", w.app.base))
            .bearer_auth(&key)
            .json(&json!({"account_id": account, "text": nul})),
    )
    .await;
    assert_api_error("POST /v1/posts with a NUL", &r, 422, "validation");
    assert_eq!(state_of(&w.app).await, before, "nothing changed");
    assert_eq!(w.app.count("login_throttle").await, throttled, "a refused sign-in is no attempt");
    assert_eq!(c.viewer().await["org_name"], "Acme Agency");
    assert!(w.x.requests().iter().all(|r| r.path != "/2/tweets"), "X was never asked to post");
}

/// H.38: bytes that are not UTF-8 in a server function's form, in a page's path or query, and
/// in the API's paths and queries get a 4xx (or, in a page's query, are shown as replacement
/// characters), never a 5xx, and change nothing.
async fn h38_invalid_utf8_in_forms_paths_and_queries_gets_a_clear_4xx(b: Backend) {
    let w = world(b).await;
    let c = &w.owner;
    let key = c.call("keys/create", &[("name", "CMS")]).await.json()["key"].as_str().unwrap().to_owned();
    let before = state_of(&w.app).await;
    let form = |function: &str, body: &'static [u8], query: &str| {
        c.http
            .post(format!("{}/api/{function}{query}", w.app.base))
            .header("origin", &w.app.base)
            .header("accept", "application/json")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    };
    for (function, body, query) in [
        ("brands/create", &b"name=%FF%FE"[..], ""),
        ("brands/create", &b"name=Caf%C3"[..], ""),
        ("brands/create", &b"name=\xff\xfe"[..], ""),
        ("brands/create", &b""[..], "?name=%FF"),
        ("brands/rename", &b"id=brd_%FF&name=Tea"[..], ""),
        ("org/rename", &b"org_name=%C0%80"[..], ""),
        ("keys/create", &b"name=%ED%A0%80"[..], ""),
        ("login", &b"email=a%FF%40example.com&password=x"[..], ""),
        ("twitter/accounts/check", &b"account_id=xac_%FF"[..], ""),
    ] {
        let r = send(form(function, body, query)).await;
        assert!(
            (400..500).contains(&r.status),
            "{function} {:?}{query}: {} {}",
            String::from_utf8_lossy(body),
            r.status,
            r.body
        );
        assert!(r.json()["correlation_id"].is_null(), "{function}: {}", r.body);
    }
    for path in [
        "/brands/%FF",
        "/brands/brd_%C3",
        "/accounts?disconnected=%FF%FE&revoked=1",
        "/settings/api-keys?revoked=%FF",
        "/accounts?check=working&account=%FF",
    ] {
        let r = c.get(path).await;
        assert!(r.status < 500, "{path}: {} {}", r.status, r.body);
    }
    let http = reqwest::Client::new();
    for path in ["/v1/accounts?brand_id=%FF", "/v1/accounts?brand_id=brd_%FF%FE"] {
        let r = send(http.get(format!("{}{path}", w.app.base)).bearer_auth(&key)).await;
        assert!((400..500).contains(&r.status), "{path}: {} {}", r.status, r.body);
        assert!(r.json()["error"]["code"].is_string(), "{path}: the JSON shape: {}", r.body);
    }
    assert_eq!(state_of(&w.app).await, before, "nothing changed");
}

/// H.38, the backstop: should text PostgreSQL cannot store (a NUL byte, SQLSTATE 22021) ever
/// reach a query, the error is the client's (400, a message, no correlation id), not a 500.
/// SQLite stores such text, so there the query simply finds nothing.
async fn h38_text_the_database_cannot_store_is_a_client_error_not_a_500(b: Backend) {
    let app = TestApp::spawn(b).await;
    let c = app.owner("Acme", "a@example.com").await;
    let org = crate::common::org_id(&c).await;
    let found = app::server::store::brands::get(app.state.db.pool(), &org, "brd_\u{0}").await;
    match b {
        Backend::Sqlite => assert!(matches!(found, Ok(None)), "{found:?}"),
        Backend::Postgres => {
            let err = found.expect_err("PostgreSQL refuses a NUL in text");
            assert!(err.is_unstorable_text(), "{err}");
            let e = app::error::AppError::from(err);
            assert_eq!(e.code.status(), 400, "{e:?}");
            assert!(e.correlation_id.is_none() && e.message.contains("NUL"), "{e:?}");
        }
    }
}
