//! State-changing operations racing themselves and what they can overlap with, on SQLite and
//! PostgreSQL, with two Perch instances on one database: creating API keys at the limit,
//! revoking a key while it is in use, two disconnects of one account, posts racing a disconnect.
//! (The refresh's races are in `refresh_races.rs`; concurrent credential saves in
//! `twitter_credentials.rs`; concurrent callbacks of one flow in `twitter_accounts.rs`.) Racy
//! cases repeat inside the test.
//!
//! Run with `cargo test -p server --test it -- races::`.

use std::time::{Duration, Instant};

use crate::common::api::{api, new_key, post, with_account};
use crate::common::connect::*;
use crate::common::{Backend, Client, send};

on_both_databases!(
    keys_created_at_once_never_pass_the_limit,
    g35_a_revoked_key_is_refused_by_every_request_that_starts_after_the_revoke,
    f32_two_disconnects_of_one_account_at_once_disconnect_it_once,
    posts_racing_a_disconnect_either_post_or_find_no_account,
);

async fn create_key(c: &Client, name: &str) -> crate::common::Reply {
    c.call("keys/create", &[("name", name)]).await
}

/// `keys/create` through the instance at `base`, as a page of Perch's public URL `origin` would
/// call it (every instance has the same public URL).
async fn create_key_via(http: &reqwest::Client, base: &str, origin: &str, name: &str) -> crate::common::Reply {
    send(
        http.post(format!("{base}/api/keys/create"))
            .header("origin", origin)
            .header("accept", "application/json")
            .form(&[("name", name)]),
    )
    .await
}

/// The organization may hold 100 active keys. Twenty creations at once, split over two
/// instances, when 95 exist: exactly five succeed, the others are refused with the limit's
/// message, and never 101 keys are active (each creation counts and inserts alone in its
/// organization).
async fn keys_created_at_once_never_pass_the_limit(b: Backend) {
    let w = world(b).await;
    let second = w.app.another_instance().await;
    for i in 0..95 {
        assert_eq!(create_key(&w.owner, &format!("Key {i}")).await.status, 200);
    }
    let bases = [w.app.base.clone(), second.base.clone()];
    let racing: Vec<_> = (0..20)
        .map(|i| {
            let (http, base, origin) = (w.owner.http.clone(), bases[i % 2].clone(), w.app.base.clone());
            tokio::spawn(async move { create_key_via(&http, &base, &origin, &format!("Racing key {i}")).await })
        })
        .collect();
    let mut answers = Vec::new();
    for r in racing {
        answers.push(r.await.unwrap());
    }
    let created = answers.iter().filter(|r| r.status == 200).count();
    assert_eq!(created, 5, "{:?}", answers.iter().map(|r| r.status).collect::<Vec<_>>());
    for r in answers.iter().filter(|r| r.status != 200) {
        assert_eq!(r.status, 409, "{}", r.body);
        assert!(r.body.contains("100 active API keys"), "{}", r.body);
    }
    let active: i64 = sqlx::query_scalar("select count(*) from api_keys where revoked_at is null")
        .fetch_one(w.app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(active, 100);
}

/// G.35: a key revoked while requests use it, on two instances: every request that starts after
/// the revocation has answered is refused (401), whichever instance serves it; requests in
/// flight during it are either served or refused, never a 5xx. Ten times over.
async fn g35_a_revoked_key_is_refused_by_every_request_that_starts_after_the_revoke(b: Backend) {
    let w = world(b).await;
    let second = w.app.another_instance().await;
    let bases = [w.app.base.clone(), second.base.clone()];
    for round in 0..10 {
        let answer = create_key(&w.owner, &format!("Round {round}")).await;
        let (key, key_id) = (
            answer.json()["key"].as_str().unwrap().to_owned(),
            answer.json()["view"]["id"].as_str().unwrap().to_owned(),
        );
        let users: Vec<_> = (0..12)
            .map(|i| {
                let (base, key) = (bases[i % 2].clone(), key.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(5 * i as u64)).await;
                    let started = Instant::now();
                    (started, api(&base, "GET", "/v1/brands", &key, None).await.status)
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(15 + 3 * round)).await;
        let revoked = w.owner.call("keys/revoke", &[("key_id", &key_id)]).await;
        assert_eq!(revoked.status, 200, "{}", revoked.body);
        let revoked_at = Instant::now();
        for u in users {
            let (started, status) = u.await.unwrap();
            assert!(status == 200 || status == 401, "round {round}: {status}");
            if started > revoked_at {
                assert_eq!(status, 401, "round {round}: a request started after the revoke was served");
            }
        }
        for base in &bases {
            assert_eq!(api(base, "GET", "/v1/brands", &key, None).await.status, 401);
        }
    }
}

/// F.32: two disconnects of one account at once, one per instance: one disconnects it (200,
/// revoked at X), the other finds nothing (404); one audit entry; nothing left at X. Five times.
async fn f32_two_disconnects_of_one_account_at_once_disconnect_it_once(b: Backend) {
    let w = world(b).await;
    let key = new_key(&w.owner, "CMS").await;
    let second = w.app.another_instance().await;
    for round in 0..5 {
        let id = account_of(&connect_through(&w.owner, None, None).await);
        let path = format!("/v1/accounts/{id}");
        let (a, b2) =
            tokio::join!(api(&w.app.base, "DELETE", &path, &key, None), api(&second.base, "DELETE", &path, &key, None));
        let mut statuses = [a.status, b2.status];
        statuses.sort();
        assert_eq!(statuses, [200, 404], "round {round}: {} / {}", a.body, b2.body);
        assert_eq!(w.app.count("twitter_accounts").await, 0);
        let entries: i64 =
            sqlx::query_scalar("select count(*) from audit_events where action = 'Disconnected an X account'")
                .fetch_one(w.app.state.db.pool())
                .await
                .unwrap();
        assert_eq!(entries, round + 1, "round {round}: one audit entry per disconnect");
        assert!(w.x.grants().iter().all(|g| g.revoked), "round {round}: nothing left alive at X");
    }
}

/// Posts racing a disconnect: each post is either made (201, before the account went) or finds
/// no account (404); never a 5xx, never a post recorded for an account after it was deleted.
async fn posts_racing_a_disconnect_either_post_or_find_no_account(b: Backend) {
    let (w, key, _) = with_account(b).await;
    let second = w.app.another_instance().await;
    let bases = [w.app.base.clone(), second.base.clone()];
    for round in 0..5u64 {
        let id = account_of(&connect_through(&w.owner, None, None).await);
        let posts: Vec<_> = (0..10)
            .map(|i| {
                let (base, key, id) = (bases[i % 2].clone(), key.clone(), id.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(4 * i as u64)).await;
                    post(&base, &key, &id, &format!("Round {round} post {i}")).await
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(10 + 5 * round)).await;
        let d = api(&bases[round as usize % 2], "DELETE", &format!("/v1/accounts/{id}"), &key, None).await;
        assert_eq!(d.status, 200, "{}", d.body);
        let mut made = 0;
        for p in posts {
            let r = p.await.unwrap();
            assert!(r.status == 201 || r.status == 404, "round {round}: {} {}", r.status, r.body);
            made += usize::from(r.status == 201);
        }
        let recorded: i64 = sqlx::query_scalar("select count(*) from posts where account_id = $1")
            .bind(&id)
            .fetch_one(w.app.state.db.pool())
            .await
            .unwrap();
        assert_eq!(recorded as usize, made, "round {round}: every post made is recorded, and only those");
        assert_eq!(api(&w.app.base, "GET", "/v1/accounts", &key, None).await.json()["data"], serde_json::json!([]));
    }
}
