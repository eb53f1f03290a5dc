//! The request log: every request the fake receives (the control plane excepted), described
//! without its secrets, so tests can check what Perch sent.

use std::collections::BTreeMap;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::ids::{fingerprint, now_ms};
use super::oauth::{BasicAuth, bearer_token, parse_basic};
use super::server::DropConnection;
use super::state::FakeState;

/// The largest body the fake reads; X's requests are far smaller.
const BODY_LIMIT: usize = 64 * 1024;

/// One request as the fake received it. No client secret and no full code or token is kept:
/// secrets read `<redacted>`, codes, verifiers and tokens their [`fingerprint`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// Order of arrival, from 1.
    pub seq: u64,
    /// Arrival, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The scheme of the `Authorization` header, lower case (`basic`, `bearer`, ...).
    pub auth_scheme: Option<String>,
    /// The client id of a well-formed Basic header, whether the fake knows it or not.
    pub basic_client_id: Option<String>,
    /// The fingerprint of a Bearer token.
    pub bearer: Option<String>,
    /// `client_id` from the query or the form body.
    pub client_id: Option<String>,
    pub grant_type: Option<String>,
    pub token_type_hint: Option<String>,
    /// Every query and body field (top-level keys of a JSON body), sensitive values replaced.
    pub fields: BTreeMap<String, String>,
    /// The status answered; `None` while the request is still being answered, or when the
    /// connection was dropped without an answer (faults `hang` and `close`).
    pub status: Option<u16>,
}

/// Replaces what must not be kept. Secrets are not even fingerprinted: a test never needs to
/// match one, and a hash of a short secret can be reversed by guessing.
fn scrub(name: &str, value: &str) -> String {
    match name {
        "client_secret" | "password" => "<redacted>".into(),
        "code" | "code_verifier" | "refresh_token" | "access_token" | "token" => fingerprint(value),
        _ => value.into(),
    }
}

fn describe(parts: &Parts, body: &Bytes) -> RecordedRequest {
    let mut fields = BTreeMap::new();
    if let Some(query) = parts.uri.query() {
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            fields.entry(name.to_string()).or_insert_with(|| scrub(&name, &value));
        }
    }
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type.starts_with("application/x-www-form-urlencoded") {
        for (name, value) in url::form_urlencoded::parse(body) {
            fields.entry(name.to_string()).or_insert_with(|| scrub(&name, &value));
        }
    } else if content_type.starts_with("application/json")
        && let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body)
    {
        for (name, value) in map {
            let text = match value {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            fields.insert(name.clone(), scrub(&name, &text));
        }
    }
    let auth_scheme = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_whitespace().next())
        .map(str::to_ascii_lowercase);
    let basic_client_id = match parse_basic(&parts.headers) {
        BasicAuth::Present { client_id, .. } => Some(client_id),
        BasicAuth::Absent | BasicAuth::Malformed => None,
    };
    RecordedRequest {
        seq: 0,
        at_ms: now_ms(),
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        auth_scheme,
        basic_client_id,
        bearer: bearer_token(&parts.headers).map(|t| fingerprint(&t)),
        client_id: fields.get("client_id").cloned(),
        grant_type: fields.get("grant_type").cloned(),
        token_type_hint: fields.get("token_type_hint").cloned(),
        fields,
        status: None,
    }
}

/// Middleware: logs the request on arrival (so a hanging request shows up at once) and its
/// status once answered.
pub(crate) async fn record(State(state): State<FakeState>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/_fake") {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let entry = describe(&parts, &bytes);
    let (method, path, basic_client_id) = (entry.method.clone(), entry.path.clone(), entry.basic_client_id.clone());
    let seq = state.begin_request(entry);
    let res = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let status = if res.extensions().get::<DropConnection>().is_some() { None } else { Some(res.status().as_u16()) };
    state.finish_request(seq, status);
    tracing::info!(seq, %method, %path, ?basic_client_id, ?status, "fake-x answered");
    res
}
