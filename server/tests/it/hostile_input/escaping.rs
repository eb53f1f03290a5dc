//! H.40: markup in every name a user or X chooses is shown as text, in pages and titles.

use super::*;

on_both_databases!(
    h40_brand_names_are_escaped_in_text_attributes_and_title,
    h40_organization_names_are_escaped_on_every_dashboard_page,
    h40_api_key_names_are_escaped_on_the_keys_page_and_the_audit_trail,
    h40_x_display_names_and_usernames_are_escaped_on_every_page_that_shows_them,
);

/// H.40: brand names on the brand list, the brand's page (its `<title>`, heading, breadcrumb,
/// the rename field's value and the delete confirmation), the accounts page's cards, and the
/// Twitter settings (its brand table and the audit trail, which names the brand whose X app
/// was saved).
async fn h40_brand_names_are_escaped_in_text_attributes_and_title(b: Backend) {
    let w = world(b).await;
    let mut ids = Vec::new();
    for p in PAYLOADS {
        let id = brand(&w.owner, p).await;
        assert_eq!(w.owner.call("brands/get", &[("id", &id)]).await.json()["name"], p, "stored as typed");
        assert_eq!(save(&w.owner, ID_B, SECRET_B, Some(&id)).await.status, 201);
        ids.push(id);
    }
    let all: Vec<String> = PAYLOADS.iter().map(|p| (*p).to_owned()).collect();
    assert_escaped("/brands", &page(&w.owner, "/brands").await, &all, Some("Brands · Perch"));
    for (p, id) in PAYLOADS.iter().zip(&ids) {
        let title = format!("{p} · Perch");
        for path in [format!("/brands/{id}"), format!("/brands/{id}?confirm=delete")] {
            let r = page(&w.owner, &path).await;
            assert_escaped(&path, &r, &[(*p).to_owned()], Some(&title));
        }
    }
    assert_escaped("/accounts", &page(&w.owner, "/accounts").await, &all, Some("X accounts · Perch"));
    assert_escaped(
        "/settings/twitter",
        &page(&w.owner, "/settings/twitter").await,
        &all,
        Some("Twitter integration · Perch"),
    );
}

/// H.40: the organization's name in the top bar of every dashboard page, and on Settings (as
/// text and as the rename field's value), whatever name it was signed up or renamed with.
async fn h40_organization_names_are_escaped_on_every_dashboard_page(b: Backend) {
    let app = TestApp::spawn(b).await;
    let c = app.owner(PAYLOADS[0], "owner@acme.example").await;
    let id = brand(&c, "Coffee").await;
    for (i, p) in PAYLOADS.iter().enumerate() {
        if i > 0 {
            let r = c.call("org/rename", &[("org_name", p)]).await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
        assert_eq!(c.viewer().await["org_name"], *p, "stored as typed");
        for path in DASHBOARD_PAGES.iter().map(|p| (*p).to_owned()).chain([format!("/brands/{id}")]) {
            assert_escaped(&path, &page(&c, &path).await, &[(*p).to_owned()], None);
        }
    }
}

/// H.40: API key names on the keys page (the list, the revoke buttons' labels, the banner after
/// a revocation, the box that shows a key created without JavaScript) and in the audit trail,
/// which names the key whose connect link connected an account.
async fn h40_api_key_names_are_escaped_on_the_keys_page_and_the_audit_trail(b: Backend) {
    let w = world(b).await;
    let mut keys = Vec::new();
    for p in PAYLOADS {
        let r = w.owner.call("keys/create", &[("name", p)]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["view"]["name"], p, "stored as typed");
        keys.push((r.json()["key"].as_str().unwrap().to_owned(), r.json()["view"]["id"].as_str().unwrap().to_owned()));
    }
    let all: Vec<String> = PAYLOADS.iter().map(|p| (*p).to_owned()).collect();
    assert_escaped("/settings/api-keys", &page(&w.owner, "/settings/api-keys").await, &all, Some("API keys · Perch"));

    // A connect link made with each key puts the key's name in the audit trail.
    for (i, (key, _)) in keys.iter().enumerate() {
        let user = format!("170000000000000000{i}");
        w.x.set_next_user(FakeUser::new(user.clone(), "Someone", format!("someone{i}")));
        let r = send(
            reqwest::Client::new()
                .post(format!("{}/v1/accounts/connect", w.app.base))
                .bearer_auth(key)
                .json(&json!({"platform": "twitter"})),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let back =
            at_x(&url::Url::parse(r.json()["auth_url"].as_str().unwrap()).unwrap(), "authorize", Some(&user), None)
                .await;
        let done = send(reqwest::Client::new().get(back.as_str())).await;
        assert_escaped("the connect link's page", &done, &[], Some("Connect your X account · Perch"));
    }
    let trail: Vec<String> = PAYLOADS.iter().map(|p| format!("API key “{p}” (connect link)")).collect();
    assert_escaped("/settings/twitter", &page(&w.owner, "/settings/twitter").await, &trail, None);

    // Revoked: the banner names the key.
    let r = w.owner.post_form("keys/revoke", &[("key_id", &keys[0].1)], "/settings/api-keys").await;
    assert!((300..400).contains(&r.status), "back to the page: {} {}", r.status, r.body);
    let back = r.header("location");
    assert!(back.contains("revoked="), "{back}");
    assert_escaped(
        "the keys page after a revocation",
        &page(&w.owner, &back).await,
        &[format!("Revoked “{}”", PAYLOADS[0])],
        None,
    );
    // Created without JavaScript: the page that shows the key once names it.
    let r = w.owner.post_form("keys/create", &[("name", PAYLOADS[1])], "/settings/api-keys").await;
    assert!((300..400).contains(&r.status), "back to the page: {} {}", r.status, r.body);
    assert_escaped(
        "the keys page with a new key",
        &page(&w.owner, &r.header("location")).await,
        &[format!("Key “{}” created.", PAYLOADS[1])],
        None,
    );
}

/// H.40: what an X user chose (display name, username) on the accounts page (the account's
/// name, handle, avatar initial, `data-username` and the buttons' labels), in the results of
/// Connect, Check and Disconnect, in the audit trail, and on the page at the end of a connect
/// link, which a stranger sees.
async fn h40_x_display_names_and_usernames_are_escaped_on_every_page_that_shows_them(b: Backend) {
    let w = world(b).await;
    let mut accounts = Vec::new();
    for (i, p) in PAYLOADS.iter().enumerate() {
        // The username of one user is the display name of the next: every payload is both.
        let (user, name, username) = (format!("180000000000000000{i}"), *p, PAYLOADS[(i + 1) % PAYLOADS.len()]);
        w.x.set_next_user(FakeUser::new(user.clone(), name, username));
        let done = connect_through(&w.owner, None, Some(&user)).await;
        assert_eq!(result_of(&done), "connected", "{done}");
        let handle = format!("@{username}");
        assert_escaped(
            "the connect result",
            &page(&w.owner, &done).await,
            &[name.to_owned(), format!("{handle} is connected")],
            None,
        );
        let id = account_of(&done);
        let r = check(&w.owner, &id).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let checked = app::api::accounts::check_url(app::domain::CheckResult::Working, &id);
        assert_escaped("the check result", &page(&w.owner, &checked).await, &[handle], None);
        accounts.push(id);
    }
    let all: Vec<String> = PAYLOADS.iter().map(|p| (*p).to_owned()).collect();
    assert_escaped("/accounts", &page(&w.owner, "/accounts").await, &all, Some("X accounts · Perch"));

    // The page at the end of a connect link.
    let key = w.owner.call("keys/create", &[("name", "Onboarding")]).await.json()["key"].as_str().unwrap().to_owned();
    w.x.set_next_user(FakeUser::new("1900000000000000000", PAYLOADS[1], PAYLOADS[0]));
    let r = send(
        reqwest::Client::new()
            .post(format!("{}/v1/accounts/connect", w.app.base))
            .bearer_auth(&key)
            .json(&json!({"platform": "twitter"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let back = at_x(
        &url::Url::parse(r.json()["auth_url"].as_str().unwrap()).unwrap(),
        "authorize",
        Some("1900000000000000000"),
        None,
    )
    .await;
    let done = send(reqwest::Client::new().get(back.as_str())).await;
    assert_escaped(
        "the connect link's page",
        &done,
        &[format!("@{}", PAYLOADS[0])],
        Some("Connect your X account · Perch"),
    );

    // Disconnect: its banner, then the audit trail, name the username.
    for (i, id) in accounts.iter().enumerate() {
        let r = w.owner.post_form("twitter/accounts/disconnect", &[("account_id", id)], "/accounts").await;
        assert!((300..400).contains(&r.status), "back to the page: {} {}", r.status, r.body);
        let username = PAYLOADS[(i + 1) % PAYLOADS.len()];
        assert_escaped(
            "the disconnect result",
            &page(&w.owner, &r.header("location")).await,
            &[format!("@{username}")],
            None,
        );
    }
    let trail: Vec<String> = PAYLOADS.iter().map(|p| format!("@{p}")).collect();
    assert_escaped("/settings/twitter", &page(&w.owner, "/settings/twitter").await, &trail, None);
}
