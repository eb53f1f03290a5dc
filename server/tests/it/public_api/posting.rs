//! Posting through an account's own app, with every answer of X's (docs/x-api.md), refresh and rotation.

use super::*;

on_both_databases!(
    posting_goes_through_the_accounts_own_app,
    post_text_and_ids_are_checked_before_x_is_called,
    every_refusal_of_x_becomes_an_error_a_client_can_act_on,
    refusals_about_the_app_are_named_and_never_mark_the_account,
    spent_credits_mark_the_app_on_every_card_until_a_call_through_it_succeeds,
    replies_and_quotes_x_no_longer_allows_are_named_and_never_retried,
    a_revoked_access_token_is_refreshed_once_and_the_post_retried,
    a_refused_refresh_marks_the_account_and_answers_409,
    rotation_marks_only_the_accounts_of_the_old_secret_on_their_next_call,
    f30_twenty_concurrent_posts_on_an_expired_token_make_one_refresh,
    h37_a_refresh_cut_off_by_a_crash_never_sends_the_refresh_token_again,
    disconnect_revokes_at_x_and_deletes_the_tokens,
);

async fn posting_goes_through_the_accounts_own_app(b: Backend) {
    let (w, key, on_default, on_coffee) = two_apps(b).await;

    // It mentions the default card's account, which X's reply restriction requires of the reply below.
    let r = post(&w.app.base, &key, &on_coffee, "Fresh beans today ☕ @XDevelopers").await;
    assert_eq!(r.status, 201, "{}", r.body);
    let p = r.json()["data"].clone();
    assert!(p["id"].as_str().unwrap().starts_with("pst_"));
    let tweet = w.x.tweets().into_iter().find(|t| t.id == p["x_post_id"].as_str().unwrap()).expect("posted at X");
    assert_eq!(tweet.text, "Fresh beans today ☕ @XDevelopers");
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
    assert_eq!((r.status, error_code(&r)), (409, "x_duplicate".to_owned()), "{}", r.body);
    assert!(error_message(&r).contains("duplicate content"), "{}", r.body);

    let refusals: [(Refusal, u16, &str, &str); 3] = [
        (Refusal::NotPermitted, 403, "x_forbidden", "not permitted to perform this action"),
        (Refusal::ClientNotEnrolled, 403, "x_client_not_enrolled", "Project"),
        (Refusal::UserNotEnrolled, 403, "x_user_not_enrolled", "user-not-enrolled"),
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

/// X's refusals about the app or its developer account (docs/x-api.md, addendum 2): each has its
/// own code, none is retried, none refreshes a token, and none marks the account, which stays
/// active and posts again once X lets it.
async fn refusals_about_the_app_are_named_and_never_mark_the_account(b: Backend) {
    let (w, key, id) = with_account(b).await;
    let base = w.app.base.clone();
    for (n, body) in [CreditsBody::WithAccountId, CreditsBody::WithoutAccountId, CreditsBody::PaymentRequired]
        .into_iter()
        .enumerate()
    {
        w.x.update_switches(|s| {
            s.tweets_refusal = Refusal::CreditsDepleted;
            s.credits_body = body;
        });
        let before = w.x.requests().len();
        let r = post(&base, &key, &id, &format!("credits {n}")).await;
        assert_eq!((r.status, error_code(&r)), (402, "x_credits_depleted".to_owned()), "{body:?}: {}", r.body);
        assert!(error_message(&r).contains("console.x.com"), "says what to do: {}", r.body);
        assert_eq!(w.x.requests().len() - before, 1, "{body:?}: one call to X, not retried");
    }

    // The monthly cap: its own code, and Retry-After from the end of the month, not X's
    // 15-minute reset (which the captured answer sets 15 minutes ahead).
    w.x.update_switches(|s| s.tweets_refusal = Refusal::UsageCapExceeded);
    let r = post(&base, &key, &id, "capped").await;
    assert_eq!((r.status, error_code(&r)), (429, "x_usage_cap_exceeded".to_owned()), "{}", r.body);
    let retry: i64 = r.header("retry-after").parse().expect("Retry-After in seconds");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let month_end = {
        use time::{Date, OffsetDateTime, Time};
        let d = OffsetDateTime::from_unix_timestamp(now).unwrap().date();
        let (y, m) = if d.month() == time::Month::December {
            (d.year() + 1, time::Month::January)
        } else {
            (d.year(), d.month().next())
        };
        Date::from_calendar_date(y, m, 1).unwrap().with_time(Time::MIDNIGHT).assume_utc().unix_timestamp()
    };
    assert!(
        (retry - (month_end - now)).abs() <= 5,
        "Retry-After {retry} against {} to the month's end",
        month_end - now
    );
    assert!(!error_message(&r).contains("15-minute rate limit is"), "{}", r.body);

    w.x.update_switches(|s| s.tweets_refusal = Refusal::None);
    assert_eq!(account(&base, &key, &id).await["status"], "active", "the account was never marked");
    assert_eq!(w.x.counters().refreshes, 0, "no refresh: none of these is about the token");
    assert_eq!(post(&base, &key, &id, "Back").await.status, 201);
}

/// X's 402 is about the developer account behind an app: the app's panel in Settings and the card
/// of every account connected through it say so (and no other app's), from the first refusal until
/// the next call through the app that succeeds, whichever account and door it comes by (a post, a
/// Check); the token endpoint keeps working meanwhile.
async fn spent_credits_mark_the_app_on_every_card_until_a_call_through_it_succeeds(b: Backend) {
    let (w, key, on_default, on_coffee) = two_apps(b).await;
    let base = w.app.base.clone();
    w.x.set_next_user(fake_x::FakeUser::new("3333333333", "Second", "second"));
    let second_on_default = account_of(&connect_through(&w.owner, None, Some("3333333333")).await);
    let flagged = |accounts: &[Value]| -> Vec<String> {
        let mut ids: Vec<String> = accounts
            .iter()
            .filter(|a| a["app_credits_depleted_at"].is_i64())
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let default_panel = |s: &Value| s["default"]["credits_depleted_at"].clone();
    assert!(flagged(&all_accounts(&w.owner).await).is_empty());

    w.x.update_switches(|s| s.out_of_credits = vec![ID_A.to_owned()]);
    let r = post(&base, &key, &on_default, "no credits").await;
    assert_eq!((r.status, error_code(&r)), (402, "x_credits_depleted".to_owned()), "{}", r.body);
    let mut expected = vec![on_default.clone(), second_on_default.clone()];
    expected.sort();
    assert_eq!(flagged(&all_accounts(&w.owner).await), expected, "every account of the default app, no other");
    let settings = w.owner.call("twitter/settings", &[]).await.json();
    assert!(default_panel(&settings).is_i64(), "{settings}");
    let page = w.owner.get("/settings/twitter").await;
    assert!(page.body.contains("X credits spent"), "the settings page says so");
    let page = w.owner.get("/accounts").await;
    assert_eq!(page.body.matches("credits-depleted").count(), 2, "on both cards of the app");
    // The other app's account still posts, and its card says nothing.
    assert_eq!(post(&base, &key, &on_coffee, "other app").await.status, 201);
    let listed = account(&base, &key, &on_default).await;
    assert_eq!(listed["status"], "active", "never the account's state");
    assert!(listed["app_credits_depleted_since"].as_str().is_some_and(|s| s.ends_with('Z')), "{listed}");
    assert!(account(&base, &key, &on_coffee).await["app_credits_depleted_since"].is_null());

    // Check through the other account of the app meets the same 402, and names it.
    let r = check(&w.owner, &second_on_default).await;
    assert_eq!(r.json(), "credits_depleted", "{}", r.body);
    let first = default_panel(&w.owner.call("twitter/settings", &[]).await.json());
    assert!(first.is_i64());

    // Credits bought: the next call through the app that succeeds clears the mark, whichever
    // account it was for.
    w.x.update_switches(|s| s.out_of_credits = vec![]);
    assert_eq!(check(&w.owner, &second_on_default).await.json(), "working");
    assert!(flagged(&all_accounts(&w.owner).await).is_empty());
    assert!(default_panel(&w.owner.call("twitter/settings", &[]).await.json()).is_null());
    assert!(!w.owner.get("/accounts").await.body.contains("credits-depleted"));
    assert!(account(&base, &key, &on_default).await["app_credits_depleted_since"].is_null());
    assert_eq!(post(&base, &key, &on_default, "credits back").await.status, 201);
}

/// X's reply restriction and the end of quotes on self-serve tiers (docs/x-api.md, addendum 3):
/// both recorded wordings of a refused reply, and a refused quote, have their own codes; neither
/// is taken for a missing scope (the account's token has every scope) nor retried. A reply where
/// the author mentioned the account, and a reply to the account's own post (a thread), go through.
async fn replies_and_quotes_x_no_longer_allows_are_named_and_never_retried(b: Backend) {
    let (w, key, on_default, on_coffee) = two_apps(b).await;
    let base = w.app.base.clone();
    let plain = post(&base, &key, &on_coffee, "No mention here").await.json()["data"]["x_post_id"].clone();
    let plain = plain.as_str().unwrap();
    let reply = |text: &str, to: &str| json!({ "account_id": on_default, "text": text, "reply_to_post_id": to });
    let quote = |text: &str, of: &str| json!({ "account_id": on_default, "text": text, "quote_post_id": of });

    for wording in [ReplyRefusal::NotAuthorizedForResource, ReplyRefusal::NotEngaged] {
        w.x.update_switches(|s| s.reply_refusal = wording);
        let before = w.x.requests().len();
        let r = api(&base, "POST", "/v1/posts", &key, Some(reply(&format!("hi {wording:?}"), plain))).await;
        assert_eq!((r.status, error_code(&r)), (403, "x_reply_not_allowed".to_owned()), "{wording:?}: {}", r.body);
        assert_eq!(w.x.requests().len() - before, 1, "not retried");
    }
    let r = api(&base, "POST", "/v1/posts", &key, Some(quote("look", plain))).await;
    assert_eq!((r.status, error_code(&r)), (403, "x_quote_not_allowed".to_owned()), "{}", r.body);
    // The same refusals when X gives them for reasons the fake does not model.
    for (refusal, code) in
        [(Refusal::ReplyNotAllowed, "x_reply_not_allowed"), (Refusal::QuoteNotAllowed, "x_quote_not_allowed")]
    {
        w.x.update_switches(|s| s.tweets_refusal = refusal);
        let body = if refusal == Refusal::ReplyNotAllowed { reply("forced", plain) } else { quote("forced", plain) };
        let r = api(&base, "POST", "/v1/posts", &key, Some(body)).await;
        assert_eq!((r.status, error_code(&r)), (403, code.to_owned()), "{refusal:?}: {}", r.body);
    }
    w.x.update_switches(|s| s.tweets_refusal = Refusal::None);
    assert_eq!(account(&base, &key, &on_default).await["status"], "active");
    assert_eq!(w.x.counters().refreshes, 0);

    // Allowed: a reply where the author mentioned the account, and one to the account's own post.
    let mention = post(&base, &key, &on_coffee, "Thanks @XDevelopers").await.json()["data"]["x_post_id"].clone();
    let r = api(&base, "POST", "/v1/posts", &key, Some(reply("You're welcome", mention.as_str().unwrap()))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let own = r.json()["data"]["x_post_id"].clone();
    let r = api(&base, "POST", "/v1/posts", &key, Some(reply("And a thread", own.as_str().unwrap()))).await;
    assert_eq!(r.status, 201, "{}", r.body);
}
