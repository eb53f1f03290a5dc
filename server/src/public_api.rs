//! The public API (`/v1/...`), for programs holding an API key (`Authorization: Bearer <key>`):
//! brands, X accounts, connect links, disconnecting, and posting. Documented by the OpenAPI
//! document at `/v1/openapi.json` (`server/openapi.json`, checked against these routes by the
//! tests). Errors are `{"error": {"code", "message"}}`.
//!
//! Everything is scoped to the key's organization: an id from another organization answers 404,
//! exactly like one that does not exist (docs/security.md G.33). Credentials and API keys are not
//! here and cannot be reached with a key (`crate::api::dashboard_only`, G.34). A session cookie
//! counts for nothing on these routes: only the key does.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use app::domain::{AccountId, AccountView, BrandId, BrandView, PostText, PostView, parse_post_id};
use app::error::{AppError, ErrorCode};
use app::server::api_keys::{self, KeyHolder};
use app::server::posts::{self, Failure, NewPost};
use app::server::{AppState, accounts, brands, connect, credentials, rate_limit};

use crate::RouterState;
use crate::api::json_body as body;
use crate::middleware::error_response;

/// The OpenAPI document, served as it is.
pub const OPENAPI: &str = include_str!("../openapi.json");

pub fn routes() -> Router<RouterState> {
    Router::new()
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/brands", get(list_brands).post(create_brand))
        .route("/v1/accounts", get(list_accounts))
        .route("/v1/accounts/connect", post(connect_link))
        .route("/v1/accounts/{id}", delete(disconnect))
        .route("/v1/posts", post(create_post))
}

type Answer = Result<Response, Response>;

fn fail(e: AppError) -> Response {
    error_response(&e)
}

/// The key's holder, or 401 `invalid_api_key` (with `WWW-Authenticate`, RFC 6750) for a
/// missing, malformed, unknown or revoked key: the answer does not tell those apart. A request
/// with a valid key is counted against the key's and its organization's limits
/// ([`rate_limit::hit_api`]) before anything else is read: 429 `throttled` with `Retry-After`.
async fn key(state: &AppState, headers: &HeaderMap) -> Result<KeyHolder, Response> {
    let refuse = |message: &str| {
        let mut res = fail(AppError::new(ErrorCode::InvalidApiKey, message));
        res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"perch\""));
        res
    };
    let presented = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| {
        let (scheme, rest) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
    });
    let Some(presented) = presented else {
        return Err(refuse(
            "Send an API key as `Authorization: Bearer <key>`. Owners and admins create keys in Perch's dashboard, under Settings → API keys.",
        ));
    };
    let holder = match api_keys::authenticate(state.db.pool(), presented).await {
        Ok(Some(holder)) => holder,
        Ok(None) => {
            return Err(refuse(
                "This API key is not valid: it was revoked, or it is mistyped. Check it under Settings → API keys.",
            ));
        }
        Err(e) => return Err(fail(e.into())),
    };
    match rate_limit::hit_api(&state.db, &state.config.limits, &holder.key_id, &holder.org_id).await {
        Ok(None) => Ok(holder),
        Ok(Some(limited)) => {
            tracing::info!(org_id = %holder.org_id, key_id = %holder.key_id, limit = ?limited.limit, "public API request over a limit");
            Err(fail(limited.error()))
        }
        Err(e) => Err(fail(e.into())),
    }
}

/// Unix seconds as RFC 3339 (`2026-11-23T10:30:00Z`).
fn rfc3339(t: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(t) {
        Ok(d) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            d.year(),
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute(),
            d.second()
        ),
        Err(_) => String::new(),
    }
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

fn brand_json(b: &BrandView, app: Value) -> Value {
    json!({ "id": b.id, "name": b.name, "created_at": rfc3339(b.created_at), "x_app": app })
}

/// The X app a brand's accounts connect through: `own`, `default` or `none`.
fn x_app_json(summaries: &[credentials::Summary], brand_id: Option<&str>) -> Value {
    let own = summaries.iter().find(|c| c.brand_id.as_deref() == brand_id && brand_id.is_some());
    let default = summaries.iter().find(|c| c.brand_id.is_none());
    match (own, default) {
        (Some(c), _) => json!({ "source": "own", "client_id_preview": c.client_id_preview }),
        (None, Some(c)) => json!({ "source": "default", "client_id_preview": c.client_id_preview }),
        (None, None) => json!({ "source": "none", "client_id_preview": null }),
    }
}

/// `GET /v1/brands`
async fn list_brands(State(state): State<AppState>, headers: HeaderMap) -> Answer {
    let key = key(&state, &headers).await?;
    let pool = state.db.pool();
    let summaries = credentials::summaries(pool, &key.org_id).await.map_err(|e| fail(e.into()))?;
    let data: Vec<Value> = brands::list(pool, &key.org_id)
        .await
        .map_err(|e| fail(e.into()))?
        .iter()
        .map(|b| brand_json(b, x_app_json(&summaries, Some(&b.id))))
        .collect();
    Ok(Json(json!({ "data": data })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewBrand {
    name: String,
}

/// `POST /v1/brands {"name"}` → 201.
async fn create_brand(State(state): State<AppState>, headers: HeaderMap, bytes: Bytes) -> Answer {
    let key = key(&state, &headers).await?;
    let b: NewBrand = body(&headers, &bytes, "{\"name\": \"...\"}")?;
    let pool = state.db.pool();
    let brand = brands::create_from_input(pool, &key.org_id, &b.name).await.map_err(fail)?;
    let summaries = credentials::summaries(pool, &key.org_id).await.map_err(|e| fail(e.into()))?;
    Ok((StatusCode::CREATED, Json(json!({ "data": brand_json(&brand, x_app_json(&summaries, Some(&brand.id))) })))
        .into_response())
}

/// An account as the API shows it. `status` is `active` or `needs_reconnection`; an account whose
/// app changed since it connected is still `active` until its next call, with
/// `reconnection_pending` saying why that call will mark it.
fn account_json(a: &AccountView) -> Value {
    let needs = a
        .needs_reconnection
        .as_ref()
        .map(|m| json!({ "reason": m.reason.as_str(), "message": m.reason.message(), "since": rfc3339(m.at) }));
    json!({
        "id": a.id,
        "platform": "twitter",
        "brand_id": a.brand_id,
        "x_user_id": a.x_user_id,
        "username": a.username,
        "name": a.name,
        "avatar_url": a.avatar_url,
        "status": if needs.is_some() { "needs_reconnection" } else { "active" },
        "needs_reconnection": needs,
        "reconnection_pending": a.will_need_reconnection.map(|r| r.as_str()),
        "scopes": a.scopes,
        "missing_scopes": a.missing_scopes,
        "client_id_preview": a.client_id_preview,
        "connected_at": rfc3339(a.connected_at),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountsQuery {
    #[serde(default)]
    brand_id: Option<String>,
}

/// `GET /v1/accounts[?brand_id=]`
async fn list_accounts(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<AccountsQuery>, axum::extract::rejection::QueryRejection>,
) -> Answer {
    let key = key(&state, &headers).await?;
    let Ok(Query(q)) = query else {
        return Err(fail(AppError::new(ErrorCode::BadRequest, "The only query parameter is brand_id.")));
    };
    let pool = state.db.pool();
    let brand_id = q
        .brand_id
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(BrandId::or_not_found)
        .transpose()
        .map_err(fail)?;
    let brand_id = brand_id.as_ref().map(BrandId::as_str);
    if let Some(b) = brand_id {
        brands::get(pool, &key.org_id, b)
            .await
            .map_err(|e| fail(e.into()))?
            .ok_or_else(|| fail(AppError::not_found("brand")))?;
    }
    let data: Vec<Value> = accounts::list(pool, &key.org_id)
        .await
        .map_err(|e| fail(e.into()))?
        .iter()
        .filter(|a| brand_id.is_none() || a.brand_id.as_deref() == brand_id)
        .map(account_json)
        .collect();
    Ok(Json(json!({ "data": data })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectBody {
    platform: String,
    #[serde(default)]
    brand_id: Option<String>,
}

/// `POST /v1/accounts/connect {"platform": "twitter", "brand_id"?}` → 201 `{"auth_url", ...}`.
async fn connect_link(State(state): State<AppState>, headers: HeaderMap, bytes: Bytes) -> Answer {
    let key = key(&state, &headers).await?;
    let b: ConnectBody =
        body(&headers, &bytes, "{\"platform\": \"twitter\"}, with \"brand_id\" to connect to a brand")?;
    if b.platform != "twitter" {
        return Err(fail(AppError::invalid("platform", "The only platform is \"twitter\".")));
    }
    let brand_id = b
        .brand_id
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(|b| BrandId::or_invalid("brand_id", b))
        .transpose()
        .map_err(fail)?;
    let link = connect::link(&state, &key, brand_id.as_ref().map(BrandId::as_str)).await.map_err(fail)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "auth_url": link.auth_url,
            "expires_at": rfc3339(link.expires_at),
            "brand_id": link.brand_id,
            "client_id_preview": link.client_id_preview,
        })),
    )
        .into_response())
}

/// `DELETE /v1/accounts/{id}`: revokes the tokens at X and deletes them.
async fn disconnect(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Answer {
    let key = key(&state, &headers).await?;
    // A path that is no id (not even UTF-8, a NUL, a quote) names no account.
    let id =
        path.ok().and_then(|Path(id)| AccountId::parse(&id)).ok_or_else(|| fail(AppError::not_found("X account")))?;
    let outcome = connect::disconnect(&state, &key.org_id, &key.actor(), id.as_str()).await.map_err(fail)?;
    Ok(Json(json!({ "data": { "id": id.as_str(), "username": outcome.username, "revoked_at_x": outcome.revoked } }))
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PostBody {
    account_id: String,
    text: String,
    #[serde(default)]
    reply_to_post_id: Option<String>,
    #[serde(default)]
    quote_post_id: Option<String>,
}

fn post_json(p: &PostView) -> Value {
    json!({
        "id": p.id,
        "account_id": p.account_id,
        "x_post_id": p.x_post_id,
        "url": p.url(),
        "text": p.text,
        "reply_to_post_id": p.reply_to_post_id,
        "quote_post_id": p.quote_post_id,
        "created_at": rfc3339(p.created_at),
    })
}

/// `POST /v1/posts {"account_id", "text", "reply_to_post_id"?, "quote_post_id"?}` → 201.
async fn create_post(State(state): State<AppState>, headers: HeaderMap, bytes: Bytes) -> Answer {
    let key = key(&state, &headers).await?;
    let b: PostBody = body(&headers, &bytes, "{\"account_id\": \"xac_...\", \"text\": \"...\"}")?;
    // Everything that certainly fails is refused before X is called.
    let text = PostText::parse(&b.text).map_err(fail)?;
    let reply =
        b.reply_to_post_id.as_deref().map(|id| parse_post_id("reply_to_post_id", id)).transpose().map_err(fail)?;
    let quote = b.quote_post_id.as_deref().map(|id| parse_post_id("quote_post_id", id)).transpose().map_err(fail)?;
    let account_id = AccountId::or_invalid("account_id", &b.account_id).map_err(fail)?;
    let new = NewPost {
        account_id: account_id.as_str(),
        text: &text,
        reply_to_post_id: reply.as_deref(),
        quote_post_id: quote.as_deref(),
    };
    match posts::create(&state, &key, new).await {
        Ok(p) => Ok((StatusCode::CREATED, Json(json!({ "data": post_json(&p) }))).into_response()),
        Err(Failure::RateLimited { error, retry_after_secs }) => Err(fail(error.retry_after(retry_after_secs))),
        Err(Failure::Error(e)) => Err(fail(e)),
    }
}

/// A path under `/v1/` that is no endpoint: 404 in the API's shape, not the dashboard's page.
pub fn unknown_endpoint() -> Response {
    fail(AppError::new(ErrorCode::NotFound, "No such endpoint. The endpoints are described at /v1/openapi.json."))
}
