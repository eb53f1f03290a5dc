//! After connecting: disconnect and revocation, rotation, refresh, secrets, tenants and deleting a brand (A, F, G).

use super::*;

on_both_databases!(
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
