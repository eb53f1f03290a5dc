//! users/me and posting (`POST /2/tweets`), with every answer X gives.

use super::*;

#[tokio::test]
async fn users_me_adds_the_avatar_only_when_asked() {
    let h = setup().await;
    let pair = h.tokens(ALL_API_SCOPES);
    let res = h.users_me(&pair.access_token, "?user.fields=profile_image_url").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "x-rate-limit-limit"), Some("75"));
    assert_eq!(header(&res, "x-rate-limit-remaining"), Some("74"));
    assert!(header(&res, "x-rate-limit-reset").unwrap().parse::<u64>().unwrap() > 1_700_000_000);
    assert!(header(&res, "x-user-limit-24hour-limit").is_none(), "reads carry no 24-hour headers");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"]["id"], "2244994945");
    assert_eq!(body["data"]["name"], "X Developers");
    assert_eq!(body["data"]["username"], "XDevelopers");
    assert!(body["data"]["profile_image_url"].as_str().unwrap().starts_with("https://pbs.twimg.com/profile_images/"));
}

#[tokio::test]
async fn users_me_needs_both_tweet_read_and_users_read() {
    let h = setup().await;
    for scopes in [&["tweet.read"][..], &["users.read"][..], &["tweet.write", "offline.access"][..]] {
        let pair = h.tokens(scopes);
        let res = h.users_me(&pair.access_token, "").await;
        assert_eq!(problem(res).await, (StatusCode::FORBIDDEN, FORBIDDEN.into()), "{scopes:?}");
    }
}

#[tokio::test]
async fn users_me_refuses_garbage_expired_and_revoked_tokens_with_401_and_no_rate_limit_headers() {
    let h = setup().await;
    let expired = h.tokens(ALL_API_SCOPES);
    h.fake.expire_token(&expired.access_token).unwrap();
    let revoked = h.tokens(ALL_API_SCOPES);
    h.fake.revoke_token(&revoked.access_token).unwrap();
    for token in ["garbage", expired.access_token.as_str(), revoked.access_token.as_str()] {
        let res = h.users_me(token, "").await;
        assert!(header(&res, "x-rate-limit-remaining").is_none());
        assert_eq!(problem(res).await, (StatusCode::UNAUTHORIZED, UNAUTHORIZED.into()));
    }
    let res = h.http.get(format!("{}/2/users/me", h.fake.base_url())).send().await.unwrap();
    assert_eq!(problem(res).await, (StatusCode::UNAUTHORIZED, UNAUTHORIZED.into()));
}

#[tokio::test]
async fn users_me_forced_client_not_enrolled_names_the_app() {
    let h = setup().await;
    h.fake.update_switches(|s| s.users_me_refusal = Refusal::ClientNotEnrolled);
    let pair = h.tokens(ALL_API_SCOPES);
    let (status, body) = problem(h.users_me(&pair.access_token, "").await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["reason"], "client-not-enrolled");
    assert_eq!(body["client_id"], h.app.client_id.as_str());
}

// ---- tweets ------------------------------------------------------------------------------------

#[tokio::test]
async fn a_tweet_is_created_with_201_and_rate_limit_headers() {
    let h = setup().await;
    let pair = h.tokens(ALL_API_SCOPES);
    let res = h.tweet(&pair.access_token, json!({"text": "Hello from Perch"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(header(&res, "x-rate-limit-limit"), Some("100"));
    assert_eq!(header(&res, "x-rate-limit-remaining"), Some("99"));
    for name in [
        "x-rate-limit-reset",
        "x-user-limit-24hour-limit",
        "x-user-limit-24hour-remaining",
        "x-user-limit-24hour-reset",
        "x-app-limit-24hour-limit",
        "x-app-limit-24hour-remaining",
        "x-app-limit-24hour-reset",
    ] {
        assert!(header(&res, name).unwrap().parse::<u64>().is_ok(), "{name}");
    }
    let body: Value = res.json().await.unwrap();
    let id = body["data"]["id"].as_str().unwrap();
    assert!(id.len() >= 18 && id.len() <= 19 && id.bytes().all(|b| b.is_ascii_digit()), "{id}");
    assert_eq!(body, json!({"data": {"id": id, "text": "Hello from Perch", "edit_history_tweet_ids": [id]}}));

    let reply = h
        .tweet(
            &pair.access_token,
            json!({"text": "a reply", "reply": {"in_reply_to_tweet_id": id}, "quote_tweet_id": id}),
        )
        .await;
    assert_eq!(reply.status(), StatusCode::CREATED);
    let tweets = h.fake.tweets();
    assert_eq!(tweets.len(), 2);
    assert_eq!(tweets[1].in_reply_to_tweet_id.as_deref(), Some(id));
    assert_eq!(tweets[1].author_id, "2244994945");
    assert_eq!(tweets[1].client_id, h.app.client_id);
}

#[tokio::test]
async fn duplicate_text_is_refused_for_the_same_user_only() {
    let h = setup().await;
    let pair = h.tokens(ALL_API_SCOPES);
    assert_eq!(h.tweet(&pair.access_token, json!({"text": "same"})).await.status(), StatusCode::CREATED);
    let res = h.tweet(&pair.access_token, json!({"text": "same"})).await;
    assert!(header(&res, "x-rate-limit-remaining").is_some());
    assert_eq!(
        problem(res).await,
        (
            StatusCode::FORBIDDEN,
            r#"{"detail":"You are not allowed to create a Tweet with duplicate content.","type":"about:blank","title":"Forbidden","status":403}"#.into()
        )
    );
    h.fake.add_user(FakeUser::new("42", "Other", "other"));
    let other = h.fake.issue_tokens(&h.app.client_id, "42", ALL_API_SCOPES).unwrap();
    assert_eq!(h.tweet(&other.access_token, json!({"text": "same"})).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_tweet_needs_tweet_read_tweet_write_and_users_read() {
    let h = setup().await;
    for scopes in
        [&["tweet.read", "users.read"][..], &["tweet.write", "users.read"][..], &["tweet.read", "tweet.write"][..]]
    {
        let pair = h.tokens(scopes);
        let res = h.tweet(&pair.access_token, json!({"text": "hi"})).await;
        assert_eq!(problem(res).await, (StatusCode::FORBIDDEN, FORBIDDEN.into()), "{scopes:?}");
    }
    let res = h.tweet("garbage", json!({"text": "hi"})).await;
    assert!(header(&res, "x-rate-limit-limit").is_none());
    assert_eq!(problem(res).await, (StatusCode::UNAUTHORIZED, UNAUTHORIZED.into()));
}

#[tokio::test]
async fn forced_tweet_refusals_have_xs_bodies() {
    let h = setup().await;
    let pair = h.tokens(ALL_API_SCOPES);

    h.fake.update_switches(|s| s.tweets_refusal = Refusal::NotPermitted);
    let res = h.tweet(&pair.access_token, json!({"text": "a"})).await;
    assert_eq!(
        problem(res).await,
        (
            StatusCode::FORBIDDEN,
            r#"{"detail":"You are not permitted to perform this action.","type":"about:blank","title":"Forbidden","status":403}"#.into()
        )
    );

    h.fake.update_switches(|s| s.tweets_refusal = Refusal::ClientNotEnrolled);
    let (status, body) = problem(h.tweet(&pair.access_token, json!({"text": "b"})).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body,
        format!(
            r#"{{"title":"Client Forbidden","reason":"client-not-enrolled","type":"https://api.twitter.com/2/problems/client-forbidden","detail":"When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project. You can create a project via the developer portal.","required_enrollment":"Appropriate Level of API Access","client_id":"{}"}}"#,
            h.app.client_id
        )
    );

    h.fake.update_switches(|s| s.tweets_refusal = Refusal::TooManyRequests);
    let res = h.tweet(&pair.access_token, json!({"text": "c"})).await;
    assert_eq!(header(&res, "x-rate-limit-remaining"), Some("0"));
    assert_eq!(
        problem(res).await,
        (
            StatusCode::TOO_MANY_REQUESTS,
            r#"{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}"#.into()
        )
    );
    assert!(h.fake.tweets().is_empty());
}

#[tokio::test]
async fn a_forced_429_can_come_with_requests_left_in_the_window() {
    let h = setup().await;
    h.fake.update_switches(|s| {
        s.tweets_refusal = Refusal::TooManyRequests;
        s.too_many_requests_from_24h_cap = true;
    });
    let pair = h.tokens(ALL_API_SCOPES);
    let res = h.tweet(&pair.access_token, json!({"text": "x"})).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&res, "x-rate-limit-remaining"), Some("100"));
    assert_eq!(header(&res, "x-user-limit-24hour-remaining"), Some("0"));
}

#[tokio::test]
async fn spent_limits_answer_429() {
    let h = setup().await;
    h.fake.update_switches(|s| {
        s.tweets_limit_15min = 2;
        s.tweets_user_limit_24h = 3;
    });
    let pair = h.tokens(ALL_API_SCOPES);
    for text in ["1", "2"] {
        assert_eq!(h.tweet(&pair.access_token, json!({"text": text})).await.status(), StatusCode::CREATED);
    }
    let res = h.tweet(&pair.access_token, json!({"text": "3"})).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&res, "x-rate-limit-remaining"), Some("0"));

    // The 24-hour cap runs out while the window still has room.
    h.fake.update_switches(|s| s.tweets_limit_15min = 100);
    assert_eq!(h.tweet(&pair.access_token, json!({"text": "3"})).await.status(), StatusCode::CREATED);
    let res = h.tweet(&pair.access_token, json!({"text": "4"})).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&res, "x-rate-limit-remaining"), Some("97"));
    assert_eq!(header(&res, "x-user-limit-24hour-remaining"), Some("0"));
}

#[tokio::test]
async fn tweets_faults_answer_5xx_html_hang_or_close() {
    let h = setup().await;
    let pair = h.tokens(ALL_API_SCOPES);
    h.fake.update_switches(|s| s.tweets_fault = Fault::ServerError);
    let (status, _) = problem(h.tweet(&pair.access_token, json!({"text": "a"})).await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

    h.fake.update_switches(|s| s.tweets_fault = Fault::Html503);
    let res = h.tweet(&pair.access_token, json!({"text": "a"})).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(header(&res, "content-type").unwrap().starts_with("text/html"));

    h.fake.update_switches(|s| s.tweets_fault = Fault::Close);
    let err = h
        .http
        .post(format!("{}/2/tweets", h.fake.base_url()))
        .bearer_auth(&pair.access_token)
        .json(&json!({"text": "a"}))
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_timeout() && !err.is_status(), "{err:?}");

    h.fake.update_switches(|s| {
        s.tweets_fault = Fault::Hang;
        s.hang_ms = 200;
    });
    // Past hang_ms the connection drops, still without an answer.
    let err = h
        .http
        .post(format!("{}/2/tweets", h.fake.base_url()))
        .bearer_auth(&pair.access_token)
        .json(&json!({"text": "a"}))
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_status(), "{err:?}");
    assert!(h.fake.tweets().is_empty());

    h.fake.update_switches(|s| s.tweets_fault = Fault::None);
    assert_eq!(h.tweet(&pair.access_token, json!({"text": "a"})).await.status(), StatusCode::CREATED);
}

// ---- credits, caps, enrolment, reply restriction (docs/x-api.md, addendum 2 and 3) ----------------

#[tokio::test]
async fn an_app_out_of_credits_gets_402_on_every_call_reads_included_while_oauth_works() {
    let h = setup().await;
    let other = h.fake.register_app(NewApp::new([CALLBACK]).named("Funded"));
    let pair = h.tokens(ALL_API_SCOPES);
    let funded = h.fake.issue_tokens(&other.client_id, fake_x::DEFAULT_USER_ID, ALL_API_SCOPES).unwrap();
    h.fake.update_switches(|s| s.out_of_credits = vec![h.app.client_id.clone()]);
    for res in [h.users_me(&pair.access_token, "").await, h.tweet(&pair.access_token, json!({"text": "a"})).await] {
        assert_eq!(res.status(), StatusCode::PAYMENT_REQUIRED);
        // As captured: plain JSON, not problem+json; the account id a bare number above 2^53.
        assert_eq!(header(&res, "content-type"), Some("application/json; charset=utf-8"));
        let body = res.text().await.unwrap();
        assert!(body.starts_with(r#"{"account_id":2051096097834344448,"title":"CreditsDepleted""#), "{body}");
    }
    assert_eq!(h.users_me(&funded.access_token, "").await.status(), StatusCode::OK, "another developer account");
    // The token endpoint keeps working (no 402 on record there).
    let refreshed = h
        .http
        .post(format!("{}/2/oauth2/token", h.fake.base_url()))
        .basic_auth(&h.app.client_id, Some(&h.app.client_secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", pair.refresh_token.as_deref().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), StatusCode::OK);
    assert!(h.fake.tweets().is_empty());

    for (body, starts) in [
        (CreditsBody::WithoutAccountId, r#"{"title":"CreditsDepleted","detail":"Your enrolled account does not"#),
        (CreditsBody::PaymentRequired, r#"{"detail":"credits depleted","status":402,"title":"Payment Required""#),
    ] {
        h.fake.update_switches(|s| {
            s.out_of_credits = vec![];
            s.users_me_refusal = Refusal::CreditsDepleted;
            s.credits_body = body;
        });
        let res = h.users_me(&funded.access_token, "").await;
        assert_eq!(res.status(), StatusCode::PAYMENT_REQUIRED);
        assert!(res.text().await.unwrap().starts_with(starts), "{body:?}");
    }
}

#[tokio::test]
async fn a_usage_cap_is_a_429_with_requests_left_in_the_window() {
    let h = setup().await;
    h.fake.update_switches(|s| s.tweets_refusal = Refusal::UsageCapExceeded);
    let pair = h.tokens(ALL_API_SCOPES);
    let res = h.tweet(&pair.access_token, json!({"text": "capped"})).await;
    assert_eq!(header(&res, "x-rate-limit-limit"), Some("40000"));
    assert_eq!(header(&res, "x-rate-limit-remaining"), Some("39999"));
    let (status, body) = problem(res).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((body["title"].as_str(), body["period"].as_str()), (Some("UsageCapExceeded"), Some("Monthly")));
}

#[tokio::test]
async fn user_not_enrolled_has_its_reason_and_registration_url() {
    let h = setup().await;
    h.fake.update_switches(|s| s.users_me_refusal = Refusal::UserNotEnrolled);
    let pair = h.tokens(ALL_API_SCOPES);
    let (status, body) = problem(h.users_me(&pair.access_token, "").await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (body["reason"].as_str(), body["registration_url"].as_str()),
        (Some("user-not-enrolled"), Some("https://console.x.com"))
    );
}

#[tokio::test]
async fn replies_and_quotes_need_the_author_to_have_mentioned_the_account() {
    let h = setup().await;
    h.fake.add_user(FakeUser::new("1111111111", "Coffee Co", "coffeeco"));
    let author = h.fake.issue_tokens(&h.app.client_id, "1111111111", ALL_API_SCOPES).unwrap();
    let me = h.tokens(ALL_API_SCOPES);
    let id_of = |v: Value| v["data"]["id"].as_str().unwrap().to_owned();
    let plain = id_of(h.tweet(&author.access_token, json!({"text": "No mention"})).await.json().await.unwrap());
    let mention = id_of(h.tweet(&author.access_token, json!({"text": "Hi @xdevelopers!"})).await.json().await.unwrap());

    for (wording, body) in [
        (
            ReplyRefusal::NotAuthorizedForResource,
            r#"{"detail":"You can only reply to or quote posts where you are mentioned or are the author.","status":403,"title":"Authorization Error","type":"https://api.x.com/2/problems/not-authorized-for-resource"}"#,
        ),
        (
            ReplyRefusal::NotEngaged,
            r#"{"detail":"Reply to this conversation is not allowed because you have not been mentioned or otherwise engaged by the author of the post you are replying to.","type":"about:blank","title":"Forbidden","status":403}"#,
        ),
    ] {
        h.fake.update_switches(|s| s.reply_refusal = wording);
        let res = h.tweet(&me.access_token, json!({"text": "reply", "reply": {"in_reply_to_tweet_id": plain}})).await;
        assert_eq!(problem(res).await, (StatusCode::FORBIDDEN, body.into()), "{wording:?}");
    }
    let res = h.tweet(&me.access_token, json!({"text": "quote", "quote_tweet_id": plain})).await;
    assert_eq!(problem(res).await.0, StatusCode::FORBIDDEN);

    // Mentioned (any case): allowed; a reply to one's own post (a thread): allowed.
    let res = h.tweet(&me.access_token, json!({"text": "thanks", "reply": {"in_reply_to_tweet_id": mention}})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let own = id_of(res.json().await.unwrap());
    let res = h.tweet(&me.access_token, json!({"text": "part 2", "reply": {"in_reply_to_tweet_id": own}})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    // "@xdevelopersfan" is not a mention of @XDevelopers.
    let near =
        id_of(h.tweet(&author.access_token, json!({"text": "@xdevelopersfan hello"})).await.json().await.unwrap());
    let res = h.tweet(&me.access_token, json!({"text": "no", "reply": {"in_reply_to_tweet_id": near}})).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    h.fake.update_switches(|s| s.enforce_reply_restriction = false);
    let res = h.tweet(&me.access_token, json!({"text": "allowed now", "reply": {"in_reply_to_tweet_id": plain}})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
}
