//! Who may do what (the role matrix, README "Who may do what"), through every door: server
//! functions, the dashboard's JSON API and the Connect form; `perch user create --org` with a name
//! several organizations share; and the per-tenant limits (public API per key and per
//! organization, credential tests, connect starts, open connect flows), which hold across
//! instances and leave other organizations served.

use crate::common::api::{api, new_key};
use crate::common::connect::{
    CRED, ID_A, ID_B, SECRET_A, SECRET_B, World, account_of, at_x, connect_through, press, save, world, world_with,
};
use crate::common::{Backend, Client, PASSWORD, Reply, TestApp, brand, org_id, send};
use app::domain::{Action, Email, Password, Role};
use app::server::store::users::{self, OrgTarget};
use serde_json::{Value, json};

on_both_databases!(
    every_door_lets_each_role_do_what_the_matrix_says_and_refuses_the_rest_alike,
    user_create_refuses_an_organization_name_several_share_unless_given_its_id,
    public_api_limits_per_key_and_per_organization_hold_across_instances,
    credential_tests_are_limited_per_organization_across_instances,
    connect_starts_are_limited_per_organization_on_both_doors,
    open_connect_flows_are_capped_per_organization,
);

async fn user(app: &TestApp, org_id: &str, email: &str, role: Role) -> Client {
    let hash = app.state.passwords.hash(Password::parse(PASSWORD.into()).unwrap()).await.unwrap();
    users::create(app.state.db.pool(), OrgTarget::Existing(org_id), &Email::parse(email).unwrap(), &hash, role)
        .await
        .unwrap();
    let c = app.client();
    let r = c.call("login", &[("email", email), ("password", PASSWORD)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    c
}

/// The error object of an answer: a server function's `AppError`, or the JSON API's `error`.
fn error_of(r: &Reply) -> Value {
    let v = r.json();
    if v["error"].is_object() { v["error"].clone() } else { v }
}

async fn json_api(c: &Client, method: &str, path: &str, body: Option<Value>) -> Reply {
    let mut req = c.http.request(method.parse().unwrap(), format!("{}{path}", c.base)).header("origin", &c.base);
    if let Some(b) = body {
        req = req.json(&b);
    }
    send(req).await
}

/// What the matrix test acts on: an account, two brands (one to rename and delete, one for
/// credentials of its own) and a key of the organization's; `tag` keeps names apart.
struct Targets {
    tag: &'static str,
    account: String,
    brand: String,
    cred_brand: String,
    key_id: String,
}

/// Goes through every door of `action` as `c`; returns each door's name and answer.
async fn doors(c: &Client, action: Action, t: &Targets) -> Vec<(&'static str, Reply)> {
    let (a, b, k, cb) = (t.account.as_str(), t.brand.as_str(), t.key_id.as_str(), t.cred_brand.as_str());
    let pair_b = json!({ "client_id": ID_B, "client_secret": SECRET_B, "brand_id": cb });
    let form_b = |intent| [("client_id", ID_B), ("client_secret", SECRET_B), ("brand_id", cb), ("intent", intent)];
    match action {
        Action::View => vec![
            ("brands/list", c.call("brands/list", &[]).await),
            ("twitter/accounts", c.call("twitter/accounts", &[]).await),
            ("twitter/settings", c.call("twitter/settings", &[]).await),
            ("org/settings", c.call("org/settings", &[]).await),
            ("GET credentials", json_api(c, "GET", CRED, None).await),
        ],
        Action::ConnectAccount => vec![("Connect", press(c, "brand_id", "default").await)],
        Action::ReconnectAccount => vec![("Reconnect", press(c, "account_id", a).await)],
        Action::CheckAccount => vec![("check", c.call("twitter/accounts/check", &[("account_id", a)]).await)],
        Action::DisconnectAccount => {
            vec![("disconnect", c.call("twitter/accounts/disconnect", &[("account_id", a)]).await)]
        }
        Action::ManageBrands => vec![
            ("brands/create", c.call("brands/create", &[("name", &format!("New {}", t.tag))]).await),
            ("brands/rename", c.call("brands/rename", &[("id", b), ("name", &format!("Renamed {}", t.tag))]).await),
            ("brands/delete", c.call("brands/delete", &[("id", b)]).await),
        ],
        Action::ManageApiKeys => vec![
            ("keys/list", c.call("keys/list", &[]).await),
            ("keys/create", c.call("keys/create", &[("name", &format!("Matrix {}", t.tag))]).await),
            ("keys/revoke", c.call("keys/revoke", &[("key_id", k)]).await),
        ],
        Action::ManageCredentials => vec![
            ("PUT credentials", json_api(c, "PUT", CRED, Some(pair_b.clone())).await),
            ("POST credentials/test", json_api(c, "POST", &format!("{CRED}/test"), Some(pair_b)).await),
            ("twitter/submit test", c.call("twitter/submit", &form_b("test")).await),
            ("DELETE credentials", json_api(c, "DELETE", &format!("{CRED}?brand_id={cb}"), None).await),
            ("twitter/submit save", c.call("twitter/submit", &form_b("save")).await),
            ("twitter/remove", c.call("twitter/remove", &[("brand_id", cb)]).await),
        ],
        Action::RenameOrganization => vec![("org/rename", c.call("org/rename", &[("org_name", "Acme Renamed")]).await)],
    }
}

/// Everything a refused request could have changed, and how many requests X received.
async fn snapshot(w: &World) -> (Vec<i64>, String, usize) {
    let mut counts = vec![];
    for table in ["brands", "twitter_credentials", "twitter_accounts", "audit_events", "twitter_oauth_flows"] {
        counts.push(w.app.count(table).await);
    }
    let active_keys: i64 = sqlx::query_scalar("select count(*) from api_keys where revoked_at is null")
        .fetch_one(w.app.state.db.pool())
        .await
        .unwrap();
    counts.push(active_keys);
    let name: String =
        sqlx::query_scalar("select name from organizations").fetch_one(w.app.state.db.pool()).await.unwrap();
    (counts, name, w.x.requests().len())
}

/// Owners and admins may do everything, members view, connect, reconnect and check; a refusal is
/// 403 `forbidden` in the one wording (what the role may not do, who can), with nothing changed
/// and nothing sent to X. The accounts page offers members no Disconnect button.
async fn every_door_lets_each_role_do_what_the_matrix_says_and_refuses_the_rest_alike(b: Backend) {
    let w = world(b).await;
    let org = org_id(&w.owner).await;
    let admin = user(&w.app, &org, "admin@acme.example", Role::Admin).await;
    let member = user(&w.app, &org, "member@acme.example", Role::Member).await;
    for (role, c, x_user) in [
        (Role::Member, &member, "1000000001"),
        (Role::Admin, &admin, "1000000002"),
        (Role::Owner, &w.owner, "1000000003"),
    ] {
        let tag = role.as_str();
        w.x.set_next_user(fake_x::FakeUser::new(x_user, tag, tag));
        let account = account_of(&connect_through(&w.owner, None, Some(x_user)).await);
        let key = w.owner.call("keys/create", &[("name", tag)]).await.json();
        let t = Targets {
            tag,
            account,
            brand: brand(&w.owner, &format!("Brand of {tag}")).await,
            cred_brand: brand(&w.owner, &format!("Own app of {tag}")).await,
            key_id: key["view"]["id"].as_str().unwrap().to_owned(),
        };
        // Refused actions first, so that what they left untouched is what the allowed ones find.
        let mut actions = Action::ALL.to_vec();
        actions.sort_by_key(|a| role.may(*a));
        for action in actions {
            let before = snapshot(&w).await;
            for (door, r) in doors(c, action, &t).await {
                if role.may(action) {
                    assert!(
                        matches!(r.status, 200 | 201 | 204 | 303),
                        "{role:?} {action:?} {door}: {} {}",
                        r.status,
                        r.body
                    );
                    if door == "Connect" || door == "Reconnect" {
                        assert!(
                            r.header("location").starts_with(&w.x.authorize_url()),
                            "{door}: {}",
                            r.header("location")
                        );
                    }
                } else {
                    assert_eq!(r.status, 403, "{role:?} {action:?} {door}: {}", r.body);
                    let e = error_of(&r);
                    assert_eq!(e["code"], "forbidden", "{door}");
                    assert_eq!(e["message"], role.refusal(action), "{door}: one wording");
                }
            }
            if !role.may(action) {
                assert_eq!(snapshot(&w).await, before, "{role:?} {action:?}: nothing changed, nothing sent to X");
            }
        }
    }
    assert_eq!(
        Role::Member.refusal(Action::DisconnectAccount),
        "Members cannot disconnect X accounts: only the organization's owner or an admin can. Ask one of them to do it, or to make you an admin."
    );
    let mine = member.get("/accounts").await.body;
    assert!(mine.contains("disconnect-note") && !mine.contains(">Disconnect<"), "members are not offered Disconnect");
    let theirs = admin.get("/accounts").await.body;
    assert!(theirs.contains(">Disconnect<") && !theirs.contains("disconnect-note"), "{theirs}");
}

// ---- perch user create --org -----------------------------------------------------------------

fn perch(app: &TestApp, args: &[&str]) -> (i32, String, String) {
    crate::common::run_perch(&app.db.env(), args, &format!("{PASSWORD}\n"))
}

/// `perch user create --org NAME` joins the one organization of that name, or creates it; a name
/// two organizations share is refused (listing their ids), as `perch credentials --org` refuses
/// it, and an id picks one. An id that names nothing is not taken for a new name.
async fn user_create_refuses_an_organization_name_several_share_unless_given_its_id(b: Backend) {
    let app = TestApp::spawn(b).await;
    let first = org_id(&app.owner("Acme", "first@acme.example").await).await;
    let second = org_id(&app.owner("Acme", "second@acme.example").await).await;
    let users_before = app.count("users").await;
    let (code, out, err) = perch(&app, &["user", "create", "--email", "m@acme.example", "--org", "Acme"]);
    assert_ne!(code, 0, "{out}");
    assert!(
        err.contains("--org: 2 organizations are named \"Acme\"")
            && err.contains(first.as_str())
            && err.contains(second.as_str()),
        "{err}"
    );
    let (code, _, err) =
        perch(&app, &["user", "create", "--email", "m@acme.example", "--org", "org_00000000000000000000000000000000"]);
    assert_ne!(code, 0);
    assert!(err.contains("no organization with the id"), "{err}");
    assert_eq!(app.count("users").await, users_before, "nobody was created");
    assert_eq!(app.count("organizations").await, 2);

    let (code, out, err) = perch(&app, &["user", "create", "--email", "m@acme.example", "--org", &second]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("Using existing organization \"Acme\" ({second})")) && out.contains("as member"),
        "{out}"
    );
    let c = app.client();
    assert_eq!(c.call("login", &[("email", "m@acme.example"), ("password", PASSWORD)]).await.status, 200);
    assert_eq!(org_id(&c).await, second);
}

// ---- limits ----------------------------------------------------------------------------------

/// Moves every counter's window a minute back: what the minute passing looks like to them
/// (the windows follow the database's clock, which a test cannot move).
async fn a_minute_passes(app: &TestApp) {
    sqlx::query("update rate_limit_windows set window_start = window_start - 60")
        .execute(app.state.db.pool())
        .await
        .unwrap();
}

/// A 429 in the API's shape: `throttled`, a `Retry-After` within the window, the same in the
/// body; returns the message.
fn assert_throttled(what: &str, r: &Reply, max_wait: u64) -> String {
    assert_eq!(r.status, 429, "{what}: {}", r.body);
    let wait: u64 = r.header("retry-after").parse().unwrap_or_else(|_| panic!("{what}: Retry-After: {:?}", r.headers));
    assert!((1..=max_wait).contains(&wait), "{what}: Retry-After {wait}");
    let e = error_of(r);
    assert_eq!(e["code"], "throttled", "{what}: {}", r.body);
    assert_eq!(e["retry_after"], json!(wait), "{what}");
    e["message"].as_str().unwrap().to_owned()
}

/// At 4 requests a minute per key and 6 per organization: requests alternating between two
/// instances are counted once; the fifth of a key is refused, and refused requests do not use
/// up the organization's allowance, which its other key then reaches; another organization is
/// served throughout; the next window serves them again. The document lists the 429 on every
/// route that takes a key.
async fn public_api_limits_per_key_and_per_organization_hold_across_instances(b: Backend) {
    let app = TestApp::spawn_with(b, &[("PERCH_API_KEY_RATE_LIMIT", "4"), ("PERCH_API_ORG_RATE_LIMIT", "6")]).await;
    let other_instance = app.another_instance().await;
    let bases = [app.base.as_str(), other_instance.base.as_str()];
    let acme = app.owner("Acme", "owner@acme.example").await;
    let (k1, k2) = (new_key(&acme, "CMS").await, new_key(&acme, "Scheduler").await);
    let globex = new_key(&app.owner("Globex", "owner@globex.example").await, "CMS").await;
    for i in 0..4 {
        assert_eq!(api(bases[i % 2], "GET", "/v1/brands", &k1, None).await.status, 200, "request {i}");
    }
    for i in 0..3 {
        let r = api(bases[i % 2], "POST", "/v1/brands", &k1, Some(json!({ "name": "Over" }))).await;
        assert!(assert_throttled("k1", &r, 60).contains("This API key made 4 requests"));
        assert_eq!(api(bases[i % 2], "GET", "/v1/brands", &globex, None).await.status, 200, "Globex is served");
    }
    assert_eq!(app.count("brands").await, 0, "a refused request does nothing");
    for i in 0..2 {
        assert_eq!(
            api(bases[i % 2], "GET", "/v1/accounts", &k2, None).await.status,
            200,
            "the organization's 5th and 6th"
        );
    }
    let r = api(bases[0], "GET", "/v1/accounts", &k2, None).await;
    assert!(assert_throttled("k2", &r, 60).contains("organization's API keys made 6 requests"));
    assert_eq!(api(bases[1], "GET", "/v1/brands", &globex, None).await.status, 200);

    a_minute_passes(&app).await;
    assert_eq!(api(bases[1], "GET", "/v1/brands", &k1, None).await.status, 200, "a new window");
    assert_eq!(api(bases[0], "GET", "/v1/brands", &k2, None).await.status, 200);

    let doc = api(&app.base, "GET", "/v1/openapi.json", "", None).await.json();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if path != "/v1/openapi.json" {
                assert!(op["responses"]["429"].is_object(), "{method} {path} documents its 429");
            }
        }
    }
    let codes = &doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"];
    assert!(codes.as_array().unwrap().contains(&json!("throttled")));

    // The maintenance task forgets windows that are over, and only those.
    api(&app.base, "GET", "/v1/brands", &globex, None).await;
    sqlx::query("update rate_limit_windows set window_start = window_start - 180 where bucket like 'api_key:%'")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(
        app::server::infra::rate_limit::forget_stale(&app.state.db).await.unwrap(),
        3,
        "the three keys' windows"
    );
    assert_eq!(app.count("rate_limit_windows").await, 2, "the organizations' current ones stay");
}

/// Ten credential tests a minute per organization, counted across instances and both doors
/// (the JSON API and the page's form); the eleventh is refused before X is asked. Another
/// organization still tests.
async fn credential_tests_are_limited_per_organization_across_instances(b: Backend) {
    let w = world(b).await;
    let other_instance = w.app.another_instance().await;
    let globex = w.app.owner("Globex", "owner@globex.example").await;
    let pair = json!({ "client_id": ID_A, "client_secret": SECRET_A });
    let test_at = |base: &str, c: &Client| {
        send(c.http.post(format!("{base}{CRED}/test")).header("origin", &w.app.base).json(&pair))
    };
    for i in 0..10 {
        let base = if i % 2 == 0 { w.app.base.as_str() } else { other_instance.base.as_str() };
        let r = test_at(base, &w.owner).await;
        assert_eq!(r.status, 200, "test {i}: {}", r.body);
    }
    let asked = crate::common::connect::token_requests(&w.x).len();
    let r = test_at(&other_instance.base, &w.owner).await;
    assert!(assert_throttled("JSON API", &r, 60).contains("tested X app credentials 10 times"));
    let r = w
        .owner
        .call(
            "twitter/submit",
            &[("client_id", ID_A), ("client_secret", SECRET_A), ("brand_id", ""), ("intent", "test")],
        )
        .await;
    assert_throttled("form", &r, 60);
    assert_eq!(crate::common::connect::token_requests(&w.x).len(), asked, "X was not asked");
    assert_eq!(test_at(&w.app.base, &globex).await.status, 200, "another organization tests");

    a_minute_passes(&w.app).await;
    assert_eq!(test_at(&other_instance.base, &w.owner).await.status, 200);
}

/// Three connect starts a minute (a low setting): Connect in the dashboard and connect links
/// through the API count together, on both instances; the fourth answers 429 with `Retry-After`
/// at both doors (the dashboard's as a page), and records no flow. Another organization connects.
async fn connect_starts_are_limited_per_organization_on_both_doors(b: Backend) {
    let w = world_with(b, &[("PERCH_CONNECT_RATE_LIMIT", "3")]).await;
    let other_instance = w.app.another_instance().await;
    let key = new_key(&w.owner, "CMS").await;
    assert_eq!(press(&w.owner, "brand_id", "default").await.status, 303);
    assert_eq!(link(&other_instance.base, &key).await.status, 201);
    assert_eq!(link(&w.app.base, &key).await.status, 201);
    let flows = w.app.count("twitter_oauth_flows").await;
    let r = link(&other_instance.base, &key).await;
    assert!(assert_throttled("link", &r, 60).contains("started 3 account connections"), "{}", r.body);
    let page = press(&w.owner, "brand_id", "default").await;
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(page.header("retry-after").parse::<u64>().is_ok_and(|s| (1..=60).contains(&s)));
    assert!(
        page.body.contains("started 3 account connections") && page.body.contains("Back to X accounts"),
        "{}",
        page.body
    );
    assert_eq!(w.app.count("twitter_oauth_flows").await, flows, "no flow was recorded");

    let globex = w.app.owner("Globex", "owner@globex.example").await;
    assert_eq!(save(&globex, ID_A, SECRET_A, None).await.status, 201);
    assert_eq!(link(&w.app.base, &new_key(&globex, "CMS").await).await.status, 201, "another organization connects");

    a_minute_passes(&w.app).await;
    assert_eq!(press(&w.owner, "brand_id", "default").await.status, 303);
}

/// At most two flows open at once (a low setting), however they were started: the third waits
/// for one to end (Retry-After: until the oldest expires). A flow back from X, or expired, no
/// longer counts.
async fn open_connect_flows_are_capped_per_organization(b: Backend) {
    let w = world_with(b, &[("PERCH_CONNECT_OPEN_LIMIT", "2")]).await;
    let key = new_key(&w.owner, "CMS").await;
    assert_eq!(link(&w.app.base, &key).await.status, 201);
    let second = press(&w.owner, "brand_id", "default").await;
    assert_eq!(second.status, 303);
    let r = link(&w.app.base, &key).await;
    let message = assert_throttled("third", &r, 600);
    assert!(message.contains("2 account connections waiting"), "{message}");
    assert!(r.header("retry-after").parse::<u64>().unwrap() > 60, "the oldest flow ends in about 10 minutes");
    assert_eq!(press(&w.owner, "brand_id", "default").await.status, 429, "the dashboard's Connect too");

    // The dashboard's flow comes back from X: a place frees up.
    let back = at_x(&url::Url::parse(&second.header("location")).unwrap(), "authorize", None, None).await;
    assert_eq!(send(w.owner.http.get(back.as_str())).await.status, 303);
    assert_eq!(link(&w.app.base, &key).await.status, 201);
    assert_eq!(link(&w.app.base, &key).await.status, 429);
    // An expired flow does not count.
    sqlx::query("update twitter_oauth_flows set expires_at = 0 where org_id = $1")
        .bind(org_id(&w.owner).await)
        .execute(w.app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(link(&w.app.base, &key).await.status, 201);
}

/// `POST /v1/accounts/connect` for the organization default's card.
async fn link(base: &str, key: &str) -> Reply {
    api(base, "POST", "/v1/accounts/connect", key, Some(json!({ "platform": "twitter" }))).await
}
