//! The fake X over real HTTP, row by row against docs/x-api.md: authorize page, token endpoint,
//! refresh rotation, revoke, users/me, tweets, secret rotation, the request log and the control
//! plane. Run with `cargo test -p fake-x --test fake_x`.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fake_x::{
    FakeApp, FakeUser, FakeX, Fault, NewApp, Refusal, UnknownClient, fingerprint, pkce_challenge, pkce_verifier,
};
use reqwest::header::LOCATION;
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

const CALLBACK: &str = "http://127.0.0.1:3000/oauth/x/callback";
/// What Perch asks for (docs/x-api.md "Scopes").
const PERCH_SCOPES: &str =
    "tweet.read tweet.write tweet.moderate.write users.read dm.read dm.write like.write offline.access";

const UNAUTHORIZED_CLIENT: &str =
    r#"{"error":"unauthorized_client","error_description":"Missing valid authorization header"}"#;
const INVALID_CODE: &str =
    r#"{"error":"invalid_request","error_description":"Value passed for the authorization code was invalid."}"#;
const INVALID_TOKEN: &str =
    r#"{"error":"invalid_request","error_description":"Value passed for the token was invalid."}"#;
const UNAUTHORIZED: &str = r#"{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}"#;
const FORBIDDEN: &str = r#"{"title":"Forbidden","type":"about:blank","status":403,"detail":"Forbidden"}"#;

// ---- harness ---------------------------------------------------------------------------------

struct Harness {
    fake: FakeX,
    app: FakeApp,
    http: Client,
}

/// One authorization as the browser left it: the code from the redirect and the verifier Perch kept.
struct Authorized {
    code: String,
    verifier: String,
}

async fn setup() -> Harness {
    let fake = FakeX::start().await;
    let app = fake.register_app(NewApp::new([CALLBACK]).named("Perch Test"));
    Harness { fake, app, http: client() }
}

/// A client that does not follow redirects, like a test looking at X's answer.
fn client() -> Client {
    Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn query_of(location: &str) -> Vec<(String, String)> {
    let url = url::Url::parse(location).unwrap();
    url.query_pairs().into_owned().collect()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let end = start + tag[start..].find('"')?;
    Some(unescape(&tag[start..end]))
}

/// What a browser would post for the consent form as shown: hidden fields, ticked checkboxes
/// and the selected user.
fn consent_form(html: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    for tag in html.split('<').filter(|t| t.starts_with("input ")) {
        let checked_box = tag.contains("type=\"checkbox\"") && tag.contains(" checked");
        if tag.contains("type=\"hidden\"") || checked_box {
            fields.push((attr(tag, "name").unwrap(), attr(tag, "value").unwrap()));
        }
    }
    if let Some(option) = html.split('<').find(|t| t.starts_with("option ") && t.contains(" selected")) {
        fields.push(("user_id".into(), attr(option, "value").unwrap()));
    }
    fields
}

impl Harness {
    fn authorize_params(&self, challenge: &str, state: &str, scope: &str) -> Vec<(String, String)> {
        [
            ("response_type", "code"),
            ("client_id", self.app.client_id.as_str()),
            ("redirect_uri", CALLBACK),
            ("scope", scope),
            ("state", state),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
    }

    async fn authorize_page(&self, params: &[(String, String)]) -> (StatusCode, String) {
        let res = self.http.get(self.fake.authorize_url()).query(params).send().await.unwrap();
        let status = res.status();
        assert!(res.headers().get(LOCATION).is_none(), "the authorize page never redirects by itself");
        (status, res.text().await.unwrap())
    }

    /// Shows the page, then presses a button with the form as the page built it (minus the
    /// scopes in `untick`). Returns the redirect's query.
    async fn press(&self, params: &[(String, String)], decision: &str, untick: &[&str]) -> Vec<(String, String)> {
        let (status, html) = self.authorize_page(params).await;
        assert_eq!(status, StatusCode::OK);
        let mut form = consent_form(&html);
        form.retain(|(n, v)| !(n == "granted" && untick.contains(&v.as_str())));
        form.push(("decision".into(), decision.into()));
        let res = self
            .http
            .post(format!("{}/i/oauth2/authorize/decision", self.fake.base_url()))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FOUND, "{}", res.text().await.unwrap_or_default());
        let location = res.headers()[LOCATION].to_str().unwrap().to_string();
        assert!(location.starts_with(&format!("{CALLBACK}?")), "{location}");
        query_of(&location)
    }

    /// The browser part of the flow, granting `scope` minus `untick`.
    async fn authorize_granting(&self, scope: &str, untick: &[&str]) -> Authorized {
        let verifier = pkce_verifier();
        let params = self.authorize_params(&pkce_challenge(&verifier), "st4te", scope);
        let query = self.press(&params, "authorize", untick).await;
        assert_eq!(param(&query, "state"), Some("st4te"));
        Authorized { code: param(&query, "code").expect("a code").to_string(), verifier }
    }

    async fn authorize(&self) -> Authorized {
        self.authorize_granting(PERCH_SCOPES, &[]).await
    }

    /// `POST /2/oauth2/token` with the app's Basic credentials.
    async fn token(&self, form: &[(&str, &str)]) -> (StatusCode, String) {
        self.token_as(&self.app.client_id, &self.app.client_secret, form).await
    }

    async fn token_as(&self, client_id: &str, secret: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let res =
            self.http.post(self.fake.token_url()).basic_auth(client_id, Some(secret)).form(form).send().await.unwrap();
        (res.status(), res.text().await.unwrap())
    }

    async fn exchange(&self, authorized: &Authorized) -> (StatusCode, String) {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", &authorized.code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", &authorized.verifier),
            ("client_id", &self.app.client_id),
        ])
        .await
    }

    /// A successful exchange's body.
    async fn connect(&self) -> Value {
        let authorized = self.authorize().await;
        let (status, body) = self.exchange(&authorized).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    async fn refresh(&self, refresh_token: &str) -> (StatusCode, String) {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", &self.app.client_id),
        ])
        .await
    }

    async fn revoke(&self, form: &[(&str, &str)]) -> (StatusCode, String) {
        let res = self
            .http
            .post(self.fake.revoke_url())
            .basic_auth(&self.app.client_id, Some(&self.app.client_secret))
            .form(form)
            .send()
            .await
            .unwrap();
        (res.status(), res.text().await.unwrap())
    }

    async fn users_me(&self, token: &str, query: &str) -> Response {
        self.http.get(format!("{}/2/users/me{query}", self.fake.base_url())).bearer_auth(token).send().await.unwrap()
    }

    async fn tweet(&self, token: &str, body: Value) -> Response {
        self.http
            .post(format!("{}/2/tweets", self.fake.base_url()))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    fn tokens(&self, scopes: &[&str]) -> fake_x::TokenPair {
        self.fake.issue_tokens(&self.app.client_id, fake_x::DEFAULT_USER_ID, scopes).unwrap()
    }
}

fn decoded(token: &str) -> String {
    String::from_utf8(URL_SAFE_NO_PAD.decode(token).unwrap()).unwrap()
}

fn header<'a>(res: &'a Response, name: &str) -> Option<&'a str> {
    res.headers().get(name).map(|v| v.to_str().unwrap())
}

async fn problem(res: Response) -> (StatusCode, String) {
    assert_eq!(header(&res, "content-type"), Some("application/problem+json"));
    (res.status(), res.text().await.unwrap())
}

const ALL_API_SCOPES: &[&str] = &["tweet.read", "tweet.write", "users.read", "offline.access"];

// ---- authorize page -------------------------------------------------------------------------

#[tokio::test]
async fn authorize_page_shows_the_app_name_the_scopes_and_both_buttons() {
    let h = setup().await;
    let (status, html) = h.authorize_page(&h.authorize_params("challenge", "s", PERCH_SCOPES)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Perch Test"));
    for scope in PERCH_SCOPES.split(' ') {
        assert!(html.contains(&format!("value=\"{scope}\" checked")), "{scope} is offered ticked");
    }
    assert!(html.contains(">Authorize app</button>") && html.contains(">Cancel</button>"));
    assert!(html.contains("action=\"/i/oauth2/authorize/decision\""));
    assert_eq!(h.fake.counters().authorize_pages, 1);
}

#[tokio::test]
async fn authorize_and_token_flow_with_pkce_issues_xs_token_response() {
    let h = setup().await;
    let authorized = h.authorize().await;
    assert!(decoded(&authorized.code).ends_with(":1:0:ac:1"), "code shaped like X's");
    let (status, body) = h.exchange(&authorized).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let value: Value = serde_json::from_str(&body).unwrap();
    let keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
    let mut expected = vec!["access_token", "expires_in", "refresh_token", "scope", "token_type"];
    expected.sort();
    assert_eq!(keys, expected);
    assert!(body.starts_with(r#"{"token_type":"bearer","expires_in":7200,"access_token":""#), "{body}");
    assert_eq!(value["scope"], PERCH_SCOPES);
    assert!(decoded(value["access_token"].as_str().unwrap()).ends_with(":1:0:at:1"));
    assert!(decoded(value["refresh_token"].as_str().unwrap()).ends_with(":1:0:rt:1"));

    let me = h.users_me(value["access_token"].as_str().unwrap(), "").await;
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(
        me.text().await.unwrap(),
        r#"{"data":{"id":"2244994945","name":"X Developers","username":"XDevelopers"}}"#
    );
    assert_eq!(h.fake.counters().code_exchanges, 1);
}

#[tokio::test]
async fn authorize_refuses_a_redirect_uri_that_is_not_an_exact_match() {
    let h = setup().await;
    for wrong in [
        "http://127.0.0.1:3000/oauth/x/callback/",
        "https://127.0.0.1:3000/oauth/x/callback",
        "http://127.0.0.1:3001/oauth/x/callback",
        "http://localhost:3000/oauth/x/callback",
        "http://127.0.0.1:3000/oauth/x/Callback",
        "http://127.0.0.1:3000/oauth/x/callback?x=1",
    ] {
        let mut params = h.authorize_params("challenge", "s", PERCH_SCOPES);
        params[2].1 = wrong.into();
        let (status, html) = h.authorize_page(&params).await;
        assert_eq!(status, StatusCode::OK, "X shows its page with 200");
        assert!(html.contains("Something went wrong"), "{wrong}");
        assert!(html.contains("You weren't able to give access to the App. Go back and try logging in again."));
        assert!(!html.contains("Authorize app"));
    }
}

#[tokio::test]
async fn authorize_with_an_unknown_client_shows_something_went_wrong() {
    let h = setup().await;
    let mut params = h.authorize_params("challenge", "s", PERCH_SCOPES);
    params[1].1 = "M1M5R3BMVy13QmpScXkzTUt5OE46MTpjaQ".into();
    let (status, html) = h.authorize_page(&params).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Something went wrong"));
    assert!(html.contains("You weren't able to give access to the App. Go back and try logging in again."));
}

#[tokio::test]
async fn authorize_refuses_a_bad_response_type_state_challenge_or_method() {
    let h = setup().await;
    let cases: [(&str, Option<String>); 7] = [
        ("response_type", Some("token".into())),
        ("state", None),
        ("state", Some("x".repeat(501))),
        ("code_challenge", None),
        ("code_challenge_method", Some("plain".into())),
        ("code_challenge_method", None),
        ("scope", Some("tweet.read nonsense.scope".into())),
    ];
    for (name, value) in cases {
        let mut params = h.authorize_params("challenge", "s", PERCH_SCOPES);
        params.retain(|(n, _)| n != name);
        if let Some(value) = &value {
            params.push((name.into(), value.clone()));
        }
        let (_, html) = h.authorize_page(&params).await;
        assert!(html.contains("Something went wrong"), "{name}={value:?}");
    }
    // 500 characters of state are still fine.
    let (_, html) = h.authorize_page(&h.authorize_params("challenge", &"x".repeat(500), PERCH_SCOPES)).await;
    assert!(html.contains("Authorize app"));
}

#[tokio::test]
async fn authorize_accepts_any_of_the_registered_callbacks_exactly() {
    let h = setup().await;
    let other = "http://127.0.0.1:8080/cb";
    h.fake.set_callback_urls(&h.app.client_id, [CALLBACK, other]).unwrap();
    let mut params = h.authorize_params("challenge", "s", PERCH_SCOPES);
    params[2].1 = other.into();
    let (_, html) = h.authorize_page(&params).await;
    assert!(html.contains("Authorize app"));
}

#[tokio::test]
async fn cancel_redirects_with_state_and_access_denied_by_default() {
    let h = setup().await;
    let query = h.press(&h.authorize_params("challenge", "st4te", PERCH_SCOPES), "cancel", &[]).await;
    assert_eq!(param(&query, "state"), Some("st4te"));
    assert_eq!(param(&query, "error"), Some("access_denied"));
    assert_eq!(param(&query, "code"), None);
}

#[tokio::test]
async fn cancel_redirects_with_state_only_when_access_denied_is_switched_off() {
    let h = setup().await;
    h.fake.update_switches(|s| s.cancel_adds_access_denied = false);
    let query = h.press(&h.authorize_params("challenge", "st4te", PERCH_SCOPES), "cancel", &[]).await;
    assert_eq!(query, vec![("state".to_string(), "st4te".to_string())]);
}

#[tokio::test]
async fn unticked_scopes_are_missing_from_the_granted_scope() {
    let h = setup().await;
    let authorized = h.authorize_granting(PERCH_SCOPES, &["tweet.write", "offline.access"]).await;
    let (status, body) = h.exchange(&authorized).await;
    assert_eq!(status, StatusCode::OK);
    let value: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(value["scope"], "tweet.read tweet.moderate.write users.read dm.read dm.write like.write");
    assert!(value.get("refresh_token").is_none(), "no refresh token without offline.access: {body}");
    let res = h.tweet(value["access_token"].as_str().unwrap(), json!({"text": "hello"})).await;
    assert_eq!(problem(res).await, (StatusCode::FORBIDDEN, FORBIDDEN.into()));
}

#[tokio::test]
async fn the_user_picked_on_the_authorize_page_is_who_users_me_returns() {
    let h = setup().await;
    let alice = FakeUser::new("1700000000000000001", "Alice", "alice");
    h.fake.set_next_user(alice.clone());
    let value = h.connect().await;
    let me: Value = h.users_me(value["access_token"].as_str().unwrap(), "").await.json().await.unwrap();
    assert_eq!(me["data"]["username"], "alice");
    assert_eq!(h.fake.grants()[0].user_id, alice.id);
}

// ---- token endpoint --------------------------------------------------------------------------

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

// ---- refresh -----------------------------------------------------------------------------------

#[tokio::test]
async fn refresh_rotates_the_pair_and_a_used_refresh_token_is_refused() {
    let h = setup().await;
    let first = h.connect().await;
    let first_refresh = first["refresh_token"].as_str().unwrap();

    let (status, body) = h.refresh(first_refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let second: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(second["scope"], PERCH_SCOPES, "a refresh keeps the scopes first granted");
    assert_eq!(second["token_type"], "bearer");
    assert_eq!(second["expires_in"], 7200);
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_ne!(second["access_token"], first["access_token"]);

    assert_eq!(h.refresh(first_refresh).await, (StatusCode::BAD_REQUEST, INVALID_TOKEN.into()));
    assert_eq!(h.refresh("garbage").await, (StatusCode::BAD_REQUEST, INVALID_TOKEN.into()));
    assert_eq!(h.refresh(second["refresh_token"].as_str().unwrap()).await.0, StatusCode::OK);

    let counters = h.fake.counters();
    assert_eq!(counters.refreshes, 2);
    assert_eq!(counters.refreshes_by_grant.get("grant-1"), Some(&2));
    assert_eq!(h.fake.grants()[0].refreshes, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_of_one_token_let_exactly_one_succeed() {
    let h = setup().await;
    let pair = h.tokens(ALL_API_SCOPES);
    let refresh = pair.refresh_token.unwrap();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let req = client()
                .post(h.fake.token_url())
                .basic_auth(&h.app.client_id, Some(&h.app.client_secret))
                .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())]);
            tokio::spawn(async move { req.send().await.unwrap().status() })
        })
        .collect();
    let mut successes = 0;
    for task in tasks {
        if task.await.unwrap() == StatusCode::OK {
            successes += 1;
        }
    }
    assert_eq!(successes, 1);
}

#[tokio::test]
async fn a_refresh_token_of_another_app_is_invalid() {
    let h = setup().await;
    let other = h.fake.register_app(NewApp::new([CALLBACK]));
    let pair = h.fake.issue_tokens(&other.client_id, fake_x::DEFAULT_USER_ID, ALL_API_SCOPES).unwrap();
    assert_eq!(
        h.refresh(pair.refresh_token.as_deref().unwrap()).await,
        (StatusCode::BAD_REQUEST, INVALID_TOKEN.into())
    );
}

#[tokio::test]
async fn an_access_token_expires_after_expires_in() {
    let h = setup().await;
    h.fake.update_switches(|s| s.access_token_lifetime_secs = 2);
    let value = h.connect().await;
    assert_eq!(value["expires_in"], 2);
    let token = value["access_token"].as_str().unwrap();
    assert_eq!(h.users_me(token, "").await.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(problem(h.users_me(token, "").await).await, (StatusCode::UNAUTHORIZED, UNAUTHORIZED.into()));
    // The refresh token still works and brings a fresh access token.
    let (status, body) = h.refresh(value["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let fresh: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(h.users_me(fresh["access_token"].as_str().unwrap(), "").await.status(), StatusCode::OK);
}

// ---- revoke -----------------------------------------------------------------------------------

#[tokio::test]
async fn revoke_without_token_type_hint_is_refused() {
    let h = setup().await;
    let pair = h.tokens(ALL_API_SCOPES);
    let (status, body) = h.revoke(&[("token", &pair.access_token), ("client_id", &h.app.client_id)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        r#"{"error":"invalid_request","error_description":"Missing required parameter [token_type_hint]."}"#
    );
    assert!(h.fake.access_token_is_valid(&pair.access_token), "nothing was revoked");
}

#[tokio::test]
async fn revoking_an_access_token_kills_it_and_leaves_the_refresh_token() {
    let h = setup().await;
    let pair = h.tokens(ALL_API_SCOPES);
    let (status, body) = h
        .revoke(&[("token", &pair.access_token), ("token_type_hint", "access_token"), ("client_id", &h.app.client_id)])
        .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, r#"{"revoked":true}"#));
    assert_eq!(problem(h.users_me(&pair.access_token, "").await).await.0, StatusCode::UNAUTHORIZED);
    assert!(h.fake.refresh_token_is_valid(pair.refresh_token.as_deref().unwrap()));
    assert_eq!(h.fake.counters().revocations, 1);
}

#[tokio::test]
async fn revoking_a_refresh_token_kills_the_whole_grant_by_default() {
    let h = setup().await;
    let pair = h.tokens(ALL_API_SCOPES);
    let refresh = pair.refresh_token.unwrap();
    let (status, _) = h.revoke(&[("token", &refresh), ("token_type_hint", "refresh_token")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h.refresh(&refresh).await, (StatusCode::BAD_REQUEST, INVALID_TOKEN.into()));
    assert!(!h.fake.access_token_is_valid(&pair.access_token));
    assert!(h.fake.grants()[0].revoked);
}

#[tokio::test]
async fn revoking_a_refresh_token_spares_the_access_token_when_switched() {
    let h = setup().await;
    h.fake.update_switches(|s| s.revoke_refresh_kills_grant = false);
    let pair = h.tokens(ALL_API_SCOPES);
    let refresh = pair.refresh_token.unwrap();
    // The hint is only a hint: a refresh token sent as "access_token" is found all the same.
    assert_eq!(h.revoke(&[("token", &refresh), ("token_type_hint", "access_token")]).await.0, StatusCode::OK);
    assert_eq!(h.refresh(&refresh).await, (StatusCode::BAD_REQUEST, INVALID_TOKEN.into()));
    assert_eq!(h.users_me(&pair.access_token, "").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn revoke_with_bad_client_auth_is_unauthorized_client() {
    let h = setup().await;
    let pair = h.tokens(ALL_API_SCOPES);
    let form = [("token", pair.access_token.as_str()), ("token_type_hint", "access_token")];
    let res =
        h.http.post(h.fake.revoke_url()).basic_auth(&h.app.client_id, Some("wrong")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.text().await.unwrap(), UNAUTHORIZED_CLIENT);
    let res = h.http.post(h.fake.revoke_url()).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(h.fake.access_token_is_valid(&pair.access_token));
}

#[tokio::test]
async fn revoking_an_unknown_or_foreign_token_answers_revoked_and_changes_nothing() {
    let h = setup().await;
    let other = h.fake.register_app(NewApp::new([CALLBACK]));
    let foreign = h.fake.issue_tokens(&other.client_id, fake_x::DEFAULT_USER_ID, ALL_API_SCOPES).unwrap();
    for token in ["never-issued", foreign.access_token.as_str()] {
        let (status, body) = h.revoke(&[("token", token), ("token_type_hint", "access_token")]).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, r#"{"revoked":true}"#));
    }
    assert!(h.fake.access_token_is_valid(&foreign.access_token));
}

// ---- users/me ----------------------------------------------------------------------------------

#[tokio::test]
async fn users_me_adds_the_avatar_only_when_asked() {
    let h = setup().await;
    let pair = h.tokens(ALL_API_SCOPES);
    let res = h.users_me(&pair.access_token, "?user.fields=profile_image_url").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "x-rate-limit-limit"), Some("75"));
    assert_eq!(header(&res, "x-rate-limit-remaining"), Some("74"));
    assert!(header(&res, "x-rate-limit-reset").unwrap().parse::<u64>().unwrap() > 1_700_000_000);
    assert!(header(&res, "x-user-limit-24hour-limit").is_none(), "reads carry no 24-hour headers");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"]["id"], "2244994945");
    assert_eq!(body["data"]["name"], "X Developers");
    assert_eq!(body["data"]["username"], "XDevelopers");
    assert!(body["data"]["profile_image_url"].as_str().unwrap().starts_with("https://pbs.twimg.com/profile_images/"));
}

#[tokio::test]
async fn users_me_needs_both_tweet_read_and_users_read() {
    let h = setup().await;
    for scopes in [&["tweet.read"][..], &["users.read"][..], &["tweet.write", "offline.access"][..]] {
        let pair = h.tokens(scopes);
        let res = h.users_me(&pair.access_token, "").await;
        assert_eq!(problem(res).await, (StatusCode::FORBIDDEN, FORBIDDEN.into()), "{scopes:?}");
    }
}

#[tokio::test]
async fn users_me_refuses_garbage_expired_and_revoked_tokens_with_401_and_no_rate_limit_headers() {
    let h = setup().await;
    let expired = h.tokens(ALL_API_SCOPES);
    h.fake.expire_token(&expired.access_token).unwrap();
    let revoked = h.tokens(ALL_API_SCOPES);
    h.fake.revoke_token(&revoked.access_token).unwrap();
    for token in ["garbage", expired.access_token.as_str(), revoked.access_token.as_str()] {
        let res = h.users_me(token, "").await;
        assert!(header(&res, "x-rate-limit-remaining").is_none());
        assert_eq!(problem(res).await, (StatusCode::UNAUTHORIZED, UNAUTHORIZED.into()));
    }
    let res = h.http.get(format!("{}/2/users/me", h.fake.base_url())).send().await.unwrap();
    assert_eq!(problem(res).await, (StatusCode::UNAUTHORIZED, UNAUTHORIZED.into()));
}

#[tokio::test]
async fn users_me_forced_client_not_enrolled_names_the_app() {
    let h = setup().await;
    h.fake.update_switches(|s| s.users_me_refusal = Refusal::ClientNotEnrolled);
    let pair = h.tokens(ALL_API_SCOPES);
    let (status, body) = problem(h.users_me(&pair.access_token, "").await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["reason"], "client-not-enrolled");
    assert_eq!(body["client_id"], h.app.client_id.as_str());
}

// ---- tweets ------------------------------------------------------------------------------------

#[tokio::test]
async fn a_tweet_is_created_with_201_and_rate_limit_headers() {
    let h = setup().await;
    let pair = h.tokens(ALL_API_SCOPES);
    let res = h.tweet(&pair.access_token, json!({"text": "Hello from Perch"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(header(&res, "x-rate-limit-limit"), Some("100"));
    assert_eq!(header(&res, "x-rate-limit-remaining"), Some("99"));
    for name in [
        "x-rate-limit-reset",
        "x-user-limit-24hour-limit",
        "x-user-limit-24hour-remaining",
        "x-user-limit-24hour-reset",
        "x-app-limit-24hour-limit",
        "x-app-limit-24hour-remaining",
        "x-app-limit-24hour-reset",
    ] {
        assert!(header(&res, name).unwrap().parse::<u64>().is_ok(), "{name}");
    }
    let body: Value = res.json().await.unwrap();
    let id = body["data"]["id"].as_str().unwrap();
    assert!(id.len() >= 18 && id.len() <= 19 && id.bytes().all(|b| b.is_ascii_digit()), "{id}");
    assert_eq!(body, json!({"data": {"id": id, "text": "Hello from Perch", "edit_history_tweet_ids": [id]}}));

    let reply = h
        .tweet(
            &pair.access_token,
            json!({"text": "a reply", "reply": {"in_reply_to_tweet_id": id}, "quote_tweet_id": id}),
        )
        .await;
    assert_eq!(reply.status(), StatusCode::CREATED);
    let tweets = h.fake.tweets();
    assert_eq!(tweets.len(), 2);
    assert_eq!(tweets[1].in_reply_to_tweet_id.as_deref(), Some(id));
    assert_eq!(tweets[1].author_id, "2244994945");
    assert_eq!(tweets[1].client_id, h.app.client_id);
}

#[tokio::test]
async fn duplicate_text_is_refused_for_the_same_user_only() {
    let h = setup().await;
    let pair = h.tokens(ALL_API_SCOPES);
    assert_eq!(h.tweet(&pair.access_token, json!({"text": "same"})).await.status(), StatusCode::CREATED);
    let res = h.tweet(&pair.access_token, json!({"text": "same"})).await;
    assert!(header(&res, "x-rate-limit-remaining").is_some());
    assert_eq!(
        problem(res).await,
        (
            StatusCode::FORBIDDEN,
            r#"{"detail":"You are not allowed to create a Tweet with duplicate content.","type":"about:blank","title":"Forbidden","status":403}"#.into()
        )
    );
    h.fake.add_user(FakeUser::new("42", "Other", "other"));
    let other = h.fake.issue_tokens(&h.app.client_id, "42", ALL_API_SCOPES).unwrap();
    assert_eq!(h.tweet(&other.access_token, json!({"text": "same"})).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_tweet_needs_tweet_read_tweet_write_and_users_read() {
    let h = setup().await;
    for scopes in
        [&["tweet.read", "users.read"][..], &["tweet.write", "users.read"][..], &["tweet.read", "tweet.write"][..]]
    {
        let pair = h.tokens(scopes);
        let res = h.tweet(&pair.access_token, json!({"text": "hi"})).await;
        assert_eq!(problem(res).await, (StatusCode::FORBIDDEN, FORBIDDEN.into()), "{scopes:?}");
    }
    let res = h.tweet("garbage", json!({"text": "hi"})).await;
    assert!(header(&res, "x-rate-limit-limit").is_none());
    assert_eq!(problem(res).await, (StatusCode::UNAUTHORIZED, UNAUTHORIZED.into()));
}

#[tokio::test]
async fn forced_tweet_refusals_have_xs_bodies() {
    let h = setup().await;
    let pair = h.tokens(ALL_API_SCOPES);

    h.fake.update_switches(|s| s.tweets_refusal = Refusal::NotPermitted);
    let res = h.tweet(&pair.access_token, json!({"text": "a"})).await;
    assert_eq!(
        problem(res).await,
        (
            StatusCode::FORBIDDEN,
            r#"{"detail":"You are not permitted to perform this action.","type":"about:blank","title":"Forbidden","status":403}"#.into()
        )
    );

    h.fake.update_switches(|s| s.tweets_refusal = Refusal::ClientNotEnrolled);
    let (status, body) = problem(h.tweet(&pair.access_token, json!({"text": "b"})).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body,
        format!(
            r#"{{"title":"Client Forbidden","reason":"client-not-enrolled","type":"https://api.twitter.com/2/problems/client-forbidden","detail":"When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project. You can create a project via the developer portal.","required_enrollment":"Appropriate Level of API Access","client_id":"{}"}}"#,
            h.app.client_id
        )
    );

    h.fake.update_switches(|s| s.tweets_refusal = Refusal::TooManyRequests);
    let res = h.tweet(&pair.access_token, json!({"text": "c"})).await;
    assert_eq!(header(&res, "x-rate-limit-remaining"), Some("0"));
    assert_eq!(
        problem(res).await,
        (
            StatusCode::TOO_MANY_REQUESTS,
            r#"{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}"#.into()
        )
    );
    assert!(h.fake.tweets().is_empty());
}

#[tokio::test]
async fn a_forced_429_can_come_with_requests_left_in_the_window() {
    let h = setup().await;
    h.fake.update_switches(|s| {
        s.tweets_refusal = Refusal::TooManyRequests;
        s.too_many_requests_from_24h_cap = true;
    });
    let pair = h.tokens(ALL_API_SCOPES);
    let res = h.tweet(&pair.access_token, json!({"text": "x"})).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&res, "x-rate-limit-remaining"), Some("100"));
    assert_eq!(header(&res, "x-user-limit-24hour-remaining"), Some("0"));
}

#[tokio::test]
async fn spent_limits_answer_429() {
    let h = setup().await;
    h.fake.update_switches(|s| {
        s.tweets_limit_15min = 2;
        s.tweets_user_limit_24h = 3;
    });
    let pair = h.tokens(ALL_API_SCOPES);
    for text in ["1", "2"] {
        assert_eq!(h.tweet(&pair.access_token, json!({"text": text})).await.status(), StatusCode::CREATED);
    }
    let res = h.tweet(&pair.access_token, json!({"text": "3"})).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&res, "x-rate-limit-remaining"), Some("0"));

    // The 24-hour cap runs out while the window still has room.
    h.fake.update_switches(|s| s.tweets_limit_15min = 100);
    assert_eq!(h.tweet(&pair.access_token, json!({"text": "3"})).await.status(), StatusCode::CREATED);
    let res = h.tweet(&pair.access_token, json!({"text": "4"})).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&res, "x-rate-limit-remaining"), Some("97"));
    assert_eq!(header(&res, "x-user-limit-24hour-remaining"), Some("0"));
}

#[tokio::test]
async fn tweets_faults_answer_5xx_html_hang_or_close() {
    let h = setup().await;
    let pair = h.tokens(ALL_API_SCOPES);
    h.fake.update_switches(|s| s.tweets_fault = Fault::ServerError);
    let (status, _) = problem(h.tweet(&pair.access_token, json!({"text": "a"})).await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

    h.fake.update_switches(|s| s.tweets_fault = Fault::Html503);
    let res = h.tweet(&pair.access_token, json!({"text": "a"})).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(header(&res, "content-type").unwrap().starts_with("text/html"));

    h.fake.update_switches(|s| s.tweets_fault = Fault::Close);
    let err = h
        .http
        .post(format!("{}/2/tweets", h.fake.base_url()))
        .bearer_auth(&pair.access_token)
        .json(&json!({"text": "a"}))
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_timeout() && !err.is_status(), "{err:?}");

    h.fake.update_switches(|s| {
        s.tweets_fault = Fault::Hang;
        s.hang_ms = 200;
    });
    // Past hang_ms the connection drops, still without an answer.
    let err = h
        .http
        .post(format!("{}/2/tweets", h.fake.base_url()))
        .bearer_auth(&pair.access_token)
        .json(&json!({"text": "a"}))
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_status(), "{err:?}");
    assert!(h.fake.tweets().is_empty());

    h.fake.update_switches(|s| s.tweets_fault = Fault::None);
    assert_eq!(h.tweet(&pair.access_token, json!({"text": "a"})).await.status(), StatusCode::CREATED);
}

// ---- secret rotation ----------------------------------------------------------------------------

#[tokio::test]
async fn rotation_refuses_the_old_secret_and_kills_tokens_by_default() {
    let h = setup().await;
    let tokens = h.connect().await;
    let pending = h.authorize().await;
    let new_secret = h.fake.rotate_secret(&h.app.client_id).unwrap();
    assert_eq!(new_secret.len(), 50);

    let (status, body) = h.refresh(tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::UNAUTHORIZED, UNAUTHORIZED_CLIENT),
        "old secret at the token endpoint"
    );
    let (status, body) =
        h.revoke(&[("token", tokens["access_token"].as_str().unwrap()), ("token_type_hint", "access_token")]).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::UNAUTHORIZED, UNAUTHORIZED_CLIENT),
        "old secret at the revoke endpoint"
    );

    assert_eq!(
        problem(h.users_me(tokens["access_token"].as_str().unwrap(), "").await).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = h
        .token_as(
            &h.app.client_id,
            &new_secret,
            &[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())],
        )
        .await;
    assert_eq!((status, body.as_str()), (StatusCode::BAD_REQUEST, INVALID_TOKEN));
    let (status, _) = h
        .token_as(
            &h.app.client_id,
            &new_secret,
            &[
                ("grant_type", "authorization_code"),
                ("code", &pending.code),
                ("redirect_uri", CALLBACK),
                ("code_verifier", &pending.verifier),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "codes issued before the rotation die too");
}

#[tokio::test]
async fn rotation_keeps_issued_tokens_when_switched_off() {
    let h = setup().await;
    h.fake.update_switches(|s| s.rotation_kills_tokens = false);
    let tokens = h.connect().await;
    let new_secret = h.fake.rotate_secret(&h.app.client_id).unwrap();
    assert_eq!(
        h.refresh(tokens["refresh_token"].as_str().unwrap()).await.0,
        StatusCode::UNAUTHORIZED,
        "the old secret still fails"
    );
    assert_eq!(h.users_me(tokens["access_token"].as_str().unwrap(), "").await.status(), StatusCode::OK);
    let (status, _) = h
        .token_as(
            &h.app.client_id,
            &new_secret,
            &[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

// ---- request log -------------------------------------------------------------------------------

#[tokio::test]
async fn the_request_log_records_client_ids_and_no_secret_or_token() {
    let h = setup().await;
    let authorized = h.authorize().await;
    let (_, body) = h.exchange(&authorized).await;
    let tokens: Value = serde_json::from_str(&body).unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (_, body) = h.refresh(refresh).await;
    let refreshed: Value = serde_json::from_str(&body).unwrap();
    h.users_me(access, "").await;
    h.revoke(&[("token", access), ("token_type_hint", "access_token"), ("client_id", &h.app.client_id)]).await;
    h.http
        .post(h.fake.token_url())
        .form(&[("grant_type", "refresh_token"), ("client_secret", h.app.client_secret.as_str())])
        .send()
        .await
        .unwrap();

    let log = h.fake.requests();
    let paths: Vec<&str> = log.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/i/oauth2/authorize",
            "/i/oauth2/authorize/decision",
            "/2/oauth2/token",
            "/2/oauth2/token",
            "/2/users/me",
            "/2/oauth2/revoke",
            "/2/oauth2/token"
        ]
    );
    assert_eq!(log[0].client_id.as_deref(), Some(h.app.client_id.as_str()));
    assert_eq!(log[0].fields.get("redirect_uri").map(String::as_str), Some(CALLBACK));
    let exchange = &log[2];
    assert_eq!(exchange.basic_client_id.as_deref(), Some(h.app.client_id.as_str()));
    assert_eq!(exchange.client_id.as_deref(), Some(h.app.client_id.as_str()));
    assert_eq!(exchange.grant_type.as_deref(), Some("authorization_code"));
    assert_eq!(exchange.fields.get("code"), Some(&fingerprint(&authorized.code)));
    assert_eq!(exchange.status, Some(200));
    assert_eq!(log[3].grant_type.as_deref(), Some("refresh_token"));
    assert_eq!(log[4].bearer, Some(fingerprint(access)));
    assert_eq!(log[5].token_type_hint.as_deref(), Some("access_token"));
    assert_eq!((log[6].auth_scheme.as_deref(), log[6].basic_client_id.as_deref()), (None, None));
    assert_eq!(log[6].fields.get("client_secret").map(String::as_str), Some("<redacted>"));
    assert_eq!(log[6].status, Some(401));

    let text = serde_json::to_string(&log).unwrap();
    for secret in [
        h.app.client_secret.as_str(),
        authorized.code.as_str(),
        authorized.verifier.as_str(),
        access,
        refresh,
        refreshed["access_token"].as_str().unwrap(),
        refreshed["refresh_token"].as_str().unwrap(),
    ] {
        assert!(!text.contains(secret), "the log holds a secret or a token");
    }
    // The Basic header itself (base64 of id:secret) is not kept either.
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", h.app.client_id, h.app.client_secret));
    assert!(!text.contains(&basic));
}

// ---- control plane --------------------------------------------------------------------------

#[tokio::test]
async fn tokens_issued_by_the_control_plane_skip_the_browser() {
    let h = setup().await;
    let pair = h.tokens(&["tweet.read", "users.read"]);
    assert_eq!(pair.scope, "tweet.read users.read");
    assert!(pair.refresh_token.is_none());
    assert_eq!(h.users_me(&pair.access_token, "").await.status(), StatusCode::OK);
    assert!(h.fake.issue_tokens("nope", "2244994945", &["tweet.read"]).is_err());
    assert!(h.fake.issue_tokens(&h.app.client_id, "nobody", &["tweet.read"]).is_err());
}

#[tokio::test]
async fn generated_app_credentials_have_xs_shapes() {
    let h = setup().await;
    assert_eq!(h.app.client_id.len(), 34);
    assert!(h.app.client_id.ends_with("MTpjaQ"));
    assert_eq!(h.app.client_secret.len(), 50);
    assert!(h.app.client_secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
}

#[tokio::test]
async fn control_http_endpoints_arrange_and_observe() {
    let fake = FakeX::start().await;
    let http = client();
    let url = |path: &str| format!("{}{path}", fake.base_url());

    // Apps.
    let res = http
        .post(url("/_fake/apps"))
        .json(&json!({"name": "Playwright", "callback_urls": [CALLBACK]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let app: Value = res.json().await.unwrap();
    let client_id = app["client_id"].as_str().unwrap().to_string();
    assert!(client_id.ends_with("MTpjaQ"));
    let fixed: Value = http
        .post(url("/_fake/apps"))
        .json(&json!({"client_id": "fixed-id", "client_secret": "fixed-secret", "callback_urls": [CALLBACK]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (fixed["client_id"].as_str(), fixed["client_secret"].as_str()),
        (Some("fixed-id"), Some("fixed-secret"))
    );
    let listed: Value = http.get(url("/_fake/apps")).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let rotated: Value =
        http.post(url(&format!("/_fake/apps/{client_id}/rotate"))).send().await.unwrap().json().await.unwrap();
    assert_ne!(rotated["client_secret"], app["client_secret"]);
    assert_eq!(fake.app(&client_id).unwrap().client_secret, rotated["client_secret"].as_str().unwrap());
    let res = http
        .put(url(&format!("/_fake/apps/{client_id}/callback-urls")))
        .json(&json!({"callback_urls": ["http://127.0.0.1:9/cb"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(fake.app(&client_id).unwrap().callback_urls, ["http://127.0.0.1:9/cb"]);
    assert_eq!(http.post(url("/_fake/apps/nope/rotate")).send().await.unwrap().status(), StatusCode::NOT_FOUND);

    // Switches: a patch changes what it names; unknown ones are refused; DELETE restores defaults.
    let switches: Value = http
        .put(url("/_fake/switches"))
        .json(&json!({"cancel_adds_access_denied": false, "tweets_fault": "close", "unknown_client": "invalid_client"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (switches["cancel_adds_access_denied"].as_bool(), switches["tweets_fault"].as_str()),
        (Some(false), Some("close"))
    );
    assert_eq!(fake.switches().unknown_client, UnknownClient::InvalidClient);
    assert_eq!(switches["rotation_kills_tokens"], true);
    assert_eq!(
        http.put(url("/_fake/switches")).json(&json!({"no_such": 1})).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    http.delete(url("/_fake/switches")).send().await.unwrap();
    assert_eq!(fake.switches(), Default::default());

    // Users.
    let res = http
        .put(url("/_fake/next-user"))
        .json(&json!({"id": "99", "name": "Bob", "username": "bob"}))
        .send()
        .await
        .unwrap();
    let bob: Value = res.json().await.unwrap();
    assert!(bob["profile_image_url"].as_str().unwrap().starts_with("https://"));
    assert_eq!(fake.next_user().username, "bob");
    http.post(url("/_fake/users"))
        .json(&json!({"id": "100", "name": "Carol", "username": "carol"}))
        .send()
        .await
        .unwrap();
    let users: Value = http.get(url("/_fake/users")).send().await.unwrap().json().await.unwrap();
    assert_eq!(users.as_array().unwrap().len(), 3);

    // Tokens: issued for the next user, then inspected, expired, revoked.
    let res = http
        .post(url("/_fake/tokens"))
        .json(&json!({"client_id": "fixed-id", "scope": "tweet.read users.read offline.access"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let pair: Value = res.json().await.unwrap();
    let access = pair["access_token"].as_str().unwrap();
    let me: Value = http.get(url("/2/users/me")).bearer_auth(access).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["data"]["username"], "bob");
    let status: Value = http
        .post(url("/_fake/tokens/status"))
        .json(&json!({"token": access}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status, json!({"access_token_valid": true, "refresh_token_valid": false}));
    assert_eq!(
        http.post(url("/_fake/tokens/expire")).json(&json!({"token": access})).send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert!(!fake.access_token_is_valid(access));
    let refresh = pair["refresh_token"].as_str().unwrap();
    assert_eq!(
        http.post(url("/_fake/tokens/revoke")).json(&json!({"token": refresh})).send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert!(!fake.refresh_token_is_valid(refresh));
    assert_eq!(
        http.post(url("/_fake/tokens/revoke")).json(&json!({"token": "nope"})).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let second: Value = http
        .post(url("/_fake/tokens"))
        .json(
            &json!({"client_id": "fixed-id", "user_id": "100", "scopes": ["tweet.read", "tweet.write", "users.read"]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let grants: Value = http.get(url("/_fake/grants")).send().await.unwrap().json().await.unwrap();
    assert_eq!(grants[1]["user_id"], "100");
    assert_eq!(grants[1]["id"], second["grant_id"]);

    // Observation: tweets, counters, the request log (without the control plane's own calls).
    http.post(url("/2/tweets"))
        .bearer_auth(second["access_token"].as_str().unwrap())
        .json(&json!({"text": "hi"}))
        .send()
        .await
        .unwrap();
    let tweets: Value = http.get(url("/_fake/tweets")).send().await.unwrap().json().await.unwrap();
    assert_eq!(tweets[0]["author_id"], "100");
    let counters: Value = http.get(url("/_fake/counters")).send().await.unwrap().json().await.unwrap();
    assert_eq!(counters["tweets_created"], 1);
    let requests: Value = http.get(url("/_fake/requests")).send().await.unwrap().json().await.unwrap();
    let paths: Vec<&str> = requests.as_array().unwrap().iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["/2/users/me", "/2/tweets"]);
    assert_eq!(
        http.post(url(&format!("/_fake/grants/{}/revoke", second["grant_id"].as_str().unwrap())))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    assert!(!fake.access_token_is_valid(second["access_token"].as_str().unwrap()));
    assert_eq!(http.delete(url("/_fake/requests")).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert!(fake.requests().is_empty());

    // Reset keeps apps and users, forgets the rest.
    fake.update_switches(|s| s.code_lifetime_ms = 1);
    assert_eq!(http.post(url("/_fake/reset")).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert!(fake.grants().is_empty() && fake.tweets().is_empty());
    assert_eq!(fake.counters(), Default::default());
    assert_eq!(fake.switches(), Default::default());
    assert_eq!(fake.apps().len(), 2);
    assert_eq!(fake.users().len(), 3);
}

#[cfg(unix)]
#[tokio::test]
async fn the_binary_prints_its_base_url_serves_preregistered_apps_and_stops_on_sigterm() {
    use std::io::BufRead;

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fake-x"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--app",
            &format!("bin-client:bin-secret:{CALLBACK},http://127.0.0.1:4000/cb"),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let first_line = tokio::task::spawn_blocking(move || std::io::BufReader::new(stdout).lines().next());
    let base = tokio::time::timeout(Duration::from_secs(10), first_line).await.unwrap().unwrap().unwrap().unwrap();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    let app: Value = client().get(format!("{base}/_fake/apps/bin-client")).send().await.unwrap().json().await.unwrap();
    assert_eq!(app["callback_urls"], json!([CALLBACK, "http://127.0.0.1:4000/cb"]));
    let res = client()
        .post(format!("{base}/2/oauth2/token"))
        .basic_auth("bin-client", Some("bin-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "made-up"),
            ("redirect_uri", CALLBACK),
            ("code_verifier", "v"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.text().await.unwrap(), INVALID_CODE);

    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let waited = tokio::task::spawn_blocking(move || child.wait());
    let status = tokio::time::timeout(Duration::from_secs(10), waited).await.unwrap().unwrap().unwrap();
    assert!(status.success(), "{status:?}");
}
