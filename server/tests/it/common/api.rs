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

/// Stores `n` accounts on a card (X users `seed…`) the way the connect flow stores them, through
/// the organization's saved credentials: for lists of many accounts without `n` trips through X.
/// Returns their ids in the order stored.
pub async fn seed_accounts(w: &World, brand_id: Option<&str>, n: usize) -> Vec<String> {
    use app::server::{infra::x_client, store::accounts, store::credentials};
    use secrecy::SecretString;
    let pool = w.app.state.db.pool();
    let org = super::org_id(&w.owner).await;
    let creds = credentials::summaries(pool, &org).await.unwrap();
    let (cred, _) = credentials::applying(&creds, brand_id).expect("credentials to connect through");
    let tokens = x_client::Tokens {
        access_token: SecretString::from("seeded-access"),
        refresh_token: Some(SecretString::from("seeded-refresh")),
        expires_in: 7200,
        scopes: app::domain::SCOPES.iter().map(|s| (*s).to_owned()).collect(),
    };
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let user = x_client::XUser {
            id: format!("9{i:08}"),
            username: format!("seed{i}"),
            name: format!("Seed {i}"),
            profile_image_url: None,
        };
        let c = accounts::Connection {
            org_id: &org,
            brand_id,
            user: &user,
            tokens: &tokens,
            credential_id: &cred.id,
            credential_generation: cred.generation,
            client_id_preview: &cred.client_id_preview,
            actor: "test",
            card_label: "seeded",
        };
        ids.push(accounts::store(pool, &w.app.state.vault, c).await.unwrap().account_id);
    }
    ids
}
