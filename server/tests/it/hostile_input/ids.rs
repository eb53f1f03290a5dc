//! H.38: ids that cannot exist, in paths, queries and bodies, answer 404 or 422 and change nothing.

use super::*;

on_both_databases!(
    h38_v1_ids_outside_the_id_alphabet_answer_404_or_422_in_json_and_change_nothing,
    h38_the_connect_form_refuses_malformed_ids_before_any_query,
    h38_server_functions_refuse_malformed_ids_with_404_or_422_and_change_nothing,
);

/// Ids that cannot exist, as they go in a URL: a NUL alone and inside a well-formed id, a quote,
/// markup, a non-ASCII letter, an upper-case prefix, the wrong prefix.
const BAD_IDS_IN_URLS: [&str; 7] =
    ["%00", "xac_0123%0045", "xac_%27%22", "xac_%3Cb%3E", "xac_%C3%A9", "XAC_0123", "brd_0123"];
/// The same in a JSON body or a form.
const BAD_IDS: [&str; 6] = ["\u{0}", "xac_0123\u{0}45", "brd_0123\u{0}45", "'\"", "<b>", "é"];

/// H.38 on `/v1`: `DELETE /v1/accounts/{id}` and `GET /v1/accounts?brand_id=` answer 404 for an
/// id that cannot exist; `POST /v1/accounts/connect` and `POST /v1/posts` answer 422 naming the
/// field. Always the JSON error shape, nothing changed, X never called.
async fn h38_v1_ids_outside_the_id_alphabet_answer_404_or_422_in_json_and_change_nothing(b: Backend) {
    let w = world(b).await;
    let key = w.owner.call("keys/create", &[("name", "CMS")]).await.json()["key"].as_str().unwrap().to_owned();
    connect_through(&w.owner, None, None).await;
    brand(&w.owner, "Coffee").await;
    let http = reqwest::Client::new();
    let before = state_of(&w.app).await;
    let calls_to_x = w.x.requests().len();

    for bad in BAD_IDS_IN_URLS {
        let r = send(http.delete(format!("{}/v1/accounts/{bad}", w.app.base)).bearer_auth(&key)).await;
        assert_api_error(&format!("DELETE /v1/accounts/{bad}"), &r, 404, "not_found");
        let bad_brand = bad.replace("xac_", "brd_").replace("brd_0123", "xac_0123");
        let r = send(http.get(format!("{}/v1/accounts?brand_id={bad_brand}", w.app.base)).bearer_auth(&key)).await;
        assert_api_error(&format!("GET /v1/accounts?brand_id={bad_brand}"), &r, 404, "not_found");
    }
    // Not even UTF-8: no id either (refused before routing, or as no account).
    for bad in ["%FF", "xac_%FF%FE"] {
        let r = send(http.delete(format!("{}/v1/accounts/{bad}", w.app.base)).bearer_auth(&key)).await;
        assert!((400..500).contains(&r.status), "DELETE /v1/accounts/{bad}: {} {}", r.status, r.body);
        assert!(r.json()["error"]["code"].is_string() && r.json()["error"]["correlation_id"].is_null(), "{}", r.body);
    }
    for bad in BAD_IDS {
        let r = send(
            http.post(format!("{}/v1/accounts/connect", w.app.base))
                .bearer_auth(&key)
                .json(&json!({"platform": "twitter", "brand_id": bad})),
        )
        .await;
        assert_api_error(&format!("connect link for brand {bad:?}"), &r, 422, "validation");
        assert_eq!(r.json()["error"]["field"], "brand_id");
        let r = send(
            http.post(format!("{}/v1/posts", w.app.base))
                .bearer_auth(&key)
                .json(&json!({"account_id": bad, "text": "Hello"})),
        )
        .await;
        assert_api_error(&format!("post from account {bad:?}"), &r, 422, "validation");
        assert_eq!(r.json()["error"]["field"], "account_id");
    }
    assert_eq!(state_of(&w.app).await, before, "nothing changed");
    assert_eq!(w.x.requests().len(), calls_to_x, "X was never called");
}

/// H.38 on the Connect form (`POST /oauth/connect/twitter`): a `brand_id` or `account_id` that
/// cannot exist gets 422 on the error page, before any query; no flow starts.
async fn h38_the_connect_form_refuses_malformed_ids_before_any_query(b: Backend) {
    let w = world(b).await;
    connect_through(&w.owner, None, None).await;
    let before = state_of(&w.app).await;
    let calls_to_x = w.x.requests().len();
    for bad in BAD_IDS {
        for field in ["brand_id", "account_id"] {
            let r = press(&w.owner, field, bad).await;
            assert_eq!(r.status, 422, "{field}={bad:?}: {}", r.body);
            assert!(
                r.body.contains(&format!("&quot;{field}&quot; is not a")),
                "{field}={bad:?}: a message naming the field: {}",
                r.body
            );
        }
    }
    // A form that is not even UTF-8.
    let r = send(
        w.owner
            .http
            .post(format!("{}{CONNECT}", w.app.base))
            .header("origin", &w.app.base)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(b"brand_id=\xff\xfe".to_vec()),
    )
    .await;
    assert!((400..500).contains(&r.status), "{}: {}", r.status, r.body);
    assert_eq!(state_of(&w.app).await, before, "nothing changed");
    assert_eq!(w.x.requests().len(), calls_to_x, "X was never called");
    // The card's own values still work.
    assert_eq!(press(&w.owner, "brand_id", "default").await.status, 303);
}

/// H.38 on the dashboard's server functions: an id that cannot exist names nothing (404) where it
/// is what the function acts on, and is invalid (422) where it is a field of a form; the
/// credentials' JSON API likewise (422 in a body, 404 in a query).
async fn h38_server_functions_refuse_malformed_ids_with_404_or_422_and_change_nothing(b: Backend) {
    let w = world(b).await;
    let c = &w.owner;
    let account = account_of(&connect_through(c, None, None).await);
    let coffee = brand(c, "Coffee").await;
    c.call("keys/create", &[("name", "CMS")]).await;
    let before = state_of(&w.app).await;
    let calls_to_x = w.x.requests().len();
    for bad in BAD_IDS {
        for (function, form, status) in [
            ("brands/get", vec![("id", bad)], 404),
            ("brands/rename", vec![("id", bad), ("name", "Tea")], 404),
            ("brands/delete", vec![("id", bad)], 404),
            ("twitter/accounts/check", vec![("account_id", bad)], 404),
            ("twitter/accounts/disconnect", vec![("account_id", bad)], 404),
            ("keys/revoke", vec![("key_id", bad)], 404),
            (
                "twitter/submit",
                vec![("client_id", ID_B), ("client_secret", SECRET_B), ("brand_id", bad), ("intent", "save")],
                422,
            ),
            (
                "twitter/submit",
                vec![("client_id", ID_B), ("client_secret", SECRET_B), ("brand_id", bad), ("intent", "test")],
                422,
            ),
            ("twitter/remove", vec![("brand_id", bad)], 404),
        ] {
            let r = c.call(function, &form).await;
            assert_eq!(r.status, status, "{function} {form:?}: {}", r.body);
            assert!(r.json()["correlation_id"].is_null(), "{function}: a client error: {}", r.body);
            if status == 422 {
                assert_eq!(r.json()["field"], "brand_id", "{function}: {}", r.body);
            }
        }
        let r = save(c, ID_B, SECRET_B, Some(bad)).await;
        assert_api_error(&format!("PUT {CRED} brand_id={bad:?}"), &r, 422, "validation");
    }
    for bad in BAD_IDS_IN_URLS {
        let bad = bad.replace("xac_", "brd_").replace("brd_0123", "xac_0123");
        let r = send(c.http.delete(format!("{}{CRED}?brand_id={bad}", w.app.base)).header("origin", &w.app.base)).await;
        assert_api_error(&format!("DELETE {CRED}?brand_id={bad}"), &r, 404, "not_found");
        // A page whose path names no brand is the not-found page.
        assert_eq!(c.get(&format!("/brands/{bad}")).await.status, 404, "/brands/{bad}");
    }
    assert_eq!(state_of(&w.app).await, before, "nothing changed");
    assert_eq!(w.x.requests().len(), calls_to_x, "X was never called");
    // The real ids still work.
    assert_eq!(c.call("brands/get", &[("id", &coffee)]).await.status, 200);
    assert_eq!(check(c, &account).await.status, 200);
}
