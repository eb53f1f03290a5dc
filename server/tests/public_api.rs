//! The public API with API keys, end to end over loopback against the fake X: keys (docs/security.md
//! G.35), every endpoint with good, missing, malformed, revoked and foreign keys (G.33), the
//! dashboard-only wall for credential and key routes (G.34), connect links, posting with every
//! answer of X's in docs/x-api.md, the refresh lease across instances (F.30, F.31), a refresh cut off
//! by a crash (H.37), rotation, and the OpenAPI document, on SQLite and PostgreSQL (H.36).
//!
//! Run with `cargo test -p server --test public_api`.

mod common;

use std::collections::BTreeSet;

use app::domain::callback_url;
use common::api::{account, api, api_client, error_code, error_message, new_key, post, with_account};
use common::connect::*;
use common::leaks::{assert_no_secret, at_rest, logs};
use common::{Backend, Reply, TestApp, brand, send};
use fake_x::{Fault, NewApp, Refusal};
use serde_json::{Value, json};

on_both_databases!(
    g35_keys_are_shown_once_stored_hashed_listed_by_prefix_and_revoked_at_once,
    a_key_created_without_javascript_is_shown_once_on_the_page,
    only_owners_and_admins_manage_keys,
    every_endpoint_refuses_missing_malformed_and_revoked_keys_and_changes_nothing,
    g33_ids_of_another_organization_answer_404_and_change_nothing,
    g34_credential_and_key_routes_refuse_any_key_for_every_method,
    brands_are_listed_and_created_with_the_app_they_connect_through,
    accounts_are_listed_with_their_state_and_filtered_by_brand,
    a_connect_link_connects_an_account_from_any_browser_to_its_brand,
    connect_links_are_single_use_expire_and_die_with_their_key,
    a_connect_link_needs_credentials,
    posting_goes_through_the_accounts_own_app,
    post_text_and_ids_are_checked_before_x_is_called,
    every_refusal_of_x_becomes_an_error_a_client_can_act_on,
    a_revoked_access_token_is_refreshed_once_and_the_post_retried,
    a_refused_refresh_marks_the_account_and_answers_409,
    rotation_marks_only_the_accounts_of_the_old_secret_on_their_next_call,
    f30_twenty_concurrent_posts_on_an_expired_token_make_one_refresh,
    h37_a_refresh_cut_off_by_a_crash_never_sends_the_refresh_token_again,
    disconnect_revokes_at_x_and_deletes_the_tokens,
    the_openapi_document_is_valid_and_matches_the_routes,
);

// ---- helpers ---------------------------------------------------------------------------------

/// A key, an account on the organization default (app A), and one on brand “Coffee”, which has
/// its own app B. Returns (world, key, default's account, Coffee's account).
async fn two_apps(b: Backend) -> (World, String, String, String) {
    let w = world(b).await;
    let key = new_key(&w.owner, "CMS").await;
    w.x.register_app(NewApp::new([callback_url(&w.app.base)]).with_credentials(ID_B, SECRET_B));
    let coffee = brand(&w.owner, "Coffee").await;
    assert_eq!(save(&w.owner, ID_B, SECRET_B, Some(&coffee)).await.status, 201);
    let on_default = account_of(&connect_through(&w.owner, None, None).await);
    w.x.set_next_user(fake_x::FakeUser::new("1111111111", "Coffee Co", "coffeeco"));
    let on_coffee = account_of(&connect_through(&w.owner, Some(&coffee), Some("1111111111")).await);
    (w, key, on_default, on_coffee)
}

fn token_requests_of(w: &World) -> usize {
    w.x.requests().iter().filter(|r| r.path == "/2/oauth2/token").count()
}

// ---- API keys --------------------------------------------------------------------------------

/// G.35: a key is 256 random bits, shown in the answer that created it and nowhere else (not
/// in the list, the database, the audit trail or the logs), listed by its prefix with its last
/// use, and refused from the moment it is revoked.
async fn g35_keys_are_shown_once_stored_hashed_listed_by_prefix_and_revoked_at_once(b: Backend) {
    let w = world(b).await;
    let key = new_key(&w.owner, "CMS production").await;
    let other = new_key(&w.owner, "Zapier").await;
    assert_ne!(key, other);

    let list = w.owner.call("keys/list", &[]).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_no_secret("the key list", &list.body, &key);
    let keys = list.json()["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 2);
    let mine = keys.iter().find(|k| k["name"] == "CMS production").unwrap();
    assert_eq!(mine["prefix"].as_str().unwrap(), &key[..12], "perch_ and six characters");
    assert_eq!(mine["last_used_at"], Value::Null);
    assert_eq!(mine["created_by"], "owner@acme.example");

    assert_eq!(api(&w.app.base, "GET", "/v1/accounts", &key, None).await.status, 200);
    let list = w.owner.call("keys/list", &[]).await.json();
    let mine = list["keys"].as_array().unwrap().iter().find(|k| k["name"] == "CMS production").unwrap().clone();
    assert!(mine["last_used_at"].as_i64().is_some(), "the use is recorded: {mine}");

    let page = w.owner.get("/settings/api-keys").await;
    assert!(page.body.contains("CMS production") && page.body.contains(&key[..12]), "{}", page.body);
    assert_no_secret("the API keys page", &page.body, &key);
    let trail = w.owner.get("/settings/twitter").await;
    assert!(trail.body.contains("Created an API key"), "audit trail");
    assert_no_secret("the audit trail", &trail.body, &key);
    assert_no_secret("the database", &at_rest(&w.app.db).await, &key);
    assert_no_secret("the logs", &logs(), &key);

    // Revoked: refused on the very next request; the other key keeps working.
    let r = w.owner.call("keys/revoke", &[("key_id", mine["id"].as_str().unwrap())]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let refused = api(&w.app.base, "GET", "/v1/accounts", &key, None).await;
    assert_eq!(refused.status, 401);
    assert_eq!(error_code(&refused), "invalid_api_key");
    assert_eq!(api(&w.app.base, "GET", "/v1/accounts", &other, None).await.status, 200);
    let list = w.owner.call("keys/list", &[]).await.json();
    let mine = list["keys"].as_array().unwrap().iter().find(|k| k["name"] == "CMS production").unwrap().clone();
    assert!(mine["revoked_at"].as_i64().is_some(), "listed as revoked: {mine}");
    // Revoking again, or a key of no one, changes nothing.
    assert_eq!(w.owner.call("keys/revoke", &[("key_id", mine["id"].as_str().unwrap())]).await.status, 200);
    assert_eq!(w.owner.call("keys/revoke", &[("key_id", "key_00000000000000000000000000000000")]).await.status, 404);
    // A name is required and checked.
    let r = w.owner.call("keys/create", &[("name", "  ")]).await;
    assert_eq!((r.status, r.json()["field"].as_str()), (422, Some("name")), "{}", r.body);
}

/// Without JavaScript the form post comes back to the page, which shows the new key once.
async fn a_key_created_without_javascript_is_shown_once_on_the_page(b: Backend) {
    let w = world(b).await;
    let r = w.owner.post_form("keys/create", &[("name", "No script")], "/settings/api-keys").await;
    assert!((300..400).contains(&r.status), "back to the page: {} {}", r.status, r.body);
    let first = w.owner.get("/settings/api-keys").await;
    let key = first
        .body
        .match_indices("perch_")
        .map(|(at, _)| {
            first.body[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                .collect::<String>()
        })
        .find(|candidate| candidate.len() == 49)
        .expect("the key is on the page");
    assert!(first.body.contains("cannot show it again"), "{}", first.body);
    assert_eq!(api(&w.app.base, "GET", "/v1/brands", &key, None).await.status, 200, "the key shown works");
    let second = w.owner.get("/settings/api-keys").await;
    assert_no_secret("the page shown a second time", &second.body, &key);
    assert_no_secret("the database (sessions included)", &at_rest(&w.app.db).await, &key);
}

/// Keys are an owner's or admin's: a member can neither list, create nor revoke them.
async fn only_owners_and_admins_manage_keys(b: Backend) {
    let w = world(b).await;
    let key = new_key(&w.owner, "CMS").await;
    let member = w.app.client();
    // A member of the same organization, made the way operators do.
    let org = common::org_id(&w.owner).await;
    let hash = app::server::infra::passwords::Passwords::new(1)
        .hash(app::domain::Password::parse(common::PASSWORD.to_owned()).unwrap())
        .await
        .unwrap();
    app::server::store::users::create(
        w.app.state.db.pool(),
        app::server::store::users::OrgTarget::Existing(&org),
        &app::domain::Email::parse("member@acme.example").unwrap(),
        &hash,
        app::domain::Role::Member,
    )
    .await
    .unwrap();
    let r = member.call("login", &[("email", "member@acme.example"), ("password", common::PASSWORD)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    for (endpoint, form) in [("keys/list", vec![]), ("keys/create", vec![("name", "mine")])] {
        let r = member.call(endpoint, &form).await;
        assert_eq!(r.status, 403, "{endpoint}: {}", r.body);
    }
    let id = w.owner.call("keys/list", &[]).await.json()["keys"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(member.call("keys/revoke", &[("key_id", &id)]).await.status, 403);
    assert_eq!(api(&w.app.base, "GET", "/v1/brands", &key, None).await.status, 200, "still active");
    let page = member.get("/settings/api-keys").await;
    assert!(page.body.contains("owner or an admin"), "{}", page.body);
}

/// Every endpoint: no key, a malformed one, one of another scheme, a revoked one, and a session
/// cookie without a key all get 401 `invalid_api_key` with `WWW-Authenticate`, and change nothing.
async fn every_endpoint_refuses_missing_malformed_and_revoked_keys_and_changes_nothing(b: Backend) {
    let (w, key, account_id) = with_account(b).await;
    let revoked = new_key(&w.owner, "old").await;
    let revoked_id = w.owner.call("keys/list", &[]).await.json()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "old")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(w.owner.call("keys/revoke", &[("key_id", &revoked_id)]).await.status, 200);
    let endpoints: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", "/v1/brands".into(), None),
        ("POST", "/v1/brands".into(), Some(json!({ "name": "Sneaky" }))),
        ("GET", "/v1/accounts".into(), None),
        ("POST", "/v1/accounts/connect".into(), Some(json!({ "platform": "twitter" }))),
        ("DELETE", format!("/v1/accounts/{account_id}"), None),
        ("POST", "/v1/posts".into(), Some(json!({ "account_id": account_id, "text": "Sneaky" }))),
    ];
    let flows_before = w.app.count("twitter_oauth_flows").await;
    let requests_before = w.x.requests().len();
    let bad_keys = [
        ("no key", String::new()),
        ("garbage", "not-a-key".to_owned()),
        ("right shape, unknown", format!("perch_{}", "A".repeat(43))),
        ("revoked", revoked.clone()),
    ];
    for (method, path, body) in &endpoints {
        for (what, bad) in &bad_keys {
            let r = api(&w.app.base, method, path, bad, body.clone()).await;
            assert_eq!(r.status, 401, "{method} {path} with {what}: {}", r.body);
            assert_eq!(error_code(&r), "invalid_api_key", "{method} {path} with {what}");
            assert!(r.header("www-authenticate").starts_with("Bearer"), "{method} {path}");
        }
        // The key in another scheme, and the dashboard's session cookie alone, are no key.
        let http = api_client();
        let mut req = http
            .request(method.parse().unwrap(), format!("{}{path}", w.app.base))
            .header("authorization", format!("Token {key}"));
        if let Some(b) = body {
            req = req.json(b);
        }
        assert_eq!(send(req).await.status, 401, "{method} {path} with another scheme");
        let mut req = w.owner.http.request(method.parse().unwrap(), format!("{}{path}", w.app.base));
        if let Some(b) = body {
            req = req.json(b);
        }
        let r = send(req).await;
        assert_eq!(r.status, 401, "{method} {path} with a session cookie only: {}", r.body);
    }
    assert_eq!(w.app.count("brands").await, 0);
    assert_eq!(w.app.count("twitter_accounts").await, 1);
    assert_eq!(w.app.count("twitter_oauth_flows").await, flows_before);
    assert_eq!(w.app.count("posts").await, 0);
    assert_eq!(w.x.requests().len(), requests_before, "nothing reached X");
    // And with the good key, each answers.
    assert_eq!(api(&w.app.base, "GET", "/v1/brands", &key, None).await.status, 200);
}

/// G.33: a key reaches its own organization only; another organization's brand and account ids
/// answer 404, exactly like ids that do not exist, and nothing is changed or sent to X.
async fn g33_ids_of_another_organization_answer_404_and_change_nothing(b: Backend) {
    let (w, _key, account_id) = with_account(b).await;
    let their_brand = brand(&w.owner, "Coffee").await;
    let other = w.app.owner("Other Org", "other@example.com").await;
    let foreign = new_key(&other, "other").await;
    let requests_before = w.x.requests().len();
    let cases = [
        ("GET", format!("/v1/accounts?brand_id={their_brand}"), None),
        ("POST", "/v1/accounts/connect".to_owned(), Some(json!({ "platform": "twitter", "brand_id": their_brand }))),
        ("DELETE", format!("/v1/accounts/{account_id}"), None),
        ("POST", "/v1/posts".to_owned(), Some(json!({ "account_id": account_id, "text": "Not yours" }))),
        ("DELETE", "/v1/accounts/xac_00000000000000000000000000000000".to_owned(), None),
    ];
    for (method, path, body) in cases {
        let r = api(&w.app.base, method, &path, &foreign, body).await;
        assert_eq!(r.status, 404, "{method} {path}: {}", r.body);
        assert_eq!(error_code(&r), "not_found");
    }
    let listed = api(&w.app.base, "GET", "/v1/accounts", &foreign, None).await.json();
    assert_eq!(listed["data"], json!([]), "the other organization sees none of these accounts");
    let brands = api(&w.app.base, "GET", "/v1/brands", &foreign, None).await.json();
    assert_eq!(brands["data"], json!([]));
    assert_eq!(w.app.count("twitter_accounts").await, 1);
    assert_eq!(w.x.requests().len(), requests_before, "nothing reached X");
    assert!(w.x.tweets().is_empty());
}

/// G.34: the credential routes and the API key routes answer 403 `dashboard_only` to a valid key,
/// a revoked one and garbage, with or without a session cookie, for every method, and change
/// nothing.
async fn g34_credential_and_key_routes_refuse_any_key_for_every_method(b: Backend) {
    let w = world(b).await;
    let key = new_key(&w.owner, "CMS").await;
    let revoked = new_key(&w.owner, "old").await;
    let revoked_id = w.owner.call("keys/list", &[]).await.json()["keys"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(w.owner.call("keys/revoke", &[("key_id", &revoked_id)]).await.status, 200);
    let keys_before = w.owner.call("keys/list", &[]).await.body;
    let creds_before = w.owner.call("twitter/settings", &[]).await.body;
    let anonymous = w.app.client();
    for (who, client) in [("signed in", &w.owner), ("anonymous", &anonymous)] {
        for presented in [key.as_str(), revoked.as_str(), "garbage"] {
            let auth = format!("Bearer {presented}");
            let base = &client.base;
            let mut requests = vec![];
            for method in ["GET", "PUT", "POST", "PATCH", "DELETE"] {
                for path in [CRED.to_owned(), format!("{CRED}/test")] {
                    requests.push((
                        format!("{method} {path}"),
                        client
                            .http
                            .request(method.parse().unwrap(), format!("{base}{path}"))
                            .json(&json!({ "client_id": ID_B, "client_secret": SECRET_B })),
                    ));
                }
            }
            for endpoint in [
                "keys/list",
                "keys/create",
                "keys/revoke",
                "twitter/settings",
                "twitter/submit",
                "twitter/remove",
                "twitter/accounts",
                "twitter/accounts/disconnect",
            ] {
                requests.push((
                    endpoint.to_owned(),
                    client
                        .http
                        .post(format!("{base}/api/{endpoint}"))
                        .form(&[("name", "stolen"), ("key_id", revoked_id.as_str())]),
                ));
            }
            requests.push((
                "connect".to_owned(),
                client.http.post(format!("{base}{CONNECT}")).form(&[("brand_id", "default")]),
            ));
            for (what, req) in requests {
                let r = send(
                    req.header("origin", base).header("accept", "application/json").header("authorization", &auth),
                )
                .await;
                assert_eq!(r.status, 403, "{what}, {who}, {presented:.12}: {}", r.body);
                let code = r.json().get("error").map(|e| e["code"].clone()).unwrap_or_else(|| r.json()["code"].clone());
                assert_eq!(code, "dashboard_only", "{what}, {who}");
                assert_no_secret(&what, &r.body, &key);
            }
        }
    }
    assert_eq!(w.owner.call("keys/list", &[]).await.body, keys_before, "no key created or revoked");
    assert_eq!(w.owner.call("twitter/settings", &[]).await.body, creds_before, "credentials untouched");
    assert_eq!(w.app.count("twitter_oauth_flows").await, 0);
}

// ---- brands and accounts ---------------------------------------------------------------------

async fn brands_are_listed_and_created_with_the_app_they_connect_through(b: Backend) {
    let w = world(b).await;
    let key = new_key(&w.owner, "CMS").await;
    let r = api(&w.app.base, "POST", "/v1/brands", &key, Some(json!({ "name": "Acme Coffee" }))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let coffee = r.json()["data"].clone();
    assert!(coffee["id"].as_str().unwrap().starts_with("brd_"));
    assert_eq!(coffee["x_app"], json!({ "source": "default", "client_id_preview": "M1M5R3" }));
    assert!(coffee["created_at"].as_str().unwrap().ends_with('Z'), "RFC 3339: {coffee}");
    // The dashboard sees it, and an override shows as the brand's own app.
    let coffee_id = coffee["id"].as_str().unwrap();
    assert_eq!(save(&w.owner, ID_B, SECRET_B, Some(coffee_id)).await.status, 201);
    let tea = brand(&w.owner, "Tea").await;
    let list = api(&w.app.base, "GET", "/v1/brands", &key, None).await.json()["data"].clone();
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Acme Coffee", "Tea"]);
    assert_eq!(list[0]["x_app"], json!({ "source": "own", "client_id_preview": "UHRZZ2" }));
    assert_eq!(list[1]["id"], tea.as_str());

    let dup = api(&w.app.base, "POST", "/v1/brands", &key, Some(json!({ "name": "acme coffee" }))).await;
    assert_eq!((dup.status, error_code(&dup)), (409, "conflict".to_owned()), "{}", dup.body);
    let blank = api(&w.app.base, "POST", "/v1/brands", &key, Some(json!({ "name": " " }))).await;
    assert_eq!((blank.status, error_code(&blank)), (422, "validation".to_owned()), "{}", blank.body);
    let extra = api(&w.app.base, "POST", "/v1/brands", &key, Some(json!({ "name": "X", "org_id": "org_1" }))).await;
    assert_eq!((extra.status, error_code(&extra)), (400, "bad_request".to_owned()), "{}", extra.body);
    let not_json = send(api_client().post(format!("{}/v1/brands", w.app.base)).bearer_auth(&key).body("name=X")).await;
    assert_eq!(not_json.status, 400, "{}", not_json.body);
    assert!(error_message(&not_json).contains("application/json"));
    assert_eq!(w.app.count("brands").await, 2, "no failed request created a brand");
}

async fn accounts_are_listed_with_their_state_and_filtered_by_brand(b: Backend) {
    let (w, key, id) = with_account(b).await;
    let coffee = brand(&w.owner, "Coffee").await;
    let a = account(&w.app.base, &key, &id).await;
    assert_eq!(a["platform"], "twitter");
    assert_eq!(a["status"], "active");
    assert_eq!(a["username"], "XDevelopers");
    assert_eq!(a["brand_id"], Value::Null);
    assert_eq!(a["needs_reconnection"], Value::Null);
    assert_eq!(a["missing_scopes"], json!([]));
    assert_eq!(a["client_id_preview"], "M1M5R3");
    let on_coffee = api(&w.app.base, "GET", &format!("/v1/accounts?brand_id={coffee}"), &key, None).await;
    assert_eq!(on_coffee.json()["data"], json!([]));
    let unknown = api(&w.app.base, "GET", "/v1/accounts?brand_id=brd_nope", &key, None).await;
    assert_eq!(unknown.status, 404);
    let odd = api(&w.app.base, "GET", "/v1/accounts?limit=5", &key, None).await;
    assert_eq!(odd.status, 400, "{}", odd.body);
    // Marked: the state says why and since when.
    app::server::store::accounts::mark_needs_reconnection(
        w.app.state.db.pool(),
        &common::org_id(&w.owner).await,
        &id,
        app::domain::ReconnectReason::RefreshRefused,
    )
    .await
    .unwrap();
    let a = account(&w.app.base, &key, &id).await;
    assert_eq!(a["status"], "needs_reconnection");
    assert_eq!(a["needs_reconnection"]["reason"], "refresh_refused");
    assert!(a["needs_reconnection"]["since"].as_str().unwrap().ends_with('Z'));
    assert!(a["needs_reconnection"]["message"].as_str().unwrap().contains("Reconnect"));
}

// ---- connect links ---------------------------------------------------------------------------

/// The end user's browser: no Perch session, follows the link to X, authorizes, comes back.
async fn open_link(auth_url: &str, decision: &str) -> Reply {
    let authorize = url::Url::parse(auth_url).unwrap();
    let back = at_x(&authorize, decision, None, None).await;
    let stranger = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    send(stranger.get(back.as_str())).await
}

async fn link(w: &World, key: &str, brand_id: Option<&str>) -> Reply {
    let mut body = json!({ "platform": "twitter" });
    if let Some(b) = brand_id {
        body["brand_id"] = json!(b);
    }
    api(&w.app.base, "POST", "/v1/accounts/connect", key, Some(body)).await
}

/// A link for a brand with its own app goes through that app, works in a browser that never saw
/// Perch, and the account lands on the brand's card with the key named in the audit trail.
async fn a_connect_link_connects_an_account_from_any_browser_to_its_brand(b: Backend) {
    let w = world(b).await;
    let key = new_key(&w.owner, "Onboarding").await;
    w.x.register_app(NewApp::new([callback_url(&w.app.base)]).with_credentials(ID_B, SECRET_B));
    let coffee = brand(&w.owner, "Coffee").await;
    assert_eq!(save(&w.owner, ID_B, SECRET_B, Some(&coffee)).await.status, 201);

    let r = link(&w, &key, Some(&coffee)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let l = r.json();
    assert_eq!(l["brand_id"], coffee.as_str());
    assert_eq!(l["client_id_preview"], "UHRZZ2");
    let auth_url = url::Url::parse(l["auth_url"].as_str().unwrap()).unwrap();
    let q = query(&auth_url);
    assert!(auth_url.as_str().starts_with(&w.x.authorize_url()));
    assert_eq!(q["client_id"], ID_B, "the brand's own app");
    assert_eq!(q["redirect_uri"], callback_url(&w.app.base));
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["state"].len() >= 43);
    assert!(l["expires_at"].as_str().unwrap().ends_with('Z'));

    let page = open_link(auth_url.as_str(), "authorize").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("@XDevelopers is connected"), "{}", page.body);
    assert!(page.header("content-security-policy").contains("default-src 'none'"));
    let listed = api(&w.app.base, "GET", &format!("/v1/accounts?brand_id={coffee}"), &key, None).await.json();
    let a = &listed["data"][0];
    assert_eq!(a["username"], "XDevelopers");
    assert_eq!(a["client_id_preview"], "UHRZZ2");
    assert_eq!(a["status"], "active");
    let exchange = w.x.requests().into_iter().find(|r| r.path == "/2/oauth2/token").unwrap();
    assert_eq!(exchange.basic_client_id.as_deref(), Some(ID_B), "exchanged with the brand's app");
    let trail = w.owner.get("/settings/twitter").await;
    assert!(trail.body.contains("API key “Onboarding” (connect link)"), "{}", trail.body);
    // The dashboard shows it on the brand's card too.
    let page = w.owner.get("/accounts").await;
    assert!(page.body.contains("@XDevelopers"));
    // A link for the default card goes through the default app.
    let r = link(&w, &key, None).await;
    assert_eq!(query(&url::Url::parse(r.json()["auth_url"].as_str().unwrap()).unwrap())["client_id"], ID_A);
}

async fn connect_links_are_single_use_expire_and_die_with_their_key(b: Backend) {
    let w = world(b).await;
    let key = new_key(&w.owner, "Onboarding").await;

    // Used once: the same callback again is refused without another exchange.
    let auth_url = link(&w, &key, None).await.json()["auth_url"].as_str().unwrap().to_owned();
    let authorize = url::Url::parse(&auth_url).unwrap();
    let back = at_x(&authorize, "authorize", None, None).await;
    let stranger = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    assert_eq!(send(stranger.get(back.as_str())).await.status, 200);
    let exchanges = token_requests_of(&w);
    let again = send(stranger.get(back.as_str())).await;
    assert!(again.status >= 300, "a replay is not served as a success: {}", again.status);
    assert_eq!(token_requests_of(&w), exchanges, "no second exchange");

    // Cancelled at X: nothing connected, and the page says to ask for a new link.
    let auth_url = link(&w, &key, None).await.json()["auth_url"].as_str().unwrap().to_owned();
    let page = open_link(&auth_url, "cancel").await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("cancelled") && page.body.contains("new one"), "{}", page.body);

    // Expired after 10 minutes.
    let auth_url = link(&w, &key, None).await.json()["auth_url"].as_str().unwrap().to_owned();
    sqlx::query("update twitter_oauth_flows set expires_at = 0").execute(w.app.state.db.pool()).await.unwrap();
    let before = token_requests_of(&w);
    let page = open_link(&auth_url, "authorize").await;
    assert!(page.body.contains("expired"), "{}", page.body);
    assert_eq!(token_requests_of(&w), before, "X not asked");

    // Revoking the key ends its open links.
    let auth_url = link(&w, &key, None).await.json()["auth_url"].as_str().unwrap().to_owned();
    let key_id = w.owner.call("keys/list", &[]).await.json()["keys"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(w.owner.call("keys/revoke", &[("key_id", &key_id)]).await.status, 200);
    w.x.set_next_user(fake_x::FakeUser::new("1234567890", "Someone Else", "someone_else"));
    let page = open_link(&auth_url, "authorize").await;
    assert!(page.body.contains("no longer valid"), "{}", page.body);
    assert_eq!(w.app.count("twitter_accounts").await, 1, "only the first link connected an account");
    assert!(!w.owner.get("/accounts").await.body.contains("someone_else"));

    // Only twitter.
    let key2 = new_key(&w.owner, "Second").await;
    let r = api(&w.app.base, "POST", "/v1/accounts/connect", &key2, Some(json!({ "platform": "mastodon" }))).await;
    assert_eq!((r.status, error_code(&r)), (422, "validation".to_owned()), "{}", r.body);
}

async fn a_connect_link_needs_credentials(b: Backend) {
    let x = fake_x::FakeX::start().await;
    let app =
        TestApp::spawn_with(b, &[("PERCH_X_API_URL", &x.base_url()), ("PERCH_X_AUTHORIZE_URL", &x.authorize_url())])
            .await;
    let owner = app.owner("Bare", "bare@example.com").await;
    let key = new_key(&owner, "CMS").await;
    let coffee = brand(&owner, "Coffee").await;
    for body in [json!({ "platform": "twitter" }), json!({ "platform": "twitter", "brand_id": coffee })] {
        let r = api(&app.base, "POST", "/v1/accounts/connect", &key, Some(body)).await;
        assert_eq!(r.status, 412, "{}", r.body);
        assert_eq!(error_code(&r), "byok_credentials_missing");
        assert!(error_message(&r).contains("Settings → Twitter integration"), "{}", r.body);
    }
    assert_eq!(app.count("twitter_oauth_flows").await, 0);
    assert!(x.requests().is_empty());
}

// ---- posting ---------------------------------------------------------------------------------

async fn posting_goes_through_the_accounts_own_app(b: Backend) {
    let (w, key, on_default, on_coffee) = two_apps(b).await;

    let r = post(&w.app.base, &key, &on_coffee, "Fresh beans today ☕").await;
    assert_eq!(r.status, 201, "{}", r.body);
    let p = r.json()["data"].clone();
    assert!(p["id"].as_str().unwrap().starts_with("pst_"));
    let tweet = w.x.tweets().into_iter().find(|t| t.id == p["x_post_id"].as_str().unwrap()).expect("posted at X");
    assert_eq!(tweet.text, "Fresh beans today ☕");
    assert_eq!(tweet.client_id, ID_B, "through the brand's own app");
    assert_eq!(tweet.author_id, "1111111111");
    assert_eq!(p["url"], format!("https://x.com/coffeeco/status/{}", tweet.id));

    let r = api(
        &w.app.base,
        "POST",
        "/v1/posts",
        &key,
        Some(json!({ "account_id": on_default, "text": "A reply", "reply_to_post_id": tweet.id, "quote_post_id": tweet.id })),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let reply = w.x.tweets().into_iter().find(|t| t.text == "A reply").unwrap();
    assert_eq!(reply.client_id, ID_A, "the default app");
    assert_eq!(reply.in_reply_to_tweet_id.as_deref(), Some(tweet.id.as_str()));
    assert_eq!(reply.quote_tweet_id.as_deref(), Some(tweet.id.as_str()));
    assert_eq!(r.json()["data"]["reply_to_post_id"], tweet.id.as_str());
    assert_eq!(w.app.count("posts").await, 2, "Perch keeps a record of each post");
}

async fn post_text_and_ids_are_checked_before_x_is_called(b: Backend) {
    let (w, key, id) = with_account(b).await;
    let before = w.x.requests().len();
    let long = "a".repeat(281);
    let cjk = "日".repeat(141);
    for (body, field) in [
        (json!({ "account_id": id, "text": "" }), "text"),
        (json!({ "account_id": id, "text": " \n " }), "text"),
        (json!({ "account_id": id, "text": long }), "text"),
        (json!({ "account_id": id, "text": cjk }), "text"),
        (json!({ "account_id": id, "text": "bell\u{7}" }), "text"),
        (json!({ "account_id": id, "text": "ok", "reply_to_post_id": "abc" }), "reply_to_post_id"),
        (json!({ "account_id": id, "text": "ok", "quote_post_id": "12345678901234567890" }), "quote_post_id"),
    ] {
        let r = api(&w.app.base, "POST", "/v1/posts", &key, Some(body.clone())).await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
        assert_eq!(r.json()["error"]["field"], field, "{body}");
    }
    let r = post(&w.app.base, &key, &id, &"a".repeat(281)).await;
    assert!(error_message(&r).contains("281") && error_message(&r).contains("280"), "{}", r.body);
    for body in [json!({ "text": "no account" }), json!({ "account_id": id, "text": "x", "media": [] }), json!([1])] {
        let r = api(&w.app.base, "POST", "/v1/posts", &key, Some(body.clone())).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
    }
    assert_eq!(w.x.requests().len(), before, "none of these reached X");
    // Exactly 280, and a link counted as 23, pass.
    let link_text = format!("{} https://example.com/{}", "b".repeat(256), "p".repeat(200));
    assert_eq!(post(&w.app.base, &key, &id, &link_text).await.status, 201);
    assert_eq!(post(&w.app.base, &key, &id, &"c".repeat(280)).await.status, 201);
}

/// Every row of docs/x-api.md's `POST /2/tweets` table, and X down, mapped to an error that says what
/// to do; none of them marks the account, and none is retried.
async fn every_refusal_of_x_becomes_an_error_a_client_can_act_on(b: Backend) {
    let (w, key, id) = with_account(b).await;
    let base = w.app.base.clone();
    assert_eq!(post(&base, &key, &id, "First").await.status, 201);

    // Duplicate content.
    let r = post(&base, &key, &id, "First").await;
    assert_eq!((r.status, error_code(&r)), (403, "x_forbidden".to_owned()), "{}", r.body);
    assert!(error_message(&r).contains("duplicate content"), "{}", r.body);

    let refusals: [(Refusal, u16, &str, &str); 2] = [
        (Refusal::NotPermitted, 403, "x_forbidden", "not permitted to perform this action"),
        (Refusal::ClientNotEnrolled, 403, "x_forbidden", "Project"),
    ];
    for (refusal, status, code, says) in refusals {
        w.x.update_switches(|s| s.tweets_refusal = refusal);
        let r = post(&base, &key, &id, &format!("{refusal:?}")).await;
        assert_eq!((r.status, error_code(&r)), (status, code.to_owned()), "{refusal:?}: {}", r.body);
        assert!(error_message(&r).contains(says), "{refusal:?}: {}", r.body);
    }

    // Rate limited, by the 15-minute window and by a 24-hour cap: Retry-After from X's reset.
    w.x.update_switches(|s| s.tweets_refusal = Refusal::TooManyRequests);
    for from_24h in [false, true] {
        w.x.update_switches(|s| s.too_many_requests_from_24h_cap = from_24h);
        let r = post(&base, &key, &id, &format!("limited {from_24h}")).await;
        assert_eq!((r.status, error_code(&r)), (429, "rate_limited".to_owned()), "{}", r.body);
        let retry: u64 = r.header("retry-after").parse().expect("Retry-After in seconds");
        assert!((1..=24 * 3600).contains(&retry), "{retry}");
        assert_eq!(error_message(&r).contains("24-hour"), from_24h, "{}", r.body);
    }
    w.x.update_switches(|s| s.tweets_refusal = Refusal::None);

    // The real limit: the window runs out after its posts.
    w.x.update_switches(|s| s.tweets_limit_15min = 3);
    let mut statuses = vec![];
    for i in 0..3 {
        statuses.push(post(&base, &key, &id, &format!("window {i}")).await.status);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    w.x.update_switches(|s| s.tweets_limit_15min = 100);

    // X down in each way: 502, and the account stays active.
    for fault in [Fault::ServerError, Fault::Html503, Fault::Html200, Fault::Close] {
        w.x.update_switches(|s| s.tweets_fault = fault);
        let r = post(&base, &key, &id, &format!("{fault:?}")).await;
        assert_eq!((r.status, error_code(&r)), (502, "x_unavailable".to_owned()), "{fault:?}: {}", r.body);
    }
    w.x.update_switches(|s| s.tweets_fault = Fault::None);
    assert_eq!(account(&base, &key, &id).await["status"], "active");
    assert_eq!(w.x.counters().refreshes, 0, "no refresh for refusals that are not 401");
    assert_eq!(post(&base, &key, &id, "Back to normal").await.status, 201);

    // A token without tweet.write: 403 naming the scope (connected with it unticked at X).
    w.x.set_next_user(fake_x::FakeUser::new("2222222222", "Read Only", "readonly"));
    let authorize = connect(&w.owner, None).await;
    let granted = ["tweet.read", "users.read", "offline.access"];
    let back = at_x(&authorize, "authorize", Some("2222222222"), Some(&granted)).await;
    let read_only = account_of(&arrive(&w.owner, back.as_str()).await);
    let r = post(&base, &key, &read_only, "Cannot").await;
    assert_eq!((r.status, error_code(&r)), (403, "missing_scopes".to_owned()), "{}", r.body);
    assert!(error_message(&r).contains("tweet.write"), "{}", r.body);
    assert_eq!(account(&base, &key, &read_only).await["status"], "active", "not a reconnection matter");
}

async fn a_revoked_access_token_is_refreshed_once_and_the_post_retried(b: Backend) {
    let (w, key, id) = with_account(b).await;
    let (access, _) = tokens_of(&w.app, &id).await;
    w.x.revoke_token(&access).unwrap();
    let r = post(&w.app.base, &key, &id, "After a 401").await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(w.x.counters().refreshes, 1);
    let tweets: Vec<_> = w.x.requests().into_iter().filter(|r| r.path == "/2/tweets").collect();
    assert_eq!(tweets.len(), 2, "the 401, then the retry with the new token");
    let (new_access, _) = tokens_of(&w.app, &id).await;
    assert_ne!(new_access, access, "the new token is stored");
    assert_eq!(account(&w.app.base, &key, &id).await["status"], "active");
}

async fn a_refused_refresh_marks_the_account_and_answers_409(b: Backend) {
    let (w, key, id) = with_account(b).await;
    sqlx::query("update twitter_accounts set access_expires_at = 0").execute(w.app.state.db.pool()).await.unwrap();
    let grant = w.x.grants().into_iter().find(|g| !g.revoked).unwrap();
    w.x.revoke_grant(&grant.id).unwrap();
    let r = post(&w.app.base, &key, &id, "Refused").await;
    assert_eq!((r.status, error_code(&r)), (409, "needs_reconnection".to_owned()), "{}", r.body);
    assert!(error_message(&r).contains("refresh_refused") && error_message(&r).contains("connect link"), "{}", r.body);
    let a = account(&w.app.base, &key, &id).await;
    assert_eq!(a["status"], "needs_reconnection");
    assert_eq!(a["needs_reconnection"]["reason"], "refresh_refused");
    // Marked: the next call does not reach X at all.
    let before = w.x.requests().len();
    assert_eq!(post(&w.app.base, &key, &id, "Again").await.status, 409);
    assert_eq!(w.x.requests().len(), before);
    // A 401 that a refresh cannot cure (the new token refused too) also marks it.
    let (w, key, id) = with_account(b).await;
    let (access, _) = tokens_of(&w.app, &id).await;
    w.x.revoke_token(&access).unwrap();
    w.x.update_switches(|s| s.access_token_lifetime_secs = 0);
    let r = post(&w.app.base, &key, &id, "Twice refused").await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(account(&w.app.base, &key, &id).await["needs_reconnection"]["reason"], "token_rejected");
}

/// The rotation rule on every call: after a new secret is saved, the accounts issued under the
/// old one are marked on their next call without a request to X; a brand's accounts issued by
/// its own app are not touched.
async fn rotation_marks_only_the_accounts_of_the_old_secret_on_their_next_call(b: Backend) {
    let (w, key, on_default, on_coffee) = two_apps(b).await;

    let new_secret = w.x.rotate_secret(ID_A).unwrap();
    assert_eq!(save(&w.owner, ID_A, &new_secret, None).await.status, 200);
    let a = account(&w.app.base, &key, &on_default).await;
    assert_eq!(
        (a["status"].as_str(), a["reconnection_pending"].as_str()),
        (Some("active"), Some("secret_rotated")),
        "{a}"
    );

    let before = w.x.requests().len();
    let r = post(&w.app.base, &key, &on_default, "Old secret").await;
    assert_eq!((r.status, error_code(&r)), (409, "needs_reconnection".to_owned()), "{}", r.body);
    assert!(error_message(&r).contains("secret_rotated"), "{}", r.body);
    assert_eq!(w.x.requests().len(), before, "marked without asking X");
    assert_eq!(account(&w.app.base, &key, &on_default).await["needs_reconnection"]["reason"], "secret_rotated");

    let r = post(&w.app.base, &key, &on_coffee, "Own app, untouched").await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(account(&w.app.base, &key, &on_coffee).await["status"], "active");
}

/// F.30: twenty posts at once on an account whose token has expired: exactly one refresh at X,
/// and all twenty posted with the new token. On PostgreSQL the posts are split between two Perch
/// instances sharing the database.
async fn f30_twenty_concurrent_posts_on_an_expired_token_make_one_refresh(b: Backend) {
    let (w, key, id) = with_account(b).await;
    let second = match b {
        Backend::Postgres => Some(w.app.another_instance().await),
        Backend::Sqlite => None,
    };
    let bases: Vec<String> = match &second {
        Some(s) => vec![w.app.base.clone(), s.base.clone()],
        None => vec![w.app.base.clone()],
    };
    sqlx::query("update twitter_accounts set access_expires_at = 0").execute(w.app.state.db.pool()).await.unwrap();
    let (_, old_refresh) = tokens_of(&w.app, &id).await;
    let posts: Vec<_> = (0..20)
        .map(|i| {
            let (base, key, id) = (bases[i % bases.len()].clone(), key.clone(), id.clone());
            tokio::spawn(async move { post(&base, &key, &id, &format!("Concurrent post {i}")).await })
        })
        .collect();
    for p in posts {
        let r = p.await.unwrap();
        assert_eq!(r.status, 201, "{}", r.body);
    }
    assert_eq!(w.x.counters().refreshes, 1, "one refresh across every request and instance");
    assert_eq!(w.x.tweets().len(), 20);
    let (access, refresh) = tokens_of(&w.app, &id).await;
    assert!(w.x.access_token_is_valid(&access) && w.x.refresh_token_is_valid(refresh.as_ref().unwrap()));
    assert!(!w.x.refresh_token_is_valid(&old_refresh.unwrap()));
}

/// H.37: an instance that died after sending the refresh token to X but before storing X's
/// answer leaves a mark; the next call marks the account instead of sending that token again.
/// An instance that died holding the lease but before sending anything leaves no such mark, and
/// the next call refreshes normally once the lease lapses.
async fn h37_a_refresh_cut_off_by_a_crash_never_sends_the_refresh_token_again(b: Backend) {
    let (w, key, id) = with_account(b).await;
    let pool = w.app.state.db.pool();
    let now = app::server::now();
    // Died before sending: a lapsed lease, nothing sent.
    sqlx::query("update twitter_accounts set access_expires_at = 0, refresh_lease_owner = 'lease_dead', refresh_lease_until = $1")
        .bind(now - 1)
        .execute(pool)
        .await
        .unwrap();
    let r = post(&w.app.base, &key, &id, "After a crash before sending").await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(w.x.counters().refreshes, 1);

    // Died after sending: the token may be spent at X.
    let (_, refresh) = tokens_of(&w.app, &id).await;
    sqlx::query(
        "update twitter_accounts set access_expires_at = 0, refresh_lease_owner = 'lease_dead', refresh_lease_until = $1, refresh_sent_at = $1",
    )
    .bind(now - 1)
    .execute(pool)
    .await
    .unwrap();
    let before = token_requests_of(&w);
    let r = post(&w.app.base, &key, &id, "After a crash while refreshing").await;
    assert_eq!((r.status, error_code(&r)), (409, "needs_reconnection".to_owned()), "{}", r.body);
    assert!(error_message(&r).contains("refresh_interrupted"), "{}", r.body);
    assert_eq!(token_requests_of(&w), before, "the refresh token was not sent again");
    assert!(w.x.refresh_token_is_valid(refresh.as_ref().unwrap()), "(X never saw it a second time)");
    // Reconnecting clears it.
    let done = connect_through(&w.owner, None, None).await;
    assert_eq!(account_of(&done), id);
    assert_eq!(post(&w.app.base, &key, &id, "Reconnected").await.status, 201);
}

async fn disconnect_revokes_at_x_and_deletes_the_tokens(b: Backend) {
    let (w, key, id) = with_account(b).await;
    let (access, refresh) = tokens_of(&w.app, &id).await;
    let r = api(&w.app.base, "DELETE", &format!("/v1/accounts/{id}"), &key, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["data"], json!({ "id": id, "username": "XDevelopers", "revoked_at_x": true }));
    assert!(!w.x.access_token_is_valid(&access) && !w.x.refresh_token_is_valid(&refresh.unwrap()), "revoked at X");
    assert_eq!(w.app.count("twitter_accounts").await, 0);
    assert_eq!(api(&w.app.base, "GET", "/v1/accounts", &key, None).await.json()["data"], json!([]));
    let again = api(&w.app.base, "DELETE", &format!("/v1/accounts/{id}"), &key, None).await;
    assert_eq!(again.status, 404);
    let trail = w.owner.get("/settings/twitter").await;
    assert!(trail.body.contains("Disconnected an X account") && trail.body.contains("API key “CMS”"), "audit trail");
}

// ---- the OpenAPI document --------------------------------------------------------------------

/// The document at `/v1/openapi.json` (generated from the handlers) is a valid OpenAPI 3.1 document whose `$ref`s resolve; every
/// documented operation is routed (not 404/405) and every other method on those paths is 405;
/// the documented schemas' required fields are in real answers.
async fn the_openapi_document_is_valid_and_matches_the_routes(b: Backend) {
    let (w, key, id) = with_account(b).await;
    let r = api(&w.app.base, "GET", "/v1/openapi.json", "", None).await;
    assert_eq!(r.status, 200, "served without a key");
    let doc: Value = r.json();
    let parsed: utoipa::openapi::OpenApi = serde_json::from_value(doc.clone()).expect("a valid OpenAPI 3.1 document");
    assert!(matches!(parsed.openapi, utoipa::openapi::OpenApiVersion::Version31));
    assert_eq!(doc["components"]["securitySchemes"]["apiKey"]["scheme"], "bearer");

    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    if k == "$ref" {
                        out.push(v.as_str().unwrap().to_owned());
                    } else {
                        refs(v, out);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = vec![];
    refs(&doc, &mut all);
    for r in &all {
        let pointer = r.strip_prefix('#').expect("local refs only");
        assert!(doc.pointer(pointer).is_some(), "unresolved $ref {r}");
    }

    let methods = ["get", "post", "put", "patch", "delete"];
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path.replace("{id}", "xac_00000000000000000000000000000000");
        for m in methods {
            let r = api(&w.app.base, &m.to_uppercase(), &concrete, &key, None).await;
            if item.get(m).is_some() {
                documented.insert(format!("{m} {path}"));
                assert_ne!(r.status, 405, "{m} {path} is documented but not routed");
                assert!(
                    !(r.status == 404 && error_message(&r).contains("No such endpoint")),
                    "{m} {path} is documented but not routed"
                );
            } else {
                assert_eq!(r.status, 405, "{m} {path} is routed but not documented: {}", r.body);
            }
        }
    }
    let expected: BTreeSet<String> = [
        "get /v1/openapi.json",
        "get /v1/brands",
        "post /v1/brands",
        "get /v1/accounts",
        "post /v1/accounts/connect",
        "delete /v1/accounts/{id}",
        "post /v1/posts",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(documented, expected);
    let unknown = api(&w.app.base, "GET", "/v1/nothing-here", &key, None).await;
    assert_eq!((unknown.status, error_code(&unknown)), (404, "not_found".to_owned()));

    // Real answers carry the documented required fields.
    let required = |schema: &str| -> Vec<String> {
        doc["components"]["schemas"][schema]["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let brand =
        api(&w.app.base, "POST", "/v1/brands", &key, Some(json!({ "name": "Docs" }))).await.json()["data"].clone();
    let account = account(&w.app.base, &key, &id).await;
    let link =
        api(&w.app.base, "POST", "/v1/accounts/connect", &key, Some(json!({ "platform": "twitter" }))).await.json();
    let post = post(&w.app.base, &key, &id, "Documented").await.json()["data"].clone();
    let error = api(&w.app.base, "GET", "/v1/brands", "", None).await.json();
    for (schema, value) in
        [("Brand", &brand), ("Account", &account), ("ConnectLink", &link), ("Post", &post), ("Error", &error)]
    {
        for field in required(schema) {
            assert!(value.get(&field).is_some(), "{schema} lacks {field}: {value}");
        }
        if let Some(props) = doc["components"]["schemas"][schema]["properties"].as_object() {
            for key in value.as_object().unwrap().keys() {
                assert!(props.contains_key(key), "{schema}.{key} is not documented");
            }
        }
    }
    let codes = doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
        .as_array()
        .unwrap()
        .clone();
    for code in [
        "invalid_api_key",
        "byok_credentials_missing",
        "needs_reconnection",
        "missing_scopes",
        "rate_limited",
        "x_unavailable",
        "not_found",
    ] {
        assert!(codes.contains(&json!(code)), "{code} is documented");
    }
}
