//! Bring-your-own X app credentials (Settings → Twitter integration and the dashboard-only JSON
//! API `/v1/integrations/twitter/credentials`), end to end against the fake X: secrets at rest and
//! in answers (docs/security.md A, B), the "Test credentials" probe (docs/x-api.md "Testing a Client ID /
//! Secret pair"), rotation and rewrap of the master key (A.6), tenants, roles and API keys (G),
//! cross-site requests (D.22) and hostile input (H.38).
//!
//! Run with `cargo test -p server --test it -- twitter_credentials::`.

use app::domain::{Email, Password, Role, callback_url};
use app::server::ServerError;
use app::server::infra::vault::VaultError;
use app::server::store::credentials::{self, Resolved};
use app::server::store::users::{self, OrgTarget};
use std::process::Command;

use crate::common::leaks::{assert_no_part_of, assert_no_secret, at_rest, capture, find_secret, logs};
use crate::common::{Backend, Client, PASSWORD, Reply, TestApp, TestDb, brand, org_id, send};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use fake_x::{FakeX, Fault, NewApp, UnknownClient};
use serde_json::{Value, json};

// ---- values in X's shapes (docs/x-api.md "Shapes of identifiers") ----------------------------------

/// X's own example Client ID; its preview is `M1M5R3`.
const ID_A: &str = "M1M5R3BMVy13QmpScXkzTUt5OE46MTpjaQ";
const ID_B: &str = "UHRZZ2ptVWhCZWwzMWlFbDJocEM6MTpjaQ";
const ID_C: &str = "aFlnQ2ZyTDFzcE54bnlWbWloQV86MTpjaQ";
/// The canary: a Client Secret in X's shape (50 characters) that must never be seen again.
const CANARY: &str = "CanaryS3cretMustNeverLeak_7Qx2Lp9Vb4Nm8Kd1Rz6Tw3Hy";
const SECRET_2: &str = "Sc7Tvo_hBKqFYY_kv5ZJr3J1TWDtkwtDDb-xHKas1VOqg6YYZY";
const SECRET_3: &str = "n9ZhyiA4uoRgnatmUdjAWtGSU8po-799NksnRH9ucAUsdMlHUv";
/// What people paste by mistake.
const API_KEY: &str = "xvz1evFS4wEEPTGEFPHBog0aB";
const API_KEY_SECRET: &str = "L8qq9PZyRg6ieKGEKhZolGC0vJWLw8iEJ88DRdyOg0aBcDeFgH";
const BEARER: &str = "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI%3DEUifiRBkKG5E2XzMDjRfl76ZC9Ub0wnz4XsNiRVBChTYbJcE3F";
const ACCESS_TOKEN: &str = "1234567890-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789ab";

const CRED: &str = "/v1/integrations/twitter/credentials";
const CRED_TEST: &str = "/v1/integrations/twitter/credentials/test";

// ---- setting up ------------------------------------------------------------------------------

/// A fake X and a Perch pointed at it.
async fn perch(b: Backend) -> (FakeX, TestApp) {
    let x = FakeX::start().await;
    let app = TestApp::spawn_with(b, &[("PERCH_X_API_URL", &x.base_url())]).await;
    (x, app)
}

/// Registers an X app with this pair at the fake, with Perch's callback URL.
fn register(x: &FakeX, app: &TestApp, client_id: &str, secret: &str) {
    x.register_app(NewApp::new([callback_url(&app.base)]).with_credentials(client_id, secret));
}

/// A user of `org_id` with `role`, signed in.
async fn user(app: &TestApp, org_id: &str, email: &str, role: Role) -> Client {
    let hash = app.state.passwords.hash(Password::parse(PASSWORD.into()).unwrap()).await.unwrap();
    users::create(app.state.db.pool(), OrgTarget::Existing(org_id), &Email::parse(email).unwrap(), &hash, role)
        .await
        .unwrap();
    sign_in(app, email).await
}

async fn sign_in(app: &TestApp, email: &str) -> Client {
    let c = app.client();
    let r = c.call("login", &[("email", email), ("password", PASSWORD)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    c
}

/// Stops a Perch and hands back its database, to start another on it.
async fn stop(mut app: TestApp) -> TestDb {
    app.state.db.close().await;
    let placeholder = TestDb::new(Backend::Sqlite).await;
    std::mem::replace(&mut app.db, placeholder)
}

// ---- talking to Perch ------------------------------------------------------------------------

fn url(c: &Client, path: &str) -> String {
    format!("{}{path}", c.base)
}

fn pair(client_id: &str, secret: &str) -> Value {
    json!({ "client_id": client_id, "client_secret": secret })
}

fn pair_for(client_id: &str, secret: &str, brand_id: &str) -> Value {
    json!({ "client_id": client_id, "client_secret": secret, "brand_id": brand_id })
}

async fn api_get(c: &Client) -> Reply {
    send(c.http.get(url(c, CRED))).await
}

async fn api_put(c: &Client, body: &Value) -> Reply {
    send(c.http.put(url(c, CRED)).header("origin", &c.base).json(body)).await
}

async fn api_delete(c: &Client, brand_id: Option<&str>) -> Reply {
    let path = match brand_id {
        Some(b) => format!("{CRED}?brand_id={b}"),
        None => CRED.to_owned(),
    };
    send(c.http.delete(url(c, &path)).header("origin", &c.base)).await
}

async fn api_test(c: &Client, body: &Value) -> Reply {
    send(c.http.post(url(c, CRED_TEST)).header("origin", &c.base).json(body)).await
}

/// The `error` object of a JSON API answer.
fn api_error(r: &Reply) -> Value {
    let body = r.json();
    assert!(body["error"].is_object(), "not an error answer: {}", r.body);
    body["error"].clone()
}

/// The credentials form (server function `twitter/submit`); `brand` empty for the default.
async fn submit(c: &Client, client_id: &str, secret: &str, brand: &str, intent: &str) -> Reply {
    c.call(
        "twitter/submit",
        &[("client_id", client_id), ("client_secret", secret), ("brand_id", brand), ("intent", intent)],
    )
    .await
}

async fn remove(c: &Client, brand: &str) -> Reply {
    c.call("twitter/remove", &[("brand_id", brand)]).await
}

async fn settings(c: &Client) -> Reply {
    c.call("twitter/settings", &[]).await
}

/// Everything stored about credentials, and the size of the audit trail: equal snapshots mean
/// nothing changed.
async fn snapshot(app: &TestApp) -> String {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(String, String, Option<String>, String, Vec<u8>, Vec<u8>, i64, i64, Option<String>)> =
        sqlx::query_as(
            "select id, org_id, brand_id, client_id_preview, client_id_enc, client_secret_enc, generation, updated_at, \
         last_test_result from twitter_credentials order by id",
        )
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    format!("{rows:?}; audit events: {}", app.count("audit_events").await)
}

async fn resolve(
    app: &TestApp,
    org_id: &app::domain::OrgId,
    brand_id: Option<&str>,
) -> Result<Option<Resolved>, ServerError> {
    credentials::resolve(app.state.db.pool(), &app.state.vault, org_id, brand_id).await
}

/// (Client ID, secret, override's brand) of what a connection would use.
async fn used(
    app: &TestApp,
    org_id: &app::domain::OrgId,
    brand_id: Option<&str>,
) -> Option<(String, String, Option<String>)> {
    resolve(app, org_id, brand_id)
        .await
        .unwrap()
        .map(|r| (r.client_id.as_str().to_owned(), r.client_secret.expose().to_owned(), r.brand_id))
}

fn expect(id: &str, secret: &str, brand: Option<&str>) -> Option<(String, String, Option<String>)> {
    Some((id.to_owned(), secret.to_owned(), brand.map(str::to_owned)))
}

/// The one credential row of (org, target): its id and both blobs.
async fn blobs(app: &TestApp, org_id: &str, brand_id: Option<&str>) -> (String, Vec<u8>, Vec<u8>) {
    type Row = (String, Option<String>, Vec<u8>, Vec<u8>);
    let rows: Vec<Row> = sqlx::query_as(
        "select id, brand_id, client_id_enc, client_secret_enc from twitter_credentials where org_id = $1",
    )
    .bind(org_id)
    .fetch_all(app.state.db.pool())
    .await
    .unwrap();
    let (id, _, client_id, secret) = rows.into_iter().find(|r| r.1.as_deref() == brand_id).expect("a credential row");
    (id, client_id, secret)
}

async fn set_blobs(app: &TestApp, row_id: &str, client_id: &[u8], secret: &[u8]) {
    let done = sqlx::query("update twitter_credentials set client_id_enc = $1, client_secret_enc = $2 where id = $3")
        .bind(client_id.to_vec())
        .bind(secret.to_vec())
        .bind(row_id)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 1);
}

/// The master key id in a vault blob (bytes 1..5, big-endian).
fn key_id_of(blob: &[u8]) -> u32 {
    u32::from_be_bytes(blob[1..5].try_into().unwrap())
}

/// The key id of every blob stored, sorted.
async fn stored_key_ids(app: &TestApp) -> Vec<u32> {
    let rows: Vec<(Vec<u8>, Vec<u8>)> =
        sqlx::query_as("select client_id_enc, client_secret_enc from twitter_credentials")
            .fetch_all(app.state.db.pool())
            .await
            .unwrap();
    let mut ids: Vec<u32> = rows.iter().flat_map(|(a, b)| [key_id_of(a), key_id_of(b)]).collect();
    ids.sort_unstable();
    ids
}

fn perch_cli(db: &TestDb, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_perch"))
        .args(args)
        .env_remove("PERCH_MASTER_KEY")
        .env_remove("PERCH_MASTER_KEY_FILE")
        .envs(db.env())
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// ---- the tests -------------------------------------------------------------------------------

mod access;
mod saving;
mod secrets;
