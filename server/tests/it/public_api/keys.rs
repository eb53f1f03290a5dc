//! API keys: shown once, stored hashed, revoked at once; every endpoint with missing, malformed, revoked and foreign keys (G.33, G.34, G.35).

use super::*;

on_both_databases!(
    g35_keys_are_shown_once_stored_hashed_listed_by_prefix_and_revoked_at_once,
    a_key_created_without_javascript_is_shown_once_on_the_page,
    only_owners_and_admins_manage_keys,
    every_endpoint_refuses_missing_malformed_and_revoked_keys_and_changes_nothing,
    g33_ids_of_another_organization_answer_404_and_change_nothing,
    g34_credential_and_key_routes_refuse_any_key_for_every_method,
);

/// G.35: a key is 256 random bits, shown in the answer that created it and nowhere else (not
/// in the list, the database, the audit trail or the logs), listed by its prefix with its last
/// use, and refused from the moment it is revoked.
async fn g35_keys_are_shown_once_stored_hashed_listed_by_prefix_and_revoked_at_once(b: Backend) {
    let _logs = capture();
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
    let org = crate::common::org_id(&w.owner).await;
    let hash = app::server::infra::passwords::Passwords::new(1)
        .hash(app::domain::Password::parse(crate::common::PASSWORD.to_owned()).unwrap())
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
    let r = member.call("login", &[("email", "member@acme.example"), ("password", crate::common::PASSWORD)]).await;
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
