//! Sign-up, sign-in, sessions and throttling, through the real router (docs/security.md C and D).

use crate::common::{Backend, PASSWORD, TestApp};

on_both_databases!(
    signup_creates_an_organization_whose_owner_then_signs_in,
    signup_rejects_each_mistake_with_a_field_message_and_stores_nothing,
    c15_signup_answers_a_taken_email_exactly_like_a_new_one,
    closed_signup_refuses_and_says_so_on_the_page,
    password_is_stored_as_argon2id_with_the_promised_cost,
    long_passphrases_are_accepted_whole,
    unknown_email_and_wrong_password_answer_alike,
    repeated_failures_are_throttled_then_released,
    login_issues_a_new_session_id_and_the_old_one_dies,
    logout_deletes_the_session_server_side,
    session_cookie_is_httponly_lax_and_host_only,
    https_public_url_makes_the_cookie_secure_and_host_prefixed,
    login_redirects_only_to_local_paths,
    signed_out_pages_redirect_to_login_and_server_functions_answer_401,
);

async fn signup_creates_an_organization_whose_owner_then_signs_in(b: Backend) {
    let app = TestApp::spawn(b).await;
    let c = app.client();
    let r =
        c.call("signup", &[("org_name", "Acme Agency"), ("email", "Owner@Example.com "), ("password", PASSWORD)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(c.viewer().await, serde_json::Value::Null, "sign-up does not sign in");
    let page = c
        .post_form(
            "signup",
            &[("org_name", "Other"), ("email", "other@example.com"), ("password", PASSWORD)],
            "/signup",
        )
        .await;
    assert_eq!((page.status, page.header("location").as_str()), (302, "/login?signed_up=1"), "{}", page.body);
    let login = c.get("/login?signed_up=1").await;
    assert!(login.body.contains("Sign in with the email and password you just chose"), "{}", login.body);
    let r = c.call("login", &[("email", "owner@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = c.viewer().await;
    assert_eq!(v["email"], "owner@example.com");
    assert_eq!(v["role"], "owner");
    assert_eq!(v["org_name"], "Acme Agency");
    let page = c.get("/brands").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Acme Agency"), "the dashboard names the organization");
}

async fn signup_rejects_each_mistake_with_a_field_message_and_stores_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let c = app.client();
    for (org, email, password, field) in [
        ("  ", "a@example.com", PASSWORD, "org_name"),
        (&"x".repeat(81) as &str, "a@example.com", PASSWORD, "org_name"),
        ("Acme", "not-an-email", PASSWORD, "email"),
        ("Acme", "", PASSWORD, "email"),
        ("Acme", "a@example.com", "short", "password"),
    ] {
        let r = c.call("signup", &[("org_name", org), ("email", email), ("password", password)]).await;
        assert_eq!(r.status, 422, "{field}: {}", r.body);
        assert_eq!(r.json()["field"], field);
        assert!(!r.json()["message"].as_str().unwrap().is_empty());
    }
    // A request missing a field entirely is malformed, not a crash.
    let r = c.call("signup", &[("org_name", "Acme")]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(app.count("organizations").await, 0);
    assert_eq!(app.count("users").await, 0);
}

/// C.15 for sign-up: a taken email gets the very answer a new one gets (status, body, headers
/// but the date), nothing is created, the account's password is unchanged, and both cost a hash.
async fn c15_signup_answers_a_taken_email_exactly_like_a_new_one(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.owner("First", "ada@example.com").await;
    let before = app.state.passwords.computed();
    let taken = app
        .client()
        .call("signup", &[("org_name", "Second"), ("email", "ADA@example.com"), ("password", "another passphrase")])
        .await;
    let after_taken = app.state.passwords.computed();
    let new = app
        .client()
        .call("signup", &[("org_name", "Third"), ("email", "bob@example.com"), ("password", "another passphrase")])
        .await;
    assert_eq!((taken.status, &taken.body), (new.status, &new.body));
    let shape = |r: &crate::common::Reply| {
        let mut names: Vec<String> = r.headers.keys().map(|k| k.to_string()).filter(|k| k != "date").collect();
        names.sort();
        names
    };
    assert_eq!(shape(&taken), shape(&new));
    assert_eq!((after_taken - before, app.state.passwords.computed() - after_taken), (1, 1), "one hash each");
    assert_eq!(app.count("organizations").await, 2, "the second organization was not created, the third was");
    let r = app.client().call("login", &[("email", "ada@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(r.status, 200, "the account's own password still signs in: {}", r.body);
    let r = app.client().call("login", &[("email", "ada@example.com"), ("password", "another passphrase")]).await;
    assert_eq!(r.status, 422, "the sign-up's password was not taken");
}

async fn closed_signup_refuses_and_says_so_on_the_page(b: Backend) {
    let app = TestApp::spawn_with(b, &[("PERCH_SIGNUP", "closed")]).await;
    let c = app.client();
    let r = c.call("signup", &[("org_name", "Acme"), ("email", "a@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.code(), "signup_closed");
    let page = c.get("/signup").await;
    assert!(page.body.contains("Sign-up is closed"), "{}", page.body);
    assert_eq!(app.count("users").await, 0);
}

async fn password_is_stored_as_argon2id_with_the_promised_cost(b: Backend) {
    // docs/security.md C.13
    let app = TestApp::spawn(b).await;
    app.owner("Acme", "a@example.com").await;
    let phc: String =
        sqlx::query_scalar("select password_hash from users").fetch_one(app.state.db.pool()).await.unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    assert!(!phc.contains(PASSWORD));
}

async fn long_passphrases_are_accepted_whole(b: Backend) {
    // docs/security.md C.14: 64+ characters accepted, no silent truncation.
    let app = TestApp::spawn(b).await;
    let long = "the quick brown fox jumps over the lazy dog ".repeat(4);
    let c = app.client();
    let r = c.call("signup", &[("org_name", "Acme"), ("email", "a@example.com"), ("password", &long)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let c2 = app.client();
    let r = c2.call("login", &[("email", "a@example.com"), ("password", &long)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let truncated = &long[..long.len() - 1];
    let r = app.client().call("login", &[("email", "a@example.com"), ("password", truncated)]).await;
    assert_eq!(r.status, 422, "a truncated passphrase must not match");
}

async fn unknown_email_and_wrong_password_answer_alike(b: Backend) {
    // docs/security.md C.15
    let app = TestApp::spawn(b).await;
    app.owner("Acme", "a@example.com").await;
    let wrong = app.client().call("login", &[("email", "a@example.com"), ("password", "wrong password")]).await;
    let unknown = app.client().call("login", &[("email", "nobody@example.com"), ("password", "wrong password")]).await;
    assert_eq!(wrong.status, 422);
    assert_eq!(wrong.status, unknown.status);
    assert_eq!(wrong.body, unknown.body);
}

async fn repeated_failures_are_throttled_then_released(b: Backend) {
    // docs/security.md C.16
    let app = TestApp::spawn(b).await;
    app.owner("Acme", "a@example.com").await;
    let attacker = app.client();
    for _ in 0..5 {
        let r = attacker.call("login", &[("email", "a@example.com"), ("password", "guess guess")]).await;
        assert_eq!(r.status, 422);
    }
    // Now even the right password waits, and the answer says how long.
    let r = app.client().call("login", &[("email", "a@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.json()["message"].as_str().unwrap().contains("minute"));
    // The lock is temporary: once it has passed, the owner signs in and the count is forgotten.
    sqlx::query("update login_throttle set locked_until = 0").execute(app.state.db.pool()).await.unwrap();
    let r = app.client().call("login", &[("email", "a@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let left: i64 = sqlx::query_scalar("select count(*) from login_throttle where key = $1")
        .bind("email:a@example.com")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(left, 0);
}

/// Who a bare `Cookie` header signs in as (`null` for nobody), from a client with no cookie jar.
async fn viewer_with_cookie(app: &TestApp, cookie: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!("{}/api/viewer", app.base))
        .header("cookie", cookie)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    r.text().await.unwrap()
}

fn session_cookie(r: &crate::common::Reply) -> String {
    let set = r
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("perch_session="))
        .unwrap_or_default();
    set.split(';').next().unwrap_or_default().to_owned()
}

async fn login_issues_a_new_session_id_and_the_old_one_dies(b: Backend) {
    // docs/security.md D.18
    let app = TestApp::spawn(b).await;
    app.owner("Acme", "a@example.com").await;
    let c = app.client();
    let first = c.call("login", &[("email", "a@example.com"), ("password", PASSWORD)]).await;
    let first_cookie = session_cookie(&first);
    assert!(first_cookie.starts_with("perch_session="), "{first_cookie}");
    let second = c.call("login", &[("email", "a@example.com"), ("password", PASSWORD)]).await;
    let second_cookie = session_cookie(&second);
    assert_ne!(first_cookie, second_cookie, "a sign-in must issue a new id");
    // The earlier id no longer signs anyone in.
    assert_eq!(viewer_with_cookie(&app, &first_cookie).await, "null");
    // A planted (made-up) id is never adopted.
    let planted = "perch_session=AAAAAAAAAAAAAAAAAAAAAA";
    let r = reqwest::Client::new()
        .post(format!("{}/api/login", app.base))
        .header("cookie", planted)
        .header("accept", "application/json")
        .form(&[("email", "a@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let set = r.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
    assert!(!set.starts_with(planted), "{set}");
}

async fn logout_deletes_the_session_server_side(b: Backend) {
    // docs/security.md D.21
    let app = TestApp::spawn(b).await;
    app.owner("Acme", "a@example.com").await;
    let c = app.client();
    let r = c.call("login", &[("email", "a@example.com"), ("password", PASSWORD)]).await;
    let cookie = session_cookie(&r);
    assert_eq!(c.call("logout", &[]).await.status, 200);
    assert_eq!(viewer_with_cookie(&app, &cookie).await, "null", "a replayed cookie is anonymous after logout");
}

async fn session_cookie_is_httponly_lax_and_host_only(b: Backend) {
    // docs/security.md D.19 (plain http: no Secure flag, which browsers would refuse to store)
    let app = TestApp::spawn(b).await;
    let c = app.client();
    assert_eq!(
        c.call("signup", &[("org_name", "Acme"), ("email", "a@example.com"), ("password", PASSWORD)]).await.status,
        200
    );
    let r = c.call("login", &[("email", "a@example.com"), ("password", PASSWORD)]).await;
    let set = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("perch_session="))
        .unwrap()
        .to_owned();
    assert!(set.starts_with("perch_session="), "{set}");
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Lax"), "{set}");
    assert!(set.contains("Path=/"), "{set}");
    assert!(!set.contains("Domain="), "{set}");
    // The idle timeout (PERCH_SESSION_IDLE_MINUTES, default 480) is the cookie's and the record's lifetime.
    assert!(set.contains("Max-Age=28800"), "{set}");
}

async fn https_public_url_makes_the_cookie_secure_and_host_prefixed(b: Backend) {
    // docs/security.md D.19 and D.23 (HSTS): Perch sits behind a TLS proxy; the public URL says https.
    let app = TestApp::spawn_with(b, &[("PERCH_PUBLIC_URL", "https://perch.example.com")]).await;
    let call = |name: &str, form: &[(&str, &str)]| {
        reqwest::Client::new()
            .post(format!("{}/api/{name}", app.base))
            .header("origin", "https://perch.example.com")
            .header("accept", "application/json")
            .form(form)
            .send()
    };
    let r = call("signup", &[("org_name", "Acme"), ("email", "a@example.com"), ("password", PASSWORD)]).await.unwrap();
    assert_eq!(r.status(), 200);
    let r = call("login", &[("email", "a@example.com"), ("password", PASSWORD)]).await.unwrap();
    assert_eq!(r.status(), 200);
    let cookies: Vec<String> =
        r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    for name in ["__Host-perch_session=", "__Host-perch_device="] {
        let set = cookies.iter().find(|c| c.starts_with(name)).unwrap_or_else(|| panic!("{name} in {cookies:?}"));
        assert!(
            set.contains("Secure") && set.contains("HttpOnly") && set.contains("Path=/") && !set.contains("Domain="),
            "{set}"
        );
    }
    let hsts = r.headers().get("strict-transport-security").unwrap().to_str().unwrap();
    assert!(hsts.contains("max-age="));
}

async fn login_redirects_only_to_local_paths(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.owner("Acme", "a@example.com").await;
    for (next, expected) in
        [("/settings", "/settings"), ("//evil.example/x", "/brands"), ("https://evil.example", "/brands")]
    {
        let c = app.client();
        let r =
            c.post_form("login", &[("email", "a@example.com"), ("password", PASSWORD), ("next", next)], "/login").await;
        assert_eq!(r.status, 302, "{}", r.body);
        assert_eq!(r.header("location"), expected, "next={next}");
    }
}

async fn signed_out_pages_redirect_to_login_and_server_functions_answer_401(b: Backend) {
    let app = TestApp::spawn(b).await;
    let c = app.client();
    let page = c.get("/brands/brd_123").await;
    assert_eq!(page.status, 302);
    assert_eq!(page.header("location"), "/login?next=%2Fbrands%2Fbrd_123");
    let r = c.call("brands/list", &[]).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.code(), "unauthenticated");
}
