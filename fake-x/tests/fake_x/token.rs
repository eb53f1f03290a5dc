//! The token endpoint: code exchange, client authentication, PKCE (docs/x-api.md "Token endpoint").

use super::*;

#[tokio::test]
async fn token_refuses_a_wrong_secret_with_unauthorized_client() {
    let h = setup().await;
    let authorized = h.authorize().await;
    let (status, body) = h
        .token_as(
            &h.app.client_id,
            "wrong-secret",
            &[
                ("grant_type", "authorization_code"),
                ("code", &authorized.code),
                ("redirect_uri", CALLBACK),
                ("code_verifier", &authorized.verifier),
            ],
        )
        .await;
    assert_eq!((status, body.as_str()), (StatusCode::UNAUTHORIZED, UNAUTHORIZED_CLIENT));
    // The refused attempt did not spend the code.
    assert_eq!(h.exchange(&authorized).await.0, StatusCode::OK);
}

#[tokio::test]
async fn token_refuses_a_missing_or_malformed_basic_header() {
    let h = setup().await;
    let form =
        [("grant_type", "authorization_code"), ("code", "x"), ("redirect_uri", CALLBACK), ("code_verifier", "v")];
    for authorization in [None, Some("Basic !!!notbase64"), Some("Basic bm9jb2xvbg=="), Some("Bearer abc")] {
        let mut req = h.http.post(h.fake.token_url()).form(&form);
        if let Some(value) = authorization {
            req = req.header("authorization", value);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{authorization:?}");
        assert_eq!(res.text().await.unwrap(), UNAUTHORIZED_CLIENT);
    }
}

#[tokio::test]
async fn token_refuses_a_secret_sent_only_in_the_body() {
    let h = setup().await;
    let authorized = h.authorize().await;
    let res = h
        .http
        .post(h.fake.token_url())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", authorized.code.as_str()),
            ("redirect_uri", CALLBACK),
            ("code_verifier", authorized.verifier.as_str()),
            ("client_id", h.app.client_id.as_str()),
            ("client_secret", h.app.client_secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.text().await.unwrap(), UNAUTHORIZED_CLIENT);
}

#[tokio::test]
async fn unknown_client_is_unauthorized_client_by_default_and_invalid_client_when_switched() {
    let h = setup().await;
    let form =
        [("grant_type", "authorization_code"), ("code", "x"), ("redirect_uri", CALLBACK), ("code_verifier", "v")];
    let stranger = fake_x::ids::client_id();
    let (status, body) = h.token_as(&stranger, &h.app.client_secret, &form).await;
    assert_eq!((status, body.as_str()), (StatusCode::UNAUTHORIZED, UNAUTHORIZED_CLIENT));

    h.fake.update_switches(|s| s.unknown_client = UnknownClient::InvalidClient);
    let (status, body) = h.token_as(&stranger, &h.app.client_secret, &form).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#);
    // A known client with a wrong secret is still unauthorized_client.
    let (_, body) = h.token_as(&h.app.client_id, "wrong", &form).await;
    assert_eq!(body, UNAUTHORIZED_CLIENT);
}

#[tokio::test]
async fn a_code_is_single_use() {
    let h = setup().await;
    let authorized = h.authorize().await;
    assert_eq!(h.exchange(&authorized).await.0, StatusCode::OK);
    assert_eq!(h.exchange(&authorized).await, (StatusCode::BAD_REQUEST, INVALID_CODE.into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_exchanges_of_one_code_let_exactly_one_succeed() {
    let h = setup().await;
    let authorized = h.authorize().await;
    let form = vec![
        ("grant_type".to_string(), "authorization_code".to_string()),
        ("code".into(), authorized.code.clone()),
        ("redirect_uri".into(), CALLBACK.into()),
        ("code_verifier".into(), authorized.verifier.clone()),
    ];
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let req =
                client().post(h.fake.token_url()).basic_auth(&h.app.client_id, Some(&h.app.client_secret)).form(&form);
            tokio::spawn(async move {
                let res = req.send().await.unwrap();
                (res.status(), res.text().await.unwrap())
            })
        })
        .collect();
    let mut successes = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            StatusCode::OK => successes += 1,
            _ => assert_eq!((status, body.as_str()), (StatusCode::BAD_REQUEST, INVALID_CODE)),
        }
    }
    assert_eq!(successes, 1);
    assert_eq!(h.fake.counters().code_exchanges, 1);
}

#[tokio::test]
async fn a_code_expires_after_its_lifetime() {
    let h = setup().await;
    h.fake.update_switches(|s| s.code_lifetime_ms = 150);
    let authorized = h.authorize().await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(h.exchange(&authorized).await, (StatusCode::BAD_REQUEST, INVALID_CODE.into()));
}

#[tokio::test]
async fn a_pkce_mismatch_is_refused_with_the_verifier_message() {
    let h = setup().await;
    let authorized = h.authorize().await;
    let wrong = Authorized { code: authorized.code, verifier: pkce_verifier() };
    assert_eq!(
        h.exchange(&wrong).await,
        (
            StatusCode::BAD_REQUEST,
            r#"{"error":"invalid_request","error_description":"Value passed for the code verifier did not match the code challenge."}"#.into()
        )
    );
}

#[tokio::test]
async fn a_missing_code_verifier_is_refused() {
    let h = setup().await;
    let authorized = h.authorize().await;
    let (status, body) =
        h.token(&[("grant_type", "authorization_code"), ("code", &authorized.code), ("redirect_uri", CALLBACK)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        r#"{"error":"invalid_request","error_description":"Missing required parameter [code_verifier]."}"#
    );
}

#[tokio::test]
async fn a_redirect_uri_differing_from_the_authorize_request_is_refused() {
    let h = setup().await;
    let authorized = h.authorize().await;
    let (status, body) = h
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &authorized.code),
            ("redirect_uri", "http://127.0.0.1:3000/oauth/x/callback/"),
            ("code_verifier", &authorized.verifier),
        ])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        r#"{"error":"invalid_request","error_description":"Value passed for the redirect uri did not match the uri of the authorization code."}"#
    );
}

#[tokio::test]
async fn an_unsupported_or_missing_grant_type_is_refused() {
    let h = setup().await;
    let expected = r#"{"error":"invalid_request","error_description":"Value passed for the grant type was invalid. Grant type should be one of [authorization_code, refresh_token]."}"#;
    for form in [vec![("grant_type", "client_credentials")], vec![("grant_type", "password")], vec![("code", "x")]] {
        assert_eq!(h.token(&form).await, (StatusCode::BAD_REQUEST, expected.into()), "{form:?}");
    }
}

#[tokio::test]
async fn a_code_issued_to_another_app_is_invalid() {
    let h = setup().await;
    let authorized = h.authorize().await;
    let other = h.fake.register_app(NewApp::new([CALLBACK]));
    let (status, body) = h
        .token_as(
            &other.client_id,
            &other.client_secret,
            &[
                ("grant_type", "authorization_code"),
                ("code", &authorized.code),
                ("redirect_uri", CALLBACK),
                ("code_verifier", &authorized.verifier),
            ],
        )
        .await;
    assert_eq!((status, body.as_str()), (StatusCode::BAD_REQUEST, INVALID_CODE));
}

#[tokio::test]
async fn testing_a_pair_with_a_made_up_code_tells_a_valid_pair_from_a_wrong_one() {
    let h = setup().await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", "perch-credential-check"),
        ("redirect_uri", CALLBACK),
        ("code_verifier", "perch-credential-check-verifier-0123456789abcdef"),
        ("client_id", h.app.client_id.as_str()),
    ];
    assert_eq!(h.token(&form).await, (StatusCode::BAD_REQUEST, INVALID_CODE.into()));
    let (status, body) = h.token_as(&h.app.client_id, &fake_x::ids::client_secret(), &form).await;
    assert_eq!((status, body.as_str()), (StatusCode::UNAUTHORIZED, UNAUTHORIZED_CLIENT));
}

#[tokio::test]
async fn client_id_in_the_body_is_demanded_only_when_switched_on() {
    let h = setup().await;
    h.fake.update_switches(|s| s.require_client_id_in_body = true);
    let authorized = h.authorize().await;
    let without = [
        ("grant_type", "authorization_code"),
        ("code", authorized.code.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", authorized.verifier.as_str()),
    ];
    assert_eq!(
        h.token(&without).await,
        (
            StatusCode::BAD_REQUEST,
            r#"{"error":"invalid_request","error_description":"Missing required parameter [client_id]."}"#.into()
        )
    );
    assert_eq!(h.exchange(&authorized).await.0, StatusCode::OK);
}

#[tokio::test]
async fn token_endpoint_faults_answer_5xx_html_or_nothing() {
    let h = setup().await;
    let form =
        [("grant_type", "authorization_code"), ("code", "x"), ("redirect_uri", CALLBACK), ("code_verifier", "v")];

    h.fake.update_switches(|s| s.token_fault = Fault::ServerError);
    let (status, body) = h.token(&form).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body,
        r#"{"title":"Service Unavailable","detail":"Service Unavailable","type":"about:blank","status":503}"#
    );
    h.fake.update_switches(|s| s.server_error_status = 500);
    assert_eq!(h.token(&form).await.0, StatusCode::INTERNAL_SERVER_ERROR);

    for (fault, expected) in [(Fault::Html200, StatusCode::OK), (Fault::Html503, StatusCode::SERVICE_UNAVAILABLE)] {
        h.fake.update_switches(|s| s.token_fault = fault);
        let res = h
            .http
            .post(h.fake.token_url())
            .basic_auth(&h.app.client_id, Some(&h.app.client_secret))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), expected);
        assert!(header(&res, "content-type").unwrap().starts_with("text/html"));
        assert!(res.text().await.unwrap().starts_with("<!DOCTYPE html>"));
    }

    h.fake.update_switches(|s| {
        s.token_fault = Fault::Hang;
        s.hang_ms = 5_000;
    });
    let started = std::time::Instant::now();
    let err = h.http.post(h.fake.token_url()).timeout(Duration::from_millis(300)).form(&form).send().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    let hanging = h.fake.requests().into_iter().last().unwrap();
    assert_eq!((hanging.path.as_str(), hanging.status), ("/2/oauth2/token", None));

    h.fake.update_switches(|s| s.token_fault = Fault::Close);
    let err = h.http.post(h.fake.token_url()).form(&form).send().await.unwrap_err();
    assert!(!err.is_status() && !err.is_timeout(), "{err:?}");
}
