//! H.38: NUL bytes, invalid UTF-8 and other text that cannot be stored get a 4xx and change nothing.

use super::*;

on_both_databases!(
    h38_text_with_a_nul_byte_is_refused_with_a_message_naming_the_field,
    h38_invalid_utf8_in_forms_paths_and_queries_gets_a_clear_4xx,
    h38_text_the_database_cannot_store_is_a_client_error_not_a_500,
);

/// H.38: free text with a NUL byte (brand, organization and key names, emails at sign-up and
/// sign-in, post text) is refused with 422 and a message on the field, on both databases, and
/// nothing is stored (not even a failed sign-in).
async fn h38_text_with_a_nul_byte_is_refused_with_a_message_naming_the_field(b: Backend) {
    let w = world(b).await;
    let c = &w.owner;
    let coffee = brand(c, "Coffee").await;
    let key = c.call("keys/create", &[("name", "CMS")]).await.json()["key"].as_str().unwrap().to_owned();
    let account = account_of(&connect_through(c, None, None).await);
    let before = state_of(&w.app).await;
    let throttled = w.app.count("login_throttle").await;
    let nul = "Acme\u{0}Corp";
    let stranger = w.app.client();
    for (who, function, form, field) in [
        (c, "brands/create", vec![("name", nul)], "name"),
        (c, "brands/rename", vec![("id", coffee.as_str()), ("name", nul)], "name"),
        (c, "org/rename", vec![("org_name", nul)], "org_name"),
        (c, "keys/create", vec![("name", nul)], "name"),
        (
            &stranger,
            "signup",
            vec![("org_name", nul), ("email", "new@example.com"), ("password", crate::common::PASSWORD)],
            "org_name",
        ),
        (
            &stranger,
            "signup",
            vec![("org_name", "New"), ("email", "new\u{0}@example.com"), ("password", crate::common::PASSWORD)],
            "email",
        ),
        (
            &stranger,
            "login",
            vec![("email", "owner@acme.example\u{0}"), ("password", crate::common::PASSWORD)],
            "email",
        ),
    ] {
        let r = who.call(function, &form).await;
        assert_eq!(r.status, 422, "{function} {form:?}: {}", r.body);
        assert_eq!(r.json()["field"], field, "{function}: {}", r.body);
        assert!(r.json()["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let http = reqwest::Client::new();
    let r = send(http.post(format!("{}/v1/brands", w.app.base)).bearer_auth(&key).json(&json!({"name": nul}))).await;
    assert_api_error("POST /v1/brands with a NUL", &r, 422, "validation");
    let r = send(
        http.post(format!("{}/v1/posts", w.app.base))
            .bearer_auth(&key)
            .json(&json!({"account_id": account, "text": nul})),
    )
    .await;
    assert_api_error("POST /v1/posts with a NUL", &r, 422, "validation");
    assert_eq!(state_of(&w.app).await, before, "nothing changed");
    assert_eq!(w.app.count("login_throttle").await, throttled, "a refused sign-in is no attempt");
    assert_eq!(c.viewer().await["org_name"], "Acme Agency");
    assert!(w.x.requests().iter().all(|r| r.path != "/2/tweets"), "X was never asked to post");
}

/// H.38: bytes that are not UTF-8 in a server function's form, in a page's path or query, and
/// in the API's paths and queries get a 4xx (or, in a page's query, are shown as replacement
/// characters), never a 5xx, and change nothing.
async fn h38_invalid_utf8_in_forms_paths_and_queries_gets_a_clear_4xx(b: Backend) {
    let w = world(b).await;
    let c = &w.owner;
    let key = c.call("keys/create", &[("name", "CMS")]).await.json()["key"].as_str().unwrap().to_owned();
    let before = state_of(&w.app).await;
    let form = |function: &str, body: &'static [u8], query: &str| {
        c.http
            .post(format!("{}/api/{function}{query}", w.app.base))
            .header("origin", &w.app.base)
            .header("accept", "application/json")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    };
    for (function, body, query) in [
        ("brands/create", &b"name=%FF%FE"[..], ""),
        ("brands/create", &b"name=Caf%C3"[..], ""),
        ("brands/create", &b"name=\xff\xfe"[..], ""),
        ("brands/create", &b""[..], "?name=%FF"),
        ("brands/rename", &b"id=brd_%FF&name=Tea"[..], ""),
        ("org/rename", &b"org_name=%C0%80"[..], ""),
        ("keys/create", &b"name=%ED%A0%80"[..], ""),
        ("login", &b"email=a%FF%40example.com&password=x"[..], ""),
        ("twitter/accounts/check", &b"account_id=xac_%FF"[..], ""),
    ] {
        let r = send(form(function, body, query)).await;
        assert!(
            (400..500).contains(&r.status),
            "{function} {:?}{query}: {} {}",
            String::from_utf8_lossy(body),
            r.status,
            r.body
        );
        assert!(r.json()["correlation_id"].is_null(), "{function}: {}", r.body);
    }
    for path in [
        "/brands/%FF",
        "/brands/brd_%C3",
        "/accounts?disconnected=%FF%FE&revoked=1",
        "/settings/api-keys?revoked=%FF",
        "/accounts?check=working&account=%FF",
    ] {
        let r = c.get(path).await;
        assert!(r.status < 500, "{path}: {} {}", r.status, r.body);
    }
    let http = reqwest::Client::new();
    for path in ["/v1/accounts?brand_id=%FF", "/v1/accounts?brand_id=brd_%FF%FE"] {
        let r = send(http.get(format!("{}{path}", w.app.base)).bearer_auth(&key)).await;
        assert!((400..500).contains(&r.status), "{path}: {} {}", r.status, r.body);
        assert!(r.json()["error"]["code"].is_string(), "{path}: the JSON shape: {}", r.body);
    }
    assert_eq!(state_of(&w.app).await, before, "nothing changed");
}

/// H.38, the backstop: should text PostgreSQL cannot store (a NUL byte, SQLSTATE 22021) ever
/// reach a query, the error is the client's (400, a message, no correlation id), not a 500.
/// SQLite stores such text, so there the query simply finds nothing.
async fn h38_text_the_database_cannot_store_is_a_client_error_not_a_500(b: Backend) {
    let app = TestApp::spawn(b).await;
    let c = app.owner("Acme", "a@example.com").await;
    let org = crate::common::org_id(&c).await;
    let found = app::server::store::brands::get(app.state.db.pool(), &org, "brd_\u{0}").await;
    match b {
        Backend::Sqlite => assert!(matches!(found, Ok(None)), "{found:?}"),
        Backend::Postgres => {
            let err = found.expect_err("PostgreSQL refuses a NUL in text");
            assert!(err.is_unstorable_text(), "{err}");
            let e = app::error::AppError::from(err);
            assert_eq!(e.code.status(), 400, "{e:?}");
            assert!(e.correlation_id.is_none() && e.message.contains("NUL"), "{e:?}");
        }
    }
}
