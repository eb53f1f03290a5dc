//! Saving, testing, rotating and removing credentials, overrides per brand, and the audit trail.

use super::*;

on_both_databases!(
    a_brand_override_wins_over_the_default_and_removal_falls_back,
    the_database_allows_one_default_per_organization_and_one_override_per_own_brand,
    input_mistakes_are_refused_naming_the_field_and_nothing_is_stored,
    test_credentials_tells_valid_rejected_and_unreachable_apart,
    a_test_counts_for_a_following_save_of_exactly_that_pair,
    a_new_secret_is_a_rotation_and_a_new_client_id_a_new_app,
    concurrent_tests_and_saves_all_succeed_and_each_is_audited,
    the_audit_trail_records_who_saved_tested_replaced_and_removed,
);

/// Which app a connection uses: a brand's own override wins over the organization default; a
/// brand without one gets the default; removing the override falls back to the default; without
/// a default, a brand without an override has none; a deleted brand's override goes with it.
async fn a_brand_override_wins_over_the_default_and_removal_falls_back(b: Backend) {
    let (_x, app) = perch(b).await;
    let c = app.owner("Acme", "a@example.com").await;
    let org = org_id(&c).await;
    let own = brand(&c, "With its own app").await;
    let plain = brand(&c, "Without").await;
    assert_eq!(used(&app, &org, Some(&own)).await, None, "nothing saved yet");
    assert_eq!(api_put(&c, &pair(ID_A, CANARY)).await.status, 201);
    assert_eq!(api_put(&c, &pair_for(ID_B, SECRET_2, &own)).await.status, 201);

    assert_eq!(used(&app, &org, Some(&own)).await, expect(ID_B, SECRET_2, Some(&own)));
    assert_eq!(used(&app, &org, Some(&plain)).await, expect(ID_A, CANARY, None));
    assert_eq!(used(&app, &org, None).await, expect(ID_A, CANARY, None));

    assert_eq!(api_delete(&c, Some(&own)).await.status, 204);
    assert_eq!(used(&app, &org, Some(&own)).await, expect(ID_A, CANARY, None), "falls back to the default");
    let again = api_delete(&c, Some(&own)).await;
    assert_eq!((again.status, api_error(&again)["code"].as_str()), (404, Some("not_found")));

    assert_eq!(api_put(&c, &pair_for(ID_C, SECRET_3, &own)).await.status, 201);
    assert_eq!(api_delete(&c, None).await.status, 204);
    assert_eq!(used(&app, &org, Some(&plain)).await, None);
    assert_eq!(used(&app, &org, None).await, None);
    assert_eq!(used(&app, &org, Some(&own)).await, expect(ID_C, SECRET_3, Some(&own)), "an override needs no default");
    let listed = api_get(&c).await.json();
    assert!(listed["default"].is_null());
    assert_eq!(listed["overrides"].as_array().unwrap().len(), 1);
    assert_eq!(listed["overrides"][0]["brand_id"], own.as_str());
    assert_eq!(listed["overrides"][0]["brand_name"], "With its own app");
    // Deleting the brand deletes its override with it.
    assert_eq!(c.call("brands/delete", &[("id", own.as_str())]).await.status, 200);
    assert_eq!(app.count("twitter_credentials").await, 0);
    assert_eq!(used(&app, &org, Some(&own)).await, None);
}

/// A credential row as the application writes it, straight into the table.
async fn insert_row(app: &TestApp, org_id: &str, brand_id: Option<&str>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into twitter_credentials (id, org_id, brand_id, client_id_preview, client_id_enc, client_secret_enc, \
         generation, created_at, updated_at, updated_by) values ($1, $2, $3, 'M1M5R3', $4, $5, 1, 0, 0, 'db@example.com')",
    )
    .bind(format!("xcr_{}", uuid::Uuid::new_v4().simple()))
    .bind(org_id)
    .bind(brand_id)
    .bind(vec![1u8, 2, 3])
    .bind(vec![4u8, 5, 6])
    .execute(app.state.db.pool())
    .await
    .map(|_| ())
}

fn violation(e: &sqlx::Error) -> Option<sqlx::error::ErrorKind> {
    e.as_database_error().map(|d| d.kind())
}

/// The database itself holds one default per organization and one override per brand, and an
/// override can only point at a brand of its own organization (both databases, H.36).
async fn the_database_allows_one_default_per_organization_and_one_override_per_own_brand(b: Backend) {
    use sqlx::error::ErrorKind::{ForeignKeyViolation, UniqueViolation};
    let (_x, app) = perch(b).await;
    let alice = app.owner("Alice Agency", "alice@example.com").await;
    let bob = app.owner("Bob Brands", "bob@example.com").await;
    let (a_org, b_org) = (org_id(&alice).await, org_id(&bob).await);
    let coffee = brand(&alice, "Coffee").await;
    let spare = brand(&alice, "Spare").await;
    let bobs = brand(&bob, "Bob's").await;
    assert_eq!(api_put(&alice, &pair(ID_A, CANARY)).await.status, 201);
    assert_eq!(api_put(&alice, &pair_for(ID_B, SECRET_2, &coffee)).await.status, 201);

    // The rows this helper writes are acceptable where nothing is saved yet.
    insert_row(&app, &b_org, None).await.expect("a default for Bob");
    insert_row(&app, &a_org, Some(&spare)).await.expect("an override for a brand without one");
    let before = app.count("twitter_credentials").await;
    for (what, org, brand_id, kind) in [
        ("a second default", &a_org, None, UniqueViolation),
        ("a second override of one brand", &a_org, Some(coffee.as_str()), UniqueViolation),
        ("an override of another organization's brand", &a_org, Some(bobs.as_str()), ForeignKeyViolation),
        ("an override of a brand that does not exist", &a_org, Some("brd_nope"), ForeignKeyViolation),
    ] {
        let e = insert_row(&app, org, brand_id).await.expect_err(what);
        assert_eq!(violation(&e), Some(kind), "{what}: {e}");
    }
    assert_eq!(app.count("twitter_credentials").await, before);
}

/// Every way people paste the wrong value is refused with 422 and `field` naming the field, by
/// the JSON API and the form alike, before anything is stored or X is asked; no error repeats a
/// secret, and an error about the secret keeps the well-formed Client ID for the form. Spaces
/// and line breaks around a value, from copying, are trimmed and accepted.
async fn input_mistakes_are_refused_naming_the_field_and_nothing_is_stored(b: Backend) {
    let (x, app) = perch(b).await;
    register(&x, &app, ID_A, CANARY);
    let c = app.owner("Acme", "a@example.com").await;
    let before = snapshot(&app).await;
    let long_id = format!("{}MTpjaQ", "M".repeat(123));
    let long_secret = "s".repeat(129);
    let spaced = format!("{} {}", &CANARY[..25], &CANARY[25..]);
    let cases: Vec<(&str, &str, &str, &str)> = vec![
        ("empty Client ID", "", CANARY, "client_id"),
        ("blank Client ID", " \n\t", CANARY, "client_id"),
        ("empty secret", ID_A, "", "client_secret"),
        ("blank secret", ID_A, "\r\n ", "client_secret"),
        ("not an X Client ID", "my-twitter-app-client-id", CANARY, "client_id"),
        ("OAuth 1.0a API Key as Client ID", API_KEY, CANARY, "client_id"),
        ("OAuth 1.0a API Key as secret", ID_A, API_KEY, "client_secret"),
        ("API Key Secret as Client ID", API_KEY_SECRET, CANARY, "client_id"),
        ("Bearer Token as Client ID", BEARER, CANARY, "client_id"),
        ("Bearer Token as secret", ID_A, BEARER, "client_secret"),
        ("Access Token as Client ID", ACCESS_TOKEN, CANARY, "client_id"),
        ("Access Token as secret", ID_A, ACCESS_TOKEN, "client_secret"),
        ("swapped fields", CANARY, ID_A, "client_id"),
        ("the Client ID in both", ID_A, ID_A, "client_secret"),
        ("over-long Client ID", &long_id, CANARY, "client_id"),
        ("over-long secret", ID_A, &long_secret, "client_secret"),
        ("secret cut short", ID_A, &CANARY[..30], "client_secret"),
        ("secret split by a space", ID_A, &spaced, "client_secret"),
    ];
    for (case, id, secret, field) in cases {
        let answers = [
            ("PUT", api_put(&c, &pair(id, secret)).await),
            ("POST test", api_test(&c, &pair(id, secret)).await),
            ("save form", submit(&c, id, secret, "", "save").await),
            ("test form", submit(&c, id, secret, "", "test").await),
        ];
        for (how, r) in answers {
            let what = format!("{case} via {how}");
            assert_eq!(r.status, 422, "{what}: {}", r.body);
            let e = if how.contains("form") { r.json() } else { api_error(&r) };
            assert_eq!(e["code"], "validation", "{what}");
            assert_eq!(e["field"], field, "{what}: {}", e["message"]);
            assert!(e["message"].as_str().is_some_and(|m| m.len() > 20), "{what}: a message that says what to do");
            if field == "client_secret" {
                assert_eq!(e["input"], ID_A, "{what}: the well-formed Client ID is kept for the form");
            } else {
                assert!(e.get("input").is_none(), "{what}: {e}");
            }
            for secretish in [CANARY, API_KEY_SECRET, BEARER, ACCESS_TOKEN] {
                assert_no_part_of(&what, &r.body, secretish);
            }
        }
    }
    assert_eq!(snapshot(&app).await, before, "nothing stored, nothing in the trail");
    assert!(x.requests().is_empty(), "X was never asked about malformed input");

    // What copying adds around the values is trimmed, not refused.
    let r = api_put(&c, &pair(&format!("  {ID_A}\n"), &format!("\t{CANARY} \r\n"))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let org = org_id(&c).await;
    assert_eq!(used(&app, &org, None).await, expect(ID_A, CANARY, None));
    let r = submit(&c, &format!("\n{ID_A} "), &format!(" {CANARY}\n"), "", "save").await;
    assert_eq!(r.json()["Saved"], "unchanged", "{}", r.body);
    let r = api_test(&c, &pair(&format!(" {ID_A}"), &format!("{CANARY}\n"))).await;
    assert_eq!(r.json()["valid"], true, "{}", r.body);
}

/// "Test credentials" exchanges a made-up code with the pair's Basic auth at X's token endpoint
/// (docs/x-api.md): a pair X knows is valid; a wrong secret or an unknown Client ID is
/// `invalid_client`, with what to do; when X cannot be asked (no connection, a 5xx, an HTML
/// page) the answer is `unreachable`, which is not "invalid".
async fn test_credentials_tells_valid_rejected_and_unreachable_apart(b: Backend) {
    let (x, app) = perch(b).await;
    register(&x, &app, ID_A, CANARY);
    let c = app.owner("Acme", "a@example.com").await;

    let r = api_test(&c, &pair(ID_A, CANARY)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let valid = r.json();
    assert_eq!((valid["valid"].as_bool(), valid["reason"].as_str()), (Some(true), Some("valid")));
    assert!(valid.get("detail").is_none());
    assert!(valid["tested_at"].as_i64().unwrap() > 1_700_000_000);
    let r = submit(&c, ID_A, CANARY, "", "test").await;
    assert_eq!(r.json()["Tested"]["reason"], "valid", "{}", r.body);

    let wrong = api_test(&c, &pair(ID_A, SECRET_2)).await.json();
    assert_eq!((wrong["valid"].as_bool(), wrong["reason"].as_str()), (Some(false), Some("invalid_client")));
    assert!(wrong["message"].as_str().unwrap().contains("rotated"), "{wrong}");

    x.update_switches(|s| s.unknown_client = UnknownClient::InvalidClient);
    let unknown = api_test(&c, &pair(ID_B, SECRET_2)).await.json();
    assert_eq!((unknown["valid"].as_bool(), unknown["reason"].as_str()), (Some(false), Some("invalid_client")));
    x.update_switches(|s| s.unknown_client = UnknownClient::UnauthorizedClient);

    for (fault, status) in [(Fault::ServerError, "503"), (Fault::Html200, "200")] {
        x.update_switches(|s| s.token_fault = fault);
        let r = api_test(&c, &pair(ID_A, CANARY)).await.json();
        assert_eq!((r["valid"].as_bool(), r["reason"].as_str()), (Some(false), Some("unreachable")), "{fault:?}: {r}");
        assert!(r["message"].as_str().unwrap().contains("not the same as invalid"), "{r}");
        assert!(r["detail"].as_str().unwrap().contains(status), "{fault:?}: {r}");
    }
    x.update_switches(|s| s.token_fault = Fault::None);

    // What X received: Basic auth, the secret nowhere else, and a code X never issued.
    let calls: Vec<_> = x.requests().into_iter().filter(|r| r.path == "/2/oauth2/token").collect();
    let seen: Vec<_> = calls.iter().map(|r| (r.basic_client_id.as_deref(), r.status)).collect();
    assert_eq!(
        seen,
        [
            (Some(ID_A), Some(400)),
            (Some(ID_A), Some(400)),
            (Some(ID_A), Some(401)),
            (Some(ID_B), Some(401)),
            (Some(ID_A), Some(503)),
            (Some(ID_A), Some(200))
        ]
    );
    for call in &calls {
        assert_eq!(call.method, "POST");
        assert_eq!(call.auth_scheme.as_deref(), Some("basic"));
        assert_eq!(call.grant_type.as_deref(), Some("authorization_code"));
        assert_eq!(call.client_id, call.basic_client_id, "client_id is in the body too");
        assert!(call.fields.contains_key("code") && call.fields.contains_key("code_verifier"), "{:?}", call.fields);
        assert_eq!(call.fields.get("redirect_uri"), Some(&callback_url(&app.base)));
        assert!(!call.fields.contains_key("client_secret"), "the secret goes in the Basic header only");
    }
    let counters = x.counters();
    assert_eq!((counters.codes_issued, counters.code_exchanges), (0, 0), "the code was made up");

    // Nothing listens where X should be.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let offline = TestApp::spawn_with(b, &[("PERCH_X_API_URL", &closed)]).await;
    let o = offline.owner("Offline", "o@example.com").await;
    let r = api_test(&o, &pair(ID_A, CANARY)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = r.json();
    assert_eq!((r["valid"].as_bool(), r["reason"].as_str()), (Some(false), Some("unreachable")), "{r}");
    assert!(r["detail"].as_str().unwrap().contains("connection"), "{r}");
}

/// A test of a pair counts for the save that follows, for the same target and exactly that pair:
/// saving shows the test's result; saving without a test, or after testing another secret or for
/// another target, shows "not tested". Testing the saved pair later records on it.
async fn a_test_counts_for_a_following_save_of_exactly_that_pair(b: Backend) {
    let (x, app) = perch(b).await;
    register(&x, &app, ID_A, CANARY);
    let c = app.owner("Acme", "a@example.com").await;
    let untested = brand(&c, "Untested").await;
    let other_secret = brand(&c, "Other secret").await;
    let tested_elsewhere = brand(&c, "Tested elsewhere").await;
    let saved_elsewhere = brand(&c, "Saved elsewhere").await;
    let by_form = brand(&c, "By form").await;

    let tested = api_test(&c, &pair(ID_A, CANARY)).await.json();
    let saved = api_put(&c, &pair(ID_A, CANARY)).await.json();
    assert_eq!(saved["credential"]["last_test"], json!({"result": "valid", "at": tested["tested_at"]}));

    let saved = api_put(&c, &pair_for(ID_A, CANARY, &untested)).await.json();
    assert!(saved["credential"]["last_test"].is_null(), "{saved}");

    assert_eq!(api_test(&c, &pair_for(ID_A, CANARY, &other_secret)).await.json()["valid"], true);
    let saved = api_put(&c, &pair_for(ID_A, SECRET_2, &other_secret)).await.json();
    assert!(saved["credential"]["last_test"].is_null(), "another secret was tested: {saved}");

    assert_eq!(api_test(&c, &pair_for(ID_A, CANARY, &tested_elsewhere)).await.json()["valid"], true);
    let saved = api_put(&c, &pair_for(ID_A, CANARY, &saved_elsewhere)).await.json();
    assert!(saved["credential"]["last_test"].is_null(), "tested for another brand: {saved}");

    assert_eq!(submit(&c, ID_A, CANARY, &by_form, "test").await.json()["Tested"]["valid"], true);
    let saved = submit(&c, ID_A, CANARY, &by_form, "save").await.json();
    assert_eq!(saved["Saved"], "created", "{saved}");
    let listed = api_get(&c).await.json();
    let own =
        listed["overrides"].as_array().unwrap().iter().find(|o| o["brand_id"] == by_form.as_str()).unwrap().clone();
    assert_eq!(own["last_test"]["result"], "valid", "{own}");

    // Testing the saved pair records on it; testing another pair for the same target does not.
    assert_eq!(api_test(&c, &pair_for(ID_A, CANARY, &untested)).await.json()["valid"], true);
    assert_eq!(api_test(&c, &pair(ID_A, SECRET_2)).await.json()["reason"], "invalid_client");
    let listed = api_get(&c).await.json();
    assert_eq!(listed["default"]["last_test"]["result"], "valid", "the default's pair was not the one tested last");
    let own =
        listed["overrides"].as_array().unwrap().iter().find(|o| o["brand_id"] == untested.as_str()).unwrap().clone();
    assert_eq!(own["last_test"]["result"], "valid", "{own}");
}

/// Saving again tells what changed: the same Client ID with a new secret is a rotation (same
/// credentials, generation 2), another Client ID is another X app (new credentials, generation
/// 1), the same pair again is unchanged; the secret is replaced whole.
async fn a_new_secret_is_a_rotation_and_a_new_client_id_a_new_app(b: Backend) {
    let (_x, app) = perch(b).await;
    let c = app.owner("Acme", "a@example.com").await;
    let org = org_id(&c).await;
    let change = |r: &Reply| {
        let v = r.json();
        (
            r.status,
            v["change"].as_str().unwrap().to_owned(),
            v["credential"]["generation"].as_i64().unwrap(),
            v["credential"]["id"].as_str().unwrap().to_owned(),
        )
    };

    let (status, what, generation, first) = change(&api_put(&c, &pair(ID_A, CANARY)).await);
    assert_eq!((status, what.as_str(), generation), (201, "created", 1));
    let (status, what, generation, id) = change(&api_put(&c, &pair(ID_A, SECRET_2)).await);
    assert_eq!((status, what.as_str(), generation, id.as_str()), (200, "secret_rotated", 2, first.as_str()));
    assert_eq!(used(&app, &org, None).await, expect(ID_A, SECRET_2, None), "the new secret replaced the old");
    let (status, what, generation, id) = change(&api_put(&c, &pair(ID_A, SECRET_2)).await);
    assert_eq!((status, what.as_str(), generation, id.as_str()), (200, "unchanged", 2, first.as_str()));
    let r = api_put(&c, &pair(ID_B, SECRET_3)).await;
    let (status, what, generation, id) = change(&r);
    assert_eq!((status, what.as_str(), generation), (200, "app_replaced", 1));
    assert_ne!(id, first, "another X app is new credentials");
    assert_eq!(r.json()["credential"]["client_id_preview"], &ID_B[..6]);
    assert_eq!(used(&app, &org, None).await, expect(ID_B, SECRET_3, None));
    assert_eq!(app.count("twitter_credentials").await, 1);

    // The form reports the same.
    let coffee = brand(&c, "Coffee").await;
    for (id, secret, expected) in
        [(ID_A, CANARY, "created"), (ID_A, SECRET_2, "secret_rotated"), (ID_C, SECRET_2, "app_replaced")]
    {
        let r = submit(&c, id, secret, &coffee, "save").await;
        assert_eq!(r.json()["Saved"], expected, "{}", r.body);
    }
}

/// Many tests and saves at once (a team clicking, a script looping) all succeed: none is turned
/// into a 500 by SQLite's "database is locked", each leaves exactly one audit entry (a repeated
/// save included), and every rotation moves the generation on once.
async fn concurrent_tests_and_saves_all_succeed_and_each_is_audited(b: Backend) {
    let (x, app) = perch(b).await;
    register(&x, &app, ID_A, CANARY);
    let c = app.owner("Acme", "a@example.com").await;
    assert_eq!(api_put(&c, &pair(ID_A, CANARY)).await.status, 201);
    let before = app.count("audit_events").await;

    let mut calls = tokio::task::JoinSet::new();
    // 5 saves and 10 tests: an organization's tests are limited to 10 a minute (rate_limit.rs).
    for i in 0..15 {
        let c = Client { http: c.http.clone(), base: c.base.clone() };
        calls.spawn(async move {
            let secret = if i % 2 == 0 { CANARY } else { SECRET_2 };
            let r = if i % 3 == 0 {
                api_put(&c, &pair(ID_A, secret)).await
            } else {
                api_test(&c, &pair(ID_A, CANARY)).await
            };
            (i % 3 == 0, r)
        });
    }
    let (mut changes, mut tests) = (0, 0);
    while let Some(done) = calls.join_next().await {
        let (is_save, r) = done.unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        if !is_save {
            assert_eq!(r.json()["valid"], true, "{}", r.body);
            tests += 1;
        } else if r.json()["change"] != "unchanged" {
            changes += 1;
        }
    }
    assert_eq!(tests, 10);
    assert_eq!(app.count("audit_events").await - before, 15, "one audit entry per test and per save");
    let generation = api_get(&c).await.json()["default"]["generation"].as_i64().unwrap();
    assert_eq!(generation, 1 + changes, "every rotation counted once");
}

/// The settings page's audit trail records saving, testing, rotating, replacing and removing,
/// with who did it and for which target, newest first, and never a secret.
async fn the_audit_trail_records_who_saved_tested_replaced_and_removed(b: Backend) {
    let (x, app) = perch(b).await;
    register(&x, &app, ID_A, CANARY);
    let c = app.owner("Acme", "owner@example.com").await;
    let coffee = brand(&c, "Coffee").await;
    assert_eq!(submit(&c, ID_A, CANARY, "", "test").await.status, 200);
    assert_eq!(submit(&c, ID_A, CANARY, "", "save").await.status, 200);
    assert_eq!(submit(&c, ID_A, SECRET_2, "", "save").await.status, 200);
    assert_eq!(submit(&c, ID_B, SECRET_3, "", "save").await.status, 200);
    assert_eq!(submit(&c, ID_C, SECRET_3, &coffee, "save").await.status, 200);
    assert_eq!(remove(&c, &coffee).await.status, 200);
    assert_eq!(remove(&c, "").await.status, 200);

    let r = settings(&c).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let audit = r.json()["audit"].as_array().unwrap().clone();
    let lines: Vec<(String, String)> = audit
        .iter()
        .rev()
        .map(|e| (e["action"].as_str().unwrap().to_owned(), e["target"].as_str().unwrap().to_owned()))
        .collect();
    let default = "Organization default".to_owned();
    assert_eq!(
        lines,
        [
            ("Tested credentials".to_owned(), default.clone()),
            ("Saved credentials".to_owned(), default.clone()),
            ("Replaced the Client Secret (rotation)".to_owned(), default.clone()),
            ("Replaced the X app (new Client ID)".to_owned(), default.clone()),
            ("Saved credentials".to_owned(), "Brand “Coffee”".to_owned()),
            ("Removed credentials".to_owned(), "Brand “Coffee”".to_owned()),
            ("Removed credentials".to_owned(), default),
        ]
    );
    for e in &audit {
        assert_eq!(e["actor"], "owner@example.com");
        assert!(e["at"].as_i64().unwrap() > 1_700_000_000);
    }
    let details: Vec<&str> = audit.iter().rev().map(|e| e["detail"].as_str().unwrap()).collect();
    assert!(details[0].contains("M1M5R3") && details[0].contains("Valid"), "{details:?}");
    assert!(details[1].contains("tested: Valid"), "the save carries the test: {details:?}");
    assert!(details[2].contains("generation 2"), "{details:?}");
    assert!(details[3].contains(&ID_B[..6]), "{details:?}");
    for secret in [CANARY, SECRET_2, SECRET_3] {
        assert_no_part_of("the audit trail", &r.body, secret);
        assert_no_secret("the stored audit trail", &at_rest(&app.db).await, secret);
    }
}
