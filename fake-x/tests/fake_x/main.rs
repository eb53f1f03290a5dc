//! The fake X over real HTTP, row by row against docs/x-api.md: authorize page, token endpoint,
//! refresh rotation, revoke, users/me, tweets, secret rotation, the request log and the control
//! plane. One module per area; run one with `cargo test -p fake-x --test fake_x -- token::`.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fake_x::{
    CreditsBody, FakeApp, FakeUser, FakeX, Fault, NewApp, Refusal, ReplyRefusal, UnknownClient, fingerprint,
    pkce_challenge, pkce_verifier,
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

mod api;
mod authorize;
mod refresh_and_revoke;
mod rotation_log_control;
mod token;
