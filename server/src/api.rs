//! The dashboard-only JSON API of the Twitter integration (`/v1/integrations/twitter/credentials`):
//! the page's operations for scripts running in a signed-in dashboard session. A request that
//! carries an API key is refused with 403 `dashboard_only` before anything else happens, with or
//! without a session cookie (docs/security.md G.34; see [`carries_api_key`]), so a leaked key can
//! neither read nor write credentials. The page's server functions (`/api/twitter/*`) sit behind
//! the same wall. Errors are `{"error": {"code", "message"}}`.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use app::domain::{Action, CredentialView, SaveChange, Target, Viewer};
use app::error::{AppError, ErrorCode};
use app::server::services::actor::Actor;
use app::server::{AppState, services::twitter};

use crate::RouterState;
use crate::middleware::error_response;

pub const CREDENTIALS: &str = "/v1/integrations/twitter/credentials";

/// The routes, each behind the dashboard-only wall.
pub fn routes() -> Router<RouterState> {
    Router::new()
        .route(CREDENTIALS, get(list).put(put).delete(delete))
        .route(&format!("{CREDENTIALS}/test"), post(test))
}

/// Paths only a dashboard session may use: the credential API, the Twitter pages' server
/// functions (credentials and accounts), the API key page's server functions and the
/// dashboard's Connect button. The public API (`/v1/brands`, `/v1/accounts`, `/v1/posts`) is
/// elsewhere, in `crate::public_api`.
const DASHBOARD_ONLY: [&str; 4] = ["/v1/integrations/", "/api/twitter/", "/api/keys/", "/oauth/connect/"];

/// Whether a request carries an API key, or anything that might be one: an `Authorization`
/// header of any scheme but `Basic`. Basic is let through because a browser behind a reverse
/// proxy with basic authentication sends it on every request, and Perch never reads an API key
/// from it (keys are `Bearer`); it authenticates nothing here, the session cookie still must.
pub fn carries_api_key(headers: &HeaderMap) -> bool {
    headers.get_all(header::AUTHORIZATION).iter().any(|v| {
        let scheme = v.as_bytes().split(|b| *b == b' ').next().unwrap_or_default();
        !scheme.eq_ignore_ascii_case(b"basic")
    })
}

/// Refuses a request that carries an API key on a dashboard-only path, before anything is read
/// or changed (docs/security.md G.34). Server functions get the error in their own shape.
pub async fn dashboard_only(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if DASHBOARD_ONLY.iter().any(|p| path.starts_with(p)) && carries_api_key(req.headers()) {
        tracing::warn!(method = %req.method(), path, "API key refused on a dashboard-only route");
        let err = AppError::new(
            ErrorCode::DashboardOnly,
            "This route belongs to the Perch dashboard: Twitter credentials, API keys and the dashboard's account connections are only read or changed by a person signed in to it, and API keys are never accepted here. Use Settings in the dashboard, or `perch credentials` on the server.",
        );
        if path.starts_with("/api/") {
            let status = StatusCode::from_u16(err.code.status()).unwrap_or(StatusCode::FORBIDDEN);
            return (status, Json(err)).into_response();
        }
        return error_response(&err);
    }
    next.run(req).await
}

/// A JSON answer or a JSON error.
type Answer = Result<Response, Response>;

fn fail(e: AppError) -> Response {
    error_response(&e)
}

/// The signed-in user if their role may do `action` (the operations in `app::server::services::twitter`
/// check what they change once more, for the page's server functions too).
async fn signed_in(state: &AppState, session: &Session, action: Action) -> Result<Viewer, Response> {
    let viewer = app::server::services::auth::viewer_of(state, session)
        .await
        .map_err(fail)?
        .ok_or_else(|| fail(AppError::unauthenticated()))?;
    app::server::services::auth::permit(&viewer, action).map_err(fail)?;
    Ok(viewer)
}

/// Reads a JSON body, with a message that says what was wrong and what the endpoint `takes`
/// (shared with the public API).
// The refusal is the answer itself, ready to return from a handler: axum's `Response` is large,
// and boxing it would only move the allocation.
#[allow(clippy::result_large_err)]
pub fn json_body<T: DeserializeOwned>(headers: &HeaderMap, bytes: &Bytes, takes: &str) -> Result<T, Response> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json")));
    if !is_json {
        return Err(fail(AppError::new(
            ErrorCode::BadRequest,
            format!("Send a JSON body with Content-Type: application/json: {takes}."),
        )));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        // serde's message names the field or position, never the values.
        let what = e.to_string();
        let what = what.split(" at line").next().unwrap_or("malformed JSON");
        fail(AppError::new(
            ErrorCode::BadRequest,
            format!("The JSON body is not what this endpoint takes ({what}). Send {takes}."),
        ))
    })
}

const PAIR: &str = "{\"client_id\": \"...\", \"client_secret\": \"...\"}, with \"brand_id\" for a brand's override";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PairBody {
    client_id: String,
    client_secret: String,
    #[serde(default)]
    brand_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BrandQuery {
    #[serde(default)]
    brand_id: Option<String>,
}

/// `GET`'s answer: the setup facts, the default and every override.
#[derive(Serialize)]
struct Listing<'a> {
    callback_url: &'a str,
    scopes: &'a [String],
    default: Option<&'a CredentialView>,
    overrides: Vec<Override<'a>>,
}

/// A brand's own credentials, with the brand's name.
#[derive(Serialize)]
struct Override<'a> {
    #[serde(flatten)]
    credentials: &'a CredentialView,
    brand_name: &'a str,
}

/// `GET`: the default and every override (previews and facts; never a secret).
async fn list(State(state): State<AppState>, session: Session) -> Answer {
    let viewer = signed_in(&state, &session, Action::View).await?;
    let s = twitter::settings(&state, &viewer, &session).await.map_err(fail)?;
    let overrides = s
        .brands
        .iter()
        .filter_map(|b| Some(Override { credentials: b.own.as_ref()?, brand_name: &b.brand_name }))
        .collect();
    let listing = Listing { callback_url: &s.callback_url, scopes: &s.scopes, default: s.default.as_ref(), overrides };
    Ok(Json(listing).into_response())
}

/// `PUT {"client_id", "client_secret", "brand_id"?}`: 201 when created, 200 otherwise.
async fn put(State(state): State<AppState>, session: Session, headers: HeaderMap, bytes: Bytes) -> Answer {
    let viewer = signed_in(&state, &session, Action::ManageCredentials).await?;
    let b: PairBody = json_body(&headers, &bytes, PAIR)?;
    let outcome = twitter::save(&state, &viewer, &session, b.brand_id.as_deref(), &b.client_id, &b.client_secret)
        .await
        .map_err(fail)?;
    let status = if outcome.change == SaveChange::Created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(outcome)).into_response())
}

/// `DELETE [?brand_id=]`: 204, or 404 when there was nothing to remove.
async fn delete(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<BrandQuery>, axum::extract::rejection::QueryRejection>,
) -> Answer {
    let viewer = signed_in(&state, &session, Action::ManageCredentials).await?;
    let Ok(Query(q)) = query else {
        return Err(fail(AppError::new(ErrorCode::BadRequest, "The only query parameter is brand_id.")));
    };
    let target = Target::from_query(q.brand_id.as_deref()).map_err(fail)?;
    twitter::remove_pair(&state, &Actor::User(viewer), &target).await.map_err(fail)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /test {"client_id", "client_secret", "brand_id"?}` → `{"valid", "reason", "message", ...}`.
async fn test(State(state): State<AppState>, session: Session, headers: HeaderMap, bytes: Bytes) -> Answer {
    let viewer = signed_in(&state, &session, Action::ManageCredentials).await?;
    let b: PairBody = json_body(&headers, &bytes, PAIR)?;
    let outcome = twitter::test(&state, &viewer, &session, b.brand_id.as_deref(), &b.client_id, &b.client_secret)
        .await
        .map_err(fail)?;
    Ok(Json(outcome).into_response())
}

/// Unknown methods on the API's paths answer in the API's shape (axum adds `Allow`).
pub async fn method_not_allowed() -> Response {
    fail(AppError::new(
        ErrorCode::MethodNotAllowed,
        "This path does not take this method; the Allow header lists the ones it takes. The endpoints are described at /v1/openapi.json.",
    ))
}
