//! Sessions at rest and their end (docs/security.md D.21 and H.42): only a hash of a session id is
//! stored, a session that ended never comes back, and a user's sessions end together, on every
//! instance, when they sign out everywhere, change their password or are removed, while those
//! very sessions are making requests. Racy cases repeat inside the test, staggered.
//!
//! Run with `cargo test -p server --test it -- sessions::`.

use std::time::Duration;

use crate::common::leaks::{assert_no_secret, at_rest};
use crate::common::{Backend, PASSWORD, Reply, TestApp, send};
use app::domain::{Email, Password, Role};
use app::server::store::users::{self, OrgTarget};
use serde_json::Value;

on_both_databases!(
    h42_no_session_id_is_stored_at_rest,
    the_viewer_is_read_with_the_session_on_every_request_and_never_stored,
    h42_a_session_row_copied_from_the_database_signs_nobody_in,
    d21_a_request_that_loaded_the_session_before_sign_out_cannot_bring_it_back,
    d21_sign_out_everywhere_ends_every_session_of_the_user_on_every_instance,
    d21_a_password_change_keeps_this_session_under_a_new_id_and_ends_every_other,
    d21_removing_a_member_ends_their_sessions_while_they_make_requests,
    removal_refuses_members_admins_on_owners_yourself_and_the_last_owner,
    operator_set_password_and_remove_end_every_session_of_the_user,
);

const NEW_PASSWORD: &str = "a brand new passphrase";

/// A client with no cookie jar that follows no redirect: every request carries the cookie given.
fn bare() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Calls server function `name` on the instance at `base` as a page of Perch (public URL
/// `origin`) would with `cookie`: hydrated (JSON back) or, with `form_post`, without JavaScript.
async fn call(base: &str, origin: &str, cookie: &str, name: &str, form: &[(&str, &str)], form_post: bool) -> Reply {
    let accept = if form_post { "text/html" } else { "application/json" };
    let req = bare().post(format!("{base}/api/{name}")).header("origin", origin).header("accept", accept);
    let req = if cookie.is_empty() { req } else { req.header("cookie", cookie) };
    send(req.header("referer", format!("{origin}/settings")).form(form)).await
}

/// The `perch_session=...` pair a reply set, if any.
fn session_cookie(r: &Reply) -> Option<String> {
    r.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("perch_session="))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

/// Signs in on the instance at `base`; the session cookie.
async fn sign_in(app: &TestApp, base: &str, email: &str, password: &str) -> String {
    let r = call(base, &app.base, "", "login", &[("email", email), ("password", password)], false).await;
    assert_eq!(r.status, 200, "sign-in of {email}: {}", r.body);
    session_cookie(&r).expect("a session cookie")
}

/// Whom `cookie` signs in as on the instance at `base` (JSON `null` for nobody).
async fn who(app: &TestApp, base: &str, cookie: &str) -> Value {
    let r = call(base, &app.base, cookie, "viewer", &[], false).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

async fn email_of(app: &TestApp, base: &str, cookie: &str) -> Option<String> {
    who(app, base, cookie).await["email"].as_str().map(str::to_owned)
}

/// Adds a user with `role` to the organization of `owner_cookie`; their id.
async fn add_member(app: &TestApp, owner_cookie: &str, email: &str, role: Role) -> String {
    let org_id = who(app, &app.base, owner_cookie).await["org_id"].as_str().unwrap().to_owned();
    let hash = app.state.passwords.hash(Password::parse(PASSWORD.into()).unwrap()).await.unwrap();
    let email = Email::parse(email).unwrap();
    users::create(app.state.db.pool(), OrgTarget::Existing(&org_id), &email, &hash, role).await.unwrap().user_id
}

/// A request that changes its session: a key created by a form post without JavaScript is kept
/// in the session for the page that shows it. `n` of them, one after another, `pause` apart.
fn change_the_session(
    base: &str,
    origin: &str,
    cookie: &str,
    n: usize,
    pause: Duration,
) -> tokio::task::JoinHandle<Vec<u16>> {
    let (base, origin, cookie) = (base.to_owned(), origin.to_owned(), cookie.to_owned());
    tokio::spawn(async move {
        let mut statuses = Vec::new();
        for _ in 0..n {
            let name = format!("Key {}", uuid::Uuid::new_v4().simple());
            statuses.push(call(&base, &origin, &cookie, "keys/create", &[("name", &name)], true).await.status);
            tokio::time::sleep(pause).await;
        }
        statuses
    })
}

/// The requests racing an ending answered without a server error, and every one of `cookies`
/// is signed out on every instance of `bases`.
async fn assert_signed_out<'a>(
    app: &TestApp,
    busy: Vec<tokio::task::JoinHandle<Vec<u16>>>,
    cookies: impl Iterator<Item = &'a String>,
    bases: [&String; 2],
) {
    for task in busy {
        assert!(task.await.unwrap().iter().all(|s| *s < 500));
    }
    for cookie in cookies {
        for base in bases {
            assert_eq!(who(app, base, cookie).await, Value::Null, "{cookie} on {base}");
        }
    }
}

async fn audit_actions(app: &TestApp) -> Vec<(String, String, String)> {
    sqlx::query_as("select actor, action, target from audit_events order by seq")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap()
}

/// H.42: neither the SQLite file and its WAL nor a pg_dump holds any session id, in any
/// encoding, however many sessions exist and whatever they did.
async fn h42_no_session_id_is_stored_at_rest(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.owner("Acme", "a@example.com").await;
    let mut cookies = Vec::new();
    for _ in 0..3 {
        let cookie = sign_in(&app, &app.base, "a@example.com", PASSWORD).await;
        change_the_session(&app.base, &app.base, &cookie, 1, Duration::ZERO).await.unwrap();
        cookies.push(cookie);
    }
    assert!(app.count("sessions").await >= 3);
    let stored = at_rest(&app.db).await;
    for cookie in &cookies {
        let id = cookie.strip_prefix("perch_session=").unwrap();
        assert_eq!(id.len(), 22, "{cookie}");
        assert_no_secret("the database at rest", &stored, id);
        assert_eq!(email_of(&app, &app.base, cookie).await.as_deref(), Some("a@example.com"), "and the session works");
    }
}

/// The session store reads who is signed in (email, role, organization) in the same query as
/// the session, for one request: what it stores is only the session, and a change to the user
/// or the organization shows on the next request, on any instance.
async fn the_viewer_is_read_with_the_session_on_every_request_and_never_stored(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.owner("Acme", "a@example.com").await;
    let cookie = sign_in(&app, &app.base, "a@example.com", PASSWORD).await;
    change_the_session(&app.base, &app.base, &cookie, 2, Duration::ZERO).await.unwrap();
    let stored: Vec<String> =
        sqlx::query_scalar("select data from sessions").fetch_all(app.state.db.pool()).await.unwrap();
    assert!(!stored.is_empty());
    for data in &stored {
        assert!(!data.contains("_viewer") && !data.contains("org_name") && !data.contains("Acme"), "{data}");
    }
    let second = app.another_instance().await;
    for (round, base) in [&app.base, &second.base].into_iter().enumerate() {
        let name = format!("Renamed {round}");
        sqlx::query("update organizations set name = $1").bind(&name).execute(app.state.db.pool()).await.unwrap();
        sqlx::query("update users set role = $1")
            .bind(if round == 0 { "admin" } else { "owner" })
            .execute(app.state.db.pool())
            .await
            .unwrap();
        let viewer = who(&app, base, &cookie).await;
        assert_eq!(viewer["org_name"], name.as_str(), "{viewer}");
        assert_eq!(viewer["role"], if round == 0 { "admin" } else { "owner" }, "{viewer}");
    }
}

/// H.42: what the database holds for a session (its key, its data) used as a cookie signs
/// nobody in, on a fresh instance too.
async fn h42_a_session_row_copied_from_the_database_signs_nobody_in(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.owner("Acme", "a@example.com").await;
    let cookie = sign_in(&app, &app.base, "a@example.com", PASSWORD).await;
    let rows: Vec<(String, String)> =
        sqlx::query_as("select id_hash, data from sessions").fetch_all(app.state.db.pool()).await.unwrap();
    assert!(!rows.is_empty());
    let second = app.another_instance().await;
    for (key, data) in rows {
        assert!(!data.contains(cookie.strip_prefix("perch_session=").unwrap()), "the data holds no id");
        for base in [&app.base, &second.base] {
            assert_eq!(
                who(&app, base, &format!("perch_session={key}")).await,
                Value::Null,
                "the stored key as a cookie"
            );
        }
    }
    assert!(email_of(&app, &second.base, &cookie).await.is_some(), "while the real cookie works on both");
}

/// D.21 / H.42: sign-out racing requests of the same session that loaded it before and change
/// it after. The session stays dead: no request brings its row back. Twenty rounds, staggered.
async fn d21_a_request_that_loaded_the_session_before_sign_out_cannot_bring_it_back(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.owner("Acme", "a@example.com").await;
    for round in 0..20u64 {
        let cookie = sign_in(&app, &app.base, "a@example.com", PASSWORD).await;
        let racing: Vec<_> = (0..4u64)
            .map(|i| {
                let (base, cookie) = (app.base.clone(), cookie.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(i * 2)).await;
                    call(&base, &base, &cookie, "keys/create", &[("name", &format!("Round {round} key {i}"))], true)
                        .await
                        .status
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(round % 5)).await;
        let out = call(&app.base, &app.base, &cookie, "logout", &[], false).await;
        assert_eq!(out.status, 200, "{}", out.body);
        for r in racing {
            let status = r.await.unwrap();
            assert!(status < 500, "round {round}: {status}");
        }
        assert_eq!(who(&app, &app.base, &cookie).await, Value::Null, "round {round}: the signed-out session came back");
    }
}

/// D.21: "Sign out everywhere" ends every session of the user, on both instances, this one too,
/// while two of them keep changing their session; other users' sessions stay.
async fn d21_sign_out_everywhere_ends_every_session_of_the_user_on_every_instance(b: Backend) {
    let app = TestApp::spawn(b).await;
    let second = app.another_instance().await;
    app.owner("Acme", "a@example.com").await;
    let here = sign_in(&app, &app.base, "a@example.com", PASSWORD).await;
    let mut others = vec![sign_in(&app, &app.base, "a@example.com", PASSWORD).await];
    for _ in 0..2 {
        others.push(sign_in(&app, &second.base, "a@example.com", PASSWORD).await);
    }
    add_member(&app, &here, "b@example.com", Role::Admin).await;
    let bystander = sign_in(&app, &second.base, "b@example.com", PASSWORD).await;
    let busy: Vec<_> = others[1..]
        .iter()
        .map(|c| change_the_session(&second.base, &app.base, c, 8, Duration::from_millis(3)))
        .collect();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let out = call(&app.base, &app.base, &here, "account/sign-out-everywhere", &[], true).await;
    assert_eq!((out.status, out.header("location").as_str()), (302, "/login"), "{}", out.body);
    assert_signed_out(&app, busy, others.iter().chain([&here]), [&app.base, &second.base]).await;
    assert_eq!(
        email_of(&app, &app.base, &bystander).await.as_deref(),
        Some("b@example.com"),
        "another user's session stays"
    );
    assert!(audit_actions(&app).await.contains(&(
        "a@example.com".into(),
        "Signed out everywhere".into(),
        "a@example.com".into()
    )));
    // Signing in again works as ever.
    sign_in(&app, &second.base, "a@example.com", PASSWORD).await;
}

/// D.18 / D.21: changing one's password needs the current one and a valid new one; it keeps this
/// browser signed in under a new id and ends every other session of the user, on both
/// instances, while they make requests. Only the new password signs in afterwards.
async fn d21_a_password_change_keeps_this_session_under_a_new_id_and_ends_every_other(b: Backend) {
    let app = TestApp::spawn(b).await;
    let second = app.another_instance().await;
    app.owner("Acme", "a@example.com").await;
    let here = sign_in(&app, &app.base, "a@example.com", PASSWORD).await;
    let others = [
        sign_in(&app, &app.base, "a@example.com", PASSWORD).await,
        sign_in(&app, &second.base, "a@example.com", PASSWORD).await,
    ];
    for (current, new, field) in [
        ("wrong password", NEW_PASSWORD, "current_password"),
        (PASSWORD, "short", "new_password"),
        (PASSWORD, PASSWORD, "new_password"),
    ] {
        let r = call(
            &app.base,
            &app.base,
            &here,
            "account/password",
            &[("current_password", current), ("new_password", new)],
            false,
        )
        .await;
        assert_eq!((r.status, r.json()["field"].as_str()), (422, Some(field)), "{}", r.body);
    }
    assert!(email_of(&app, &second.base, &others[1]).await.is_some(), "a refused change ends nothing");
    let busy: Vec<_> = others
        .iter()
        .zip([&app.base, &second.base])
        .map(|(c, base)| change_the_session(base, &app.base, c, 8, Duration::from_millis(3)))
        .collect();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let form = [("current_password", PASSWORD), ("new_password", NEW_PASSWORD)];
    let out = call(&app.base, &app.base, &here, "account/password", &form, true).await;
    assert_eq!((out.status, out.header("location").as_str()), (302, "/settings?done=password#account"), "{}", out.body);
    let renewed = session_cookie(&out).expect("a new session id");
    assert_ne!(renewed, here);
    assert_signed_out(&app, busy, others.iter().chain([&here]), [&app.base, &second.base]).await;
    assert_eq!(
        email_of(&app, &second.base, &renewed).await.as_deref(),
        Some("a@example.com"),
        "this browser stays signed in"
    );
    let page = send(bare().get(format!("{}/settings?done=password", app.base)).header("cookie", &renewed)).await;
    assert!(page.body.contains("Password changed."), "{}", page.body);
    let old =
        call(&app.base, &app.base, "", "login", &[("email", "a@example.com"), ("password", PASSWORD)], false).await;
    assert_eq!(old.status, 422, "the old password no longer signs in");
    sign_in(&app, &second.base, "a@example.com", NEW_PASSWORD).await;
    assert!(
        audit_actions(&app)
            .await
            .iter()
            .any(|(actor, action, _)| actor == "a@example.com" && action == "Changed their password")
    );
}

/// D.21: an owner removes an admin while the admin's sessions on both instances keep changing
/// their sessions: every one of them ends, the admin cannot sign in again, and the keys they
/// created stay with the organization. The page offers the removal and confirms it without
/// JavaScript.
async fn d21_removing_a_member_ends_their_sessions_while_they_make_requests(b: Backend) {
    let app = TestApp::spawn(b).await;
    let second = app.another_instance().await;
    app.owner("Acme", "o@example.com").await;
    let owner = sign_in(&app, &app.base, "o@example.com", PASSWORD).await;
    let admin_id = add_member(&app, &owner, "b@example.com", Role::Admin).await;
    let admin = [
        sign_in(&app, &app.base, "b@example.com", PASSWORD).await,
        sign_in(&app, &second.base, "b@example.com", PASSWORD).await,
    ];
    let page = send(bare().get(format!("{}/settings", app.base)).header("cookie", &owner)).await;
    assert!(page.body.contains(&format!("/settings?remove={admin_id}#members")), "a Remove link for the admin");
    let confirm = send(bare().get(format!("{}/settings?remove={admin_id}", app.base)).header("cookie", &owner)).await;
    assert!(confirm.body.contains("Yes, remove") && confirm.body.contains("b@example.com"), "{}", confirm.body);
    let busy: Vec<_> = admin
        .iter()
        .zip([&app.base, &second.base])
        .map(|(c, base)| change_the_session(base, &app.base, c, 8, Duration::from_millis(3)))
        .collect();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let out = call(&app.base, &app.base, &owner, "org/members/remove", &[("user_id", &admin_id)], true).await;
    assert_eq!((out.status, out.header("location").as_str()), (302, "/settings?done=removed#members"), "{}", out.body);
    let mut created = 0;
    for task in busy {
        let statuses = task.await.unwrap();
        assert!(statuses.iter().all(|s| *s < 500), "{statuses:?}");
        created += statuses.len();
    }
    for cookie in &admin {
        for base in [&app.base, &second.base] {
            assert_eq!(who(&app, base, cookie).await, Value::Null, "{cookie} on {base}");
        }
    }
    let r = call(&app.base, &app.base, "", "login", &[("email", "b@example.com"), ("password", PASSWORD)], false).await;
    assert_eq!(r.status, 422, "a removed member cannot sign in");
    assert!(app.count("api_keys").await > 0 && app.count("api_keys").await as usize <= created, "their keys stay");
    let done = send(bare().get(format!("{}/settings?done=removed", app.base)).header("cookie", &owner)).await;
    assert!(done.body.contains("Member removed.") && !done.body.contains("b@example.com"), "{}", done.body);
    assert!(audit_actions(&app).await.contains(&(
        "o@example.com".into(),
        "Removed a member".into(),
        "b@example.com".into()
    )));
}

/// Who may remove whom: members nobody, admins no owner, nobody themselves, and two owners
/// removing each other at once (on two instances) leave exactly one. Another organization's
/// member is not found.
async fn removal_refuses_members_admins_on_owners_yourself_and_the_last_owner(b: Backend) {
    let app = TestApp::spawn(b).await;
    let second = app.another_instance().await;
    app.owner("Acme", "o@example.com").await;
    let owner = sign_in(&app, &app.base, "o@example.com", PASSWORD).await;
    let owner_id = who(&app, &app.base, &owner).await["user_id"].as_str().unwrap().to_owned();
    let admin_id = add_member(&app, &owner, "admin@example.com", Role::Admin).await;
    let member_id = add_member(&app, &owner, "m@example.com", Role::Member).await;
    let admin = sign_in(&app, &app.base, "admin@example.com", PASSWORD).await;
    let member = sign_in(&app, &app.base, "m@example.com", PASSWORD).await;
    app.owner("Other", "x@example.com").await;
    let outsider = sign_in(&app, &app.base, "x@example.com", PASSWORD).await;
    let remove = |cookie: String, id: String| {
        let base = app.base.clone();
        async move { call(&base, &base, &cookie, "org/members/remove", &[("user_id", &id)], false).await.status }
    };
    assert_eq!(remove(member.clone(), admin_id.clone()).await, 403, "a member removes nobody");
    assert_eq!(remove(admin.clone(), owner_id.clone()).await, 403, "an admin cannot remove an owner");
    assert_eq!(remove(admin.clone(), admin_id.clone()).await, 403, "nor themselves");
    assert_eq!(remove(owner.clone(), owner_id.clone()).await, 403, "an owner cannot remove themselves");
    assert_eq!(remove(outsider.clone(), member_id.clone()).await, 404, "another organization's member");
    assert_eq!(remove(owner.clone(), "usr_'; drop table users".into()).await, 404);
    assert_eq!(app.count("users").await, 4, "nobody was removed");
    let page = send(bare().get(format!("{}/settings", app.base)).header("cookie", &admin)).await;
    assert!(
        page.body.contains(&format!("?remove={member_id}")) && !page.body.contains(&format!("?remove={owner_id}")),
        "an admin is offered members only"
    );
    assert_eq!(remove(admin.clone(), member_id.clone()).await, 200, "an admin removes a member");
    for round in 0..5 {
        let email = format!("co-{round}@example.com");
        let co_id = add_member(&app, &owner, &email, Role::Owner).await;
        let co = sign_in(&app, &second.base, &email, PASSWORD).await;
        let (remove_co, remove_owner) = ([("user_id", co_id.as_str())], [("user_id", owner_id.as_str())]);
        let (a, b2) = tokio::join!(
            call(&app.base, &app.base, &owner, "org/members/remove", &remove_co, false),
            call(&second.base, &app.base, &co, "org/members/remove", &remove_owner, false),
        );
        let mut statuses = [a.status, b2.status];
        statuses.sort();
        assert!(
            statuses[0] == 200 && statuses[1] >= 400 && statuses[1] < 500,
            "round {round}: {} / {}",
            a.body,
            b2.body
        );
        let owners: i64 =
            sqlx::query_scalar("select count(*) from users where role = 'owner' and email <> 'x@example.com'")
                .fetch_one(app.state.db.pool())
                .await
                .unwrap();
        assert_eq!(owners, 1, "round {round}: exactly one owner remains");
        if b2.status == 200 {
            return; // the first owner is gone; what was to be shown has been
        }
    }
}

/// `perch user set-password` and `perch user remove`, the operator's way: every session of the
/// user ends; the last owner is not removed.
async fn operator_set_password_and_remove_end_every_session_of_the_user(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.owner("Acme", "o@example.com").await;
    let owner = sign_in(&app, &app.base, "o@example.com", PASSWORD).await;
    add_member(&app, &owner, "b@example.com", Role::Member).await;
    let member = sign_in(&app, &app.base, "b@example.com", PASSWORD).await;
    let perch = |args: &[&str], stdin: &str| {
        let (code, out, err) = crate::common::run_perch(&app.db.env(), args, stdin);
        (Some(code), out + &err)
    };
    let (code, out) = perch(&["user", "set-password", "--email", "O@example.com"], &format!("{NEW_PASSWORD}\n"));
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("session(s) signed out") && !out.contains(NEW_PASSWORD), "{out}");
    assert_eq!(who(&app, &app.base, &owner).await, Value::Null);
    sign_in(&app, &app.base, "o@example.com", NEW_PASSWORD).await;
    let (code, out) = perch(&["user", "remove", "--email", "o@example.com"], "");
    assert_eq!(code, Some(1), "the last owner stays: {out}");
    assert!(out.contains("last owner"), "{out}");
    let (code, out) = perch(&["user", "remove", "--email", "b@example.com"], "");
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(who(&app, &app.base, &member).await, Value::Null);
    let actions = audit_actions(&app).await;
    assert!(
        actions.contains(&("perch CLI".into(), "Set a member's password".into(), "o@example.com".into())),
        "{actions:?}"
    );
    assert!(actions.contains(&("perch CLI".into(), "Removed a member".into(), "b@example.com".into())), "{actions:?}");
}
