//! The control plane over HTTP, `/_fake/...`: the in-process API of [`FakeState`] as JSON, for
//! tests in another process (Playwright). The endpoints are listed in the crate documentation
//! ([`crate`]). Not part of X; never logged in the request log.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::state::{ControlError, FakeState, FakeUser, NewApp};
use super::switches::Switches;

#[derive(Serialize)]
struct ErrorBody {
    error: String,
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = match self {
            ControlError::InvalidSwitches(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::NOT_FOUND,
        };
        (status, Json(ErrorBody { error: self.to_string() })).into_response()
    }
}

pub(crate) fn routes() -> Router<FakeState> {
    Router::new()
        .route("/_fake/apps", get(list_apps).post(register_app))
        .route("/_fake/apps/{client_id}", get(show_app))
        .route("/_fake/apps/{client_id}/rotate", post(rotate_secret))
        .route("/_fake/apps/{client_id}/callback-urls", put(set_callback_urls))
        .route("/_fake/switches", get(show_switches).put(patch_switches).delete(reset_switches))
        .route("/_fake/users", get(list_users).post(add_user))
        .route("/_fake/next-user", get(show_next_user).put(set_next_user))
        .route("/_fake/tokens", post(issue_tokens))
        .route("/_fake/tokens/revoke", post(revoke_token))
        .route("/_fake/tokens/expire", post(expire_token))
        .route("/_fake/tokens/status", post(token_status))
        .route("/_fake/grants", get(list_grants))
        .route("/_fake/grants/{grant_id}/revoke", post(revoke_grant))
        .route("/_fake/requests", get(list_requests).delete(clear_requests))
        .route("/_fake/counters", get(show_counters))
        .route("/_fake/tweets", get(list_tweets))
        .route("/_fake/reset", post(reset))
}

async fn list_apps(State(state): State<FakeState>) -> Response {
    Json(state.apps()).into_response()
}

async fn register_app(State(state): State<FakeState>, Json(app): Json<NewApp>) -> Response {
    (StatusCode::CREATED, Json(state.register_app(app))).into_response()
}

async fn show_app(State(state): State<FakeState>, Path(client_id): Path<String>) -> Response {
    match state.app(&client_id) {
        Some(app) => Json(app).into_response(),
        None => ControlError::UnknownApp(client_id).into_response(),
    }
}

#[derive(Serialize)]
struct Rotated {
    client_id: String,
    client_secret: String,
}

async fn rotate_secret(State(state): State<FakeState>, Path(client_id): Path<String>) -> Response {
    match state.rotate_secret(&client_id) {
        Ok(client_secret) => Json(Rotated { client_id, client_secret }).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallbackUrls {
    callback_urls: Vec<String>,
}

async fn set_callback_urls(
    State(state): State<FakeState>,
    Path(client_id): Path<String>,
    Json(body): Json<CallbackUrls>,
) -> Response {
    match state.set_callback_urls(&client_id, body.callback_urls) {
        Ok(app) => Json(app).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn show_switches(State(state): State<FakeState>) -> Response {
    Json(state.switches()).into_response()
}

async fn patch_switches(State(state): State<FakeState>, Json(patch): Json<serde_json::Value>) -> Response {
    match state.patch_switches(patch) {
        Ok(switches) => Json(switches).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn reset_switches(State(state): State<FakeState>) -> Response {
    state.set_switches(Switches::default());
    Json(Switches::default()).into_response()
}

async fn list_users(State(state): State<FakeState>) -> Response {
    Json(state.users()).into_response()
}

async fn add_user(State(state): State<FakeState>, Json(user): Json<FakeUser>) -> Response {
    state.add_user(user.clone());
    let added = state.users().into_iter().find(|u| u.id == user.id).unwrap_or(user);
    (StatusCode::CREATED, Json(added)).into_response()
}

async fn show_next_user(State(state): State<FakeState>) -> Response {
    Json(state.next_user()).into_response()
}

async fn set_next_user(State(state): State<FakeState>, Json(user): Json<FakeUser>) -> Response {
    state.set_next_user(user);
    Json(state.next_user()).into_response()
}

/// `scopes` as a list or `scope` as X's space-separated string.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueTokens {
    client_id: String,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    scope: Option<String>,
}

async fn issue_tokens(State(state): State<FakeState>, Json(body): Json<IssueTokens>) -> Response {
    let user_id = body.user_id.unwrap_or_else(|| state.next_user().id);
    let mut scopes = body.scopes;
    scopes.extend(body.scope.iter().flat_map(|s| s.split_whitespace()).map(String::from));
    let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    match state.issue_tokens(&body.client_id, &user_id, &scopes) {
        Ok(pair) => (StatusCode::CREATED, Json(pair)).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    token: String,
}

async fn revoke_token(State(state): State<FakeState>, Json(body): Json<TokenBody>) -> Response {
    match state.revoke_token(&body.token) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

async fn expire_token(State(state): State<FakeState>, Json(body): Json<TokenBody>) -> Response {
    match state.expire_token(&body.token) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Serialize)]
struct TokenStatus {
    access_token_valid: bool,
    refresh_token_valid: bool,
}

async fn token_status(State(state): State<FakeState>, Json(body): Json<TokenBody>) -> Response {
    Json(TokenStatus {
        access_token_valid: state.access_token_is_valid(&body.token),
        refresh_token_valid: state.refresh_token_is_valid(&body.token),
    })
    .into_response()
}

async fn list_grants(State(state): State<FakeState>) -> Response {
    Json(state.grants()).into_response()
}

async fn revoke_grant(State(state): State<FakeState>, Path(grant_id): Path<String>) -> Response {
    match state.revoke_grant(&grant_id) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

async fn list_requests(State(state): State<FakeState>) -> Response {
    Json(state.requests()).into_response()
}

async fn clear_requests(State(state): State<FakeState>) -> Response {
    state.clear_requests();
    StatusCode::NO_CONTENT.into_response()
}

async fn show_counters(State(state): State<FakeState>) -> Response {
    Json(state.counters()).into_response()
}

async fn list_tweets(State(state): State<FakeState>) -> Response {
    Json(state.tweets()).into_response()
}

async fn reset(State(state): State<FakeState>) -> Response {
    state.reset();
    StatusCode::NO_CONTENT.into_response()
}
