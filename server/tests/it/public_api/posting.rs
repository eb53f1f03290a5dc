//! Posting through an account's own app, with every answer of X's (docs/x-api.md), refresh and rotation.

use super::*;

on_both_databases!(
    posting_goes_through_the_accounts_own_app,
    post_text_and_ids_are_checked_before_x_is_called,
    every_refusal_of_x_becomes_an_error_a_client_can_act_on,
    a_revoked_access_token_is_refreshed_once_and_the_post_retried,
    a_refused_refresh_marks_the_account_and_answers_409,
    rotation_marks_only_the_accounts_of_the_old_secret_on_their_next_call,
    f30_twenty_concurrent_posts_on_an_expired_token_make_one_refresh,
    h37_a_refresh_cut_off_by_a_crash_never_sends_the_refresh_token_again,
    disconnect_revokes_at_x_and_deletes_the_tokens,
);

async fn posting_goes_through_the_accounts_own_app(b: Backend) {
    let (w, key, on_default, on_coffee) = two_apps(b).await;

    let r = post(&w.app.base, &key, &on_coffee, "Fresh beans today ☕").await;
    assert_eq!(r.status, 201, "{}", r.body);
    let p = r.json()["data"].clone();
    assert!(p["id"].as_str().unwrap().starts_with("pst_"));
    let tweet = w.x.tweets().into_iter().find(|t| t.id == p["x_post_id"].as_str().unwrap()).expect("posted at X");
    assert_eq!(tweet.text, "Fresh beans today ☕");
    assert_eq!(tweet.client_id, ID_B, "through the brand's own app");
    assert_eq!(tweet.author_id, "1111111111");
    assert_eq!(p["url"], format!("https://x.com/coffeeco/status/{}", tweet.id));

    let r = api(
        &w.app.base,
        "POST",
        "/v1/posts",
        &key,
        Some(json!({ "account_id": on_default, "text": "A reply", "reply_to_post_id": tweet.id, "quote_post_id": tweet.id })),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let reply = w.x.tweets().into_iter().find(|t| t.text == "A reply").unwrap();
    assert_eq!(reply.client_id, ID_A, "the default app");
    assert_eq!(reply.in_reply_to_tweet_id.as_deref(), Some(tweet.id.as_str()));
    assert_eq!(reply.quote_tweet_id.as_deref(), Some(tweet.id.as_str()));
    assert_eq!(r.json()["data"]["reply_to_post_id"], tweet.id.as_str());
    assert_eq!(w.app.count("posts").await, 2, "Perch keeps a record of each post");
}

async fn post_text_and_ids_are_checked_before_x_is_called(b: Backend) {
    let (w, key, id) = with_account(b).await;
    let before = w.x.requests().len();
    let long = "a".repeat(281);
    let cjk = "日".repeat(141);
    for (body, field) in [
        (json!({ "account_id": id, "text": "" }), "text"),
        (json!({ "account_id": id, "text": " \n " }), "text"),
        (json!({ "account_id": id, "text": long }), "text"),
        (json!({ "account_id": id, "text": cjk }), "text"),
        (json!({ "account_id": id, "text": "bell\u{7}" }), "text"),
        (json!({ "account_id": id, "text": "ok", "reply_to_post_id": "abc" }), "reply_to_post_id"),
        (json!({ "account_id": id, "text": "ok", "quote_post_id": "12345678901234567890" }), "quote_post_id"),
    ] {
        let r = api(&w.app.base, "POST", "/v1/posts", &key, Some(body.clone())).await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
        assert_eq!(r.json()["error"]["field"], field, "{body}");
    }
    let r = post(&w.app.base, &key, &id, &"a".repeat(281)).await;
    assert!(error_message(&r).contains("281") && error_message(&r).contains("280"), "{}", r.body);
    for body in [json!({ "text": "no account" }), json!({ "account_id": id, "text": "x", "media": [] }), json!([1])] {
        let r = api(&w.app.base, "POST", "/v1/posts", &key, Some(body.clone())).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
    }
    assert_eq!(w.x.requests().len(), before, "none of these reached X");
    // Exactly 280, and a link counted as 23, pass.
    let link_text = format!("{} https://example.com/{}", "b".repeat(256), "p".repeat(200));
    assert_eq!(post(&w.app.base, &key, &id, &link_text).await.status, 201);
    assert_eq!(post(&w.app.base, &key, &id, &"c".repeat(280)).await.status, 201);
}

/// Every row of docs/x-api.md's `POST /2/tweets` table, and X down, mapped to an error that says what
/// to do; none of them marks the account, and none is retried.
async fn every_refusal_of_x_becomes_an_error_a_client_can_act_on(b: Backend) {
    let (w, key, id) = with_account(b).await;
    let base = w.app.base.clone();
    assert_eq!(post(&base, &key, &id, "First").await.status, 201);

    // Duplicate content.
    let r = post(&base, &key, &id, "First").await;
    assert_eq!((r.status, error_code(&r)), (403, "x_forbidden".to_owned()), "{}", r.body);
    assert!(error_message(&r).contains("duplicate content"), "{}", r.body);

    let refusals: [(Refusal, u16, &str, &str); 2] = [
        (Refusal::NotPermitted, 403, "x_forbidden", "not permitted to perform this action"),
        (Refusal::ClientNotEnrolled, 403, "x_forbidden", "Project"),
    ];
    for (refusal, status, code, says) in refusals {
        w.x.update_switches(|s| s.tweets_refusal = refusal);
        let r = post(&base, &key, &id, &format!("{refusal:?}")).await;
        assert_eq!((r.status, error_code(&r)), (status, code.to_owned()), "{refusal:?}: {}", r.body);
        assert!(error_message(&r).contains(says), "{refusal:?}: {}", r.body);
    }

    // Rate limited, by the 15-minute window and by a 24-hour cap: Retry-After from X's reset.
    w.x.update_switches(|s| s.tweets_refusal = Refusal::TooManyRequests);
    for from_24h in [false, true] {
        w.x.update_switches(|s| s.too_many_requests_from_24h_cap = from_24h);
        let r = post(&base, &key, &id, &format!("limited {from_24h}")).await;
        assert_eq!((r.status, error_code(&r)), (429, "rate_limited".to_owned()), "{}", r.body);
        let retry: u64 = r.header("retry-after").parse().expect("Retry-After in seconds");
        assert!((1..=24 * 3600).contains(&retry), "{retry}");
        assert_eq!(error_message(&r).contains("24-hour"), from_24h, "{}", r.body);
    }
    w.x.update_switches(|s| s.tweets_refusal = Refusal::None);

    // The real limit: the window runs out after its posts.
    w.x.update_switches(|s| s.tweets_limit_15min = 3);
    let mut statuses = vec![];
    for i in 0..3 {
        statuses.push(post(&base, &key, &id, &format!("window {i}")).await.status);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    w.x.update_switches(|s| s.tweets_limit_15min = 100);

    // X down in each way: 502, and the account stays active.
    for fault in [Fault::ServerError, Fault::Html503, Fault::Html200, Fault::Close] {
        w.x.update_switches(|s| s.tweets_fault = fault);
        let r = post(&base, &key, &id, &format!("{fault:?}")).await;
        assert_eq!((r.status, error_code(&r)), (502, "x_unavailable".to_owned()), "{fault:?}: {}", r.body);
    }
    w.x.update_switches(|s| s.tweets_fault = Fault::None);
    assert_eq!(account(&base, &key, &id).await["status"], "active");
    assert_eq!(w.x.counters().refreshes, 0, "no refresh for refusals that are not 401");
    assert_eq!(post(&base, &key, &id, "Back to normal").await.status, 201);

    // A token without tweet.write: 403 naming the scope (connected with it unticked at X).
    w.x.set_next_user(fake_x::FakeUser::new("2222222222", "Read Only", "readonly"));
    let authorize = connect(&w.owner, None).await;
    let granted = ["tweet.read", "users.read", "offline.access"];
    let back = at_x(&authorize, "authorize", Some("2222222222"), Some(&granted)).await;
    let read_only = account_of(&arrive(&w.owner, back.as_str()).await);
    let r = post(&base, &key, &read_only, "Cannot").await;
    assert_eq!((r.status, error_code(&r)), (403, "missing_scopes".to_owned()), "{}", r.body);
    assert!(error_message(&r).contains("tweet.write"), "{}", r.body);
    assert_eq!(account(&base, &key, &read_only).await["status"], "active", "not a reconnection matter");
}

async fn a_revoked_access_token_is_refreshed_once_and_the_post_retried(b: Backend) {
    let (w, key, id) = with_account(b).await;
    let (access, _) = tokens_of(&w.app, &id).await;
    w.x.revoke_token(&access).unwrap();
    let r = post(&w.app.base, &key, &id, "After a 401").await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(w.x.counters().refreshes, 1);
    let tweets: Vec<_> = w.x.requests().into_iter().filter(|r| r.path == "/2/tweets").collect();
    assert_eq!(tweets.len(), 2, "the 401, then the retry with the new token");
    let (new_access, _) = tokens_of(&w.app, &id).await;
    assert_ne!(new_access, access, "the new token is stored");
    assert_eq!(account(&w.app.base, &key, &id).await["status"], "active");
}

async fn a_refused_refresh_marks_the_account_and_answers_409(b: Backend) {
    let (w, key, id) = with_account(b).await;
    sqlx::query("update twitter_accounts set access_expires_at = 0").execute(w.app.state.db.pool()).await.unwrap();
    let grant = w.x.grants().into_iter().find(|g| !g.revoked).unwrap();
    w.x.revoke_grant(&grant.id).unwrap();
    let r = post(&w.app.base, &key, &id, "Refused").await;
    assert_eq!((r.status, error_code(&r)), (409, "needs_reconnection".to_owned()), "{}", r.body);
    assert!(error_message(&r).contains("refresh_refused") && error_message(&r).contains("connect link"), "{}", r.body);
    let a = account(&w.app.base, &key, &id).await;
    assert_eq!(a["status"], "needs_reconnection");
    assert_eq!(a["needs_reconnection"]["reason"], "refresh_refused");
    // Marked: the next call does not reach X at all.
    let before = w.x.requests().len();
    assert_eq!(post(&w.app.base, &key, &id, "Again").await.status, 409);
    assert_eq!(w.x.requests().len(), before);
    // A 401 that a refresh cannot cure (the new token refused too) also marks it.
    let (w, key, id) = with_account(b).await;
    let (access, _) = tokens_of(&w.app, &id).await;
    w.x.revoke_token(&access).unwrap();
    w.x.update_switches(|s| s.access_token_lifetime_secs = 0);
    let r = post(&w.app.base, &key, &id, "Twice refused").await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(account(&w.app.base, &key, &id).await["needs_reconnection"]["reason"], "token_rejected");
}

/// The rotation rule on every call: after a new secret is saved, the accounts issued under the
/// old one are marked on their next call without a request to X; a brand's accounts issued by
/// its own app are not touched.
async fn rotation_marks_only_the_accounts_of_the_old_secret_on_their_next_call(b: Backend) {
    let (w, key, on_default, on_coffee) = two_apps(b).await;

    let new_secret = w.x.rotate_secret(ID_A).unwrap();
    assert_eq!(save(&w.owner, ID_A, &new_secret, None).await.status, 200);
    let a = account(&w.app.base, &key, &on_default).await;
    assert_eq!(
        (a["status"].as_str(), a["reconnection_pending"].as_str()),
        (Some("active"), Some("secret_rotated")),
        "{a}"
    );

    let before = w.x.requests().len();
    let r = post(&w.app.base, &key, &on_default, "Old secret").await;
    assert_eq!((r.status, error_code(&r)), (409, "needs_reconnection".to_owned()), "{}", r.body);
    assert!(error_message(&r).contains("secret_rotated"), "{}", r.body);
    assert_eq!(w.x.requests().len(), before, "marked without asking X");
    assert_eq!(account(&w.app.base, &key, &on_default).await["needs_reconnection"]["reason"], "secret_rotated");

    let r = post(&w.app.base, &key, &on_coffee, "Own app, untouched").await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(account(&w.app.base, &key, &on_coffee).await["status"], "active");
}

/// F.30: twenty posts at once on an account whose token has expired: exactly one refresh at X,
/// and all twenty posted with the new token. On PostgreSQL the posts are split between two Perch
/// instances sharing the database.
async fn f30_twenty_concurrent_posts_on_an_expired_token_make_one_refresh(b: Backend) {
    let (w, key, id) = with_account(b).await;
    let second = match b {
        Backend::Postgres => Some(w.app.another_instance().await),
        Backend::Sqlite => None,
    };
    let bases: Vec<String> = match &second {
        Some(s) => vec![w.app.base.clone(), s.base.clone()],
        None => vec![w.app.base.clone()],
    };
    sqlx::query("update twitter_accounts set access_expires_at = 0").execute(w.app.state.db.pool()).await.unwrap();
    let (_, old_refresh) = tokens_of(&w.app, &id).await;
    let posts: Vec<_> = (0..20)
        .map(|i| {
            let (base, key, id) = (bases[i % bases.len()].clone(), key.clone(), id.clone());
            tokio::spawn(async move { post(&base, &key, &id, &format!("Concurrent post {i}")).await })
        })
        .collect();
    for p in posts {
        let r = p.await.unwrap();
        assert_eq!(r.status, 201, "{}", r.body);
    }
    assert_eq!(w.x.counters().refreshes, 1, "one refresh across every request and instance");
    assert_eq!(w.x.tweets().len(), 20);
    let (access, refresh) = tokens_of(&w.app, &id).await;
    assert!(w.x.access_token_is_valid(&access) && w.x.refresh_token_is_valid(refresh.as_ref().unwrap()));
    assert!(!w.x.refresh_token_is_valid(&old_refresh.unwrap()));
}

/// H.37: an instance that died after sending the refresh token to X but before storing X's
/// answer leaves a mark; the next call marks the account instead of sending that token again.
/// An instance that died holding the lease but before sending anything leaves no such mark, and
/// the next call refreshes normally once the lease lapses.
async fn h37_a_refresh_cut_off_by_a_crash_never_sends_the_refresh_token_again(b: Backend) {
    let (w, key, id) = with_account(b).await;
    let pool = w.app.state.db.pool();
    let now = app::server::now();
    // Died before sending: a lapsed lease, nothing sent.
    sqlx::query("update twitter_accounts set access_expires_at = 0, refresh_lease_owner = 'lease_dead', refresh_lease_until = $1")
        .bind(now - 1)
        .execute(pool)
        .await
        .unwrap();
    let r = post(&w.app.base, &key, &id, "After a crash before sending").await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(w.x.counters().refreshes, 1);

    // Died after sending: the token may be spent at X.
    let (_, refresh) = tokens_of(&w.app, &id).await;
    sqlx::query(
        "update twitter_accounts set access_expires_at = 0, refresh_lease_owner = 'lease_dead', refresh_lease_until = $1, refresh_sent_at = $1",
    )
    .bind(now - 1)
    .execute(pool)
    .await
    .unwrap();
    let before = token_requests_of(&w);
    let r = post(&w.app.base, &key, &id, "After a crash while refreshing").await;
    assert_eq!((r.status, error_code(&r)), (409, "needs_reconnection".to_owned()), "{}", r.body);
    assert!(error_message(&r).contains("refresh_interrupted"), "{}", r.body);
    assert_eq!(token_requests_of(&w), before, "the refresh token was not sent again");
    assert!(w.x.refresh_token_is_valid(refresh.as_ref().unwrap()), "(X never saw it a second time)");
    // Reconnecting clears it.
    let done = connect_through(&w.owner, None, None).await;
    assert_eq!(account_of(&done), id);
    assert_eq!(post(&w.app.base, &key, &id, "Reconnected").await.status, 201);
}

async fn disconnect_revokes_at_x_and_deletes_the_tokens(b: Backend) {
    let (w, key, id) = with_account(b).await;
    let (access, refresh) = tokens_of(&w.app, &id).await;
    let r = api(&w.app.base, "DELETE", &format!("/v1/accounts/{id}"), &key, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["data"], json!({ "id": id, "username": "XDevelopers", "revoked_at_x": true }));
    assert!(!w.x.access_token_is_valid(&access) && !w.x.refresh_token_is_valid(&refresh.unwrap()), "revoked at X");
    assert_eq!(w.app.count("twitter_accounts").await, 0);
    assert_eq!(api(&w.app.base, "GET", "/v1/accounts", &key, None).await.json()["data"], json!([]));
    let again = api(&w.app.base, "DELETE", &format!("/v1/accounts/{id}"), &key, None).await;
    assert_eq!(again.status, 404);
    let trail = w.owner.get("/settings/twitter").await;
    assert!(trail.body.contains("Disconnected an X account") && trail.body.contains("API key “CMS”"), "audit trail");
}
