//! Brands, accounts and connect links through the public API.

use super::*;

on_both_databases!(
    brands_are_listed_and_created_with_the_app_they_connect_through,
    accounts_are_listed_with_their_state_and_filtered_by_brand,
    accounts_are_listed_a_page_at_a_time_none_repeated_or_skipped,
    a_connect_link_connects_an_account_from_any_browser_to_its_brand,
    connect_links_are_single_use_expire_and_die_with_their_key,
    a_connect_link_needs_credentials,
);

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
    let odd = api(&w.app.base, "GET", "/v1/accounts?page=2", &key, None).await;
    assert_eq!(odd.status, 400, "{}", odd.body);
    // Marked: the state says why and since when.
    app::server::store::accounts::mark_needs_reconnection(
        w.app.state.db.pool(),
        &crate::common::org_id(&w.owner).await,
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

/// Follows `next_cursor` from `first` (a path with its query, no cursor) to the end; every page's
/// ids in order.
async fn pages(w: &World, key: &str, first: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => first.to_owned(),
            Some(c) => format!("{first}&cursor={c}"),
        };
        let r = api(&w.app.base, "GET", &path, key, None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        let page = r.json();
        out.push(page["data"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect());
        assert_eq!(page["has_more"].as_bool().unwrap(), !page["next_cursor"].is_null(), "{page}");
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
        assert!(out.len() < 50, "the pages end");
    }
}

async fn accounts_are_listed_a_page_at_a_time_none_repeated_or_skipped(b: Backend) {
    let (w, key, first) = with_account(b).await;
    let coffee = brand(&w.owner, "Coffee").await;
    // Seeded within one second: the order falls back on the id, which the cursor must carry too.
    let mut on_default = seed_accounts(&w, None, 6).await;
    let on_coffee = seed_accounts(&w, Some(&coffee), 3).await;
    on_default.push(first);
    let whole = api(&w.app.base, "GET", "/v1/accounts", &key, None).await.json();
    assert_eq!(whole["has_more"], false);
    assert_eq!(whole["next_cursor"], Value::Null);
    let all: Vec<String> =
        whole["data"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(all.len(), 10, "without limit, up to 100 in one page");

    let paged = pages(&w, &key, "/v1/accounts?limit=4").await;
    assert_eq!(paged.iter().map(Vec::len).collect::<Vec<_>>(), [4, 4, 2]);
    assert_eq!(paged.concat(), all, "the pages, end to end, are the whole list in its order");
    let by_brand = pages(&w, &key, &format!("/v1/accounts?brand_id={coffee}&limit=2")).await;
    let mut expected = on_coffee.clone();
    expected.sort_by_key(|id| all.iter().position(|a| a == id));
    assert_eq!(by_brand.concat(), expected, "the brand filter pages too");
    assert_eq!(by_brand.len(), 2);

    // An account disconnected between two pages moves nothing: the next page starts where the
    // last one ended, not at an offset.
    let r = api(&w.app.base, "GET", "/v1/accounts?limit=3", &key, None).await.json();
    let cursor = r["next_cursor"].as_str().unwrap().to_owned();
    let gone = &all[1];
    let d = api(&w.app.base, "DELETE", &format!("/v1/accounts/{gone}"), &key, None).await;
    assert_eq!(d.status, 200, "{}", d.body);
    let next = api(&w.app.base, "GET", &format!("/v1/accounts?limit=3&cursor={cursor}"), &key, None).await.json();
    let next: Vec<&str> = next["data"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(next, all[3..6].iter().map(String::as_str).collect::<Vec<_>>());

    // What is no page of accounts is refused, saying what is allowed.
    for (query, status, field) in [
        ("limit=0", 422, "limit"),
        ("limit=101", 422, "limit"),
        ("limit=-1", 400, ""),
        ("limit=ten", 400, ""),
        ("cursor=not-a-cursor", 422, "cursor"),
        ("cursor=%00", 422, "cursor"),
        ("cursor=YWJjOnhhY18x", 422, "cursor"), // base64url of "abc:xac_1"
    ] {
        let r = api(&w.app.base, "GET", &format!("/v1/accounts?{query}"), &key, None).await;
        assert_eq!(r.status, status, "{query}: {}", r.body);
        if field.is_empty() {
            assert_eq!(error_code(&r), "bad_request", "{query}");
            assert!(error_message(&r).contains("limit (a number from 1 to 100)"), "{}", r.body);
        } else {
            assert_eq!(error_code(&r), "validation", "{query}");
            assert_eq!(r.json()["error"]["field"], field, "{query}: {}", r.body);
        }
    }
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
