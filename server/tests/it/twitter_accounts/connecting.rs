//! Connecting: the authorize request, the callback and every way it can end, scopes, reconnecting (docs/security.md E).

use super::*;

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
);

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
