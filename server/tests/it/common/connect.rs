//! Connecting X accounts in tests: a fake X with an app registered for Perch's callback, a
//! Perch pointed at it, and the browser's hops through Connect, X's consent page and the
//! callback, each a request the test makes and can check. Shared by `twitter_accounts` and
//! `public_api`.

use std::collections::BTreeMap;

use app::domain::callback_url;
use app::server::infra::vault::Aad;
use app::server::store::accounts::{FIELD_ACCESS, FIELD_REFRESH};
use fake_x::{FakeX, NewApp};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

use super::{Backend, Client, Reply, TestApp, send};

/// X's own example Client ID, and a second app's.
pub const ID_A: &str = "M1M5R3BMVy13QmpScXkzTUt5OE46MTpjaQ";
pub const ID_B: &str = "UHRZZ2ptVWhCZWwzMWlFbDJocEM6MTpjaQ";
pub const SECRET_A: &str = "Sc7Tvo_hBKqFYY_kv5ZJr3J1TWDtkwtDDb-xHKas1VOqg6YYZY";
pub const SECRET_B: &str = "n9ZhyiA4uoRgnatmUdjAWtGSU8po-799NksnRH9ucAUsdMlHUv";
pub const WRONG_SECRET: &str = "wrongwrongwrongwrongwrongwrongwrongwrongwrongwrong";

pub const CONNECT: &str = "/oauth/connect/twitter";
pub const CRED: &str = "/v1/integrations/twitter/credentials";

pub struct World {
    pub x: FakeX,
    pub app: TestApp,
    pub owner: Client,
}

/// A fake X with app A registered for Perch's callback, a Perch pointed at it, and an owner whose
/// organization has app A as its default credentials.
pub async fn world(b: Backend) -> World {
    world_with(b, &[]).await
}

/// [`world`] with extra `PERCH_*` settings.
pub async fn world_with(b: Backend, settings: &[(&str, &str)]) -> World {
    let x = FakeX::start().await;
    let (api_url, authorize_url) = (x.base_url(), x.authorize_url());
    let mut all = vec![("PERCH_X_API_URL", api_url.as_str()), ("PERCH_X_AUTHORIZE_URL", authorize_url.as_str())];
    all.extend_from_slice(settings);
    let app = TestApp::spawn_with(b, &all).await;
    x.register_app(NewApp::new([callback_url(&app.base)]).with_credentials(ID_A, SECRET_A).named("Acme Social"));
    let owner = app.owner("Acme Agency", "owner@acme.example").await;
    let r = save(&owner, ID_A, SECRET_A, None).await;
    assert!(r.status == 201, "{}", r.body);
    World { x, app, owner }
}

pub async fn save(c: &Client, id: &str, secret: &str, brand: Option<&str>) -> Reply {
    let mut body = json!({ "client_id": id, "client_secret": secret });
    if let Some(b) = brand {
        body["brand_id"] = json!(b);
    }
    send(c.http.put(format!("{}{CRED}", c.base)).header("origin", &c.base).json(&body)).await
}

/// Presses Connect (`brand_id`) or Reconnect (`account_id`): Perch's answer.
pub async fn press(c: &Client, field: &str, value: &str) -> Reply {
    send(c.http.post(format!("{}{CONNECT}", c.base)).header("origin", &c.base).form(&[(field, value)])).await
}

/// Connect on a card; asserts Perch sends the browser to X, and returns X's authorize URL.
pub async fn connect(c: &Client, brand_id: Option<&str>) -> url::Url {
    let r = press(c, "brand_id", brand_id.unwrap_or("default")).await;
    assert_eq!(r.status, 303, "{}", r.body);
    url::Url::parse(&r.header("location")).unwrap()
}

pub fn query(u: &url::Url) -> BTreeMap<String, String> {
    u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// The user at X: opens the consent page and presses a button. `granted` unticks scopes when
/// given. Returns where X sends the browser (the callback URL with `state` and `code`).
pub async fn at_x(authorize: &url::Url, decision: &str, user: Option<&str>, granted: Option<&[&str]>) -> url::Url {
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = send(browser.get(authorize.as_str())).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Authorize app"), "X shows its consent page: {}", page.body);
    let mut form: Vec<(String, String)> =
        authorize.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    form.push(("decision".into(), decision.into()));
    if let Some(u) = user {
        form.push(("user_id".into(), u.into()));
    }
    let scopes: Vec<String> = match granted {
        Some(g) => g.iter().map(|s| (*s).to_owned()).collect(),
        None => query(authorize)["scope"].split(' ').map(str::to_owned).collect(),
    };
    for s in scopes {
        form.push(("granted".into(), s));
    }
    let mut decision_url = authorize.clone();
    decision_url.set_path("/i/oauth2/authorize/decision");
    decision_url.set_query(None);
    let r = send(browser.post(decision_url.as_str()).form(&form)).await;
    assert_eq!(r.status, 302, "X redirects back: {}", r.body);
    url::Url::parse(&r.header("location")).unwrap()
}

/// The browser arrives at Perch's callback; returns Perch's redirect (a path on Perch).
pub async fn arrive(c: &Client, callback: &str) -> String {
    let r = send(c.http.get(callback)).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let location = r.header("location");
    assert!(
        location.starts_with("/accounts") || location.starts_with("/login"),
        "a fixed internal page (E.29): {location}"
    );
    location
}

/// `connect=` of a redirect to the accounts page.
pub fn result_of(location: &str) -> String {
    let u = url::Url::parse(&format!("http://perch{location}")).unwrap();
    query(&u).get("connect").cloned().unwrap_or_default()
}

pub fn account_of(location: &str) -> String {
    let u = url::Url::parse(&format!("http://perch{location}")).unwrap();
    query(&u).get("account").cloned().unwrap_or_default()
}

/// The whole happy path on a card; returns Perch's final redirect.
pub async fn connect_through(c: &Client, brand_id: Option<&str>, user: Option<&str>) -> String {
    let authorize = connect(c, brand_id).await;
    let back = at_x(&authorize, "authorize", user, None).await;
    arrive(c, back.as_str()).await
}

pub async fn overview(c: &Client) -> Value {
    let r = c.call("twitter/accounts", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// Every account on every card.
pub async fn all_accounts(c: &Client) -> Vec<Value> {
    overview(c).await["cards"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|card| card["accounts"].as_array().unwrap().clone())
        .collect()
}

pub async fn card(c: &Client, brand_id: Option<&str>) -> Value {
    overview(c).await["cards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|card| card["brand_id"].as_str() == brand_id)
        .cloned()
        .unwrap()
}

pub async fn check(c: &Client, account_id: &str) -> Reply {
    c.call("twitter/accounts/check", &[("account_id", account_id)]).await
}

/// Token requests the fake received so far (successful or not).
pub fn token_requests(x: &FakeX) -> Vec<fake_x::RecordedRequest> {
    x.requests().into_iter().filter(|r| r.path == "/2/oauth2/token").collect()
}

/// The plaintext tokens Perch holds for an account, through its own vault.
pub async fn tokens_of(app: &TestApp, account_id: &str) -> (String, Option<String>) {
    let (org_id, access, refresh): (String, Vec<u8>, Option<Vec<u8>>) =
        sqlx::query_as("select org_id, access_token_enc, refresh_token_enc from twitter_accounts where id = $1")
            .bind(account_id)
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    let open = |blob: &[u8], field| {
        app.state
            .vault
            .decrypt_string(blob, &Aad { org_id: &org_id, record_id: account_id, field })
            .unwrap()
            .expose_secret()
            .to_owned()
    };
    (open(&access, FIELD_ACCESS), refresh.map(|r| open(&r, FIELD_REFRESH)))
}
