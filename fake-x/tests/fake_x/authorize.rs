//! The authorize page (docs/x-api.md "Authorize").

use super::*;

#[tokio::test]
async fn authorize_page_shows_the_app_name_the_scopes_and_both_buttons() {
    let h = setup().await;
    let (status, html) = h.authorize_page(&h.authorize_params("challenge", "s", PERCH_SCOPES)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Perch Test"));
    for scope in PERCH_SCOPES.split(' ') {
        assert!(html.contains(&format!("value=\"{scope}\" checked")), "{scope} is offered ticked");
    }
    assert!(html.contains(">Authorize app</button>") && html.contains(">Cancel</button>"));
    assert!(html.contains("action=\"/i/oauth2/authorize/decision\""));
    assert_eq!(h.fake.counters().authorize_pages, 1);
}

#[tokio::test]
async fn authorize_and_token_flow_with_pkce_issues_xs_token_response() {
    let h = setup().await;
    let authorized = h.authorize().await;
    assert!(decoded(&authorized.code).ends_with(":1:0:ac:1"), "code shaped like X's");
    let (status, body) = h.exchange(&authorized).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let value: Value = serde_json::from_str(&body).unwrap();
    let keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
    let mut expected = vec!["access_token", "expires_in", "refresh_token", "scope", "token_type"];
    expected.sort();
    assert_eq!(keys, expected);
    assert!(body.starts_with(r#"{"token_type":"bearer","expires_in":7200,"access_token":""#), "{body}");
    assert_eq!(value["scope"], PERCH_SCOPES);
    assert!(decoded(value["access_token"].as_str().unwrap()).ends_with(":1:0:at:1"));
    assert!(decoded(value["refresh_token"].as_str().unwrap()).ends_with(":1:0:rt:1"));

    let me = h.users_me(value["access_token"].as_str().unwrap(), "").await;
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(
        me.text().await.unwrap(),
        r#"{"data":{"id":"2244994945","name":"X Developers","username":"XDevelopers"}}"#
    );
    assert_eq!(h.fake.counters().code_exchanges, 1);
}

#[tokio::test]
async fn authorize_refuses_a_redirect_uri_that_is_not_an_exact_match() {
    let h = setup().await;
    for wrong in [
        "http://127.0.0.1:3000/oauth/x/callback/",
        "https://127.0.0.1:3000/oauth/x/callback",
        "http://127.0.0.1:3001/oauth/x/callback",
        "http://localhost:3000/oauth/x/callback",
        "http://127.0.0.1:3000/oauth/x/Callback",
        "http://127.0.0.1:3000/oauth/x/callback?x=1",
    ] {
        let mut params = h.authorize_params("challenge", "s", PERCH_SCOPES);
        params[2].1 = wrong.into();
        let (status, html) = h.authorize_page(&params).await;
        assert_eq!(status, StatusCode::OK, "X shows its page with 200");
        assert!(html.contains("Something went wrong"), "{wrong}");
        assert!(html.contains("You weren't able to give access to the App. Go back and try logging in again."));
        assert!(!html.contains("Authorize app"));
    }
}

#[tokio::test]
async fn authorize_with_an_unknown_client_shows_something_went_wrong() {
    let h = setup().await;
    let mut params = h.authorize_params("challenge", "s", PERCH_SCOPES);
    params[1].1 = "M1M5R3BMVy13QmpScXkzTUt5OE46MTpjaQ".into();
    let (status, html) = h.authorize_page(&params).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Something went wrong"));
    assert!(html.contains("You weren't able to give access to the App. Go back and try logging in again."));
}

#[tokio::test]
async fn authorize_refuses_a_bad_response_type_state_challenge_or_method() {
    let h = setup().await;
    let cases: [(&str, Option<String>); 7] = [
        ("response_type", Some("token".into())),
        ("state", None),
        ("state", Some("x".repeat(501))),
        ("code_challenge", None),
        ("code_challenge_method", Some("plain".into())),
        ("code_challenge_method", None),
        ("scope", Some("tweet.read nonsense.scope".into())),
    ];
    for (name, value) in cases {
        let mut params = h.authorize_params("challenge", "s", PERCH_SCOPES);
        params.retain(|(n, _)| n != name);
        if let Some(value) = &value {
            params.push((name.into(), value.clone()));
        }
        let (_, html) = h.authorize_page(&params).await;
        assert!(html.contains("Something went wrong"), "{name}={value:?}");
    }
    // 500 characters of state are still fine.
    let (_, html) = h.authorize_page(&h.authorize_params("challenge", &"x".repeat(500), PERCH_SCOPES)).await;
    assert!(html.contains("Authorize app"));
}

#[tokio::test]
async fn authorize_accepts_any_of_the_registered_callbacks_exactly() {
    let h = setup().await;
    let other = "http://127.0.0.1:8080/cb";
    h.fake.set_callback_urls(&h.app.client_id, [CALLBACK, other]).unwrap();
    let mut params = h.authorize_params("challenge", "s", PERCH_SCOPES);
    params[2].1 = other.into();
    let (_, html) = h.authorize_page(&params).await;
    assert!(html.contains("Authorize app"));
}

#[tokio::test]
async fn cancel_redirects_with_state_and_access_denied_by_default() {
    let h = setup().await;
    let query = h.press(&h.authorize_params("challenge", "st4te", PERCH_SCOPES), "cancel", &[]).await;
    assert_eq!(param(&query, "state"), Some("st4te"));
    assert_eq!(param(&query, "error"), Some("access_denied"));
    assert_eq!(param(&query, "code"), None);
}

#[tokio::test]
async fn cancel_redirects_with_state_only_when_access_denied_is_switched_off() {
    let h = setup().await;
    h.fake.update_switches(|s| s.cancel_adds_access_denied = false);
    let query = h.press(&h.authorize_params("challenge", "st4te", PERCH_SCOPES), "cancel", &[]).await;
    assert_eq!(query, vec![("state".to_string(), "st4te".to_string())]);
}

#[tokio::test]
async fn unticked_scopes_are_missing_from_the_granted_scope() {
    let h = setup().await;
    let authorized = h.authorize_granting(PERCH_SCOPES, &["tweet.write", "offline.access"]).await;
    let (status, body) = h.exchange(&authorized).await;
    assert_eq!(status, StatusCode::OK);
    let value: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(value["scope"], "tweet.read tweet.moderate.write users.read dm.read dm.write like.write");
    assert!(value.get("refresh_token").is_none(), "no refresh token without offline.access: {body}");
    let res = h.tweet(value["access_token"].as_str().unwrap(), json!({"text": "hello"})).await;
    assert_eq!(problem(res).await, (StatusCode::FORBIDDEN, FORBIDDEN.into()));
}

#[tokio::test]
async fn the_user_picked_on_the_authorize_page_is_who_users_me_returns() {
    let h = setup().await;
    let alice = FakeUser::new("1700000000000000001", "Alice", "alice");
    h.fake.set_next_user(alice.clone());
    let value = h.connect().await;
    let me: Value = h.users_me(value["access_token"].as_str().unwrap(), "").await.json().await.unwrap();
    assert_eq!(me["data"]["username"], "alice");
    assert_eq!(h.fake.grants()[0].user_id, alice.id);
}
