//! The public API as a program holding an API key calls it: keys made in the dashboard, bare
//! requests with `Authorization: Bearer`, and the answers' error codes.

use serde_json::{Value, json};

use super::connect::{World, account_of, connect_through, world};
use super::{Backend, Client, Reply, send};

/// A client of the public API: no cookies, no browser headers.
pub fn api_client() -> reqwest::Client {
    reqwest::Client::builder().timeout(std::time::Duration::from_secs(60)).build().unwrap()
}

/// A request to the public API with `key` (none when empty).
pub async fn api(base: &str, method: &str, path: &str, key: &str, body: Option<Value>) -> Reply {
    let http = api_client();
    let mut req = http.request(method.parse().unwrap(), format!("{base}{path}"));
    if !key.is_empty() {
        req = req.bearer_auth(key);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    send(req).await
}

/// Creates a key in the dashboard as `c`; returns the key.
pub async fn new_key(c: &Client, name: &str) -> String {
    let r = c.call("keys/create", &[("name", name)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let key = r.json()["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("perch_") && key.len() == 49, "{key}");
    key
}

pub fn error_code(r: &Reply) -> String {
    r.json()["error"]["code"].as_str().unwrap_or_default().to_owned()
}

pub fn error_message(r: &Reply) -> String {
    r.json()["error"]["message"].as_str().unwrap_or_default().to_owned()
}

/// A world with a key, and an account connected to the organization default through the dashboard.
pub async fn with_account(b: Backend) -> (World, String, String) {
    let w = world(b).await;
    let key = new_key(&w.owner, "CMS").await;
    let id = account_of(&connect_through(&w.owner, None, None).await);
    (w, key, id)
}

pub async fn post(base: &str, key: &str, account_id: &str, text: &str) -> Reply {
    api(base, "POST", "/v1/posts", key, Some(json!({ "account_id": account_id, "text": text }))).await
}

/// The account's state as `GET /v1/accounts` shows it.
pub async fn account(base: &str, key: &str, id: &str) -> Value {
    let r = api(base, "GET", "/v1/accounts", key, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["data"].as_array().unwrap().iter().find(|a| a["id"] == id).cloned().unwrap_or(Value::Null)
}
