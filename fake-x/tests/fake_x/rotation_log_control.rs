//! Secret rotation at X, the request log and the control plane.

use super::*;

#[tokio::test]
async fn rotation_refuses_the_old_secret_and_kills_tokens_by_default() {
    let h = setup().await;
    let tokens = h.connect().await;
    let pending = h.authorize().await;
    let new_secret = h.fake.rotate_secret(&h.app.client_id).unwrap();
    assert_eq!(new_secret.len(), 50);

    let (status, body) = h.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::UNAUTHORIZED, UNAUTHORIZED_CLIENT),
        "old secret at the token endpoint"
    );
    let (status, body) =
        h.revoke(&[("token", tokens["access_token"].as_str().unwrap()), ("token_type_hint", "access_token")]).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::UNAUTHORIZED, UNAUTHORIZED_CLIENT),
        "old secret at the revoke endpoint"
    );

    assert_eq!(
        problem(h.users_me(tokens["access_token"].as_str().unwrap(), "").await).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = h
        .token_as(
            &h.app.client_id,
            &new_secret,
            &[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())],
        )
        .await;
    assert_eq!((status, body.as_str()), (StatusCode::BAD_REQUEST, INVALID_TOKEN));
    let (status, _) = h
        .token_as(
            &h.app.client_id,
            &new_secret,
            &[
                ("grant_type", "authorization_code"),
                ("code", &pending.code),
                ("redirect_uri", CALLBACK),
                ("code_verifier", &pending.verifier),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "codes issued before the rotation die too");
}

#[tokio::test]
async fn rotation_keeps_issued_tokens_when_switched_off() {
    let h = setup().await;
    h.fake.update_switches(|s| s.rotation_kills_tokens = false);
    let tokens = h.connect().await;
    let new_secret = h.fake.rotate_secret(&h.app.client_id).unwrap();
    assert_eq!(
        h.refresh(tokens["refresh_token"].as_str().unwrap()).await.0,
        StatusCode::UNAUTHORIZED,
        "the old secret still fails"
    );
    assert_eq!(h.users_me(tokens["access_token"].as_str().unwrap(), "").await.status(), StatusCode::OK);
    let (status, _) = h
        .token_as(
            &h.app.client_id,
            &new_secret,
            &[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

// ---- request log -------------------------------------------------------------------------------

#[tokio::test]
async fn the_request_log_records_client_ids_and_no_secret_or_token() {
    let h = setup().await;
    let authorized = h.authorize().await;
    let (_, body) = h.exchange(&authorized).await;
    let tokens: Value = serde_json::from_str(&body).unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (_, body) = h.refresh(refresh).await;
    let refreshed: Value = serde_json::from_str(&body).unwrap();
    h.users_me(access, "").await;
    h.revoke(&[("token", access), ("token_type_hint", "access_token"), ("client_id", &h.app.client_id)]).await;
    h.http
        .post(h.fake.token_url())
        .form(&[("grant_type", "refresh_token"), ("client_secret", h.app.client_secret.as_str())])
        .send()
        .await
        .unwrap();

    let log = h.fake.requests();
    let paths: Vec<&str> = log.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/i/oauth2/authorize",
            "/i/oauth2/authorize/decision",
            "/2/oauth2/token",
            "/2/oauth2/token",
            "/2/users/me",
            "/2/oauth2/revoke",
            "/2/oauth2/token"
        ]
    );
    assert_eq!(log[0].client_id.as_deref(), Some(h.app.client_id.as_str()));
    assert_eq!(log[0].fields.get("redirect_uri").map(String::as_str), Some(CALLBACK));
    let exchange = &log[2];
    assert_eq!(exchange.basic_client_id.as_deref(), Some(h.app.client_id.as_str()));
    assert_eq!(exchange.client_id.as_deref(), Some(h.app.client_id.as_str()));
    assert_eq!(exchange.grant_type.as_deref(), Some("authorization_code"));
    assert_eq!(exchange.fields.get("code"), Some(&fingerprint(&authorized.code)));
    assert_eq!(exchange.status, Some(200));
    assert_eq!(log[3].grant_type.as_deref(), Some("refresh_token"));
    assert_eq!(log[4].bearer, Some(fingerprint(access)));
    assert_eq!(log[5].token_type_hint.as_deref(), Some("access_token"));
    assert_eq!((log[6].auth_scheme.as_deref(), log[6].basic_client_id.as_deref()), (None, None));
    assert_eq!(log[6].fields.get("client_secret").map(String::as_str), Some("<redacted>"));
    assert_eq!(log[6].status, Some(401));

    let text = serde_json::to_string(&log).unwrap();
    for secret in [
        h.app.client_secret.as_str(),
        authorized.code.as_str(),
        authorized.verifier.as_str(),
        access,
        refresh,
        refreshed["access_token"].as_str().unwrap(),
        refreshed["refresh_token"].as_str().unwrap(),
    ] {
        assert!(!text.contains(secret), "the log holds a secret or a token");
    }
    // The Basic header itself (base64 of id:secret) is not kept either.
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", h.app.client_id, h.app.client_secret));
    assert!(!text.contains(&basic));
}

// ---- control plane --------------------------------------------------------------------------

#[tokio::test]
async fn tokens_issued_by_the_control_plane_skip_the_browser() {
    let h = setup().await;
    let pair = h.tokens(&["tweet.read", "users.read"]);
    assert_eq!(pair.scope, "tweet.read users.read");
    assert!(pair.refresh_token.is_none());
    assert_eq!(h.users_me(&pair.access_token, "").await.status(), StatusCode::OK);
    assert!(h.fake.issue_tokens("nope", "2244994945", &["tweet.read"]).is_err());
    assert!(h.fake.issue_tokens(&h.app.client_id, "nobody", &["tweet.read"]).is_err());
}

#[tokio::test]
async fn generated_app_credentials_have_xs_shapes() {
    let h = setup().await;
    assert_eq!(h.app.client_id.len(), 34);
    assert!(h.app.client_id.ends_with("MTpjaQ"));
    assert_eq!(h.app.client_secret.len(), 50);
    assert!(h.app.client_secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
}

#[tokio::test]
async fn control_http_endpoints_arrange_and_observe() {
    let fake = FakeX::start().await;
    let http = client();
    let url = |path: &str| format!("{}{path}", fake.base_url());

    // Apps.
    let res = http
        .post(url("/_fake/apps"))
        .json(&json!({"name": "Playwright", "callback_urls": [CALLBACK]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let app: Value = res.json().await.unwrap();
    let client_id = app["client_id"].as_str().unwrap().to_string();
    assert!(client_id.ends_with("MTpjaQ"));
    let fixed: Value = http
        .post(url("/_fake/apps"))
        .json(&json!({"client_id": "fixed-id", "client_secret": "fixed-secret", "callback_urls": [CALLBACK]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (fixed["client_id"].as_str(), fixed["client_secret"].as_str()),
        (Some("fixed-id"), Some("fixed-secret"))
    );
    let listed: Value = http.get(url("/_fake/apps")).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let rotated: Value =
        http.post(url(&format!("/_fake/apps/{client_id}/rotate"))).send().await.unwrap().json().await.unwrap();
    assert_ne!(rotated["client_secret"], app["client_secret"]);
    assert_eq!(fake.app(&client_id).unwrap().client_secret, rotated["client_secret"].as_str().unwrap());
    let res = http
        .put(url(&format!("/_fake/apps/{client_id}/callback-urls")))
        .json(&json!({"callback_urls": ["http://127.0.0.1:9/cb"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(fake.app(&client_id).unwrap().callback_urls, ["http://127.0.0.1:9/cb"]);
    assert_eq!(http.post(url("/_fake/apps/nope/rotate")).send().await.unwrap().status(), StatusCode::NOT_FOUND);

    // Switches: a patch changes what it names; unknown ones are refused; DELETE restores defaults.
    let switches: Value = http
        .put(url("/_fake/switches"))
        .json(&json!({"cancel_adds_access_denied": false, "tweets_fault": "close", "unknown_client": "invalid_client"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (switches["cancel_adds_access_denied"].as_bool(), switches["tweets_fault"].as_str()),
        (Some(false), Some("close"))
    );
    assert_eq!(fake.switches().unknown_client, UnknownClient::InvalidClient);
    assert_eq!(switches["rotation_kills_tokens"], true);
    assert_eq!(
        http.put(url("/_fake/switches")).json(&json!({"no_such": 1})).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    http.delete(url("/_fake/switches")).send().await.unwrap();
    assert_eq!(fake.switches(), Default::default());

    // Users.
    let res = http
        .put(url("/_fake/next-user"))
        .json(&json!({"id": "99", "name": "Bob", "username": "bob"}))
        .send()
        .await
        .unwrap();
    let bob: Value = res.json().await.unwrap();
    assert!(bob["profile_image_url"].as_str().unwrap().starts_with("https://"));
    assert_eq!(fake.next_user().username, "bob");
    http.post(url("/_fake/users"))
        .json(&json!({"id": "100", "name": "Carol", "username": "carol"}))
        .send()
        .await
        .unwrap();
    let users: Value = http.get(url("/_fake/users")).send().await.unwrap().json().await.unwrap();
    assert_eq!(users.as_array().unwrap().len(), 3);

    // Tokens: issued for the next user, then inspected, expired, revoked.
    let res = http
        .post(url("/_fake/tokens"))
        .json(&json!({"client_id": "fixed-id", "scope": "tweet.read users.read offline.access"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let pair: Value = res.json().await.unwrap();
    let access = pair["access_token"].as_str().unwrap();
    let me: Value = http.get(url("/2/users/me")).bearer_auth(access).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["data"]["username"], "bob");
    let status: Value = http
        .post(url("/_fake/tokens/status"))
        .json(&json!({"token": access}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status, json!({"access_token_valid": true, "refresh_token_valid": false}));
    assert_eq!(
        http.post(url("/_fake/tokens/expire")).json(&json!({"token": access})).send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert!(!fake.access_token_is_valid(access));
    let refresh = pair["refresh_token"].as_str().unwrap();
    assert_eq!(
        http.post(url("/_fake/tokens/revoke")).json(&json!({"token": refresh})).send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert!(!fake.refresh_token_is_valid(refresh));
    assert_eq!(
        http.post(url("/_fake/tokens/revoke")).json(&json!({"token": "nope"})).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let second: Value = http
        .post(url("/_fake/tokens"))
        .json(
            &json!({"client_id": "fixed-id", "user_id": "100", "scopes": ["tweet.read", "tweet.write", "users.read"]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let grants: Value = http.get(url("/_fake/grants")).send().await.unwrap().json().await.unwrap();
    assert_eq!(grants[1]["user_id"], "100");
    assert_eq!(grants[1]["id"], second["grant_id"]);

    // Observation: tweets, counters, the request log (without the control plane's own calls).
    http.post(url("/2/tweets"))
        .bearer_auth(second["access_token"].as_str().unwrap())
        .json(&json!({"text": "hi"}))
        .send()
        .await
        .unwrap();
    let tweets: Value = http.get(url("/_fake/tweets")).send().await.unwrap().json().await.unwrap();
    assert_eq!(tweets[0]["author_id"], "100");
    let counters: Value = http.get(url("/_fake/counters")).send().await.unwrap().json().await.unwrap();
    assert_eq!(counters["tweets_created"], 1);
    let requests: Value = http.get(url("/_fake/requests")).send().await.unwrap().json().await.unwrap();
    let paths: Vec<&str> = requests.as_array().unwrap().iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["/2/users/me", "/2/tweets"]);
    assert_eq!(
        http.post(url(&format!("/_fake/grants/{}/revoke", second["grant_id"].as_str().unwrap())))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    assert!(!fake.access_token_is_valid(second["access_token"].as_str().unwrap()));
    assert_eq!(http.delete(url("/_fake/requests")).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert!(fake.requests().is_empty());

    // Reset keeps apps and users, forgets the rest.
    fake.update_switches(|s| s.code_lifetime_ms = 1);
    assert_eq!(http.post(url("/_fake/reset")).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert!(fake.grants().is_empty() && fake.tweets().is_empty());
    assert_eq!(fake.counters(), Default::default());
    assert_eq!(fake.switches(), Default::default());
    assert_eq!(fake.apps().len(), 2);
    assert_eq!(fake.users().len(), 3);
}

#[cfg(unix)]
#[tokio::test]
async fn the_binary_prints_its_base_url_serves_preregistered_apps_and_stops_on_sigterm() {
    use std::io::BufRead;

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fake-x"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--app",
            &format!("bin-client:bin-secret:{CALLBACK},http://127.0.0.1:4000/cb"),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let first_line = tokio::task::spawn_blocking(move || std::io::BufReader::new(stdout).lines().next());
    let base = tokio::time::timeout(Duration::from_secs(10), first_line).await.unwrap().unwrap().unwrap().unwrap();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    let app: Value = client().get(format!("{base}/_fake/apps/bin-client")).send().await.unwrap().json().await.unwrap();
    assert_eq!(app["callback_urls"], json!([CALLBACK, "http://127.0.0.1:4000/cb"]));
    let res = client()
        .post(format!("{base}/2/oauth2/token"))
        .basic_auth("bin-client", Some("bin-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "made-up"),
            ("redirect_uri", CALLBACK),
            ("code_verifier", "v"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.text().await.unwrap(), INVALID_CODE);

    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let waited = tokio::task::spawn_blocking(move || child.wait());
    let status = tokio::time::timeout(Duration::from_secs(10), waited).await.unwrap().unwrap().unwrap();
    assert!(status.success(), "{status:?}");
}
