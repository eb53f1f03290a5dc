//! Perch's side of X's OAuth 2.0 and API v2 (`docs/x-api.md`). Every base URL
//! comes from configuration (`PERCH_X_API_URL`, `PERCH_X_AUTHORIZE_URL`) so the tests point it
//! at the fake X. Nothing here logs a secret, a token or a code.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret as _, SecretString};

use crate::domain::{ClientId, ClientSecret, TestResult};

mod posts;
mod refusals;
mod token_http;

pub use posts::*;
pub use refusals::{AccountRefusal, ContentRefusal, CreditsSignal};
use token_http::{StatusFirst, tokens_from};

/// How long Perch waits for X before saying it could not be reached (connecting included). A
/// refresh lease outlasts it (`accounts::LEASE_SECS`).
pub const TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The most of an answer Perch reads; X's JSON answers are a few hundred bytes.
const MAX_BODY: usize = 64 * 1024;

/// A made-up authorization code for "Test credentials": shaped like X's codes, valid for none.
const PROBE_CODE: &str = "UGVyY2hDcmVkZW50aWFsVGVzdE5vdEFSZWFsQ29kZToxNzAwMDAwMDAwMDAwOjE6MDphYzox";
/// A made-up PKCE verifier (43 characters, RFC 7636's minimum) to go with it.
const PROBE_VERIFIER: &str = "perch-credential-test-verifier-0000000000000";

/// How Perch talks to X.
#[derive(Clone, Debug)]
pub struct XClient {
    http: reqwest::Client,
    api_url: String,
    authorize_url: String,
}

/// The outcome of [`XClient::test_credentials`], with a short description of what X answered
/// when it was neither yes nor no (never containing anything that was sent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialCheck {
    pub result: TestResult,
    pub detail: Option<String>,
}

impl XClient {
    /// `api_url` is X's API base (`https://api.x.com`), `authorize_url` its consent page
    /// (`https://x.com/i/oauth2/authorize`).
    pub fn new(api_url: &str, authorize_url: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Perch/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client's settings are valid");
        Self { http, api_url: api_url.trim_end_matches('/').to_owned(), authorize_url: authorize_url.to_owned() }
    }

    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    pub fn authorize_url(&self) -> &str {
        &self.authorize_url
    }

    fn token_url(&self) -> String {
        format!("{}/2/oauth2/token", self.api_url)
    }

    /// Asks X's token endpoint whether it knows this Client ID and Secret, without a user: a
    /// made-up code exchanged with the pair's Basic auth ("Testing a Client ID / Secret pair
    /// without a user" in docs/x-api.md). A known pair gets 400 `invalid_request` (the code is
    /// invalid); a wrong pair 401 `unauthorized_client` (or `invalid_client`, which a third party
    /// reports for unknown Client IDs). Anything else means X could not be asked.
    pub async fn test_credentials(&self, id: &ClientId, secret: &ClientSecret, redirect_uri: &str) -> CredentialCheck {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", PROBE_CODE),
            ("redirect_uri", redirect_uri),
            ("code_verifier", PROBE_VERIFIER),
            ("client_id", id.as_str()),
        ];
        let sent = self
            .http
            .post(self.token_url())
            .header(reqwest::header::AUTHORIZATION, basic_auth(id, secret).expose_secret())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return unreachable_because(describe_send_error(&e)),
        };
        let status = response.status().as_u16();
        let body = match read_limited(response).await {
            Ok(b) => b,
            Err(why) => return unreachable_because(why),
        };
        classify_probe(status, &body)
    }
}

/// The oauth2 client for one X app's token endpoint, with Basic client authentication (X supports
/// only `client_secret_basic` for confidential clients).
type OAuthClient = oauth2::basic::BasicClient<
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

/// Tokens X issued, as its token endpoint answered.
pub struct Tokens {
    pub access_token: SecretString,
    /// `None` unless `offline.access` was granted.
    pub refresh_token: Option<SecretString>,
    /// Seconds the access token lives (X: 7200).
    pub expires_in: i64,
    /// The scopes X granted. X always reports them; when it does not, they are the requested ones
    /// (RFC 6749 5.1).
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("expires_in", &self.expires_in)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// Why X's token or revoke endpoint did not do what was asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenError {
    /// X answered with an OAuth error (docs/x-api.md "Token endpoint": `invalid_request` with a
    /// description for bad codes, verifiers and refresh tokens; `unauthorized_client` for a wrong
    /// secret).
    Refused { error: String, description: String },
    /// X could not be asked, or answered something that is not an OAuth answer.
    Unreachable(String),
}

impl TokenError {
    /// Whether X refused the client's credentials rather than what was presented with them.
    pub fn is_client_refused(&self) -> bool {
        matches!(self, TokenError::Refused { error, .. } if error == "unauthorized_client" || error == "invalid_client")
    }

    /// Whether the description mentions `what` (X's descriptions name the failing parameter).
    pub fn mentions(&self, what: &str) -> bool {
        matches!(self, TokenError::Refused { description, .. } if description.to_ascii_lowercase().contains(what))
    }
}

/// The X account behind an access token (`GET /2/users/me`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct XUser {
    pub id: String,
    pub username: String,
    pub name: String,
    #[serde(default)]
    pub profile_image_url: Option<String>,
}

impl XUser {
    /// The profile with control characters (a NUL included) taken out of what X users choose:
    /// Perch stores and shows these, and PostgreSQL cannot store a NUL.
    fn printable(self) -> XUser {
        let clean = |s: String| {
            if s.chars().any(char::is_control) { s.chars().filter(|c| !c.is_control()).collect() } else { s }
        };
        XUser {
            id: clean(self.id),
            username: clean(self.username),
            name: clean(self.name),
            profile_image_url: self.profile_image_url.map(clean),
        }
    }
}

/// Why `GET /2/users/me` gave no user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiError {
    /// 401: the access token is expired, revoked or unknown.
    Unauthorized,
    /// 403: the token lacks a scope, or the app may not call this (X's `detail`, clipped).
    Forbidden(String),
    /// The app or its developer account: credits spent, a usage cap, enrolment.
    Account(AccountRefusal),
    /// 429.
    RateLimited,
    /// X could not be asked, or answered something unexpected.
    Unreachable(String),
}

impl XClient {
    /// X's consent page for one flow: `response_type=code`, the Client ID, the callback, the
    /// scopes, the state and an S256 PKCE challenge (docs/x-api.md "Authorize").
    pub fn consent_url(
        &self,
        client_id: &ClientId,
        redirect_uri: &str,
        scopes: &[&str],
        state: &str,
        verifier: &str,
    ) -> Result<String, String> {
        let client = oauth2::basic::BasicClient::new(oauth2::ClientId::new(client_id.as_str().to_owned()))
            .set_auth_uri(
                oauth2::AuthUrl::new(self.authorize_url.clone()).map_err(|e| format!("PERCH_X_AUTHORIZE_URL: {e}"))?,
            )
            .set_redirect_uri(
                oauth2::RedirectUrl::new(redirect_uri.to_owned()).map_err(|e| format!("callback URL: {e}"))?,
            );
        let verifier = oauth2::PkceCodeVerifier::new(verifier.to_owned());
        let challenge = oauth2::PkceCodeChallenge::from_code_verifier_sha256(&verifier);
        let state = state.to_owned();
        let (url, _) = client
            .authorize_url(move || oauth2::CsrfToken::new(state))
            .add_scopes(scopes.iter().map(|s| oauth2::Scope::new((*s).to_owned())))
            .set_pkce_challenge(challenge)
            .url();
        Ok(url.into())
    }

    fn oauth(&self, id: &ClientId, secret: &ClientSecret) -> Result<OAuthClient, TokenError> {
        let token_url = oauth2::TokenUrl::new(self.token_url())
            .map_err(|e| TokenError::Unreachable(format!("PERCH_X_API_URL is invalid: {e}")))?;
        Ok(oauth2::basic::BasicClient::new(oauth2::ClientId::new(id.as_str().to_owned()))
            .set_client_secret(oauth2::ClientSecret::new(secret.expose().to_owned()))
            .set_auth_type(oauth2::AuthType::BasicAuth)
            .set_token_uri(token_url))
    }

    /// Exchanges an authorization code with the app that started the flow (docs/security.md E.28),
    /// the flow's verifier and the same `redirect_uri` as the authorize request (E.26).
    pub async fn exchange_code(
        &self,
        id: &ClientId,
        secret: &ClientSecret,
        redirect_uri: &str,
        code: &str,
        verifier: &SecretString,
        requested: &[&str],
    ) -> Result<Tokens, TokenError> {
        let client = self.oauth(id, secret)?;
        let redirect = oauth2::RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|e| TokenError::Unreachable(format!("the callback URL is invalid: {e}")))?;
        let answer = client
            .exchange_code(oauth2::AuthorizationCode::new(code.to_owned()))
            .set_redirect_uri(std::borrow::Cow::Owned(redirect))
            .set_pkce_verifier(oauth2::PkceCodeVerifier::new(verifier.expose_secret().to_owned()))
            // An older capture shows X demanding the Client ID in the body too (docs/x-api.md).
            .add_extra_param("client_id", id.as_str().to_owned())
            .request_async(&StatusFirst(&self.http))
            .await;
        tokens_from(answer, requested)
    }

    /// Spends a refresh token for a new pair (X rotates refresh tokens: the old one is dead
    /// afterwards, whatever happens to the answer).
    pub async fn refresh(
        &self,
        id: &ClientId,
        secret: &ClientSecret,
        refresh_token: &SecretString,
        granted: &[String],
    ) -> Result<Tokens, TokenError> {
        let client = self.oauth(id, secret)?;
        let token = oauth2::RefreshToken::new(refresh_token.expose_secret().to_owned());
        let answer = client
            .exchange_refresh_token(&token)
            .add_extra_param("client_id", id.as_str().to_owned())
            .request_async(&StatusFirst(&self.http))
            .await;
        let granted: Vec<&str> = granted.iter().map(String::as_str).collect();
        tokens_from(answer, &granted)
    }

    /// Revokes one token, with the `token_type_hint` X requires and Basic client authentication.
    /// (Not through the oauth2 crate: it refuses a revocation endpoint that is not https, which
    /// the fake X on loopback is.)
    pub async fn revoke(
        &self,
        id: &ClientId,
        secret: &ClientSecret,
        token: &SecretString,
        refresh: bool,
    ) -> Result<(), TokenError> {
        let form = [
            ("token", token.expose_secret()),
            ("token_type_hint", if refresh { "refresh_token" } else { "access_token" }),
            ("client_id", id.as_str()),
        ];
        let sent = self
            .http
            .post(format!("{}/2/oauth2/revoke", self.api_url))
            .header(reqwest::header::AUTHORIZATION, basic_auth(id, secret).expose_secret())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await;
        let response = sent.map_err(|e| TokenError::Unreachable(describe_send_error(&e)))?;
        let status = response.status().as_u16();
        let body = read_limited(response).await.map_err(TokenError::Unreachable)?;
        if status == 200 {
            return Ok(());
        }
        let v = serde_json::from_slice::<serde_json::Value>(&body).unwrap_or_default();
        match v.get("error").and_then(|e| e.as_str()) {
            Some(error) => Err(TokenError::Refused {
                error: clip(error),
                description: v.get("error_description").and_then(|d| d.as_str()).map(clip).unwrap_or_default(),
            }),
            None => Err(TokenError::Unreachable(format!("X answered the revocation with HTTP {status}"))),
        }
    }

    /// `GET /2/users/me?user.fields=profile_image_url`: who the token belongs to.
    pub async fn users_me(&self, access_token: &SecretString) -> Result<XUser, ApiError> {
        #[derive(serde::Deserialize)]
        struct Answer {
            data: XUser,
        }
        let sent = self
            .http
            .get(format!("{}/2/users/me?user.fields=profile_image_url", self.api_url))
            .bearer_auth(access_token.expose_secret())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await;
        let response = sent.map_err(|e| ApiError::Unreachable(describe_send_error(&e)))?;
        let status = response.status().as_u16();
        let body = read_limited(response).await.map_err(ApiError::Unreachable)?;
        let json = serde_json::from_slice::<serde_json::Value>(&body).ok();
        if let Some(refusal) = AccountRefusal::of(status, json.as_ref()) {
            return Err(ApiError::Account(refusal));
        }
        match status {
            200 => serde_json::from_slice::<Answer>(&body)
                .map(|a| a.data.printable())
                .map_err(|_| ApiError::Unreachable("X answered users/me with something that is not a user".to_owned())),
            401 => Err(ApiError::Unauthorized),
            403 => {
                let detail = json
                    .as_ref()
                    .and_then(|v| v.get("detail").and_then(|d| d.as_str()).map(clip))
                    .unwrap_or_else(|| "Forbidden".to_owned());
                Err(ApiError::Forbidden(detail))
            }
            429 => Err(ApiError::RateLimited),
            s => Err(ApiError::Unreachable(format!("X answered users/me with HTTP {s}"))),
        }
    }
}

/// What a probe's answer means.
fn classify_probe(status: u16, body: &[u8]) -> CredentialCheck {
    let error = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned));
    match (status, error.as_deref()) {
        (400, Some("invalid_request" | "invalid_grant")) => CredentialCheck { result: TestResult::Valid, detail: None },
        (400 | 401, Some("unauthorized_client" | "invalid_client")) => {
            CredentialCheck { result: TestResult::InvalidClient, detail: None }
        }
        (status, Some(error)) => {
            unreachable_because(format!("X answered HTTP {status} with the error `{}`", clip(error)))
        }
        (status, None) if status >= 500 => {
            unreachable_because(format!("X answered HTTP {status} (a problem on X's side)"))
        }
        (status, None) => {
            unreachable_because(format!("X answered HTTP {status} with something that is not an OAuth answer"))
        }
    }
}

fn unreachable_because(detail: String) -> CredentialCheck {
    CredentialCheck { result: TestResult::Unreachable, detail: Some(detail) }
}

/// Keeps a string from X short and printable before it reaches a page or a log.
fn clip(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(60).collect()
}

/// Like [`clip`], for X's longer explanations (a refused post's `detail`).
fn clip_long(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(300).collect()
}

fn describe_send_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!("X did not answer within {} seconds", TIMEOUT.as_secs())
    } else if e.is_connect() {
        "no connection to X could be made".to_owned()
    } else {
        "the connection to X failed".to_owned()
    }
}

/// Reads at most [`MAX_BODY`] bytes of an answer.
async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY {
                    return Err("X's answer was far larger than expected".to_owned());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(describe_send_error(&e)),
        }
    }
}

/// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 2.3.1), as a secret.
pub fn basic_auth(id: &ClientId, secret: &ClientSecret) -> SecretString {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = zeroize::Zeroizing::new(format!("{}:{}", enc(id.as_str()), enc(secret.expose())));
    SecretString::from(format!("Basic {}", STANDARD.encode(pair.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_is_read_as_x_answers_it() {
        let valid = br#"{"error":"invalid_request","error_description":"Value passed for the authorization code was invalid."}"#;
        assert_eq!(classify_probe(400, valid).result, TestResult::Valid);
        let wrong = br#"{"error":"unauthorized_client","error_description":"Missing valid authorization header"}"#;
        assert_eq!(classify_probe(401, wrong).result, TestResult::InvalidClient);
        assert_eq!(classify_probe(401, br#"{"error":"invalid_client"}"#).result, TestResult::InvalidClient);
        for (status, body) in [
            (503, &b"<html>down</html>"[..]),
            (200, b"<html>hi</html>"),
            (429, b"{}"),
            (500, br#"{"error":"server_error"}"#),
        ] {
            let check = classify_probe(status, body);
            assert_eq!(check.result, TestResult::Unreachable, "{status}");
            assert!(check.detail.unwrap().contains(&status.to_string()));
        }
    }

    #[test]
    fn control_characters_never_leave_an_x_profile() {
        let user = XUser {
            id: "12\u{0}34".into(),
            username: "a\u{0}b".into(),
            name: "Ann\u{7}\n".into(),
            profile_image_url: Some("x\u{0}".into()),
        };
        let clean = user.printable();
        assert_eq!((clean.id.as_str(), clean.username.as_str(), clean.name.as_str()), ("1234", "ab", "Ann"));
        assert_eq!(clean.profile_image_url.as_deref(), Some("x"));
    }

    #[test]
    fn basic_auth_encodes_each_part() {
        let id = ClientId::parse("M1M5R3BMVy13QmpScXkzTUt5OE46MTpjaQ").unwrap();
        let secret = ClientSecret::parse("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX").unwrap();
        let header = basic_auth(&id, &secret);
        let decoded = STANDARD.decode(header.expose_secret().strip_prefix("Basic ").unwrap()).unwrap();
        assert_eq!(decoded, b"M1M5R3BMVy13QmpScXkzTUt5OE46MTpjaQ:abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX");
    }
}
