//! `POST /2/oauth2/token` and `POST /2/oauth2/revoke` (docs/x-api.md "Token endpoint", "Revoke"),
//! plus the parsing of form bodies and `Authorization` headers they share with the rest.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::Serialize;

use super::errors::OAuthError;
use super::faults;
use super::state::{FakeState, TokenPair};
use super::switches::Switches;

/// The fields of a form-encoded body or a query string, in order, repeated names kept.
pub(crate) struct FormFields(Vec<(String, String)>);

impl FormFields {
    pub fn parse(bytes: &[u8]) -> Self {
        FormFields(url::form_urlencoded::parse(bytes).into_owned().collect())
    }

    /// The first value of `name`; an empty value counts as absent, as a missing parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    /// Every value of `name` (checkboxes).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// What the `Authorization` header says about the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum BasicAuth {
    Absent,
    /// Another scheme, bad base64, no colon, or bad percent-encoding.
    Malformed,
    Present {
        client_id: String,
        client_secret: String,
    },
}

/// Parses `Authorization: Basic base64(urlencode(client_id):urlencode(client_secret))`
/// (RFC 6749 2.3.1). Padding may be left off, as lenient servers allow.
pub(crate) fn parse_basic(headers: &HeaderMap) -> BasicAuth {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return BasicAuth::Absent;
    };
    let parsed = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, credentials)| LENIENT.decode(credentials.trim()).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| {
            let (id, secret) = text.split_once(':')?;
            Some((form_decode(id)?, form_decode(secret)?))
        });
    match parsed {
        Some((client_id, client_secret)) => BasicAuth::Present { client_id, client_secret },
        None => BasicAuth::Malformed,
    }
}

/// `application/x-www-form-urlencoded` decoding of one component: `+` is a space, `%XX` a byte.
fn form_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The token of `Authorization: Bearer <token>`.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string()).filter(|t| !t.is_empty())
}

/// The success body, keys in the captured order:
/// `{"token_type":"bearer","expires_in":7200,"access_token":"...","scope":"...","refresh_token":"..."}`.
#[derive(Serialize)]
struct TokenResponse {
    token_type: &'static str,
    expires_in: u64,
    access_token: String,
    scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

impl From<TokenPair> for TokenResponse {
    fn from(pair: TokenPair) -> Self {
        TokenResponse {
            token_type: "bearer",
            expires_in: pair.expires_in,
            access_token: pair.access_token,
            scope: pair.scope,
            refresh_token: pair.refresh_token,
        }
    }
}

/// `POST /2/oauth2/token`.
pub(crate) async fn token(State(state): State<FakeState>, headers: HeaderMap, body: Bytes) -> Response {
    let switches = state.switches();
    if let Some(res) = faults::answer(switches.token_fault, &switches).await {
        return res;
    }
    match grant(&state, &switches, &headers, &FormFields::parse(&body)) {
        Ok(pair) => {
            // The grant is carried out (an old refresh token is spent) before the slow answer.
            if switches.token_delay_ms > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(switches.token_delay_ms)).await;
            }
            Json(TokenResponse::from(pair)).into_response()
        }
        Err(e) => {
            state.count(|c| c.token_errors += 1);
            e.into_response()
        }
    }
}

/// Client authentication comes first, so that a made-up code with a valid pair gets "code
/// invalid" and with a wrong pair "unauthorized" (docs/x-api.md "Testing a Client ID / Secret pair").
fn grant(
    state: &FakeState,
    switches: &Switches,
    headers: &HeaderMap,
    form: &FormFields,
) -> Result<TokenPair, OAuthError> {
    let client_id = state.authenticate_client(parse_basic(headers))?;
    if switches.require_client_id_in_body && form.get("client_id").is_none() {
        return Err(OAuthError::MissingParameter("client_id"));
    }
    match form.get("grant_type") {
        Some("authorization_code") => {
            let code = form.get("code").ok_or(OAuthError::MissingParameter("code"))?;
            let verifier = form.get("code_verifier").ok_or(OAuthError::MissingParameter("code_verifier"))?;
            let redirect_uri = form.get("redirect_uri").ok_or(OAuthError::MissingParameter("redirect_uri"))?;
            state.exchange_code(&client_id, code, redirect_uri, verifier)
        }
        Some("refresh_token") => {
            let refresh_token = form.get("refresh_token").ok_or(OAuthError::MissingParameter("refresh_token"))?;
            state.refresh(&client_id, refresh_token)
        }
        // X answers a missing grant_type like a wrong one, as far as the record shows.
        _ => Err(OAuthError::InvalidGrantType),
    }
}

#[derive(Serialize)]
struct Revoked {
    revoked: bool,
}

/// `POST /2/oauth2/revoke`. The hint is required (X insists) but, as RFC 7009 allows, only a
/// hint: the token is looked up among both kinds.
pub(crate) async fn revoke(State(state): State<FakeState>, headers: HeaderMap, body: Bytes) -> Response {
    let switches = state.switches();
    if let Some(res) = faults::answer(switches.revoke_fault, &switches).await {
        return res;
    }
    let form = FormFields::parse(&body);
    let result = (|| {
        let client_id = state.authenticate_client(parse_basic(&headers))?;
        let token = form.get("token").ok_or(OAuthError::MissingParameter("token"))?;
        match form.get("token_type_hint") {
            None => return Err(OAuthError::MissingParameter("token_type_hint")),
            Some("access_token" | "refresh_token") => {}
            Some(_) => return Err(OAuthError::InvalidTokenTypeHint),
        }
        state.revoke(&client_id, token);
        Ok(())
    })();
    match result {
        Ok(()) => Json(Revoked { revoked: true }).into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_auth(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn basic_header_is_base64_of_form_encoded_parts() {
        // "a%2Bb:c+d" → client id "a+b", secret "c d".
        let encoded = base64::engine::general_purpose::STANDARD.encode("a%2Bb:c+d");
        assert_eq!(
            parse_basic(&with_auth(&format!("Basic {encoded}"))),
            BasicAuth::Present { client_id: "a+b".into(), client_secret: "c d".into() }
        );
        let unpadded = base64::engine::general_purpose::STANDARD_NO_PAD.encode("id:s");
        assert!(matches!(parse_basic(&with_auth(&format!("basic {unpadded}"))), BasicAuth::Present { .. }));
    }

    #[test]
    fn other_schemes_and_garbage_are_malformed() {
        assert_eq!(parse_basic(&HeaderMap::new()), BasicAuth::Absent);
        assert_eq!(parse_basic(&with_auth("Bearer abc")), BasicAuth::Malformed);
        assert_eq!(parse_basic(&with_auth("Basic !!!")), BasicAuth::Malformed);
        let no_colon = base64::engine::general_purpose::STANDARD.encode("nocolon");
        assert_eq!(parse_basic(&with_auth(&format!("Basic {no_colon}"))), BasicAuth::Malformed);
        let bad_escape = base64::engine::general_purpose::STANDARD.encode("id:%zz");
        assert_eq!(parse_basic(&with_auth(&format!("Basic {bad_escape}"))), BasicAuth::Malformed);
    }

    #[test]
    fn empty_form_values_count_as_missing() {
        let form = FormFields::parse(b"code=&grant_type=authorization_code&granted=a&granted=b");
        assert_eq!(form.get("code"), None);
        assert_eq!(form.get("grant_type"), Some("authorization_code"));
        assert_eq!(form.all("granted").collect::<Vec<_>>(), ["a", "b"]);
    }
}
