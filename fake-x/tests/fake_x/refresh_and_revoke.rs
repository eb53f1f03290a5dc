//! Refresh-token rotation and revocation.

use super::*;

#[tokio::test]
async fn refresh_rotates_the_pair_and_a_used_refresh_token_is_refused() {
    let h = setup().await;
    let first = h.connect().await;
    let first_refresh = first["refresh_token"].as_str().unwrap();

    let (status, body) = h.refresh(first_refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let second: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(second["scope"], PERCH_SCOPES, "a refresh keeps the scopes first granted");
    assert_eq!(second["token_type"], "bearer");
    assert_eq!(second["expires_in"], 7200);
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_ne!(second["access_token"], first["access_token"]);

    assert_eq!(h.refresh(first_refresh).await, (StatusCode::BAD_REQUEST, INVALID_TOKEN.into()));
    assert_eq!(h.refresh("garbage").await, (StatusCode::BAD_REQUEST, INVALID_TOKEN.into()));
    assert_eq!(h.refresh(second["refresh_token"].as_str().unwrap()).await.0, StatusCode::OK);

    let counters = h.fake.counters();
    assert_eq!(counters.refreshes, 2);
    assert_eq!(counters.refreshes_by_grant.get("grant-1"), Some(&2));
    assert_eq!(h.fake.grants()[0].refreshes, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_of_one_token_let_exactly_one_succeed() {
    let h = setup().await;
    let pair = h.tokens(ALL_API_SCOPES);
    let refresh = pair.refresh_token.unwrap();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let req = client()
                .post(h.fake.token_url())
                .basic_auth(&h.app.client_id, Some(&h.app.client_secret))
                .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())]);
            tokio::spawn(async move { req.send().await.unwrap().status() })
        })
        .collect();
    let mut successes = 0;
    for task in tasks {
        if task.await.unwrap() == StatusCode::OK {
            successes += 1;
        }
    }
    assert_eq!(successes, 1);
}

#[tokio::test]
async fn a_refresh_token_of_another_app_is_invalid() {
    let h = setup().await;
    let other = h.fake.register_app(NewApp::new([CALLBACK]));
    let pair = h.fake.issue_tokens(&other.client_id, fake_x::DEFAULT_USER_ID, ALL_API_SCOPES).unwrap();
    assert_eq!(
        h.refresh(pair.refresh_token.as_deref().unwrap()).await,
        (StatusCode::BAD_REQUEST, INVALID_TOKEN.into())
    );
}

#[tokio::test]
async fn an_access_token_expires_after_expires_in() {
    let h = setup().await;
    h.fake.update_switches(|s| s.access_token_lifetime_secs = 2);
    let value = h.connect().await;
    assert_eq!(value["expires_in"], 2);
    let token = value["access_token"].as_str().unwrap();
    assert_eq!(h.users_me(token, "").await.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(problem(h.users_me(token, "").await).await, (StatusCode::UNAUTHORIZED, UNAUTHORIZED.into()));
    // The refresh token still works and brings a fresh access token.
    let (status, body) = h.refresh(value["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let fresh: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(h.users_me(fresh["access_token"].as_str().unwrap(), "").await.status(), StatusCode::OK);
}

// ---- revoke -----------------------------------------------------------------------------------

#[tokio::test]
async fn revoke_without_token_type_hint_is_refused() {
    let h = setup().await;
    let pair = h.tokens(ALL_API_SCOPES);
    let (status, body) = h.revoke(&[("token", &pair.access_token), ("client_id", &h.app.client_id)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        r#"{"error":"invalid_request","error_description":"Missing required parameter [token_type_hint]."}"#
    );
    assert!(h.fake.access_token_is_valid(&pair.access_token), "nothing was revoked");
}

#[tokio::test]
async fn revoking_an_access_token_kills_it_and_leaves_the_refresh_token() {
    let h = setup().await;
    let pair = h.tokens(ALL_API_SCOPES);
    let (status, body) = h
        .revoke(&[("token", &pair.access_token), ("token_type_hint", "access_token"), ("client_id", &h.app.client_id)])
        .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, r#"{"revoked":true}"#));
    assert_eq!(problem(h.users_me(&pair.access_token, "").await).await.0, StatusCode::UNAUTHORIZED);
    assert!(h.fake.refresh_token_is_valid(pair.refresh_token.as_deref().unwrap()));
    assert_eq!(h.fake.counters().revocations, 1);
}

#[tokio::test]
async fn revoking_a_refresh_token_kills_the_whole_grant_by_default() {
    let h = setup().await;
    let pair = h.tokens(ALL_API_SCOPES);
    let refresh = pair.refresh_token.unwrap();
    let (status, _) = h.revoke(&[("token", &refresh), ("token_type_hint", "refresh_token")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h.refresh(&refresh).await, (StatusCode::BAD_REQUEST, INVALID_TOKEN.into()));
    assert!(!h.fake.access_token_is_valid(&pair.access_token));
    assert!(h.fake.grants()[0].revoked);
}

#[tokio::test]
async fn revoking_a_refresh_token_spares_the_access_token_when_switched() {
    let h = setup().await;
    h.fake.update_switches(|s| s.revoke_refresh_kills_grant = false);
    let pair = h.tokens(ALL_API_SCOPES);
    let refresh = pair.refresh_token.unwrap();
    // The hint is only a hint: a refresh token sent as "access_token" is found all the same.
    assert_eq!(h.revoke(&[("token", &refresh), ("token_type_hint", "access_token")]).await.0, StatusCode::OK);
    assert_eq!(h.refresh(&refresh).await, (StatusCode::BAD_REQUEST, INVALID_TOKEN.into()));
    assert_eq!(h.users_me(&pair.access_token, "").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn revoke_with_bad_client_auth_is_unauthorized_client() {
    let h = setup().await;
    let pair = h.tokens(ALL_API_SCOPES);
    let form = [("token", pair.access_token.as_str()), ("token_type_hint", "access_token")];
    let res =
        h.http.post(h.fake.revoke_url()).basic_auth(&h.app.client_id, Some("wrong")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.text().await.unwrap(), UNAUTHORIZED_CLIENT);
    let res = h.http.post(h.fake.revoke_url()).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(h.fake.access_token_is_valid(&pair.access_token));
}

#[tokio::test]
async fn revoking_an_unknown_or_foreign_token_answers_revoked_and_changes_nothing() {
    let h = setup().await;
    let other = h.fake.register_app(NewApp::new([CALLBACK]));
    let foreign = h.fake.issue_tokens(&other.client_id, fake_x::DEFAULT_USER_ID, ALL_API_SCOPES).unwrap();
    for token in ["never-issued", foreign.access_token.as_str()] {
        let (status, body) = h.revoke(&[("token", token), ("token_type_hint", "access_token")]).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, r#"{"revoked":true}"#));
    }
    assert!(h.fake.access_token_is_valid(&foreign.access_token));
}
