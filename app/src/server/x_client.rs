//! Perch's side of X's OAuth 2.0 and API v2 (the shared reference `x-api.md`). Every base URL
//! comes from configuration (`PERCH_X_API_URL`, `PERCH_X_AUTHORIZE_URL`) so the tests point it
//! at the fake X. Nothing here logs a secret, a token or a code.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret as _, SecretString};

use crate::domain::{ClientId, ClientSecret, TestResult};

/// How long Perch waits for X before saying it could not be reached.
const TIMEOUT: Duration = Duration::from_secs(10);
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
    /// without a user" in x-api.md). A known pair gets 400 `invalid_request` (the code is
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
        (status, Some(error)) => unreachable_because(format!("X answered HTTP {status} with the error `{}`", clip(error))),
        (status, None) if status >= 500 => unreachable_because(format!("X answered HTTP {status} (a problem on X's side)")),
        (status, None) => unreachable_because(format!("X answered HTTP {status} with something that is not an OAuth answer")),
    }
}

fn unreachable_because(detail: String) -> CredentialCheck {
    CredentialCheck { result: TestResult::Unreachable, detail: Some(detail) }
}

/// Keeps a string from X short and printable before it reaches a page or a log.
fn clip(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(60).collect()
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
        for (status, body) in [(503, &b"<html>down</html>"[..]), (200, b"<html>hi</html>"), (429, b"{}"), (500, br#"{"error":"server_error"}"#)] {
            let check = classify_probe(status, body);
            assert_eq!(check.result, TestResult::Unreachable, "{status}");
            assert!(check.detail.unwrap().contains(&status.to_string()));
        }
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
