//! The refresh of an account's access token racing everything it can overlap with, on SQLite and
//! PostgreSQL, with one and with two Perch instances on one database (docs/security.md F.30, F.31,
//! H.37): a post arriving while another request refreshes, a 401 coming back after the refresh
//! finished, an instance killed while X answers, instances whose clocks disagree, a reconnect, a
//! disconnect or a rotation landing while X answers, X's token endpoint down with an OAuth-shaped
//! body, and the database failing the write of X's new tokens. Racy cases repeat inside the test.
//!
//! Run with `cargo test -p server --test it -- refresh_races::`.

use std::time::{Duration, Instant};

use crate::common::api::{account, api, error_code, error_message, post, with_account};
use crate::common::connect::*;
use crate::common::leaks::{capture, logs};
use crate::common::{Backend, TestApp};
use fake_x::Fault;

on_both_databases!(
    f30_a_post_during_a_refresh_waits_for_it_and_posts_with_the_new_token,
    f30_a_401_that_comes_back_after_the_refresh_never_refreshes_again,
    h37_an_instance_killed_while_x_answers_leaves_refresh_interrupted_and_never_resends,
    f30_the_refresh_lease_follows_the_database_clock_not_an_instance_clock,
    f30_a_reconnect_while_x_answers_a_refresh_is_not_overwritten,
    f32_a_disconnect_while_x_answers_a_refresh_leaves_no_live_token,
    f30_a_rotation_while_x_answers_a_refresh_marks_the_account_secret_rotated,
    f30_check_during_a_refresh_waits_for_it,
    f31_an_outage_at_the_token_endpoint_never_marks_the_account,
    h37_x_new_tokens_survive_a_failing_database_write,
);

// ---- helpers ---------------------------------------------------------------------------------

/// Makes X refuse the account's current access token (Perch still thinks it fresh).
async fn expire_at_x(w: &World, account_id: &str) -> String {
    let (access, _) = tokens_of(&w.app, account_id).await;
    w.x.expire_token(&access).unwrap();
    access
}

/// Waits until X has carried out `n` refreshes in all (the grant is done; its answer may still
/// be on its way).
async fn until_refreshes(w: &World, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while w.x.counters().refreshes < n {
        assert!(Instant::now() < deadline, "X never saw refresh number {n}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn spawn_post(base: &str, key: &str, id: &str, text: String) -> tokio::task::JoinHandle<crate::common::Reply> {
    let (base, key, id) = (base.to_owned(), key.to_owned(), id.to_owned());
    tokio::spawn(async move { post(&base, &key, &id, &text).await })
}

async fn status_of(w: &World, key: &str, id: &str) -> (String, String) {
    let a = account(&w.app.base, key, id).await;
    (
        a["status"].as_str().unwrap_or("gone").to_owned(),
        a["needs_reconnection"]["reason"].as_str().unwrap_or("").to_owned(),
    )
}

// ---- a post arriving while another request refreshes ----------------------------------------

/// Issue 10, item 1: post A meets X's 401 and starts a refresh that X takes 1.2 s to answer;
/// post B arrives 50 ms, 300 ms or 900 ms later, on the same instance or another one. B waits for
/// A's refresh and posts with the new token: both 201, one refresh at X, the account active.
async fn f30_a_post_during_a_refresh_waits_for_it_and_posts_with_the_new_token(b: Backend) {
    let (w, key, id) = with_account(b).await;
    let second = w.app.another_instance().await;
    w.x.update_switches(|s| s.token_delay_ms = 1_200);
    let mut refreshes = 0;
    for (round, stagger) in [50, 300, 900, 50, 300, 900].into_iter().enumerate() {
        let other = if round < 3 { w.app.base.clone() } else { second.base.clone() };
        expire_at_x(&w, &id).await;
        let a = spawn_post(&w.app.base, &key, &id, format!("A {round}"));
        tokio::time::sleep(Duration::from_millis(stagger)).await;
        let b = spawn_post(&other, &key, &id, format!("B {round}"));
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        assert_eq!((a.status, b.status), (201, 201), "round {round} (B {stagger} ms later): {} / {}", a.body, b.body);
        refreshes += 1;
        assert_eq!(w.x.counters().refreshes, refreshes, "round {round}: one refresh");
        assert_eq!(status_of(&w, &key, &id).await.0, "active", "round {round}");
    }
}

/// Issue 10, item 2: ten posts at once (split over two instances) on a token X has expired, 50
/// times over; X's 401s come back at once, 30 ms or 150 ms late, so that some return after the
/// refresh has finished. A 401 for a token older than the stored one means "use the stored
/// one": exactly one refresh per round, every post 201.
async fn f30_a_401_that_comes_back_after_the_refresh_never_refreshes_again(b: Backend) {
    let (w, key, id) = with_account(b).await;
    let second = w.app.another_instance().await;
    let bases = [w.app.base.clone(), second.base.clone()];
    // 500 posts in a few seconds: past X's per-user window, which is not what this is about.
    w.x.update_switches(|s| {
        s.tweets_limit_15min = 10_000;
        s.tweets_user_limit_24h = 10_000;
    });
    for round in 0..50u64 {
        w.x.update_switches(|s| s.unauthorized_delay_ms = [0, 30, 150][round as usize % 3]);
        expire_at_x(&w, &id).await;
        let posts: Vec<_> =
            (0..10).map(|i| spawn_post(&bases[i % 2], &key, &id, format!("Round {round} post {i}"))).collect();
        for p in posts {
            let r = p.await.unwrap();
            assert_eq!(r.status, 201, "round {round}: {}", r.body);
        }
        assert_eq!(w.x.counters().refreshes, round + 1, "round {round}: exactly one refresh");
    }
    assert_eq!(w.x.tweets().len(), 500);
    assert_eq!(status_of(&w, &key, &id).await.0, "active");
}

// ---- an instance killed while X answers ------------------------------------------------------

/// A `perch serve` process of its own on `app`'s database, pointed at `w`'s fake X.
struct Child(std::process::Child, String);

impl Child {
    async fn start(w: &World, app: &TestApp) -> Child {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let base = format!("http://127.0.0.1:{port}");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_perch"))
            .arg("serve")
            .envs(app.db.env())
            .env("PERCH_LISTEN", format!("127.0.0.1:{port}"))
            .env("PERCH_PUBLIC_URL", &app.base)
            .env("PERCH_X_API_URL", w.x.base_url())
            .env("PERCH_X_AUTHORIZE_URL", w.x.authorize_url())
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !http.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status() == 200) {
            assert!(Instant::now() < deadline, "the second perch never came up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Child(child, base)
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Issue 10, item 3 (H.37): a second `perch` process sends the refresh token and is killed
/// (SIGKILL) while X answers, so X has spent the token and nobody stored the new one. Once the
/// dead holder's lease lapses, the survivor marks the account `refresh_interrupted` and never
/// sends the spent token again.
async fn h37_an_instance_killed_while_x_answers_leaves_refresh_interrupted_and_never_resends(b: Backend) {
    let (w, key, id) = with_account(b).await;
    let mut child = Child::start(&w, &w.app).await;
    w.x.update_switches(|s| s.token_delay_ms = 10_000);
    expire_at_x(&w, &id).await;
    let doomed = spawn_post(&child.1, &key, &id, "On the instance that dies".into());
    until_refreshes(&w, 1).await;
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    let _ = doomed.await;
    w.x.update_switches(|s| s.token_delay_ms = 0);
    let pool = w.app.state.db.pool();
    let (sent, lease): (Option<i64>, Option<i64>) =
        sqlx::query_as("select refresh_sent_at, refresh_lease_until from twitter_accounts where id = $1")
            .bind(&id)
            .fetch_one(pool)
            .await
            .unwrap();
    assert!(sent.is_some() && lease.is_some(), "the dead instance held the lease and had sent the token");
    // Time passes: the dead holder's lease lapses (by the database's clock).
    sqlx::query("update twitter_accounts set refresh_lease_until = refresh_lease_until - $1 where id = $2")
        .bind(app::server::store::accounts::LEASE_SECS + 1)
        .bind(&id)
        .execute(pool)
        .await
        .unwrap();
    let before = token_requests(&w.x).len();
    let r = post(&w.app.base, &key, &id, "On the survivor").await;
    assert_eq!((r.status, error_code(&r)), (409, "needs_reconnection".to_owned()), "{}", r.body);
    assert!(error_message(&r).contains("refresh_interrupted"), "{}", r.body);
    assert_eq!(token_requests(&w.x).len(), before, "the spent refresh token is never sent again");
    assert_eq!(w.x.counters().refreshes, 1);
    assert_eq!(status_of(&w, &key, &id).await, ("needs_reconnection".to_owned(), "refresh_interrupted".to_owned()));
}

// ---- clocks that disagree --------------------------------------------------------------------

/// Issue 10, item 4: the lease's times come from the database's clock. With the second
/// instance's clock 40 s ahead (then the first's), a refresh in progress on one instance is
/// still a refresh in progress for the other: it waits, it does not take the lease and find the
/// token "spent".
async fn f30_the_refresh_lease_follows_the_database_clock_not_an_instance_clock(b: Backend) {
    let (w, key, id) = with_account(b).await;
    let second = w.app.another_instance().await;
    w.x.update_switches(|s| s.token_delay_ms = 1_500);
    let rounds = [
        (&w.app.state, &second.state, &w.app.base, &second.base),
        (&second.state, &w.app.state, &second.base, &w.app.base),
    ];
    for (round, (_, skewed, first_base, skewed_base)) in rounds.into_iter().enumerate() {
        skewed.clock.set_skew(40);
        expire_at_x(&w, &id).await;
        let a = spawn_post(first_base, &key, &id, format!("Holder {round}"));
        until_refreshes(&w, round as u64 + 1).await;
        let b = spawn_post(skewed_base, &key, &id, format!("Skewed {round}"));
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        assert_eq!((a.status, b.status), (201, 201), "round {round}: {} / {}", a.body, b.body);
        assert_eq!(w.x.counters().refreshes, round as u64 + 1);
        assert_eq!(status_of(&w, &key, &id).await.0, "active");
        skewed.clock.set_skew(0);
    }
    // The lease a holder takes ends LEASE_SECS after the database's now, whatever the instance's clock.
    w.app.state.clock.set_skew(-3_600);
    w.x.update_switches(|s| s.token_delay_ms = 3_000);
    expire_at_x(&w, &id).await;
    let a = spawn_post(&w.app.base, &key, &id, "Lease check".into());
    until_refreshes(&w, 3).await;
    let (until, db_now): (i64, i64) = sqlx::query_as(&format!(
        "select refresh_lease_until, {} from twitter_accounts where id = $1",
        w.app.state.db.clock_sql()
    ))
    .bind(&id)
    .fetch_one(w.app.state.db.pool())
    .await
    .unwrap();
    assert!(
        (until - db_now - app::server::store::accounts::LEASE_SECS).abs() <= 5,
        "lease until {until}, database now {db_now}"
    );
    assert_eq!(a.await.unwrap().status, 201);
}

// ---- what can land while X answers -----------------------------------------------------------

/// Starts a post whose refresh X carries out at once but answers only after `ms`; returns once
/// X has carried it out. Later token requests are answered at once.
async fn post_with_slow_refresh(
    w: &World,
    key: &str,
    id: &str,
    ms: u64,
) -> tokio::task::JoinHandle<crate::common::Reply> {
    let before = w.x.counters().refreshes;
    w.x.update_switches(|s| s.token_delay_ms = ms);
    expire_at_x(w, id).await;
    let p = spawn_post(&w.app.base, key, id, format!("Slow refresh {before}"));
    until_refreshes(w, before + 1).await;
    w.x.update_switches(|s| s.token_delay_ms = 0);
    p
}

/// Issue 10, item 4: a reconnect stored while X answers a refresh wins: the refresh's tokens are
/// not written over it, and the post goes out with the reconnect's token.
async fn f30_a_reconnect_while_x_answers_a_refresh_is_not_overwritten(b: Backend) {
    let (w, key, id) = with_account(b).await;
    let p = post_with_slow_refresh(&w, &key, &id, 2_500).await;
    let authorize = url::Url::parse(&press(&w.owner, "account_id", &id).await.header("location")).unwrap();
    let back = at_x(&authorize, "authorize", None, None).await;
    assert_eq!(result_of(&arrive(&w.owner, back.as_str()).await), "reconnected");
    let (reconnected_access, reconnected_refresh) = tokens_of(&w.app, &id).await;
    let r = p.await.unwrap();
    assert_eq!(r.status, 201, "{}", r.body);
    let (access, refresh) = tokens_of(&w.app, &id).await;
    assert_eq!((&access, &refresh), (&reconnected_access, &reconnected_refresh), "the reconnect's tokens stay");
    assert!(w.x.access_token_is_valid(&access) && w.x.refresh_token_is_valid(refresh.as_ref().unwrap()));
    assert_eq!(status_of(&w, &key, &id).await.0, "active");
}

/// Disconnect while X answers a refresh: the account is gone, and the tokens X issued for the
/// refresh are revoked rather than stored in a deleted row or left alive at X (F.32).
async fn f32_a_disconnect_while_x_answers_a_refresh_leaves_no_live_token(b: Backend) {
    let (w, key, id) = with_account(b).await;
    let p = post_with_slow_refresh(&w, &key, &id, 2_000).await;
    let d = api(&w.app.base, "DELETE", &format!("/v1/accounts/{id}"), &key, None).await;
    assert_eq!(d.status, 200, "{}", d.body);
    let r = p.await.unwrap();
    assert_eq!((r.status, error_code(&r)), (404, "not_found".to_owned()), "{}", r.body);
    assert_eq!(w.app.count("twitter_accounts").await, 0);
    assert!(w.x.grants().iter().all(|g| g.revoked), "no grant left alive at X: {:?}", w.x.grants());
}

/// Saving a rotated secret while X answers a refresh: the refresh's tokens are not stored under
/// the new generation; the account is marked `secret_rotated`, the reason that applies.
async fn f30_a_rotation_while_x_answers_a_refresh_marks_the_account_secret_rotated(b: Backend) {
    let (w, key, id) = with_account(b).await;
    w.x.update_switches(|s| s.rotation_kills_tokens = false);
    let p = post_with_slow_refresh(&w, &key, &id, 2_000).await;
    let secret = w.x.rotate_secret(ID_A).unwrap();
    assert_eq!(save(&w.owner, ID_A, &secret, None).await.status, 200);
    let r = p.await.unwrap();
    assert_eq!((r.status, error_code(&r)), (409, "needs_reconnection".to_owned()), "{}", r.body);
    assert_eq!(status_of(&w, &key, &id).await, ("needs_reconnection".to_owned(), "secret_rotated".to_owned()));
}

/// Check (the dashboard's users/me call) while a post refreshes: it waits for the refresh and
/// works with the new token; one refresh at X.
async fn f30_check_during_a_refresh_waits_for_it(b: Backend) {
    let (w, key, id) = with_account(b).await;
    for round in 0..3u64 {
        w.x.update_switches(|s| s.token_delay_ms = 1_000);
        expire_at_x(&w, &id).await;
        let p = spawn_post(&w.app.base, &key, &id, format!("Post {round}"));
        tokio::time::sleep(Duration::from_millis(100 + 300 * round)).await;
        let c = check(&w.owner, &id).await;
        assert_eq!(c.status, 200, "{}", c.body);
        assert_eq!(c.json(), "working", "round {round}: {}", c.body);
        assert_eq!(p.await.unwrap().status, 201);
        assert_eq!(w.x.counters().refreshes, round + 1);
    }
    assert_eq!(status_of(&w, &key, &id).await.0, "active");
}

// ---- X's token endpoint unavailable ----------------------------------------------------------

/// Issue 10, item 5 (F.31): a 429 or a 5xx from X's token endpoint is "X unavailable" even when
/// its body carries an OAuth `error`: 502 `x_unavailable`, the account untouched, and the next
/// post after the outage refreshes and goes out.
async fn f31_an_outage_at_the_token_endpoint_never_marks_the_account(b: Backend) {
    let (w, key, id) = with_account(b).await;
    for status in [429, 500, 502, 503] {
        w.x.update_switches(|s| {
            s.token_fault = Fault::OauthError;
            s.server_error_status = status;
        });
        expire_at_x(&w, &id).await;
        let r = post(&w.app.base, &key, &id, &format!("During a {status}")).await;
        assert_eq!((r.status, error_code(&r)), (502, "x_unavailable".to_owned()), "{status}: {}", r.body);
        assert!(error_message(&r).contains(&status.to_string()), "{}", r.body);
        assert_eq!(status_of(&w, &key, &id).await.0, "active", "{status} marks nothing");
        w.x.update_switches(|s| s.token_fault = Fault::None);
        let r = post(&w.app.base, &key, &id, &format!("After a {status}")).await;
        assert_eq!(r.status, 201, "{status}: {}", r.body);
    }
}

// ---- the write of X's new tokens failing -----------------------------------------------------

/// A trigger that fails every write of an access token while `refresh_write_faults` has a row.
async fn install_write_fault(app: &TestApp) {
    let pool = app.state.db.pool();
    sqlx::query("create table refresh_write_faults (n integer)").execute(pool).await.unwrap();
    match app.db.backend {
        Backend::Sqlite => {
            sqlx::query(
                "create trigger refresh_write_fault before update of access_token_enc on twitter_accounts \
                 when exists (select 1 from refresh_write_faults) begin select raise(abort, 'injected write failure'); end",
            )
            .execute(pool)
            .await
            .unwrap();
        }
        Backend::Postgres => {
            sqlx::query(
                "create function refresh_write_fault() returns trigger language plpgsql as $$ begin \
                 if exists (select 1 from refresh_write_faults) then raise exception 'injected write failure'; end if; \
                 return new; end $$",
            )
            .execute(pool)
            .await
            .unwrap();
            sqlx::query(
                "create trigger refresh_write_fault before update of access_token_enc on twitter_accounts \
                 for each row execute function refresh_write_fault()",
            )
            .execute(pool)
            .await
            .unwrap();
        }
    }
}

async fn set_write_fault(app: &TestApp, on: bool) {
    let sql = if on { "insert into refresh_write_faults (n) values (1)" } else { "delete from refresh_write_faults" };
    sqlx::query(sql).execute(app.state.db.pool()).await.unwrap();
}

/// Issue 10, item 6 (H.37): X answered a refresh, and the database refuses the write of the new
/// tokens for a while: Perch retries, and once the database takes it the new refresh token is
/// stored and the post goes out (one refresh at X). If the database keeps refusing past the
/// retries, the answer is an error, and the next call marks the account `refresh_interrupted`
/// instead of sending the spent token again.
async fn h37_x_new_tokens_survive_a_failing_database_write(b: Backend) {
    let _logs = capture();
    let (w, key, id) = with_account(b).await;
    install_write_fault(&w.app).await;
    set_write_fault(&w.app, true).await;
    expire_at_x(&w, &id).await;
    let p = spawn_post(&w.app.base, &key, &id, "Through a failing write".into());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !logs().lines().any(|l| l.contains("storing refreshed tokens failed") && l.contains(&id)) {
        assert!(Instant::now() < deadline, "no failed write was retried");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    set_write_fault(&w.app, false).await;
    let r = p.await.unwrap();
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(w.x.counters().refreshes, 1);
    let (access, refresh) = tokens_of(&w.app, &id).await;
    assert!(
        w.x.access_token_is_valid(&access) && w.x.refresh_token_is_valid(refresh.as_ref().unwrap()),
        "X's new tokens were stored"
    );
    assert_eq!(status_of(&w, &key, &id).await.0, "active");

    // A database that keeps refusing: bounded retries, an error, then refresh_interrupted.
    set_write_fault(&w.app, true).await;
    expire_at_x(&w, &id).await;
    let r = post(&w.app.base, &key, &id, "Through a dead write").await;
    assert!(r.status >= 500, "{}", r.body);
    set_write_fault(&w.app, false).await;
    let before = token_requests(&w.x).len();
    sqlx::query("update twitter_accounts set refresh_lease_until = refresh_lease_until - $1 where id = $2")
        .bind(app::server::store::accounts::LEASE_SECS + 1)
        .bind(&id)
        .execute(w.app.state.db.pool())
        .await
        .unwrap();
    let r = post(&w.app.base, &key, &id, "After the dead write").await;
    assert_eq!((r.status, error_code(&r)), (409, "needs_reconnection".to_owned()), "{}", r.body);
    assert!(error_message(&r).contains("refresh_interrupted"), "{}", r.body);
    assert_eq!(token_requests(&w.x).len(), before, "the spent refresh token is never sent again");
}
