//! The door under attack (docs/security.md C.15–C.17), on SQLite and PostgreSQL, with parallel
//! requests as an attacker sends them: guesses counted before they are hashed, a shared address
//! that slows down without locking everyone out, `X-Forwarded-For` believed only from trusted
//! proxies, sign-up throttled, and a full hashing queue answering `busy` quickly.
//!
//! Run with `cargo test -p server --test it -- sign_in::`.

use crate::common::{Backend, PASSWORD, Reply, TestApp, send};

on_both_databases!(
    c16_forty_parallel_guesses_at_one_account_are_counted_before_any_is_hashed,
    c16_failures_from_a_shared_address_never_refuse_a_correct_password,
    c16_a_browser_that_signed_in_before_is_not_held_back_by_its_address,
    c16_x_forwarded_for_is_believed_only_from_trusted_proxies,
    c17_signup_is_throttled_per_address,
    c17_a_flood_beyond_the_hashing_queue_is_turned_away_with_busy,
);

/// A sign-in as a browser without cookies would send it, from `forwarded` when given.
async fn login(app_base: &str, email: &str, password: &str, forwarded: Option<&str>) -> Reply {
    login_via(app_base, app_base, email, password, forwarded).await
}

/// The same through the instance at `base` of a Perch whose public URL is `origin`.
async fn login_via(base: &str, origin: &str, email: &str, password: &str, forwarded: Option<&str>) -> Reply {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/api/login"))
        .header("origin", origin)
        .header("accept", "application/json")
        .form(&[("email", email), ("password", password)]);
    if let Some(f) = forwarded {
        req = req.header("x-forwarded-for", f);
    }
    send(req).await
}

async fn failures_of(app: &TestApp, key: &str) -> i64 {
    sqlx::query_scalar("select failures from login_throttle where key = $1")
        .bind(key)
        .fetch_optional(app.state.db.pool())
        .await
        .unwrap()
        .unwrap_or(0)
}

/// C.16, issue 11 item 1: forty wrong passwords for one account sent at once, over two
/// instances: at most the limit (5) are hashed, the rest answer 429 `throttled` with
/// `Retry-After`; then the same again staggered into the first ones' window.
async fn c16_forty_parallel_guesses_at_one_account_are_counted_before_any_is_hashed(b: Backend) {
    let app = TestApp::spawn(b).await;
    let second = app.another_instance().await;
    app.owner("Acme", "ada@example.com").await;
    for (round, stagger_ms) in [(0, 0u64), (1, 3)] {
        if round == 1 {
            sqlx::query("delete from login_throttle").execute(app.state.db.pool()).await.unwrap();
        }
        let before = app.state.passwords.computed() + second.state.passwords.computed();
        let bases = [app.base.clone(), second.base.clone()];
        let guesses: Vec<_> = (0..40)
            .map(|i| {
                let (base, origin) = (bases[i % 2].clone(), app.base.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_millis(stagger_ms * i as u64)).await;
                    login_via(&base, &origin, "ada@example.com", &format!("guess number {i}"), None).await
                })
            })
            .collect();
        let mut refused = 0;
        for g in guesses {
            let r = g.await.unwrap();
            match r.status {
                422 => {}
                429 => {
                    refused += 1;
                    assert_eq!(r.code(), "throttled", "{}", r.body);
                    assert!(
                        r.header("retry-after").parse::<u64>().is_ok_and(|s| s >= 1),
                        "Retry-After: {:?}",
                        r.headers
                    );
                }
                s => panic!("round {round}: {s} {}", r.body),
            }
        }
        let hashed = app.state.passwords.computed() + second.state.passwords.computed() - before;
        assert!(hashed <= 5, "round {round}: {hashed} guesses were checked");
        assert_eq!(refused, 40 - hashed as usize, "round {round}");
    }
    // The real owner waits out the lock like everyone else; then signs in.
    sqlx::query("update login_throttle set locked_until = 0").execute(app.state.db.pool()).await.unwrap();
    assert_eq!(login(&app.base, "ada@example.com", PASSWORD, None).await.status, 200);
}

/// C.16, issue 11 item 2: behind one address (a proxy Perch does not know), an attacker's 21
/// failures with random emails put the address past its limit. The address is slowed down, not
/// locked: a correct password for an account that is not itself locked still signs in.
async fn c16_failures_from_a_shared_address_never_refuse_a_correct_password(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.owner("Acme", "ada@example.com").await;
    for i in 0..21 {
        let r = login(&app.base, &format!("victim{i}@example.com"), "a wrong guess", None).await;
        assert!(r.status == 422 || r.status == 429, "{}", r.body);
    }
    assert!(failures_of(&app, "addr:127.0.0.1").await >= 20);
    let r = login(&app.base, "ada@example.com", PASSWORD, None).await;
    assert_eq!(r.status, 200, "a correct password from the shared address: {}", r.body);
}

/// The device cookie: a browser that signed in as this account is not counted against its
/// address. While the address is past its limit and another attempt from it is being held,
/// this browser signs in at once; a browser without the cookie is told to wait a moment.
async fn c16_a_browser_that_signed_in_before_is_not_held_back_by_its_address(b: Backend) {
    let app = TestApp::spawn(b).await;
    let owner = app.owner("Acme", "ada@example.com").await;
    assert_eq!(owner.call("logout", &[]).await.status, 200);
    for i in 0..20 {
        login(&app.base, &format!("victim{i}@example.com"), "a wrong guess", None).await;
    }
    // An attempt from the address, held for the slowdown.
    let base = app.base.clone();
    let held = tokio::spawn(async move { login(&base, "victim99@example.com", "a wrong guess", None).await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let stranger = login(&app.base, "ada@example.com", PASSWORD, None).await;
    assert_eq!((stranger.status, stranger.code()), (429, "throttled".to_owned()), "{}", stranger.body);
    let known = owner.call("login", &[("email", "ada@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(known.status, 200, "the owner's own browser: {}", known.body);
    assert_eq!(held.await.unwrap().status, 422);
    // Only a hash of the cookie is stored, one per browser.
    let hashes: Vec<String> =
        sqlx::query_scalar("select token_hash from trusted_devices").fetch_all(app.state.db.pool()).await.unwrap();
    assert_eq!(hashes.len(), 1, "the known browser was not given a second cookie");
    let jar = owner.get("/settings").await;
    assert_eq!(jar.status, 200);
}

/// C.16, issue 11 item 2: with `PERCH_TRUSTED_PROXIES`, the client is the rightmost untrusted
/// `X-Forwarded-For` entry; without it, or from a peer it does not list, the header is ignored
/// (an attacker cannot pick the address its failures are counted against).
async fn c16_x_forwarded_for_is_believed_only_from_trusted_proxies(b: Backend) {
    let app = TestApp::spawn(b).await;
    for _ in 0..3 {
        login(&app.base, "a@example.com", "a wrong guess", Some("6.6.6.6")).await;
    }
    assert_eq!(
        (failures_of(&app, "addr:127.0.0.1").await, failures_of(&app, "addr:6.6.6.6").await),
        (3, 0),
        "forged header ignored"
    );

    let proxied = TestApp::spawn_with(b, &[("PERCH_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8")]).await;
    for forwarded in ["203.0.113.5", "6.6.6.6, 203.0.113.5", "6.6.6.6, 203.0.113.5, 10.1.2.3"] {
        login(&proxied.base, "a@example.com", "a wrong guess", Some(forwarded)).await;
    }
    assert_eq!(failures_of(&proxied, "addr:203.0.113.5").await, 3, "the client behind the proxy");
    assert_eq!(failures_of(&proxied, "addr:6.6.6.6").await, 0, "what the client wrote is not believed");
    assert_eq!(failures_of(&proxied, "addr:127.0.0.1").await, 0, "the proxy itself is not the client");

    let other = TestApp::spawn_with(b, &[("PERCH_TRUSTED_PROXIES", "10.0.0.0/8")]).await;
    login(&other.base, "a@example.com", "a wrong guess", Some("203.0.113.5")).await;
    assert_eq!(failures_of(&other, "addr:127.0.0.1").await, 1, "a peer the setting does not list is the client");
}

async fn signup(base: &str, email: &str, forwarded: &str) -> Reply {
    send(
        reqwest::Client::new()
            .post(format!("{base}/api/signup"))
            .header("origin", base)
            .header("accept", "application/json")
            .header("x-forwarded-for", forwarded)
            .form(&[("org_name", "Org"), ("email", email), ("password", PASSWORD)]),
    )
    .await
}

/// Issue 11 item 3: sign-up is throttled per address (10 in the window), taken emails counted
/// like new ones; another address is not affected.
async fn c17_signup_is_throttled_per_address(b: Backend) {
    let app = TestApp::spawn_with(b, &[("PERCH_TRUSTED_PROXIES", "127.0.0.1")]).await;
    for i in 0..10 {
        let email = if i % 2 == 0 { format!("new{i}@example.com") } else { "new0@example.com".to_owned() };
        assert_eq!(signup(&app.base, &email, "203.0.113.7").await.status, 200, "sign-up {i}");
    }
    let r = signup(&app.base, "one-more@example.com", "203.0.113.7").await;
    assert_eq!((r.status, r.code()), (429, "throttled".to_owned()), "{}", r.body);
    assert!(!r.header("retry-after").is_empty());
    assert_eq!(signup(&app.base, "elsewhere@example.com", "198.51.100.2").await.status, 200);
    assert_eq!(app.count("organizations").await, 6);
}

/// C.17, issue 11 item 3: while the hashing queue is full (every slot taken, as by a flood;
/// made deterministic here, the flood itself is `scripts/bench-login-flood.py`), sign-ins wait at
/// most the queue's bound (3 s) and are turned away with 503 `busy` and `Retry-After`, never left
/// waiting for minutes; `/healthz` answers meanwhile; a turned-away attempt charges no account
/// or address; once the queue has room, the same attempt is checked again.
async fn c17_a_flood_beyond_the_hashing_queue_is_turned_away_with_busy(b: Backend) {
    let app = TestApp::spawn_with(b, &[("PERCH_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let full = app.state.passwords.occupy_all().await;
    let attempts: Vec<_> = (0..6)
        .map(|i| {
            let base = app.base.clone();
            tokio::spawn(async move {
                let started = std::time::Instant::now();
                let r = login(
                    &base,
                    &format!("user{i}@example.com"),
                    "a wrong guess",
                    Some(&format!("198.51.0.{}", i + 1)),
                )
                .await;
                (r, started.elapsed())
            })
        })
        .collect();
    let health = send(reqwest::Client::new().get(format!("{}/healthz", app.base))).await;
    assert_eq!(health.status, 200, "the rest of Perch answers while the queue is full");
    for a in attempts {
        let (r, waited) = a.await.unwrap();
        assert_eq!((r.status, r.code()), (503, "busy".to_owned()), "{}", r.body);
        assert_eq!(r.header("retry-after"), "3");
        assert!(waited < std::time::Duration::from_secs(10), "turned away after {waited:?}, not left waiting");
    }
    // Turned-away attempts count for nothing: no account or address is charged for them.
    let (failures, in_flight): (i64, i64) = sqlx::query_as(
        "select cast(coalesce(sum(failures), 0) as bigint), cast(coalesce(sum(in_flight), 0) as bigint) from login_throttle",
    )
    .fetch_one(app.state.db.pool())
    .await
    .unwrap();
    assert_eq!((failures, in_flight), (0, 0));
    drop(full);
    let r = login(&app.base, "user0@example.com", "a wrong guess", Some("198.51.0.1")).await;
    assert_eq!(r.status, 422, "with room in the queue the attempt is checked: {}", r.body);
}
