//! Bring-your-own X app credentials (Settings → Twitter integration and the dashboard-only JSON
//! API `/v1/integrations/twitter/credentials`), end to end against the fake X: secrets at rest and
//! in answers (docs/security.md A, B), the "Test credentials" probe (docs/x-api.md "Testing a Client ID /
//! Secret pair"), rotation and rewrap of the master key (A.6), tenants, roles and API keys (G),
//! cross-site requests (D.22) and hostile input (H.38).
//!
//! Run with `cargo test -p server --test twitter_credentials`.

mod common;

use app::domain::{Email, Password, Role, callback_url};
use app::server::ServerError;
use app::server::infra::vault::VaultError;
use app::server::store::credentials::{self, Resolved};
use app::server::store::users::{self, OrgTarget};
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use common::leaks::{assert_no_part_of, assert_no_secret, at_rest, find_secret, log_buffer, logs};
use common::{Backend, Client, PASSWORD, Reply, TestApp, TestDb, brand, org_id, send};
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

on_both_databases!(
    a1_b8_a_saved_secret_is_never_returned_nor_readable_at_rest,
    b11_logs_at_trace_level_hold_no_secret_and_no_session_id,
    b9_only_the_first_six_characters_of_the_client_id_are_stored_readable,
    a3_a4_b12_swapped_tampered_or_truncated_blobs_fail_cleanly,
    a_brand_override_wins_over_the_default_and_removal_falls_back,
    the_database_allows_one_default_per_organization_and_one_override_per_own_brand,
    input_mistakes_are_refused_naming_the_field_and_nothing_is_stored,
    test_credentials_tells_valid_rejected_and_unreachable_apart,
    a_test_counts_for_a_following_save_of_exactly_that_pair,
    a_new_secret_is_a_rotation_and_a_new_client_id_a_new_app,
    concurrent_tests_and_saves_all_succeed_and_each_is_audited,
    the_audit_trail_records_who_saved_tested_replaced_and_removed,
    g34_requests_carrying_an_api_key_are_refused_and_change_nothing,
    d22_cross_site_requests_are_refused_and_change_nothing,
    g33_other_tenants_members_and_strangers_cannot_read_or_change_credentials,
    h38_malformed_json_wrong_content_type_and_unknown_fields_get_a_400,
);

// ---- setting up ------------------------------------------------------------------------------

/// A fake X and a Perch pointed at it.
async fn perch(b: Backend) -> (FakeX, TestApp) {
    log_buffer();
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

async fn resolve(app: &TestApp, org_id: &str, brand_id: Option<&str>) -> Result<Option<Resolved>, ServerError> {
    credentials::resolve(app.state.db.pool(), &app.state.vault, org_id, brand_id).await
}

/// (Client ID, secret, override's brand) of what a connection would use.
async fn used(app: &TestApp, org_id: &str, brand_id: Option<&str>) -> Option<(String, String, Option<String>)> {
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

#[test]
fn the_leak_detector_finds_a_secret_in_every_encoding() {
    // A detector that finds nothing proves nothing: it must see the canary inside a Basic header.
    let basic = STANDARD.encode(format!("{ID_A}:{CANARY}"));
    assert!(find_secret(&format!("Authorization: Basic {basic}"), CANARY).is_some());
    let hex: String = CANARY.bytes().map(|b| format!("{b:02X}")).collect();
    assert!(find_secret(&format!("\\x00{hex}00"), CANARY).is_some());
    assert!(find_secret(&URL_SAFE.encode(format!("ab{CANARY}")), CANARY).is_some());
    assert!(find_secret("nothing to see", CANARY).is_none());
    assert!(app::domain::ClientSecret::parse(CANARY).is_ok() && app::domain::ClientId::parse(ID_B).is_ok());
}

/// A.1, B.8: a Client Secret saved through the form (server function) and through the JSON API
/// is never shown again: no page, server function answer, JSON answer or error answer holds it or
/// a part of it; and the database holds it neither in plaintext, nor hex, nor base64.
async fn a1_b8_a_saved_secret_is_never_returned_nor_readable_at_rest(b: Backend) {
    let (x, app) = perch(b).await;
    register(&x, &app, ID_A, CANARY);
    let c = app.owner("Acme", "a@example.com").await;
    let coffee = brand(&c, "Coffee").await;
    let tea = brand(&c, "Tea").await;
    let mut answers: Vec<(String, Reply)> = Vec::new();

    // Through the form, with and without JavaScript.
    answers.push(("test form".into(), submit(&c, ID_A, CANARY, "", "test").await));
    let saved = submit(&c, ID_A, CANARY, "", "save").await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert_eq!(saved.json()["Saved"]["change"], "created");
    answers.push(("save form".into(), saved));
    let plain = c
        .post_form(
            "twitter/submit",
            &[("client_id", ID_A), ("client_secret", CANARY), ("brand_id", coffee.as_str()), ("intent", "save")],
            "/settings/twitter",
        )
        .await;
    assert_eq!(plain.status, 302, "{}", plain.body);
    answers.push(("form without JavaScript".into(), plain));
    for (what, id, secret) in [
        ("swapped fields", CANARY, ID_A),
        ("bad Client ID", "not-a-client-id", CANARY),
        ("secret with a space", ID_A, &format!("{} {}", &CANARY[..25], &CANARY[25..]) as &str),
        ("secret with a bad character", ID_A, &format!("{CANARY}!")),
        ("secret cut short", ID_A, &CANARY[..30]),
    ] {
        let r = submit(&c, id, secret, "", "save").await;
        assert_eq!(r.status, 422, "{what}: {}", r.body);
        answers.push((format!("form error: {what}"), r));
        let r = c
            .post_form(
                "twitter/submit",
                &[("client_id", id), ("client_secret", secret), ("intent", "save")],
                "/settings/twitter",
            )
            .await;
        answers.push((format!("form error without JavaScript: {what}"), r));
    }
    answers.push(("foreign brand".into(), submit(&c, ID_A, CANARY, "brd_nope", "save").await));

    // Through the JSON API.
    let r = api_put(&c, &pair_for(ID_A, CANARY, &tea)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    answers.push(("PUT".into(), r));
    answers.push(("PUT again".into(), api_put(&c, &pair(ID_A, CANARY)).await));
    answers.push(("POST test".into(), api_test(&c, &pair(ID_A, CANARY)).await));
    for (what, body) in [
        ("swapped", pair(CANARY, ID_A)),
        ("bad character", pair(ID_A, &format!("{CANARY}!"))),
        ("unknown field", json!({"client_id": ID_A, "client_secret": CANARY, "note": CANARY})),
        ("wrong type", json!({"client_id": 5, "client_secret": CANARY})),
        ("unknown brand", pair_for(ID_A, CANARY, "brd_nope")),
    ] {
        answers.push((format!("PUT error: {what}"), api_put(&c, &body).await));
        answers.push((format!("POST test error: {what}"), api_test(&c, &body).await));
    }
    let truncated = format!(r#"{{"client_id":"{ID_A}","client_secret":"{CANARY}"#);
    let r = send(
        c.http.put(url(&c, CRED)).header("origin", &c.base).header("content-type", "application/json").body(truncated),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    answers.push(("truncated JSON".into(), r));

    // Everything that shows saved credentials.
    let listed = api_get(&c).await;
    assert_eq!(listed.status, 200);
    // The view has no field from which the secret could be learned.
    let mut keys: Vec<String> = listed.json()["default"].as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "brand_id",
            "client_id_preview",
            "created_at",
            "generation",
            "has_secret",
            "id",
            "last_test",
            "updated_at",
            "updated_by"
        ]
    );
    answers.push(("GET".into(), listed));
    answers.push(("settings".into(), settings(&c).await));
    for page in ["/settings/twitter", "/settings", "/settings/twitter?done=created&for=default", "/brands"] {
        answers.push((format!("page {page}"), c.get(page).await));
    }

    for (what, r) in &answers {
        assert!(r.status < 500, "{what}: {} {}", r.status, r.body);
        assert_no_part_of(what, &format!("{:?}\n{}", r.headers, r.body), CANARY);
    }
    // Saving stored something: the preview is there, the secret in no readable form.
    let stored = at_rest(&app.db).await;
    assert!(stored.contains("M1M5R3"), "the database dump does not hold the saved credentials");
    assert_no_secret("the database", &stored, CANARY);
}

/// B.11: with every crate logging at TRACE, saving, testing (valid, rejected, unreachable),
/// refused input and an internal failure log no Client Secret in any encoding, and no session id.
async fn b11_logs_at_trace_level_hold_no_secret_and_no_session_id(b: Backend) {
    let (x, app) = perch(b).await;
    register(&x, &app, ID_A, CANARY);
    register(&x, &app, ID_B, SECRET_2);
    let c = app.client();
    let r = c.call("signup", &[("org_name", "Acme"), ("email", "a@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = c.call("login", &[("email", "a@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let session = r
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.strip_prefix("perch_session="))
        .map(|v| v.split(';').next().unwrap().to_owned())
        .next()
        .expect("a session cookie");
    let marker = format!("b11-capture-check-{}", uuid::Uuid::new_v4());
    tracing::trace!("{marker}");

    assert_eq!(submit(&c, ID_A, CANARY, "", "test").await.json()["Tested"]["reason"], "valid");
    assert_eq!(submit(&c, ID_A, CANARY, "", "save").await.status, 200);
    assert_eq!(api_test(&c, &pair(ID_B, CANARY)).await.json()["reason"], "invalid_client");
    assert_eq!(api_put(&c, &pair(ID_A, SECRET_2)).await.json()["change"], "secret_rotated");
    x.update_switches(|s| s.token_fault = Fault::Html200);
    assert_eq!(api_test(&c, &pair(ID_A, CANARY)).await.json()["reason"], "unreachable");
    x.update_switches(|s| s.token_fault = Fault::None);
    assert_eq!(api_put(&c, &pair(CANARY, ID_A)).await.status, 422);
    assert_eq!(api_put(&c, &pair(ID_A, &format!("{CANARY}%"))).await.status, 422);
    assert_eq!(
        send(c.http.put(url(&c, CRED)).header("authorization", "Bearer k").json(&pair(ID_A, CANARY))).await.status,
        403
    );
    assert_eq!(
        send(c.http.put(url(&c, CRED)).header("origin", "https://evil.example").json(&pair(ID_A, CANARY))).await.status,
        403
    );
    // An internal failure: the stored secret no longer decrypts, so saving over it fails.
    let org = org_id(&c).await;
    let (row, id_blob, _) = blobs(&app, &org, None).await;
    set_blobs(&app, &row, &id_blob, &id_blob).await;
    let failed = api_put(&c, &pair(ID_A, CANARY)).await;
    assert_eq!(failed.status, 500, "{}", failed.body);
    let reference = api_error(&failed)["correlation_id"].as_str().unwrap().to_owned();

    let log = logs();
    for expected in [marker.as_str(), "credentials tested", "credentials saved", "internal error", reference.as_str()] {
        assert!(log.contains(expected), "the captured log lacks `{expected}`: the capture does not work");
    }
    for secret in [CANARY, SECRET_2] {
        assert_no_secret("the log", &log, secret);
    }
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(&session)).take(3).collect();
    assert!(lines.is_empty(), "the session id is in the log:\n{}", lines.join("\n"));
}

/// B.9: of a Client ID only its first six characters (the preview) are stored readable; the
/// whole Client ID is not at rest in plaintext, hex or base64, saved or only tested.
async fn b9_only_the_first_six_characters_of_the_client_id_are_stored_readable(b: Backend) {
    let (x, app) = perch(b).await;
    register(&x, &app, ID_A, CANARY);
    let c = app.owner("Acme", "a@example.com").await;
    let coffee = brand(&c, "Coffee").await;
    // A test keeps the typed Client ID in the session, to show it again after a form post.
    assert_eq!(submit(&c, ID_A, CANARY, "", "test").await.json()["Tested"]["valid"], true);
    assert_eq!(submit(&c, ID_C, SECRET_3, &coffee, "test").await.json()["Tested"]["valid"], false);
    assert_eq!(submit(&c, ID_A, CANARY, "", "save").await.status, 200);
    assert_eq!(api_put(&c, &pair_for(ID_B, SECRET_2, &coffee)).await.status, 201);

    let previews: Vec<String> =
        sqlx::query_scalar("select client_id_preview from twitter_credentials order by brand_id is not null")
            .fetch_all(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(previews, [&ID_A[..6], &ID_B[..6]]);
    let stored = at_rest(&app.db).await;
    for id in [ID_A, ID_B, ID_C] {
        assert_no_secret("the database", &stored, id);
    }
    assert!(stored.contains(&ID_A[..6]) && stored.contains(&ID_B[..6]), "the previews are stored");
}

/// A.3, A.4, B.12: a secret blob copied to another tenant, record or column, or with a flipped
/// bit, a truncation, an unknown version or key id, fails to open with an error (never a panic);
/// saving over it answers a clear 500 with a correlation id and no secret, and changes nothing;
/// removing the broken credentials lets the owner start again.
async fn a3_a4_b12_swapped_tampered_or_truncated_blobs_fail_cleanly(b: Backend) {
    let (_x, app) = perch(b).await;
    let alice = app.owner("Alice Agency", "alice@example.com").await;
    let bob = app.owner("Bob Brands", "bob@example.com").await;
    let coffee = brand(&alice, "Coffee").await;
    assert_eq!(api_put(&alice, &pair(ID_A, CANARY)).await.status, 201);
    assert_eq!(api_put(&alice, &pair_for(ID_C, SECRET_3, &coffee)).await.status, 201);
    assert_eq!(api_put(&bob, &pair(ID_B, SECRET_2)).await.status, 201);
    let (a_org, b_org) = (org_id(&alice).await, org_id(&bob).await);
    let (row, id_blob, secret_blob) = blobs(&app, &a_org, None).await;
    let (_, _, coffee_secret) = blobs(&app, &a_org, Some(&coffee)).await;
    let (_, bob_id, bob_secret) = blobs(&app, &b_org, None).await;
    assert_eq!(used(&app, &a_org, None).await, expect(ID_A, CANARY, None));

    let flip = |at: usize| {
        let mut blob = secret_blob.clone();
        let at = if at == usize::MAX { blob.len() - 1 } else { at };
        blob[at] ^= 0x01;
        blob
    };
    let mut other_version = secret_blob.clone();
    other_version[0] = 2;
    let mut other_key = secret_blob.clone();
    other_key[1..5].copy_from_slice(&0xdead_beef_u32.to_be_bytes());
    use VaultError::{Undecryptable, UnknownKey, UnknownVersion};
    let cases: Vec<(&str, Vec<u8>, Vec<u8>, VaultError)> = vec![
        ("another tenant's secret", id_blob.clone(), bob_secret.clone(), Undecryptable),
        ("another tenant's blobs, both", bob_id.clone(), bob_secret.clone(), Undecryptable),
        ("another record's secret", id_blob.clone(), coffee_secret.clone(), Undecryptable),
        ("the Client ID blob in the secret column", id_blob.clone(), id_blob.clone(), Undecryptable),
        ("the secret blob in the Client ID column", secret_blob.clone(), secret_blob.clone(), Undecryptable),
        ("a flipped bit in the nonce", id_blob.clone(), flip(8), Undecryptable),
        ("a flipped bit in the ciphertext", id_blob.clone(), flip(20), Undecryptable),
        ("a flipped bit in the tag", id_blob.clone(), flip(usize::MAX), Undecryptable),
        ("one byte cut off", id_blob.clone(), secret_blob[..secret_blob.len() - 1].to_vec(), Undecryptable),
        ("cut to the header", id_blob.clone(), secret_blob[..17].to_vec(), Undecryptable),
        ("empty", id_blob.clone(), vec![], Undecryptable),
        ("an unknown format version", id_blob.clone(), other_version, UnknownVersion(2)),
        ("an unknown key id", id_blob.clone(), other_key, UnknownKey(0xdead_beef)),
    ];
    for (case, id, secret, expected) in cases {
        set_blobs(&app, &row, &id, &secret).await;
        match resolve(&app, &a_org, None).await {
            Err(ServerError::Vault(e)) => assert_eq!(e, expected, "{case}"),
            other => panic!("{case}: {other:?}"),
        }
        // The brand's override is a record of its own and still opens.
        assert_eq!(used(&app, &a_org, Some(&coffee)).await, expect(ID_C, SECRET_3, Some(&coffee)), "{case}");
    }

    // Saving over it, through the JSON API and the form: a clear 500 that changes nothing.
    set_blobs(&app, &row, &id_blob, &bob_secret).await;
    let before = snapshot(&app).await;
    for (how, r, error) in [
        ("PUT", api_put(&alice, &pair(ID_A, SECRET_3)).await, None),
        ("form", submit(&alice, ID_A, SECRET_3, "", "save").await, Some(())),
    ] {
        assert_eq!(r.status, 500, "{how}: {}", r.body);
        let e = if error.is_some() { r.json() } else { api_error(&r) };
        assert_eq!(e["code"], "internal", "{how}");
        let reference = e["correlation_id"].as_str().unwrap_or_default();
        assert!(reference.len() >= 8, "{how}: a correlation id: {}", r.body);
        assert!(e["message"].as_str().unwrap().contains("nothing was changed"), "{how}: {}", r.body);
        for secret in [CANARY, SECRET_2, SECRET_3] {
            assert_no_part_of(how, &r.body, secret);
        }
        for internal in ["sqlx", "select ", "twitter_credentials", "panicked", "vault", "decrypt", "src/"] {
            assert!(!r.body.to_lowercase().contains(internal), "{how} shows `{internal}`: {}", r.body);
        }
        assert!(logs().contains(reference), "{how}: the log ties the reference to the details");
    }
    assert_eq!(snapshot(&app).await, before);
    // The list still shows what is stored, Bob is untouched, and removing lets Alice start again.
    assert_eq!(api_get(&alice).await.json()["default"]["client_id_preview"], &ID_A[..6]);
    assert_eq!(used(&app, &b_org, None).await, expect(ID_B, SECRET_2, None));
    assert_eq!(api_delete(&alice, None).await.status, 204);
    assert_eq!(api_put(&alice, &pair(ID_A, SECRET_3)).await.status, 201);
    assert_eq!(used(&app, &a_org, None).await, expect(ID_A, SECRET_3, None));
}

/// Which app a connection uses: a brand's own override wins over the organization default; a
/// brand without one gets the default; removing the override falls back to the default; without
/// a default, a brand without an override has none; a deleted brand's override goes with it.
async fn a_brand_override_wins_over_the_default_and_removal_falls_back(b: Backend) {
    let (_x, app) = perch(b).await;
    let c = app.owner("Acme", "a@example.com").await;
    let org = org_id(&c).await;
    let own = brand(&c, "With its own app").await;
    let plain = brand(&c, "Without").await;
    assert_eq!(used(&app, &org, Some(&own)).await, None, "nothing saved yet");
    assert_eq!(api_put(&c, &pair(ID_A, CANARY)).await.status, 201);
    assert_eq!(api_put(&c, &pair_for(ID_B, SECRET_2, &own)).await.status, 201);

    assert_eq!(used(&app, &org, Some(&own)).await, expect(ID_B, SECRET_2, Some(&own)));
    assert_eq!(used(&app, &org, Some(&plain)).await, expect(ID_A, CANARY, None));
    assert_eq!(used(&app, &org, None).await, expect(ID_A, CANARY, None));

    assert_eq!(api_delete(&c, Some(&own)).await.status, 204);
    assert_eq!(used(&app, &org, Some(&own)).await, expect(ID_A, CANARY, None), "falls back to the default");
    let again = api_delete(&c, Some(&own)).await;
    assert_eq!((again.status, api_error(&again)["code"].as_str()), (404, Some("not_found")));

    assert_eq!(api_put(&c, &pair_for(ID_C, SECRET_3, &own)).await.status, 201);
    assert_eq!(api_delete(&c, None).await.status, 204);
    assert_eq!(used(&app, &org, Some(&plain)).await, None);
    assert_eq!(used(&app, &org, None).await, None);
    assert_eq!(used(&app, &org, Some(&own)).await, expect(ID_C, SECRET_3, Some(&own)), "an override needs no default");
    let listed = api_get(&c).await.json();
    assert!(listed["default"].is_null());
    assert_eq!(listed["overrides"].as_array().unwrap().len(), 1);
    assert_eq!(listed["overrides"][0]["brand_id"], own.as_str());
    assert_eq!(listed["overrides"][0]["brand_name"], "With its own app");
    // Deleting the brand deletes its override with it.
    assert_eq!(c.call("brands/delete", &[("id", own.as_str())]).await.status, 200);
    assert_eq!(app.count("twitter_credentials").await, 0);
    assert_eq!(used(&app, &org, Some(&own)).await, None);
}

/// A credential row as the application writes it, straight into the table.
async fn insert_row(app: &TestApp, org_id: &str, brand_id: Option<&str>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into twitter_credentials (id, org_id, brand_id, client_id_preview, client_id_enc, client_secret_enc, \
         generation, created_at, updated_at, updated_by) values ($1, $2, $3, 'M1M5R3', $4, $5, 1, 0, 0, 'db@example.com')",
    )
    .bind(format!("xcr_{}", uuid::Uuid::new_v4().simple()))
    .bind(org_id)
    .bind(brand_id)
    .bind(vec![1u8, 2, 3])
    .bind(vec![4u8, 5, 6])
    .execute(app.state.db.pool())
    .await
    .map(|_| ())
}

fn violation(e: &sqlx::Error) -> Option<sqlx::error::ErrorKind> {
    e.as_database_error().map(|d| d.kind())
}

/// The database itself holds one default per organization and one override per brand, and an
/// override can only point at a brand of its own organization (both databases, H.36).
async fn the_database_allows_one_default_per_organization_and_one_override_per_own_brand(b: Backend) {
    use sqlx::error::ErrorKind::{ForeignKeyViolation, UniqueViolation};
    let (_x, app) = perch(b).await;
    let alice = app.owner("Alice Agency", "alice@example.com").await;
    let bob = app.owner("Bob Brands", "bob@example.com").await;
    let (a_org, b_org) = (org_id(&alice).await, org_id(&bob).await);
    let coffee = brand(&alice, "Coffee").await;
    let spare = brand(&alice, "Spare").await;
    let bobs = brand(&bob, "Bob's").await;
    assert_eq!(api_put(&alice, &pair(ID_A, CANARY)).await.status, 201);
    assert_eq!(api_put(&alice, &pair_for(ID_B, SECRET_2, &coffee)).await.status, 201);

    // The rows this helper writes are acceptable where nothing is saved yet.
    insert_row(&app, &b_org, None).await.expect("a default for Bob");
    insert_row(&app, &a_org, Some(&spare)).await.expect("an override for a brand without one");
    let before = app.count("twitter_credentials").await;
    for (what, org, brand_id, kind) in [
        ("a second default", &a_org, None, UniqueViolation),
        ("a second override of one brand", &a_org, Some(coffee.as_str()), UniqueViolation),
        ("an override of another organization's brand", &a_org, Some(bobs.as_str()), ForeignKeyViolation),
        ("an override of a brand that does not exist", &a_org, Some("brd_nope"), ForeignKeyViolation),
    ] {
        let e = insert_row(&app, org, brand_id).await.expect_err(what);
        assert_eq!(violation(&e), Some(kind), "{what}: {e}");
    }
    assert_eq!(app.count("twitter_credentials").await, before);
}

/// Every way people paste the wrong value is refused with 422 and `field` naming the field, by
/// the JSON API and the form alike, before anything is stored or X is asked; no error repeats a
/// secret, and an error about the secret keeps the well-formed Client ID for the form. Spaces
/// and line breaks around a value, from copying, are trimmed and accepted.
async fn input_mistakes_are_refused_naming_the_field_and_nothing_is_stored(b: Backend) {
    let (x, app) = perch(b).await;
    register(&x, &app, ID_A, CANARY);
    let c = app.owner("Acme", "a@example.com").await;
    let before = snapshot(&app).await;
    let long_id = format!("{}MTpjaQ", "M".repeat(123));
    let long_secret = "s".repeat(129);
    let spaced = format!("{} {}", &CANARY[..25], &CANARY[25..]);
    let cases: Vec<(&str, &str, &str, &str)> = vec![
        ("empty Client ID", "", CANARY, "client_id"),
        ("blank Client ID", " \n\t", CANARY, "client_id"),
        ("empty secret", ID_A, "", "client_secret"),
        ("blank secret", ID_A, "\r\n ", "client_secret"),
        ("not an X Client ID", "my-twitter-app-client-id", CANARY, "client_id"),
        ("OAuth 1.0a API Key as Client ID", API_KEY, CANARY, "client_id"),
        ("OAuth 1.0a API Key as secret", ID_A, API_KEY, "client_secret"),
        ("API Key Secret as Client ID", API_KEY_SECRET, CANARY, "client_id"),
        ("Bearer Token as Client ID", BEARER, CANARY, "client_id"),
        ("Bearer Token as secret", ID_A, BEARER, "client_secret"),
        ("Access Token as Client ID", ACCESS_TOKEN, CANARY, "client_id"),
        ("Access Token as secret", ID_A, ACCESS_TOKEN, "client_secret"),
        ("swapped fields", CANARY, ID_A, "client_id"),
        ("the Client ID in both", ID_A, ID_A, "client_secret"),
        ("over-long Client ID", &long_id, CANARY, "client_id"),
        ("over-long secret", ID_A, &long_secret, "client_secret"),
        ("secret cut short", ID_A, &CANARY[..30], "client_secret"),
        ("secret split by a space", ID_A, &spaced, "client_secret"),
    ];
    for (case, id, secret, field) in cases {
        let answers = [
            ("PUT", api_put(&c, &pair(id, secret)).await),
            ("POST test", api_test(&c, &pair(id, secret)).await),
            ("save form", submit(&c, id, secret, "", "save").await),
            ("test form", submit(&c, id, secret, "", "test").await),
        ];
        for (how, r) in answers {
            let what = format!("{case} via {how}");
            assert_eq!(r.status, 422, "{what}: {}", r.body);
            let e = if how.contains("form") { r.json() } else { api_error(&r) };
            assert_eq!(e["code"], "validation", "{what}");
            assert_eq!(e["field"], field, "{what}: {}", e["message"]);
            assert!(e["message"].as_str().is_some_and(|m| m.len() > 20), "{what}: a message that says what to do");
            if field == "client_secret" {
                assert_eq!(e["input"], ID_A, "{what}: the well-formed Client ID is kept for the form");
            } else {
                assert!(e.get("input").is_none(), "{what}: {e}");
            }
            for secretish in [CANARY, API_KEY_SECRET, BEARER, ACCESS_TOKEN] {
                assert_no_part_of(&what, &r.body, secretish);
            }
        }
    }
    assert_eq!(snapshot(&app).await, before, "nothing stored, nothing in the trail");
    assert!(x.requests().is_empty(), "X was never asked about malformed input");

    // What copying adds around the values is trimmed, not refused.
    let r = api_put(&c, &pair(&format!("  {ID_A}\n"), &format!("\t{CANARY} \r\n"))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let org = org_id(&c).await;
    assert_eq!(used(&app, &org, None).await, expect(ID_A, CANARY, None));
    let r = submit(&c, &format!("\n{ID_A} "), &format!(" {CANARY}\n"), "", "save").await;
    assert_eq!(r.json()["Saved"]["change"], "unchanged", "{}", r.body);
    let r = api_test(&c, &pair(&format!(" {ID_A}"), &format!("{CANARY}\n"))).await;
    assert_eq!(r.json()["valid"], true, "{}", r.body);
}

/// "Test credentials" exchanges a made-up code with the pair's Basic auth at X's token endpoint
/// (docs/x-api.md): a pair X knows is valid; a wrong secret or an unknown Client ID is
/// `invalid_client`, with what to do; when X cannot be asked (no connection, a 5xx, an HTML
/// page) the answer is `unreachable`, which is not "invalid".
async fn test_credentials_tells_valid_rejected_and_unreachable_apart(b: Backend) {
    let (x, app) = perch(b).await;
    register(&x, &app, ID_A, CANARY);
    let c = app.owner("Acme", "a@example.com").await;

    let r = api_test(&c, &pair(ID_A, CANARY)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let valid = r.json();
    assert_eq!((valid["valid"].as_bool(), valid["reason"].as_str()), (Some(true), Some("valid")));
    assert!(valid.get("detail").is_none());
    assert!(valid["tested_at"].as_i64().unwrap() > 1_700_000_000);
    let r = submit(&c, ID_A, CANARY, "", "test").await;
    assert_eq!(r.json()["Tested"]["reason"], "valid", "{}", r.body);

    let wrong = api_test(&c, &pair(ID_A, SECRET_2)).await.json();
    assert_eq!((wrong["valid"].as_bool(), wrong["reason"].as_str()), (Some(false), Some("invalid_client")));
    assert!(wrong["message"].as_str().unwrap().contains("rotated"), "{wrong}");

    x.update_switches(|s| s.unknown_client = UnknownClient::InvalidClient);
    let unknown = api_test(&c, &pair(ID_B, SECRET_2)).await.json();
    assert_eq!((unknown["valid"].as_bool(), unknown["reason"].as_str()), (Some(false), Some("invalid_client")));
    x.update_switches(|s| s.unknown_client = UnknownClient::UnauthorizedClient);

    for (fault, status) in [(Fault::ServerError, "503"), (Fault::Html200, "200")] {
        x.update_switches(|s| s.token_fault = fault);
        let r = api_test(&c, &pair(ID_A, CANARY)).await.json();
        assert_eq!((r["valid"].as_bool(), r["reason"].as_str()), (Some(false), Some("unreachable")), "{fault:?}: {r}");
        assert!(r["message"].as_str().unwrap().contains("not the same as invalid"), "{r}");
        assert!(r["detail"].as_str().unwrap().contains(status), "{fault:?}: {r}");
    }
    x.update_switches(|s| s.token_fault = Fault::None);

    // What X received: Basic auth, the secret nowhere else, and a code X never issued.
    let calls: Vec<_> = x.requests().into_iter().filter(|r| r.path == "/2/oauth2/token").collect();
    let seen: Vec<_> = calls.iter().map(|r| (r.basic_client_id.as_deref(), r.status)).collect();
    assert_eq!(
        seen,
        [
            (Some(ID_A), Some(400)),
            (Some(ID_A), Some(400)),
            (Some(ID_A), Some(401)),
            (Some(ID_B), Some(401)),
            (Some(ID_A), Some(503)),
            (Some(ID_A), Some(200))
        ]
    );
    for call in &calls {
        assert_eq!(call.method, "POST");
        assert_eq!(call.auth_scheme.as_deref(), Some("basic"));
        assert_eq!(call.grant_type.as_deref(), Some("authorization_code"));
        assert_eq!(call.client_id, call.basic_client_id, "client_id is in the body too");
        assert!(call.fields.contains_key("code") && call.fields.contains_key("code_verifier"), "{:?}", call.fields);
        assert_eq!(call.fields.get("redirect_uri"), Some(&callback_url(&app.base)));
        assert!(!call.fields.contains_key("client_secret"), "the secret goes in the Basic header only");
    }
    let counters = x.counters();
    assert_eq!((counters.codes_issued, counters.code_exchanges), (0, 0), "the code was made up");

    // Nothing listens where X should be.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let offline = TestApp::spawn_with(b, &[("PERCH_X_API_URL", &closed)]).await;
    let o = offline.owner("Offline", "o@example.com").await;
    let r = api_test(&o, &pair(ID_A, CANARY)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = r.json();
    assert_eq!((r["valid"].as_bool(), r["reason"].as_str()), (Some(false), Some("unreachable")), "{r}");
    assert!(r["detail"].as_str().unwrap().contains("connection"), "{r}");
}

/// A test of a pair counts for the save that follows, for the same target and exactly that pair:
/// saving shows the test's result; saving without a test, or after testing another secret or for
/// another target, shows "not tested". Testing the saved pair later records on it.
async fn a_test_counts_for_a_following_save_of_exactly_that_pair(b: Backend) {
    let (x, app) = perch(b).await;
    register(&x, &app, ID_A, CANARY);
    let c = app.owner("Acme", "a@example.com").await;
    let untested = brand(&c, "Untested").await;
    let other_secret = brand(&c, "Other secret").await;
    let tested_elsewhere = brand(&c, "Tested elsewhere").await;
    let saved_elsewhere = brand(&c, "Saved elsewhere").await;
    let by_form = brand(&c, "By form").await;

    let tested = api_test(&c, &pair(ID_A, CANARY)).await.json();
    let saved = api_put(&c, &pair(ID_A, CANARY)).await.json();
    assert_eq!(saved["credential"]["last_test"], json!({"result": "valid", "at": tested["tested_at"]}));

    let saved = api_put(&c, &pair_for(ID_A, CANARY, &untested)).await.json();
    assert!(saved["credential"]["last_test"].is_null(), "{saved}");

    assert_eq!(api_test(&c, &pair_for(ID_A, CANARY, &other_secret)).await.json()["valid"], true);
    let saved = api_put(&c, &pair_for(ID_A, SECRET_2, &other_secret)).await.json();
    assert!(saved["credential"]["last_test"].is_null(), "another secret was tested: {saved}");

    assert_eq!(api_test(&c, &pair_for(ID_A, CANARY, &tested_elsewhere)).await.json()["valid"], true);
    let saved = api_put(&c, &pair_for(ID_A, CANARY, &saved_elsewhere)).await.json();
    assert!(saved["credential"]["last_test"].is_null(), "tested for another brand: {saved}");

    assert_eq!(submit(&c, ID_A, CANARY, &by_form, "test").await.json()["Tested"]["valid"], true);
    let saved = submit(&c, ID_A, CANARY, &by_form, "save").await.json();
    assert_eq!(saved["Saved"]["credential"]["last_test"]["result"], "valid", "{saved}");

    // Testing the saved pair records on it; testing another pair for the same target does not.
    assert_eq!(api_test(&c, &pair_for(ID_A, CANARY, &untested)).await.json()["valid"], true);
    assert_eq!(api_test(&c, &pair(ID_A, SECRET_2)).await.json()["reason"], "invalid_client");
    let listed = api_get(&c).await.json();
    assert_eq!(listed["default"]["last_test"]["result"], "valid", "the default's pair was not the one tested last");
    let own =
        listed["overrides"].as_array().unwrap().iter().find(|o| o["brand_id"] == untested.as_str()).unwrap().clone();
    assert_eq!(own["last_test"]["result"], "valid", "{own}");
}

/// Saving again tells what changed: the same Client ID with a new secret is a rotation (same
/// credentials, generation 2), another Client ID is another X app (new credentials, generation
/// 1), the same pair again is unchanged; the secret is replaced whole.
async fn a_new_secret_is_a_rotation_and_a_new_client_id_a_new_app(b: Backend) {
    let (_x, app) = perch(b).await;
    let c = app.owner("Acme", "a@example.com").await;
    let org = org_id(&c).await;
    let change = |r: &Reply| {
        let v = r.json();
        (
            r.status,
            v["change"].as_str().unwrap().to_owned(),
            v["credential"]["generation"].as_i64().unwrap(),
            v["credential"]["id"].as_str().unwrap().to_owned(),
        )
    };

    let (status, what, generation, first) = change(&api_put(&c, &pair(ID_A, CANARY)).await);
    assert_eq!((status, what.as_str(), generation), (201, "created", 1));
    let (status, what, generation, id) = change(&api_put(&c, &pair(ID_A, SECRET_2)).await);
    assert_eq!((status, what.as_str(), generation, id.as_str()), (200, "secret_rotated", 2, first.as_str()));
    assert_eq!(used(&app, &org, None).await, expect(ID_A, SECRET_2, None), "the new secret replaced the old");
    let (status, what, generation, id) = change(&api_put(&c, &pair(ID_A, SECRET_2)).await);
    assert_eq!((status, what.as_str(), generation, id.as_str()), (200, "unchanged", 2, first.as_str()));
    let r = api_put(&c, &pair(ID_B, SECRET_3)).await;
    let (status, what, generation, id) = change(&r);
    assert_eq!((status, what.as_str(), generation), (200, "app_replaced", 1));
    assert_ne!(id, first, "another X app is new credentials");
    assert_eq!(r.json()["credential"]["client_id_preview"], &ID_B[..6]);
    assert_eq!(used(&app, &org, None).await, expect(ID_B, SECRET_3, None));
    assert_eq!(app.count("twitter_credentials").await, 1);

    // The form reports the same.
    let coffee = brand(&c, "Coffee").await;
    for (id, secret, expected) in
        [(ID_A, CANARY, "created"), (ID_A, SECRET_2, "secret_rotated"), (ID_C, SECRET_2, "app_replaced")]
    {
        let r = submit(&c, id, secret, &coffee, "save").await;
        assert_eq!(r.json()["Saved"]["change"], expected, "{}", r.body);
    }
}

/// Many tests and saves at once (a team clicking, a script looping) all succeed: none is turned
/// into a 500 by SQLite's "database is locked", each leaves exactly one audit entry (a repeated
/// save included), and every rotation moves the generation on once.
async fn concurrent_tests_and_saves_all_succeed_and_each_is_audited(b: Backend) {
    let (x, app) = perch(b).await;
    register(&x, &app, ID_A, CANARY);
    let c = app.owner("Acme", "a@example.com").await;
    assert_eq!(api_put(&c, &pair(ID_A, CANARY)).await.status, 201);
    let before = app.count("audit_events").await;

    let mut calls = tokio::task::JoinSet::new();
    // 5 saves and 10 tests: an organization's tests are limited to 10 a minute (rate_limit.rs).
    for i in 0..15 {
        let c = Client { http: c.http.clone(), base: c.base.clone() };
        calls.spawn(async move {
            let secret = if i % 2 == 0 { CANARY } else { SECRET_2 };
            let r = if i % 3 == 0 {
                api_put(&c, &pair(ID_A, secret)).await
            } else {
                api_test(&c, &pair(ID_A, CANARY)).await
            };
            (i % 3 == 0, r)
        });
    }
    let (mut changes, mut tests) = (0, 0);
    while let Some(done) = calls.join_next().await {
        let (is_save, r) = done.unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        if !is_save {
            assert_eq!(r.json()["valid"], true, "{}", r.body);
            tests += 1;
        } else if r.json()["change"] != "unchanged" {
            changes += 1;
        }
    }
    assert_eq!(tests, 10);
    assert_eq!(app.count("audit_events").await - before, 15, "one audit entry per test and per save");
    let generation = api_get(&c).await.json()["default"]["generation"].as_i64().unwrap();
    assert_eq!(generation, 1 + changes, "every rotation counted once");
}

/// The settings page's audit trail records saving, testing, rotating, replacing and removing,
/// with who did it and for which target, newest first, and never a secret.
async fn the_audit_trail_records_who_saved_tested_replaced_and_removed(b: Backend) {
    let (x, app) = perch(b).await;
    register(&x, &app, ID_A, CANARY);
    let c = app.owner("Acme", "owner@example.com").await;
    let coffee = brand(&c, "Coffee").await;
    assert_eq!(submit(&c, ID_A, CANARY, "", "test").await.status, 200);
    assert_eq!(submit(&c, ID_A, CANARY, "", "save").await.status, 200);
    assert_eq!(submit(&c, ID_A, SECRET_2, "", "save").await.status, 200);
    assert_eq!(submit(&c, ID_B, SECRET_3, "", "save").await.status, 200);
    assert_eq!(submit(&c, ID_C, SECRET_3, &coffee, "save").await.status, 200);
    assert_eq!(remove(&c, &coffee).await.status, 200);
    assert_eq!(remove(&c, "").await.status, 200);

    let r = settings(&c).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let audit = r.json()["audit"].as_array().unwrap().clone();
    let lines: Vec<(String, String)> = audit
        .iter()
        .rev()
        .map(|e| (e["action"].as_str().unwrap().to_owned(), e["target"].as_str().unwrap().to_owned()))
        .collect();
    let default = "Organization default".to_owned();
    assert_eq!(
        lines,
        [
            ("Tested credentials".to_owned(), default.clone()),
            ("Saved credentials".to_owned(), default.clone()),
            ("Replaced the Client Secret (rotation)".to_owned(), default.clone()),
            ("Replaced the X app (new Client ID)".to_owned(), default.clone()),
            ("Saved credentials".to_owned(), "Brand “Coffee”".to_owned()),
            ("Removed credentials".to_owned(), "Brand “Coffee”".to_owned()),
            ("Removed credentials".to_owned(), default),
        ]
    );
    for e in &audit {
        assert_eq!(e["actor"], "owner@example.com");
        assert!(e["at"].as_i64().unwrap() > 1_700_000_000);
    }
    let details: Vec<&str> = audit.iter().rev().map(|e| e["detail"].as_str().unwrap()).collect();
    assert!(details[0].contains("M1M5R3") && details[0].contains("Valid"), "{details:?}");
    assert!(details[1].contains("tested: Valid"), "the save carries the test: {details:?}");
    assert!(details[2].contains("generation 2"), "{details:?}");
    assert!(details[3].contains(&ID_B[..6]), "{details:?}");
    for secret in [CANARY, SECRET_2, SECRET_3] {
        assert_no_part_of("the audit trail", &r.body, secret);
        assert_no_secret("the stored audit trail", &at_rest(&app.db).await, secret);
    }
}

/// G.34: the credential routes are dashboard only. Any request carrying an API key (an
/// `Authorization` header), with or without a valid session cookie, gets 403 `dashboard_only`
/// and has no effect: nothing read, stored, removed or sent to X.
async fn g34_requests_carrying_an_api_key_are_refused_and_change_nothing(b: Backend) {
    let (x, app) = perch(b).await;
    register(&x, &app, ID_A, CANARY);
    let c = app.owner("Acme", "a@example.com").await;
    let coffee = brand(&c, "Coffee").await;
    assert_eq!(api_put(&c, &pair(ID_A, CANARY)).await.status, 201);
    assert_eq!(api_put(&c, &pair_for(ID_A, CANARY, &coffee)).await.status, 201);
    let before = snapshot(&app).await;
    let anonymous = app.client();

    for (who, client) in [("signed in", &c), ("anonymous", &anonymous)] {
        for key in [
            "Bearer perch_live_5f2b8c0e9d7a4b1c",
            "bearer perch_live_5f2b8c0e9d7a4b1c",
            "perch_live_5f2b8c0e9d7a4b1c",
            "Token perch_live_5f2b8c0e9d7a4b1c",
        ] {
            let base = &client.base;
            let requests = [
                ("GET", client.http.get(url(client, CRED))),
                ("PUT", client.http.put(url(client, CRED)).header("origin", base).json(&pair(ID_B, SECRET_2))),
                ("DELETE", client.http.delete(url(client, CRED)).header("origin", base)),
                (
                    "DELETE brand",
                    client.http.delete(url(client, &format!("{CRED}?brand_id={coffee}"))).header("origin", base),
                ),
                (
                    "POST test",
                    client.http.post(url(client, CRED_TEST)).header("origin", base).json(&pair(ID_A, CANARY)),
                ),
            ];
            for (what, req) in requests {
                let r = send(req.header("authorization", key).header("accept", "application/json")).await;
                let what = format!("{what}, {who}, `{key}`");
                assert_eq!(r.status, 403, "{what}: {}", r.body);
                assert_eq!(api_error(&r)["code"], "dashboard_only", "{what}");
                assert!(!r.body.contains("M1M5R3"), "{what}: {}", r.body);
            }
        }
    }
    // The page's server functions are behind the same wall.
    for key in ["Bearer perch_live_5f2b8c0e9d7a4b1c", "perch_live_5f2b8c0e9d7a4b1c"] {
        for (endpoint, form) in [
            ("twitter/settings", vec![]),
            ("twitter/submit", vec![("client_id", ID_B), ("client_secret", SECRET_2), ("intent", "save")]),
            ("twitter/submit", vec![("client_id", ID_A), ("client_secret", CANARY), ("intent", "test")]),
            ("twitter/remove", vec![("brand_id", coffee.as_str())]),
        ] {
            let req = c.http.post(url(&c, &format!("/api/{endpoint}"))).header("origin", &c.base).form(&form);
            let r = send(req.header("authorization", key).header("accept", "application/json")).await;
            assert_eq!(r.status, 403, "{endpoint} with `{key}`: {}", r.body);
            assert_eq!(r.json()["code"], "dashboard_only", "{endpoint}");
        }
    }
    assert_eq!(snapshot(&app).await, before);
    assert!(x.requests().is_empty(), "nothing was sent to X");
    // The refusal is about the key: the same session without it still works, and so does a
    // browser behind a proxy with basic authentication, which sends `Authorization: Basic`.
    assert_eq!(api_get(&c).await.json()["default"]["client_id_preview"], "M1M5R3");
    let behind_proxy = send(c.http.get(url(&c, CRED)).header("authorization", "Basic YWRtaW46YWRtaW4=")).await;
    assert_eq!(behind_proxy.status, 200, "{}", behind_proxy.body);
    let anonymous_basic =
        send(anonymous.http.get(url(&anonymous, CRED)).header("authorization", "Basic YWRtaW46YWRtaW4=")).await;
    assert_eq!(anonymous_basic.status, 401, "Basic authenticates nothing: {}", anonymous_basic.body);
}

/// D.22: every state-changing credential request made from another site (a foreign or opaque
/// `Origin`, or `Sec-Fetch-Site` other than same-origin), JSON API and server functions alike,
/// gets 403 `cross_site` and changes nothing.
async fn d22_cross_site_requests_are_refused_and_change_nothing(b: Backend) {
    let (x, app) = perch(b).await;
    register(&x, &app, ID_A, CANARY);
    let c = app.owner("Acme", "a@example.com").await;
    let coffee = brand(&c, "Coffee").await;
    assert_eq!(api_put(&c, &pair(ID_A, CANARY)).await.status, 201);
    assert_eq!(api_put(&c, &pair_for(ID_A, CANARY, &coffee)).await.status, 201);
    let before = snapshot(&app).await;

    for (header, value) in [
        ("origin", "https://evil.example"),
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ] {
        let requests = [
            ("PUT", c.http.put(url(&c, CRED)).json(&pair(ID_B, SECRET_2))),
            ("DELETE", c.http.delete(url(&c, CRED))),
            ("DELETE brand", c.http.delete(url(&c, &format!("{CRED}?brand_id={coffee}")))),
            ("POST test", c.http.post(url(&c, CRED_TEST)).json(&pair(ID_A, CANARY))),
            (
                "save function",
                c.http.post(url(&c, "/api/twitter/submit")).form(&[
                    ("client_id", ID_B),
                    ("client_secret", SECRET_2),
                    ("intent", "save"),
                ]),
            ),
            (
                "test function",
                c.http.post(url(&c, "/api/twitter/submit")).form(&[
                    ("client_id", ID_A),
                    ("client_secret", CANARY),
                    ("intent", "test"),
                ]),
            ),
            ("remove function", c.http.post(url(&c, "/api/twitter/remove")).form(&[("brand_id", coffee.as_str())])),
        ];
        for (what, req) in requests {
            let r = send(req.header(header, value).header("accept", "application/json")).await;
            assert_eq!(r.status, 403, "{what} with {header}: {value}: {}", r.body);
            assert_eq!(api_error(&r)["code"], "cross_site", "{what} with {header}: {value}");
        }
    }
    assert_eq!(snapshot(&app).await, before);
    assert!(x.requests().is_empty(), "nothing was sent to X");
}

/// G.33: another organization sees none of an organization's credentials and cannot change
/// them: its requests naming a foreign brand answer 404 like a made-up id. A member may look but
/// not change anything (403); a stranger gets 401.
async fn g33_other_tenants_members_and_strangers_cannot_read_or_change_credentials(b: Backend) {
    let (x, app) = perch(b).await;
    register(&x, &app, ID_A, CANARY);
    let alice = app.owner("Alice Agency", "alice@example.com").await;
    let coffee = brand(&alice, "Secret Coffee").await;
    assert_eq!(api_put(&alice, &pair(ID_A, CANARY)).await.status, 201);
    assert_eq!(api_put(&alice, &pair_for(ID_B, SECRET_2, &coffee)).await.status, 201);
    let mallory = app.owner("Mallory Media", "mallory@example.com").await;

    let theirs = [&ID_A[..6], &ID_B[..6], coffee.as_str(), "Secret Coffee", "alice@example.com"];
    let listed = api_get(&mallory).await;
    assert_eq!(listed.status, 200);
    assert!(listed.json()["default"].is_null() && listed.json()["overrides"] == json!([]), "{}", listed.body);
    let page = settings(&mallory).await;
    assert_eq!(page.status, 200);
    assert!(page.json()["brands"] == json!([]) && page.json()["audit"] == json!([]), "{}", page.body);
    for r in [&listed, &page] {
        for word in theirs {
            assert!(!r.body.contains(word), "Mallory sees {word}: {}", r.body);
        }
    }

    let before = snapshot(&app).await;
    let foreign = [
        ("PUT", api_put(&mallory, &pair_for(ID_C, SECRET_3, &coffee)).await, false),
        ("DELETE", api_delete(&mallory, Some(&coffee)).await, false),
        ("POST test", api_test(&mallory, &pair_for(ID_A, CANARY, &coffee)).await, false),
        ("save form", submit(&mallory, ID_C, SECRET_3, &coffee, "save").await, true),
        ("test form", submit(&mallory, ID_A, CANARY, &coffee, "test").await, true),
        ("remove form", remove(&mallory, &coffee).await, true),
        ("DELETE her own empty default", api_delete(&mallory, None).await, false),
    ];
    for (what, r, form) in foreign {
        assert_eq!(r.status, 404, "{what}: {}", r.body);
        let e = if form { r.json() } else { api_error(&r) };
        assert_eq!(e["code"], "not_found", "{what}");
        for word in theirs {
            assert!(!r.body.contains(word), "{what} tells Mallory {word}: {}", r.body);
        }
    }
    assert_eq!(snapshot(&app).await, before, "Alice's credentials and trail are untouched");
    assert!(x.requests().is_empty(), "no test of a foreign brand reached X");

    // A member of Alice's organization: reads, but changes nothing.
    let member = user(&app, &org_id(&alice).await, "member@example.com", Role::Member).await;
    let listed = api_get(&member).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.json()["default"]["client_id_preview"], "M1M5R3");
    assert_eq!(settings(&member).await.json()["can_manage"], false);
    let refused = [
        ("PUT", api_put(&member, &pair(ID_C, SECRET_3)).await, false),
        ("PUT brand", api_put(&member, &pair_for(ID_C, SECRET_3, &coffee)).await, false),
        ("DELETE", api_delete(&member, None).await, false),
        ("DELETE brand", api_delete(&member, Some(&coffee)).await, false),
        ("POST test", api_test(&member, &pair(ID_A, CANARY)).await, false),
        ("save form", submit(&member, ID_C, SECRET_3, "", "save").await, true),
        ("test form", submit(&member, ID_A, CANARY, "", "test").await, true),
        ("remove form", remove(&member, "").await, true),
    ];
    for (what, r, form) in refused {
        assert_eq!(r.status, 403, "member {what}: {}", r.body);
        let e = if form { r.json() } else { api_error(&r) };
        assert_eq!(e["code"], "forbidden", "member {what}");
    }

    // Someone not signed in.
    let stranger = app.client();
    let anonymous = [
        ("GET", api_get(&stranger).await, false),
        ("PUT", api_put(&stranger, &pair(ID_C, SECRET_3)).await, false),
        ("DELETE", api_delete(&stranger, None).await, false),
        ("POST test", api_test(&stranger, &pair(ID_A, CANARY)).await, false),
        ("settings", settings(&stranger).await, true),
        ("save form", submit(&stranger, ID_C, SECRET_3, "", "save").await, true),
        ("remove form", remove(&stranger, "").await, true),
    ];
    for (what, r, form) in anonymous {
        assert_eq!(r.status, 401, "anonymous {what}: {}", r.body);
        let e = if form { r.json() } else { api_error(&r) };
        assert_eq!(e["code"], "unauthenticated", "anonymous {what}");
        assert!(!r.body.contains("M1M5R3"), "anonymous {what}: {}", r.body);
    }
    assert_eq!(snapshot(&app).await, before);
    assert!(x.requests().is_empty());
}

/// H.38: malformed JSON, a wrong or missing content type, unknown or missing fields, hostile
/// bodies and query strings get a clear 4xx JSON error from the JSON API, never a 500; none of
/// them stores anything.
async fn h38_malformed_json_wrong_content_type_and_unknown_fields_get_a_400(b: Backend) {
    let (x, app) = perch(b).await;
    register(&x, &app, ID_A, CANARY);
    let c = app.owner("Acme", "a@example.com").await;
    let valid = pair(ID_A, CANARY).to_string();
    let form = format!("client_id={ID_A}&client_secret={CANARY}");
    let nested = "[".repeat(10_000);
    let json = Some("application/json");
    let bad: Vec<(&str, Option<&str>, Vec<u8>)> = vec![
        ("truncated JSON", json, br#"{"client_id": "M1M5R3"#.to_vec()),
        ("not JSON", json, b"client_id=x".to_vec()),
        ("an array", json, b"[]".to_vec()),
        ("null", json, b"null".to_vec()),
        ("an empty body", json, vec![]),
        ("not UTF-8", json, vec![b'{', b'"', 0xff, 0xfe, b'"', b'}']),
        ("deeply nested", json, nested.into_bytes()),
        ("a number for a string", json, json!({"client_id": 5, "client_secret": CANARY}).to_string().into_bytes()),
        ("no secret", json, json!({"client_id": ID_A}).to_string().into_bytes()),
        (
            "an unknown field",
            json,
            json!({"client_id": ID_A, "client_secret": CANARY, "is_admin": true}).to_string().into_bytes(),
        ),
        (
            "an object for brand_id",
            json,
            json!({"client_id": ID_A, "client_secret": CANARY, "brand_id": {"$ne": ""}}).to_string().into_bytes(),
        ),
        ("form encoded", Some("application/x-www-form-urlencoded"), form.clone().into_bytes()),
        ("JSON as text/plain", Some("text/plain"), valid.clone().into_bytes()),
        ("JSON without a content type", None, valid.clone().into_bytes()),
        ("a look-alike content type", Some("application/jsonp"), valid.clone().into_bytes()),
    ];
    for (what, content_type, body) in bad {
        for (method, path) in [(reqwest::Method::PUT, CRED), (reqwest::Method::POST, CRED_TEST)] {
            let mut req = c.http.request(method.clone(), url(&c, path)).header("origin", &c.base).body(body.clone());
            if let Some(t) = content_type {
                req = req.header("content-type", t);
            }
            let r = send(req).await;
            assert_eq!(r.status, 400, "{what} to {method} {path}: {}", r.body);
            assert!(r.header("content-type").starts_with("application/json"), "{what}");
            let e = api_error(&r);
            assert_eq!(e["code"], "bad_request", "{what}");
            assert!(e["message"].as_str().is_some_and(|m| m.len() > 20), "{what}: {}", r.body);
            assert_no_part_of(what, &r.body, CANARY);
        }
    }
    for query in ["brand=x", "brand_id=a&brand_id=b", "brand_id[]=x"] {
        let r = send(c.http.delete(url(&c, &format!("{CRED}?{query}"))).header("origin", &c.base)).await;
        assert_eq!(r.status, 400, "DELETE ?{query}: {}", r.body);
        assert_eq!(api_error(&r)["code"], "bad_request");
    }
    // Hostile ids are no ids at all: refused on the field before any query (H.38).
    for brand_id in ["' or 1=1 --", "<script>alert(1)</script>", "../../etc/passwd"] {
        let r = api_put(&c, &pair_for(ID_A, CANARY, brand_id)).await;
        assert_eq!(r.status, 422, "{brand_id}: {}", r.body);
        assert_eq!(api_error(&r)["field"], "brand_id", "{brand_id}");
        assert!(!r.body.contains("<script>"), "{}", r.body);
    }
    // More than Perch reads.
    let huge = json!({"client_id": ID_A, "client_secret": "x".repeat(200 * 1024)});
    let r = api_put(&c, &huge).await;
    assert!((400..500).contains(&r.status), "an oversized body: {} {}", r.status, r.body);
    assert_eq!(app.count("twitter_credentials").await, 0);
    assert!(x.requests().is_empty());
    // The checks above are about the body, not the endpoint: the same pair sent properly is saved.
    let r = send(
        c.http
            .put(url(&c, CRED))
            .header("origin", &c.base)
            .header("content-type", "application/json; charset=utf-8")
            .body(valid),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

/// A.6: the master key can be rotated. After `perch keys rotate` and a restart, stored secrets
/// still decrypt and new ones use the new key; `perch keys rewrap` (run while Perch serves)
/// moves every blob to the newest key, after which the old key can be dropped and everything
/// still decrypts. SQLite, where the key file lives in the data directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a6_rotating_and_rewrapping_the_master_key_keeps_every_secret_readable() {
    log_buffer();
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = app.owner("Acme", "a@example.com").await;
    let org = org_id(&c).await;
    let old = brand(&c, "Old").await;
    let new = brand(&c, "New").await;
    assert_eq!(api_put(&c, &pair(ID_A, CANARY)).await.status, 201);
    assert_eq!(api_put(&c, &pair_for(ID_B, SECRET_2, &old)).await.status, 201);
    let first_key = app.state.vault.newest_key_id();
    assert_eq!(stored_key_ids(&app).await, [first_key; 4]);
    let key_file = app.db.dir.join("master.key");

    let db = stop(app).await;
    let (code, out, err) = perch_cli(&db, &["keys", "rotate"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Added master key"), "{out}");
    let app = TestApp::spawn_on(db).await;
    let second_key = app.state.vault.newest_key_id();
    assert_ne!(second_key, first_key);
    let c = sign_in(&app, "a@example.com").await;
    assert_eq!(used(&app, &org, None).await, expect(ID_A, CANARY, None), "old blobs still decrypt");
    assert_eq!(used(&app, &org, Some(&old)).await, expect(ID_B, SECRET_2, Some(&old)));
    assert_eq!(api_put(&c, &pair_for(ID_C, SECRET_3, &new)).await.status, 201);
    let (_, id_blob, secret_blob) = blobs(&app, &org, Some(&new)).await;
    assert_eq!((key_id_of(&id_blob), key_id_of(&secret_blob)), (second_key, second_key), "new writes use the new key");
    assert_eq!(key_id_of(&blobs(&app, &org, None).await.2), first_key, "nothing rewrapped yet");

    let (code, out, err) = perch_cli(&app.db, &["keys", "rewrap"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Re-encrypted 2 stored credential(s)") && out.contains("1 already"), "{out}");
    assert_eq!(stored_key_ids(&app).await, [second_key; 6]);
    let (code, out, _) = perch_cli(&app.db, &["keys", "rewrap"]);
    assert_eq!(code, 0);
    assert!(out.contains("Re-encrypted 0") && out.contains("3 already"), "a second run has nothing to do: {out}");
    for secret in [CANARY, SECRET_2, SECRET_3] {
        assert_no_secret("the rewrap's output", &out, secret);
    }

    // The old key can go now.
    let db = stop(app).await;
    let text = std::fs::read_to_string(&key_file).unwrap();
    let keys: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).collect();
    assert_eq!(keys.len(), 2, "{text}");
    std::fs::write(&key_file, text.replacen(&format!("{}\n", keys[0]), "", 1)).unwrap();
    let app = TestApp::spawn_on(db).await;
    assert_eq!(app.state.vault.newest_key_id(), second_key);
    assert_eq!(used(&app, &org, None).await, expect(ID_A, CANARY, None));
    assert_eq!(used(&app, &org, Some(&old)).await, expect(ID_B, SECRET_2, Some(&old)));
    assert_eq!(used(&app, &org, Some(&new)).await, expect(ID_C, SECRET_3, Some(&new)));
    let c = sign_in(&app, "a@example.com").await;
    assert_eq!(api_put(&c, &pair(ID_A, CANARY)).await.json()["change"], "unchanged");
}
