//! Connecting X accounts through the organization's or a brand's own X app, end to end against the
//! fake X over loopback: OAuth 2.0 with PKCE (docs/security.md E.24-E.29), the account cards, reconnect,
//! disconnect and revocation (F.32), rotation and the refresh lease (F.30, F.31), tokens at rest
//! and in logs (A.1, B.11), on SQLite and PostgreSQL (H.36).
//!
//! The "browser" is a reqwest client with a cookie jar that follows no redirects: each hop (Perch's
//! Connect, X's consent page, X's redirect to the callback, Perch's redirect to the card) is a
//! request the test makes and checks.
//!
//! Run with `cargo test -p server --test it -- twitter_accounts::`.

use crate::common::leaks::{assert_no_secret, at_rest, capture, logs};
use crate::common::{Backend, brand, org_id, send};
use app::domain::{SCOPES, callback_url};
use app::server::store::accounts::{self, UseError};
use fake_x::{FakeUser, Fault, NewApp};
use serde_json::{Value, json};

use crate::common::connect::*;

on_both_databases!(
    e24_e25_e26_connect_sends_the_exact_authorize_request_and_stores_the_account,
    a_brand_override_connects_its_accounts_and_the_default_the_rest,
    a_card_without_credentials_says_so_instead_of_going_to_x,
    cancel_on_x_lands_on_the_card_and_connects_nothing,
    a_wrong_secret_lands_on_the_card_as_invalid_client,
    callback_mismatch_is_stopped_at_x_and_a_token_level_mismatch_is_explained,
    expired_and_reused_codes_say_try_again,
    e24_missing_tampered_foreign_replayed_and_expired_states_are_refused_before_any_call_to_x,
    missing_scopes_connect_the_account_and_flag_what_to_enable,
    reconnecting_keeps_one_account_and_moves_it_to_the_current_credentials,
    f32_disconnect_revokes_at_x_and_a_failed_revoke_still_disconnects,
    rotation_marks_exactly_the_accounts_of_the_old_secret_or_app,
    e27_two_concurrent_callbacks_with_one_code_make_one_exchange,
    e28_the_exchange_uses_the_credentials_that_started_the_flow,
    a_secret_rotated_at_x_but_not_in_perch_or_removed_credentials_are_found_on_the_next_call,
    f30_f31_expired_tokens_are_refreshed_once_and_refusals_mark_the_account,
    a1_b11_tokens_never_appear_in_pages_urls_logs_or_at_rest,
    g33_another_organization_cannot_see_or_touch_the_accounts,
    deleting_a_brand_revokes_its_accounts_at_x_first,
);

// ---- connecting ------------------------------------------------------------------------------

/// E.24-E.26: X's authorize URL carries exactly what docs/x-api.md lists, a fresh high-entropy state,
/// an S256 challenge and no verifier; the callback stores the account with its profile, the
/// granted scopes and the credentials that issued it.
async fn e24_e25_e26_connect_sends_the_exact_authorize_request_and_stores_the_account(b: Backend) {
    let w = world(b).await;
    let authorize = connect(&w.owner, None).await;
    assert!(authorize.as_str().starts_with(&w.x.authorize_url()), "{authorize}");
    let q = query(&authorize);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], ID_A);
    assert_eq!(q["redirect_uri"], callback_url(&w.app.base), "from configuration (E.26)");
    assert_eq!(q["scope"], SCOPES.join(" "), "the product document's scopes, in its order");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43, "base64url SHA-256");
    assert!(q["state"].len() >= 22, "at least 128 bits of state: {}", q["state"]);
    assert!(!q.contains_key("code_verifier"), "the verifier never leaves the server (E.25)");
    let again = query(&connect(&w.owner, None).await);
    assert_ne!(again["state"], q["state"], "a fresh state per flow");
    assert_ne!(again["code_challenge"], q["code_challenge"], "a fresh verifier per flow");

    let back = at_x(&authorize, "authorize", None, None).await;
    let done = arrive(&w.owner, back.as_str()).await;
    assert_eq!(result_of(&done), "connected", "{done}");
    assert!(done.ends_with("#card-default"), "lands on the card: {done}");
    assert!(!done.contains("code") || !done.contains(&query(&back)["code"]), "no code in Perch's URL (E.29)");

    let exchange = token_requests(&w.x);
    assert_eq!(exchange.len(), 1);
    let t = &exchange[0];
    assert_eq!(t.grant_type.as_deref(), Some("authorization_code"));
    assert_eq!(t.auth_scheme.as_deref(), Some("basic"), "client_secret_basic");
    assert_eq!(t.basic_client_id.as_deref(), Some(ID_A));
    assert_eq!(
        t.fields.get("redirect_uri").map(String::as_str),
        Some(callback_url(&w.app.base).as_str()),
        "the same redirect_uri (E.26)"
    );
    assert!(t.fields.contains_key("code_verifier"));
    assert_eq!(t.fields.get("client_id").map(String::as_str), Some(ID_A));

    let accounts = all_accounts(&w.owner).await;
    assert_eq!(accounts.len(), 1);
    let a = &accounts[0];
    assert_eq!(a["username"], "XDevelopers");
    assert_eq!(a["name"], "X Developers");
    assert_eq!(a["x_user_id"], "2244994945");
    assert_eq!(a["client_id_preview"], "M1M5R3");
    assert_eq!(a["brand_id"], Value::Null);
    assert!(a["avatar_url"].as_str().unwrap().starts_with("https://pbs.twimg.com/"));
    assert_eq!(a["missing_scopes"], json!([]));
    assert_eq!(a["needs_reconnection"], Value::Null);
    assert_eq!(a["id"].as_str(), Some(account_of(&done).as_str()));
    let (credential_id, generation): (String, i64) =
        sqlx::query_as("select credential_id, credential_generation from twitter_accounts")
            .fetch_one(w.app.state.db.pool())
            .await
            .unwrap();
    assert!(credential_id.starts_with("xcr_"));
    assert_eq!(generation, 1);

    // The page itself shows the card with the account (server-rendered).
    let page = w.owner.get("/accounts").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("@XDevelopers") && page.body.contains("M1M5R3"), "{}", page.body);
    assert!(
        page.header("content-security-policy").contains(&format!("form-action 'self' {}", w.x.base_url())),
        "Connect may redirect to X"
    );
}

/// The product document: "Brand-scoped credentials take precedence over the default when
/// connecting a Twitter account to that brand." The fake records which Client ID was used.
async fn a_brand_override_connects_its_accounts_and_the_default_the_rest(b: Backend) {
    let w = world(b).await;
    w.x.register_app(NewApp::new([callback_url(&w.app.base)]).with_credentials(ID_B, SECRET_B));
    let own = brand(&w.owner, "Own App Brand").await;
    let plain = brand(&w.owner, "Default Brand").await;
    assert_eq!(save(&w.owner, ID_B, SECRET_B, Some(&own)).await.status, 201);

    let to_own = connect(&w.owner, Some(&own)).await;
    assert_eq!(query(&to_own)["client_id"], ID_B);
    let back = at_x(&to_own, "authorize", None, None).await;
    assert_eq!(result_of(&arrive(&w.owner, back.as_str()).await), "connected");
    assert_eq!(token_requests(&w.x).last().unwrap().basic_client_id.as_deref(), Some(ID_B));

    let to_plain = connect(&w.owner, Some(&plain)).await;
    assert_eq!(query(&to_plain)["client_id"], ID_A);
    let back = at_x(&to_plain, "authorize", None, None).await;
    assert_eq!(result_of(&arrive(&w.owner, back.as_str()).await), "connected");
    assert_eq!(token_requests(&w.x).last().unwrap().basic_client_id.as_deref(), Some(ID_A));

    let own_card = card(&w.owner, Some(&own)).await;
    assert_eq!(own_card["app"], json!({"client_id_preview": "UHRZZ2", "own": true}));
    assert_eq!(own_card["accounts"][0]["client_id_preview"], "UHRZZ2");
    let plain_card = card(&w.owner, Some(&plain)).await;
    assert_eq!(plain_card["app"], json!({"client_id_preview": "M1M5R3", "own": false}));
    assert_eq!(plain_card["accounts"][0]["client_id_preview"], "M1M5R3");
    // The same X account on two brands is two accounts, one per card.
    assert_eq!(all_accounts(&w.owner).await.len(), 2);
}

async fn a_card_without_credentials_says_so_instead_of_going_to_x(b: Backend) {
    let w = world(b).await;
    let other = w.app.owner("No App Org", "noapp@example.com").await;
    let c = card(&other, None).await;
    assert_eq!(c["app"], Value::Null);
    let r = press(&other, "brand_id", "default").await;
    assert_eq!(r.status, 303);
    let location = r.header("location");
    assert_eq!(result_of(&location), "no_credentials", "back to the card, not to X: {location}");
    let page = other.get(&location).await;
    assert!(
        page.body.contains("Settings → Twitter integration") && page.body.contains("href=\"/settings/twitter\""),
        "{}",
        page.body
    );
    assert!(w.x.requests().is_empty(), "X was never asked");
}

async fn cancel_on_x_lands_on_the_card_and_connects_nothing(b: Backend) {
    let w = world(b).await;
    // X may or may not add error=access_denied (docs/x-api.md): both are a refusal.
    for adds_error in [true, false] {
        w.x.update_switches(|s| s.cancel_adds_access_denied = adds_error);
        let authorize = connect(&w.owner, None).await;
        let back = at_x(&authorize, "cancel", None, None).await;
        assert!(!query(&back).contains_key("code"));
        let done = arrive(&w.owner, back.as_str()).await;
        assert_eq!(result_of(&done), "cancelled", "{done}");
        let page = w.owner.get(&done).await;
        assert!(page.body.contains("cancelled on X"), "the card says so");
    }
    assert!(token_requests(&w.x).is_empty());
    assert!(all_accounts(&w.owner).await.is_empty());
}

async fn a_wrong_secret_lands_on_the_card_as_invalid_client(b: Backend) {
    let w = world(b).await;
    assert_eq!(save(&w.owner, ID_A, WRONG_SECRET, None).await.status, 200);
    let done = connect_through(&w.owner, None, None).await;
    assert_eq!(result_of(&done), "invalid_client", "{done}");
    let page = w.owner.get(&done).await;
    assert!(page.body.contains("invalid_client") && page.body.contains("developer.x.com"), "{}", page.body);
    assert!(all_accounts(&w.owner).await.is_empty());
}

/// docs/x-api.md: an unregistered or inexact callback URL strands the user on X's own page, so the card
/// shows the URL before the user leaves; a mismatch X reports at the token endpoint is explained.
async fn callback_mismatch_is_stopped_at_x_and_a_token_level_mismatch_is_explained(b: Backend) {
    let w = world(b).await;
    let exact = callback_url(&w.app.base);
    w.x.set_callback_urls(ID_A, [format!("{exact}/")]).unwrap();
    let authorize = connect(&w.owner, None).await;
    let stranded = send(reqwest::Client::new().get(authorize.as_str())).await;
    assert!(stranded.body.contains("Something went wrong"), "X's dead end: {}", stranded.body);
    let page = w.owner.get("/accounts").await;
    assert!(
        page.body.contains(&exact) && page.body.contains("no trailing slash"),
        "the card shows the exact callback URL first"
    );

    // A code X issued for another registered callback, brought to Perch's: X refuses the exchange.
    let elsewhere = format!("{}/elsewhere", w.app.base);
    w.x.set_callback_urls(ID_A, [exact.clone(), elsewhere.clone()]).unwrap();
    let mut authorize = connect(&w.owner, None).await;
    let pairs: Vec<(String, String)> = authorize
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "redirect_uri" { elsewhere.clone() } else { v.into_owned() };
            (k.into_owned(), v)
        })
        .collect();
    authorize.query_pairs_mut().clear().extend_pairs(pairs);
    let back = at_x(&authorize, "authorize", None, None).await;
    let q = query(&back);
    let done = arrive(&w.owner, &format!("{exact}?state={}&code={}", q["state"], q["code"])).await;
    assert_eq!(result_of(&done), "redirect_mismatch", "{done}");
    let page = w.owner.get(&done).await;
    assert!(page.body.contains("no trailing slash, no environment suffix"), "{}", page.body);
}

async fn expired_and_reused_codes_say_try_again(b: Backend) {
    let w = world(b).await;
    // Codes live 30 seconds at X; here none at all.
    w.x.update_switches(|s| s.code_lifetime_ms = 0);
    let done = connect_through(&w.owner, None, None).await;
    assert_eq!(result_of(&done), "code_invalid", "{done}");
    w.x.update_switches(|s| s.code_lifetime_ms = 30_000);

    // A used code brought back with a fresh state.
    let authorize = connect(&w.owner, None).await;
    let back = at_x(&authorize, "authorize", None, None).await;
    assert_eq!(result_of(&arrive(&w.owner, back.as_str()).await), "connected");
    let used_code = query(&back)["code"].clone();
    let fresh_state = query(&connect(&w.owner, None).await)["state"].clone();
    let done = arrive(&w.owner, &format!("{}?state={fresh_state}&code={used_code}", callback_url(&w.app.base))).await;
    assert_eq!(result_of(&done), "code_invalid", "{done}");
    let page = w.owner.get(&done).await;
    assert!(page.body.contains("single use and live 30 seconds"), "{}", page.body);
    assert_eq!(all_accounts(&w.owner).await.len(), 1);
}

/// E.24: every bad state is refused, and X is not called for any of them.
async fn e24_missing_tampered_foreign_replayed_and_expired_states_are_refused_before_any_call_to_x(b: Backend) {
    let w = world(b).await;
    let cb = callback_url(&w.app.base);
    let authorize = connect(&w.owner, None).await;
    let back = at_x(&authorize, "authorize", None, None).await;
    let q = query(&back);
    let (state, code) = (q["state"].clone(), q["code"].clone());
    w.x.clear_requests();

    let cases = [
        (format!("{cb}?code={code}"), "state_invalid", "missing"),
        (format!("{cb}?state=&code={code}"), "state_invalid", "empty"),
        (format!("{cb}?state={}x&code={code}", &state[..state.len() - 1]), "state_invalid", "tampered"),
        (format!("{cb}?state={}&code={code}", "A".repeat(600)), "state_invalid", "oversized"),
    ];
    for (url, expected, what) in &cases {
        assert_eq!(result_of(&arrive(&w.owner, url).await), *expected, "{what}");
    }
    // Another browser (another organization's owner) with this browser's state and code.
    let stranger = w.app.owner("Other Org", "other@example.com").await;
    assert_eq!(result_of(&arrive(&stranger, back.as_str()).await), "state_invalid", "foreign");
    // A signed-out browser is sent to sign in, and the flow stays usable for its owner.
    let anonymous = w.app.client();
    assert!(arrive(&anonymous, back.as_str()).await.starts_with("/login"));
    assert!(w.x.requests().is_empty(), "none of these reached X: {:?}", w.x.requests());

    // The real browser still connects; then the same callback again is a replay.
    assert_eq!(result_of(&arrive(&w.owner, back.as_str()).await), "connected");
    w.x.clear_requests();
    assert_eq!(result_of(&arrive(&w.owner, back.as_str()).await), "state_used", "replayed");
    // An expired flow (the user took more than 10 minutes at X).
    let authorize = connect(&w.owner, None).await;
    let back = at_x(&authorize, "authorize", None, None).await;
    sqlx::query("update twitter_oauth_flows set expires_at = 0").execute(w.app.state.db.pool()).await.unwrap();
    w.x.clear_requests();
    let done = arrive(&w.owner, back.as_str()).await;
    assert_eq!(result_of(&done), "state_expired", "{done}");
    assert!(w.x.requests().is_empty(), "replayed and expired states reached X: {:?}", w.x.requests());
    assert_eq!(w.app.count("twitter_oauth_flows").await, 0, "spent flows are gone");
}

async fn missing_scopes_connect_the_account_and_flag_what_to_enable(b: Backend) {
    let w = world(b).await;
    let authorize = connect(&w.owner, None).await;
    let granted = ["tweet.read", "users.read", "offline.access"];
    let back = at_x(&authorize, "authorize", None, Some(&granted)).await;
    let done = arrive(&w.owner, back.as_str()).await;
    assert_eq!(result_of(&done), "missing_scopes", "{done}");
    let a = &all_accounts(&w.owner).await[0];
    assert_eq!(
        a["missing_scopes"],
        json!(["tweet.write", "tweet.moderate.write", "dm.read", "dm.write", "like.write"])
    );
    let page = w.owner.get(&done).await;
    assert!(
        page.body.contains("Missing scopes")
            && page.body.contains("tweet.write")
            && page.body.contains("Read and write and Direct message")
    );

    // Without users.read X will not say who the user is: nothing is stored, the tokens go back.
    let authorize = connect(&w.owner, None).await;
    let back = at_x(&authorize, "authorize", Some("2244994945"), Some(&["tweet.read", "offline.access"])).await;
    let done = arrive(&w.owner, back.as_str()).await;
    assert_eq!(result_of(&done), "identity_refused", "{done}");
    assert!(
        w.x.grants().iter().filter(|g| !g.scopes.contains(&"users.read".to_owned())).all(|g| g.revoked),
        "tokens Perch cannot use are revoked"
    );
    assert_eq!(all_accounts(&w.owner).await.len(), 1);
}

async fn reconnecting_keeps_one_account_and_moves_it_to_the_current_credentials(b: Backend) {
    let w = world(b).await;
    let first = connect_through(&w.owner, None, None).await;
    let id = account_of(&first);
    let (old_access, _) = tokens_of(&w.app, &id).await;
    let again = connect_through(&w.owner, None, None).await;
    assert_eq!(result_of(&again), "reconnected");
    assert_eq!(account_of(&again), id);

    // Reconnect on the account itself, after the secret was rotated at X and in Perch.
    let new_secret = w.x.rotate_secret(ID_A).unwrap();
    assert_eq!(save(&w.owner, ID_A, &new_secret, None).await.status, 200);
    assert_eq!(check(&w.owner, &id).await.json(), json!("needs_reconnection"));
    let r = press(&w.owner, "account_id", &id).await;
    assert_eq!(r.status, 303);
    let back = at_x(&url::Url::parse(&r.header("location")).unwrap(), "authorize", None, None).await;
    let done = arrive(&w.owner, back.as_str()).await;
    assert_eq!(result_of(&done), "reconnected", "{done}");
    let accounts = all_accounts(&w.owner).await;
    assert_eq!(accounts.len(), 1, "never a duplicate");
    assert_eq!(accounts[0]["needs_reconnection"], Value::Null, "the mark is cleared");
    assert_eq!(accounts[0]["will_need_reconnection"], Value::Null);
    let generation: i64 = sqlx::query_scalar("select credential_generation from twitter_accounts")
        .fetch_one(w.app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(generation, 2, "on the current credentials");
    assert_ne!(tokens_of(&w.app, &id).await.0, old_access);
    assert_eq!(check(&w.owner, &id).await.json(), json!("working"));

    // Reconnecting while signed in to X as someone else connects that account and says so.
    w.x.add_user(FakeUser::new("1500000000000000001", "Other Person", "someoneelse"));
    let r = press(&w.owner, "account_id", &id).await;
    let back =
        at_x(&url::Url::parse(&r.header("location")).unwrap(), "authorize", Some("1500000000000000001"), None).await;
    let done = arrive(&w.owner, back.as_str()).await;
    assert_eq!(result_of(&done), "other_account", "{done}");
    assert!(w.owner.get(&done).await.body.contains("@someoneelse"));
    assert_eq!(all_accounts(&w.owner).await.len(), 2);
    // An unknown account cannot be reconnected.
    assert_eq!(press(&w.owner, "account_id", "xac_nope").await.status, 404);
}

async fn f32_disconnect_revokes_at_x_and_a_failed_revoke_still_disconnects(b: Backend) {
    let w = world(b).await;
    let id = account_of(&connect_through(&w.owner, None, None).await);
    let (access, refresh) = tokens_of(&w.app, &id).await;
    let r = w.owner.call("twitter/accounts/disconnect", &[("account_id", &id)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let revokes: Vec<_> = w.x.requests().into_iter().filter(|r| r.path == "/2/oauth2/revoke").collect();
    assert_eq!(r.json(), json!({"username": "XDevelopers", "revoked": true}), "{revokes:?}");
    let revokes: Vec<_> = w.x.requests().into_iter().filter(|r| r.path == "/2/oauth2/revoke").collect();
    let hints: Vec<_> = revokes.iter().map(|r| r.token_type_hint.clone().unwrap_or_default()).collect();
    assert_eq!(hints, ["refresh_token", "access_token"], "token_type_hint included");
    assert!(revokes.iter().all(|r| r.basic_client_id.as_deref() == Some(ID_A)));
    assert!(!w.x.access_token_is_valid(&access) && !w.x.refresh_token_is_valid(&refresh.unwrap()), "dead at X");
    assert_eq!(w.app.count("twitter_accounts").await, 0, "and deleted here");

    // X failing to revoke still disconnects locally, and says so.
    let id = account_of(&connect_through(&w.owner, None, None).await);
    w.x.update_switches(|s| s.revoke_fault = Fault::ServerError);
    let r = w.owner.call("twitter/accounts/disconnect", &[("account_id", &id)]).await;
    assert_eq!(r.json(), json!({"username": "XDevelopers", "revoked": false}));
    assert_eq!(w.app.count("twitter_accounts").await, 0);
    let page = w.owner.get("/accounts?disconnected=XDevelopers&revoked=0").await;
    assert!(page.body.contains("could not be asked to revoke"), "{}", page.body);
    // Twice is a 404, not a 500.
    assert_eq!(w.owner.call("twitter/accounts/disconnect", &[("account_id", &id)]).await.status, 404);
}

/// The product document: accounts issued under the old secret "will be marked as needing
/// reconnection on the next API call"; the settings page lists them right after the save.
async fn rotation_marks_exactly_the_accounts_of_the_old_secret_or_app(b: Backend) {
    let w = world(b).await;
    w.x.register_app(NewApp::new([callback_url(&w.app.base)]).with_credentials(ID_B, SECRET_B));
    let own = brand(&w.owner, "Own App Brand").await;
    assert_eq!(save(&w.owner, ID_B, SECRET_B, Some(&own)).await.status, 201);
    let on_default = account_of(&connect_through(&w.owner, None, None).await);
    w.x.add_user(FakeUser::new("1500000000000000002", "Brand Voice", "brandvoice"));
    let on_override = account_of(&connect_through(&w.owner, Some(&own), Some("1500000000000000002")).await);

    // Rotate app A's secret at X and paste it into Perch.
    let new_secret = w.x.rotate_secret(ID_A).unwrap();
    let r = save(&w.owner, ID_A, &new_secret, None).await;
    assert_eq!(r.json()["change"], "secret_rotated");
    let listed: Vec<_> =
        r.json()["accounts_to_reconnect"].as_array().unwrap().iter().map(|a| a["username"].clone()).collect();
    assert_eq!(listed, [json!("XDevelopers")], "the save's answer lists exactly the stale account");
    let settings = w.owner.get("/settings/twitter?done=secret_rotated&for=default").await;
    assert!(
        settings.body.contains("1 X account will need reconnecting") && settings.body.contains("@XDevelopers"),
        "{}",
        settings.body
    );
    let listed = w.owner.call("twitter/settings", &[]).await.json()["to_reconnect"].clone();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["username"], "XDevelopers");
    assert_eq!(listed[0]["card"], "Organization default");
    let a = card(&w.owner, None).await["accounts"][0].clone();
    assert_eq!(a["will_need_reconnection"], "secret_rotated");
    assert_eq!(a["needs_reconnection"], Value::Null, "marked on its next API call, not before");

    // The next API call marks it, and only it.
    match accounts::usable(&w.app.state, &org_id(&w.owner).await, &on_default, None).await {
        Err(UseError::NeedsReconnection(r)) => assert_eq!(r.as_str(), "secret_rotated"),
        other => panic!("expected a mark, got {other:?}"),
    }
    assert!(accounts::usable(&w.app.state, &org_id(&w.owner).await, &on_override, None).await.is_ok());
    let a = card(&w.owner, None).await["accounts"][0].clone();
    assert_eq!(a["needs_reconnection"]["reason"], "secret_rotated");
    assert_eq!(card(&w.owner, Some(&own)).await["accounts"][0]["needs_reconnection"], Value::Null);
    let page = w.owner.get("/accounts").await;
    assert!(
        page.body.contains("Needs reconnection")
            && page.body.contains("Client Secret of the X app it connected through was replaced")
    );

    // A new Client ID for the brand (another app) marks the brand's account the same way.
    x_register_c(&w);
    let r = save(&w.owner, ID_C, SECRET_B, Some(&own)).await;
    assert_eq!(r.json()["change"], "app_replaced");
    let names: Vec<_> = r.json()["accounts_to_reconnect"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["username"].as_str().unwrap().to_owned())
        .collect();
    assert!(names.contains(&"brandvoice".to_owned()), "{names:?}");
    assert_eq!(check(&w.owner, &on_override).await.json(), json!("needs_reconnection"));
    assert_eq!(card(&w.owner, Some(&own)).await["accounts"][0]["needs_reconnection"]["reason"], "app_replaced");
    // Audit: Perch says what it found.
    let trail = w.owner.call("twitter/settings", &[]).await.json()["audit"].to_string();
    assert!(trail.contains("Marked an X account as needing reconnection") && trail.contains("Connected an X account"));
}

const ID_C: &str = "aFlnQ2ZyTDFzcE54bnlWbWloQV86MTpjaQ";
fn x_register_c(w: &World) {
    w.x.register_app(NewApp::new([callback_url(&w.app.base)]).with_credentials(ID_C, SECRET_B));
}

/// E.27: the second of two simultaneous callbacks with one state and code finds the flow taken.
async fn e27_two_concurrent_callbacks_with_one_code_make_one_exchange(b: Backend) {
    let w = world(b).await;
    let authorize = connect(&w.owner, None).await;
    let back = at_x(&authorize, "authorize", None, None).await;
    let (one, two) = tokio::join!(arrive(&w.owner, back.as_str()), arrive(&w.owner, back.as_str()));
    let mut results = [result_of(&one), result_of(&two)];
    results.sort();
    assert_eq!(results, ["connected", "state_used"]);
    assert_eq!(token_requests(&w.x).len(), 1, "one exchange");
    assert_eq!(w.x.counters().code_exchanges, 1);
    assert_eq!(all_accounts(&w.owner).await.len(), 1);
}

/// E.28: replacing the credentials while the user is at X does not change who exchanges the code.
async fn e28_the_exchange_uses_the_credentials_that_started_the_flow(b: Backend) {
    let w = world(b).await;
    w.x.register_app(NewApp::new([callback_url(&w.app.base)]).with_credentials(ID_B, SECRET_B));
    let authorize = connect(&w.owner, None).await;
    assert_eq!(save(&w.owner, ID_B, SECRET_B, None).await.json()["change"], "app_replaced");
    let back = at_x(&authorize, "authorize", None, None).await;
    let done = arrive(&w.owner, back.as_str()).await;
    assert_eq!(result_of(&done), "connected");
    assert_eq!(token_requests(&w.x)[0].basic_client_id.as_deref(), Some(ID_A), "the flow's own app");
    // Its tokens belong to the replaced app: it will need reconnecting, and the card says so.
    assert_eq!(card(&w.owner, None).await["accounts"][0]["will_need_reconnection"], "app_replaced");
}

/// docs/x-api.md "Rotating the Client Secret": whether X kills issued tokens at once is not on record,
/// so both ways: either the token or the refresh fails, and the account is marked with what to do.
async fn a_secret_rotated_at_x_but_not_in_perch_or_removed_credentials_are_found_on_the_next_call(b: Backend) {
    let w = world(b).await;
    for kills in [true, false] {
        w.x.update_switches(|s| s.rotation_kills_tokens = kills);
        let secret = w.x.app(ID_A).unwrap().client_secret;
        assert_eq!(save(&w.owner, ID_A, &secret, None).await.status, 200);
        let id = account_of(&connect_through(&w.owner, None, None).await);
        w.x.rotate_secret(ID_A).unwrap();
        if kills {
            // The access token dies with the old secret; the refresh with the old secret fails.
            assert_eq!(check(&w.owner, &id).await.json(), json!("needs_reconnection"), "kills = {kills}");
        } else {
            // The token still works until it expires; then the refresh fails.
            assert_eq!(check(&w.owner, &id).await.json(), json!("working"), "kills = {kills}");
            sqlx::query("update twitter_accounts set access_expires_at = 0")
                .execute(w.app.state.db.pool())
                .await
                .unwrap();
            assert_eq!(check(&w.owner, &id).await.json(), json!("needs_reconnection"), "kills = {kills}");
        }
        let a = card(&w.owner, None).await["accounts"][0].clone();
        assert_eq!(a["needs_reconnection"]["reason"], "app_refused", "kills = {kills}: {a}");
        let page = w.owner.get("/accounts").await;
        assert!(page.body.contains("Paste the current secret in Settings"), "kills = {kills}");
        assert_eq!(w.owner.call("twitter/accounts/disconnect", &[("account_id", &id)]).await.status, 200);
    }

    // Credentials removed altogether: nothing can refresh the tokens.
    let secret = w.x.app(ID_A).unwrap().client_secret;
    assert_eq!(save(&w.owner, ID_A, &secret, None).await.status, 200);
    let id = account_of(&connect_through(&w.owner, None, None).await);
    let r = send(w.owner.http.delete(format!("{}{CRED}", w.owner.base)).header("origin", &w.owner.base)).await;
    assert_eq!(r.status, 204);
    assert_eq!(card(&w.owner, None).await["accounts"][0]["will_need_reconnection"], "credentials_removed");
    assert_eq!(check(&w.owner, &id).await.json(), json!("needs_reconnection"));
    assert_eq!(card(&w.owner, None).await["accounts"][0]["needs_reconnection"]["reason"], "credentials_removed");
}

async fn f30_f31_expired_tokens_are_refreshed_once_and_refusals_mark_the_account(b: Backend) {
    let w = world(b).await;
    let id = account_of(&connect_through(&w.owner, None, None).await);
    let org = org_id(&w.owner).await;
    let expire = || async {
        sqlx::query("update twitter_accounts set access_expires_at = 0").execute(w.app.state.db.pool()).await.unwrap();
    };

    // Five calls at once on an expired token: one refresh, all five served (F.30).
    expire().await;
    let (_, old_refresh) = tokens_of(&w.app, &id).await;
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let (state, org, id) = (w.app.state.clone(), org.clone(), id.clone());
            tokio::spawn(async move {
                accounts::usable(&state, &org, &id, None).await.map(|_| ()).map_err(|e| e.to_string())
            })
        })
        .collect();
    for call in calls {
        call.await.unwrap().expect("every concurrent call is served");
    }
    assert_eq!(w.x.counters().refreshes, 1, "one refresh in flight at a time");
    let (access, refresh) = tokens_of(&w.app, &id).await;
    assert!(
        w.x.access_token_is_valid(&access) && w.x.refresh_token_is_valid(refresh.as_ref().unwrap()),
        "the new pair is what is stored"
    );
    assert!(!w.x.refresh_token_is_valid(&old_refresh.unwrap()), "X rotated the refresh token");
    assert_eq!(check(&w.owner, &id).await.json(), json!("working"));

    // X down: the call fails, the account is not marked, nothing is retried in a loop (F.31).
    expire().await;
    w.x.update_switches(|s| s.token_fault = Fault::ServerError);
    let before = token_requests(&w.x).len();
    assert_eq!(check(&w.owner, &id).await.json(), json!("unreachable"));
    assert_eq!(token_requests(&w.x).len(), before + 1);
    assert_eq!(card(&w.owner, None).await["accounts"][0]["needs_reconnection"], Value::Null);
    w.x.update_switches(|s| s.token_fault = Fault::None);

    // The grant revoked at X: the refresh is refused once, and the account is marked.
    let grant = w.x.grants().into_iter().find(|g| !g.revoked).unwrap();
    w.x.revoke_grant(&grant.id).unwrap();
    let before = token_requests(&w.x).len();
    assert_eq!(check(&w.owner, &id).await.json(), json!("needs_reconnection"));
    assert_eq!(token_requests(&w.x).len(), before + 1, "no retry after a refusal");
    assert_eq!(card(&w.owner, None).await["accounts"][0]["needs_reconnection"]["reason"], "refresh_refused");
    let page = w.owner.get(&format!("/accounts?check=needs_reconnection&account={id}")).await;
    assert!(page.body.contains("needs to be reconnected") && page.body.contains("refresh token"), "{}", page.body);
    // Further calls do not go to X at all.
    let before = w.x.requests().len();
    assert_eq!(check(&w.owner, &id).await.json(), json!("needs_reconnection"));
    assert_eq!(w.x.requests().len(), before);
}

/// A.1, B.11: the tokens Perch holds, the code and the state appear in no page, no Perch URL, no
/// log line, and not in the database file or dump.
async fn a1_b11_tokens_never_appear_in_pages_urls_logs_or_at_rest(b: Backend) {
    let _logs = capture();
    let w = world(b).await;
    let authorize = connect(&w.owner, None).await;
    let back = at_x(&authorize, "authorize", None, None).await;
    let q = query(&back);
    let done = arrive(&w.owner, back.as_str()).await;
    let id = account_of(&done);
    sqlx::query("update twitter_accounts set access_expires_at = 0").execute(w.app.state.db.pool()).await.unwrap();
    assert_eq!(check(&w.owner, &id).await.json(), json!("working"), "a refresh, for a second pair of tokens");
    let (access, refresh) = tokens_of(&w.app, &id).await;
    let refresh = refresh.unwrap();

    let mut seen = String::new();
    for path in ["/accounts", "/settings/twitter", &done, "/brands"] {
        let r = w.owner.get(path).await;
        seen.push_str(&format!("{path}\n{:?}\n{}\n", r.headers, r.body));
    }
    for name in ["twitter/accounts", "twitter/settings"] {
        seen.push_str(&w.owner.call(name, &[]).await.body);
    }
    seen.push_str(&done);
    let log = logs();
    let stored = at_rest(&w.app.db).await;
    for (what, secret) in
        [("access token", access.as_str()), ("refresh token", refresh.as_str()), ("code", q["code"].as_str())]
    {
        assert_no_secret(&format!("pages and answers ({what})"), &seen, secret);
        assert_no_secret(&format!("the log ({what})"), &log, secret);
        assert_no_secret(&format!("the database ({what})"), &stored, secret);
    }
    assert_no_secret("the log (state)", &log, &q["state"]);
    assert_no_secret("the database (state)", &stored, &q["state"]);
}

/// G.33: another organization's ids behave as if they did not exist.
async fn g33_another_organization_cannot_see_or_touch_the_accounts(b: Backend) {
    let w = world(b).await;
    let id = account_of(&connect_through(&w.owner, None, None).await);
    let stranger = w.app.owner("Other Org", "stranger@example.com").await;
    assert!(all_accounts(&stranger).await.is_empty());
    assert_eq!(check(&stranger, &id).await.status, 404);
    assert_eq!(stranger.call("twitter/accounts/disconnect", &[("account_id", &id)]).await.status, 404);
    assert_eq!(press(&stranger, "account_id", &id).await.status, 404);
    assert_eq!(w.app.count("twitter_accounts").await, 1);
    // And an API key is refused on these server functions like on every /api/twitter/ route.
    let r = send(
        w.owner
            .http
            .post(format!("{}/api/twitter/accounts/disconnect", w.owner.base))
            .header("authorization", "Bearer pk_live_x")
            .form(&[("account_id", &id)]),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = send(
        w.owner
            .http
            .post(format!("{}{CONNECT}", w.owner.base))
            .header("authorization", "Bearer pk_live_x")
            .form(&[("brand_id", "default")]),
    )
    .await;
    assert_eq!(r.status, 403, "Connect is a dashboard button, not an API");
    assert_eq!(w.app.count("twitter_oauth_flows").await, 0);
    assert_eq!(w.app.count("twitter_accounts").await, 1);
}

/// A brand's accounts go with it, and their grants at X too (F.32), not only the rows.
async fn deleting_a_brand_revokes_its_accounts_at_x_first(b: Backend) {
    let w = world(b).await;
    let doomed = brand(&w.owner, "Doomed Brand").await;
    let kept = account_of(&connect_through(&w.owner, None, None).await);
    let gone = account_of(&connect_through(&w.owner, Some(&doomed), None).await);
    let (access, refresh) = tokens_of(&w.app, &gone).await;
    let r = w.owner.call("brands/delete", &[("id", &doomed)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!w.x.access_token_is_valid(&access) && !w.x.refresh_token_is_valid(&refresh.unwrap()), "revoked at X");
    let ids: Vec<String> = all_accounts(&w.owner).await.iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, [kept]);
    let trail = w.owner.call("twitter/settings", &[]).await.json()["audit"].to_string();
    assert!(trail.contains("Disconnected an X account") && trail.contains("Doomed Brand"), "{trail}");
}
