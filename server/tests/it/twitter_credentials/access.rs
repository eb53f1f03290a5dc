//! Who may read or change credentials: API keys (G.34), other sites (D.22), other tenants (G.33), and malformed bodies (H.38).

use super::*;

on_both_databases!(
    g34_requests_carrying_an_api_key_are_refused_and_change_nothing,
    d22_cross_site_requests_are_refused_and_change_nothing,
    g33_other_tenants_members_and_strangers_cannot_read_or_change_credentials,
    h38_malformed_json_wrong_content_type_and_unknown_fields_get_a_400,
);

/// G.34: the credential routes are dashboard only. Any request carrying an API key (an
/// `Authorization` header), with or without a valid session cookie, gets 403 `dashboard_only`
/// and has no effect: nothing read, stored, removed or sent to X.
async fn g34_requests_carrying_an_api_key_are_refused_and_change_nothing(b: Backend) {
    let (x, app) = perch(b).await;
    register(&x, &app, ID_A, CANARY);
    let c = app.owner("Acme", "a@example.com").await;
    let coffee = brand(&c, "Coffee").await;
    assert_eq!(api_put(&c, &pair(ID_A, CANARY)).await.status, 201);
    assert_eq!(api_put(&c, &pair_for(ID_A, CANARY, &coffee)).await.status, 201);
    let before = snapshot(&app).await;
    let anonymous = app.client();

    for (who, client) in [("signed in", &c), ("anonymous", &anonymous)] {
        for key in [
            "Bearer perch_live_5f2b8c0e9d7a4b1c",
            "bearer perch_live_5f2b8c0e9d7a4b1c",
            "perch_live_5f2b8c0e9d7a4b1c",
            "Token perch_live_5f2b8c0e9d7a4b1c",
        ] {
            let base = &client.base;
            let requests = [
                ("GET", client.http.get(url(client, CRED))),
                ("PUT", client.http.put(url(client, CRED)).header("origin", base).json(&pair(ID_B, SECRET_2))),
                ("DELETE", client.http.delete(url(client, CRED)).header("origin", base)),
                (
                    "DELETE brand",
                    client.http.delete(url(client, &format!("{CRED}?brand_id={coffee}"))).header("origin", base),
                ),
                (
                    "POST test",
                    client.http.post(url(client, CRED_TEST)).header("origin", base).json(&pair(ID_A, CANARY)),
                ),
            ];
            for (what, req) in requests {
                let r = send(req.header("authorization", key).header("accept", "application/json")).await;
                let what = format!("{what}, {who}, `{key}`");
                assert_eq!(r.status, 403, "{what}: {}", r.body);
                assert_eq!(api_error(&r)["code"], "dashboard_only", "{what}");
                assert!(!r.body.contains("M1M5R3"), "{what}: {}", r.body);
            }
        }
    }
    // The page's server functions are behind the same wall.
    for key in ["Bearer perch_live_5f2b8c0e9d7a4b1c", "perch_live_5f2b8c0e9d7a4b1c"] {
        for (endpoint, form) in [
            ("twitter/settings", vec![]),
            ("twitter/submit", vec![("client_id", ID_B), ("client_secret", SECRET_2), ("intent", "save")]),
            ("twitter/submit", vec![("client_id", ID_A), ("client_secret", CANARY), ("intent", "test")]),
            ("twitter/remove", vec![("brand_id", coffee.as_str())]),
        ] {
            let req = c.http.post(url(&c, &format!("/api/{endpoint}"))).header("origin", &c.base).form(&form);
            let r = send(req.header("authorization", key).header("accept", "application/json")).await;
            assert_eq!(r.status, 403, "{endpoint} with `{key}`: {}", r.body);
            assert_eq!(r.json()["code"], "dashboard_only", "{endpoint}");
        }
    }
    assert_eq!(snapshot(&app).await, before);
    assert!(x.requests().is_empty(), "nothing was sent to X");
    // The refusal is about the key: the same session without it still works, and so does a
    // browser behind a proxy with basic authentication, which sends `Authorization: Basic`.
    assert_eq!(api_get(&c).await.json()["default"]["client_id_preview"], "M1M5R3");
    let behind_proxy = send(c.http.get(url(&c, CRED)).header("authorization", "Basic YWRtaW46YWRtaW4=")).await;
    assert_eq!(behind_proxy.status, 200, "{}", behind_proxy.body);
    let anonymous_basic =
        send(anonymous.http.get(url(&anonymous, CRED)).header("authorization", "Basic YWRtaW46YWRtaW4=")).await;
    assert_eq!(anonymous_basic.status, 401, "Basic authenticates nothing: {}", anonymous_basic.body);
}

/// D.22: every state-changing credential request made from another site (a foreign or opaque
/// `Origin`, or `Sec-Fetch-Site` other than same-origin), JSON API and server functions alike,
/// gets 403 `cross_site` and changes nothing.
async fn d22_cross_site_requests_are_refused_and_change_nothing(b: Backend) {
    let (x, app) = perch(b).await;
    register(&x, &app, ID_A, CANARY);
    let c = app.owner("Acme", "a@example.com").await;
    let coffee = brand(&c, "Coffee").await;
    assert_eq!(api_put(&c, &pair(ID_A, CANARY)).await.status, 201);
    assert_eq!(api_put(&c, &pair_for(ID_A, CANARY, &coffee)).await.status, 201);
    let before = snapshot(&app).await;

    for (header, value) in [
        ("origin", "https://evil.example"),
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ] {
        let requests = [
            ("PUT", c.http.put(url(&c, CRED)).json(&pair(ID_B, SECRET_2))),
            ("DELETE", c.http.delete(url(&c, CRED))),
            ("DELETE brand", c.http.delete(url(&c, &format!("{CRED}?brand_id={coffee}")))),
            ("POST test", c.http.post(url(&c, CRED_TEST)).json(&pair(ID_A, CANARY))),
            (
                "save function",
                c.http.post(url(&c, "/api/twitter/submit")).form(&[
                    ("client_id", ID_B),
                    ("client_secret", SECRET_2),
                    ("intent", "save"),
                ]),
            ),
            (
                "test function",
                c.http.post(url(&c, "/api/twitter/submit")).form(&[
                    ("client_id", ID_A),
                    ("client_secret", CANARY),
                    ("intent", "test"),
                ]),
            ),
            ("remove function", c.http.post(url(&c, "/api/twitter/remove")).form(&[("brand_id", coffee.as_str())])),
        ];
        for (what, req) in requests {
            let r = send(req.header(header, value).header("accept", "application/json")).await;
            assert_eq!(r.status, 403, "{what} with {header}: {value}: {}", r.body);
            assert_eq!(api_error(&r)["code"], "cross_site", "{what} with {header}: {value}");
        }
    }
    assert_eq!(snapshot(&app).await, before);
    assert!(x.requests().is_empty(), "nothing was sent to X");
}

/// G.33: another organization sees none of an organization's credentials and cannot change
/// them: its requests naming a foreign brand answer 404 like a made-up id. A member may look but
/// not change anything (403); a stranger gets 401.
async fn g33_other_tenants_members_and_strangers_cannot_read_or_change_credentials(b: Backend) {
    let (x, app) = perch(b).await;
    register(&x, &app, ID_A, CANARY);
    let alice = app.owner("Alice Agency", "alice@example.com").await;
    let coffee = brand(&alice, "Secret Coffee").await;
    assert_eq!(api_put(&alice, &pair(ID_A, CANARY)).await.status, 201);
    assert_eq!(api_put(&alice, &pair_for(ID_B, SECRET_2, &coffee)).await.status, 201);
    let mallory = app.owner("Mallory Media", "mallory@example.com").await;

    let theirs = [&ID_A[..6], &ID_B[..6], coffee.as_str(), "Secret Coffee", "alice@example.com"];
    let listed = api_get(&mallory).await;
    assert_eq!(listed.status, 200);
    assert!(listed.json()["default"].is_null() && listed.json()["overrides"] == json!([]), "{}", listed.body);
    let page = settings(&mallory).await;
    assert_eq!(page.status, 200);
    assert!(page.json()["brands"] == json!([]) && page.json()["audit"] == json!([]), "{}", page.body);
    for r in [&listed, &page] {
        for word in theirs {
            assert!(!r.body.contains(word), "Mallory sees {word}: {}", r.body);
        }
    }

    let before = snapshot(&app).await;
    let foreign = [
        ("PUT", api_put(&mallory, &pair_for(ID_C, SECRET_3, &coffee)).await, false),
        ("DELETE", api_delete(&mallory, Some(&coffee)).await, false),
        ("POST test", api_test(&mallory, &pair_for(ID_A, CANARY, &coffee)).await, false),
        ("save form", submit(&mallory, ID_C, SECRET_3, &coffee, "save").await, true),
        ("test form", submit(&mallory, ID_A, CANARY, &coffee, "test").await, true),
        ("remove form", remove(&mallory, &coffee).await, true),
        ("DELETE her own empty default", api_delete(&mallory, None).await, false),
    ];
    for (what, r, form) in foreign {
        assert_eq!(r.status, 404, "{what}: {}", r.body);
        let e = if form { r.json() } else { api_error(&r) };
        assert_eq!(e["code"], "not_found", "{what}");
        for word in theirs {
            assert!(!r.body.contains(word), "{what} tells Mallory {word}: {}", r.body);
        }
    }
    assert_eq!(snapshot(&app).await, before, "Alice's credentials and trail are untouched");
    assert!(x.requests().is_empty(), "no test of a foreign brand reached X");

    // A member of Alice's organization: reads, but changes nothing.
    let member = user(&app, &org_id(&alice).await, "member@example.com", Role::Member).await;
    let listed = api_get(&member).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.json()["default"]["client_id_preview"], "M1M5R3");
    assert_eq!(settings(&member).await.json()["can_manage"], false);
    let refused = [
        ("PUT", api_put(&member, &pair(ID_C, SECRET_3)).await, false),
        ("PUT brand", api_put(&member, &pair_for(ID_C, SECRET_3, &coffee)).await, false),
        ("DELETE", api_delete(&member, None).await, false),
        ("DELETE brand", api_delete(&member, Some(&coffee)).await, false),
        ("POST test", api_test(&member, &pair(ID_A, CANARY)).await, false),
        ("save form", submit(&member, ID_C, SECRET_3, "", "save").await, true),
        ("test form", submit(&member, ID_A, CANARY, "", "test").await, true),
        ("remove form", remove(&member, "").await, true),
    ];
    for (what, r, form) in refused {
        assert_eq!(r.status, 403, "member {what}: {}", r.body);
        let e = if form { r.json() } else { api_error(&r) };
        assert_eq!(e["code"], "forbidden", "member {what}");
    }

    // Someone not signed in.
    let stranger = app.client();
    let anonymous = [
        ("GET", api_get(&stranger).await, false),
        ("PUT", api_put(&stranger, &pair(ID_C, SECRET_3)).await, false),
        ("DELETE", api_delete(&stranger, None).await, false),
        ("POST test", api_test(&stranger, &pair(ID_A, CANARY)).await, false),
        ("settings", settings(&stranger).await, true),
        ("save form", submit(&stranger, ID_C, SECRET_3, "", "save").await, true),
        ("remove form", remove(&stranger, "").await, true),
    ];
    for (what, r, form) in anonymous {
        assert_eq!(r.status, 401, "anonymous {what}: {}", r.body);
        let e = if form { r.json() } else { api_error(&r) };
        assert_eq!(e["code"], "unauthenticated", "anonymous {what}");
        assert!(!r.body.contains("M1M5R3"), "anonymous {what}: {}", r.body);
    }
    assert_eq!(snapshot(&app).await, before);
    assert!(x.requests().is_empty());
}

/// H.38: malformed JSON, a wrong or missing content type, unknown or missing fields, hostile
/// bodies and query strings get a clear 4xx JSON error from the JSON API, never a 500; none of
/// them stores anything.
async fn h38_malformed_json_wrong_content_type_and_unknown_fields_get_a_400(b: Backend) {
    let (x, app) = perch(b).await;
    register(&x, &app, ID_A, CANARY);
    let c = app.owner("Acme", "a@example.com").await;
    let valid = pair(ID_A, CANARY).to_string();
    let form = format!("client_id={ID_A}&client_secret={CANARY}");
    let nested = "[".repeat(10_000);
    let json = Some("application/json");
    let bad: Vec<(&str, Option<&str>, Vec<u8>)> = vec![
        ("truncated JSON", json, br#"{"client_id": "M1M5R3"#.to_vec()),
        ("not JSON", json, b"client_id=x".to_vec()),
        ("an array", json, b"[]".to_vec()),
        ("null", json, b"null".to_vec()),
        ("an empty body", json, vec![]),
        ("not UTF-8", json, vec![b'{', b'"', 0xff, 0xfe, b'"', b'}']),
        ("deeply nested", json, nested.into_bytes()),
        ("a number for a string", json, json!({"client_id": 5, "client_secret": CANARY}).to_string().into_bytes()),
        ("no secret", json, json!({"client_id": ID_A}).to_string().into_bytes()),
        (
            "an unknown field",
            json,
            json!({"client_id": ID_A, "client_secret": CANARY, "is_admin": true}).to_string().into_bytes(),
        ),
        (
            "an object for brand_id",
            json,
            json!({"client_id": ID_A, "client_secret": CANARY, "brand_id": {"$ne": ""}}).to_string().into_bytes(),
        ),
        ("form encoded", Some("application/x-www-form-urlencoded"), form.clone().into_bytes()),
        ("JSON as text/plain", Some("text/plain"), valid.clone().into_bytes()),
        ("JSON without a content type", None, valid.clone().into_bytes()),
        ("a look-alike content type", Some("application/jsonp"), valid.clone().into_bytes()),
    ];
    for (what, content_type, body) in bad {
        for (method, path) in [(reqwest::Method::PUT, CRED), (reqwest::Method::POST, CRED_TEST)] {
            let mut req = c.http.request(method.clone(), url(&c, path)).header("origin", &c.base).body(body.clone());
            if let Some(t) = content_type {
                req = req.header("content-type", t);
            }
            let r = send(req).await;
            assert_eq!(r.status, 400, "{what} to {method} {path}: {}", r.body);
            assert!(r.header("content-type").starts_with("application/json"), "{what}");
            let e = api_error(&r);
            assert_eq!(e["code"], "bad_request", "{what}");
            assert!(e["message"].as_str().is_some_and(|m| m.len() > 20), "{what}: {}", r.body);
            assert_no_part_of(what, &r.body, CANARY);
        }
    }
    for query in ["brand=x", "brand_id=a&brand_id=b", "brand_id[]=x"] {
        let r = send(c.http.delete(url(&c, &format!("{CRED}?{query}"))).header("origin", &c.base)).await;
        assert_eq!(r.status, 400, "DELETE ?{query}: {}", r.body);
        assert_eq!(api_error(&r)["code"], "bad_request");
    }
    // Hostile ids are no ids at all: refused on the field before any query (H.38).
    for brand_id in ["' or 1=1 --", "<script>alert(1)</script>", "../../etc/passwd"] {
        let r = api_put(&c, &pair_for(ID_A, CANARY, brand_id)).await;
        assert_eq!(r.status, 422, "{brand_id}: {}", r.body);
        assert_eq!(api_error(&r)["field"], "brand_id", "{brand_id}");
        assert!(!r.body.contains("<script>"), "{}", r.body);
    }
    // More than Perch reads.
    let huge = json!({"client_id": ID_A, "client_secret": "x".repeat(200 * 1024)});
    let r = api_put(&c, &huge).await;
    assert!((400..500).contains(&r.status), "an oversized body: {} {}", r.status, r.body);
    assert_eq!(app.count("twitter_credentials").await, 0);
    assert!(x.requests().is_empty());
    // The checks above are about the body, not the endpoint: the same pair sent properly is saved.
    let r = send(
        c.http
            .put(url(&c, CRED))
            .header("origin", &c.base)
            .header("content-type", "application/json; charset=utf-8")
            .body(valid),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
}
