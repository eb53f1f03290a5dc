//! `/v1/accounts`: listing, connect links, disconnecting.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::Deserialize;

use app::domain::{AccountId, BrandId};
use app::error::{AppError, ErrorCode};
use app::server::services::actor::Actor;
use app::server::{AppState, services::account_actions, services::connect, store::accounts, store::brands};

use super::wire::{self, AccountList, ConnectBody, ConnectLink, Disconnected, DisconnectedAnswer, ErrorBody};
use super::{Answer, fail, key};
use crate::api::json_body as body;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccountsQuery {
    /// Only the accounts connected to this brand (`brd_` and 32 hexadecimal digits; an empty
    /// value is no filter).
    #[serde(default)]
    #[param(nullable = false)]
    brand_id: Option<String>,
    /// How many accounts to answer at most: 1 to 100 (the default).
    #[serde(default)]
    #[param(nullable = false, minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// Where to continue: the `next_cursor` of the previous page (opaque; absent for the first
    /// page).
    #[serde(default)]
    #[param(nullable = false)]
    cursor: Option<String>,
}

/// The most accounts one answer holds, and how many without `limit`.
pub const MAX_LIMIT: u32 = 100;

/// A page's `next_cursor`: where the next page starts, opaque to the client (base64url of the
/// last account's connection time and id).
fn encode_cursor(last: &accounts::After) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}:{}", last.connected_at, last.id))
}

/// The position a cursor names, or `None` for anything this API did not give out.
fn decode_cursor(cursor: &str) -> Option<accounts::After> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor.trim()).ok()?;
    let (at, id) = std::str::from_utf8(&raw).ok()?.split_once(':')?;
    let id = AccountId::parse(id)?;
    Some(accounts::After { connected_at: at.parse().ok()?, id: id.as_str().to_owned() })
}

/// Connected X accounts, with their state
///
/// Oldest first, a page at a time: pass a page's `next_cursor` as `cursor` to get the next one.
/// Each page starts right after the last account of the one before (not at an offset), so no
/// account is listed twice and none that exists throughout is skipped, whatever is connected or
/// disconnected in between.
#[utoipa::path(
    get,
    path = "/v1/accounts",
    operation_id = "listAccounts",
    params(AccountsQuery),
    responses(
        (status = 200, description = "A page of the accounts, oldest first: up to `limit`, with `next_cursor` when more follow.", body = AccountList),
        (status = 400, response = wire::BadRequest),
        (status = 401, response = wire::InvalidApiKey),
        (status = 404, response = wire::NotFound),
        (status = 422, response = wire::Validation),
        (status = 429, response = wire::Throttled),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<AccountsQuery>, axum::extract::rejection::QueryRejection>,
) -> Answer {
    let key = key(&state, &headers).await?;
    let Ok(Query(q)) = query else {
        return Err(fail(AppError::new(
            ErrorCode::BadRequest,
            "The query parameters are brand_id, limit (a number from 1 to 100) and cursor.",
        )));
    };
    let limit = q.limit.unwrap_or(MAX_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(fail(AppError::invalid("limit", "limit is a number from 1 to 100.")));
    }
    let after = match q.cursor.as_deref().filter(|c| !c.trim().is_empty()) {
        None => None,
        Some(c) => Some(decode_cursor(c).ok_or_else(|| {
            fail(AppError::invalid(
                "cursor",
                "This is not a cursor from this API: pass a page's next_cursor as it came.",
            ))
        })?),
    };
    let pool = state.db.pool();
    let brand_id =
        q.brand_id.as_deref().map(str::trim).filter(|b| !b.is_empty()).map(BrandId::or_not_found).transpose();
    let brand_id = brand_id.map_err(fail)?;
    if let Some(b) = &brand_id {
        brands::get(pool, &key.org_id, b.as_str())
            .await
            .map_err(|e| fail(e.into()))?
            .ok_or_else(|| fail(AppError::not_found("brand")))?;
    }
    let (page, has_more) =
        accounts::list_page(pool, &key.org_id, brand_id.as_ref().map(BrandId::as_str), after.as_ref(), limit)
            .await
            .map_err(|e| fail(e.into()))?;
    let next_cursor = page
        .last()
        .filter(|_| has_more)
        .map(|a| encode_cursor(&accounts::After { connected_at: a.connected_at, id: a.id.clone() }));
    let data = page.into_iter().map(Into::into).collect();
    Ok(Json(AccountList { data, has_more, next_cursor }).into_response())
}

/// A link that connects an X account
///
/// Answers X's consent page for a new connection through the brand's own X app, or the
/// organization's default app. Hand `auth_url` to the account's owner, who opens it in any
/// browser; the link works once, for 10 minutes, and is bound to the organization and the brand.
/// The account then appears in `GET /v1/accounts`.
#[utoipa::path(
    post,
    path = "/v1/accounts/connect",
    operation_id = "createConnectLink",
    request_body = ConnectBody,
    responses(
        (status = 201, description = "The link.", body = ConnectLink),
        (status = 400, response = wire::BadRequest),
        (status = 401, response = wire::InvalidApiKey),
        (status = 404, response = wire::NotFound),
        (status = 412, description = "No X app credentials are saved for the brand or the organization (`byok_credentials_missing`).", body = ErrorBody),
        (status = 413, response = wire::PayloadTooLarge),
        (status = 422, response = wire::Validation),
        (status = 429, description = "One of Perch's own limits (`throttled`): this key's or its organization's requests per minute (see the `Throttled` response), or the organization's account connections started per minute (30, `PERCH_CONNECT_RATE_LIMIT`) or waiting for X at once (50, `PERCH_CONNECT_OPEN_LIMIT`; each ends when its person is back from X, or after 10 minutes).",
            body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds until a request is allowed again."))),
    )
)]
pub async fn connect_link(State(state): State<AppState>, headers: HeaderMap, bytes: Bytes) -> Answer {
    let key = key(&state, &headers).await?;
    let b: ConnectBody =
        body(&headers, &bytes, "{\"platform\": \"twitter\"}, with \"brand_id\" to connect to a brand")?;
    if b.platform != "twitter" {
        return Err(fail(AppError::invalid("platform", "The only platform is \"twitter\".")));
    }
    let brand_id = b.brand_id.as_deref().map(str::trim).filter(|b| !b.is_empty());
    let brand_id = brand_id.map(|b| BrandId::or_invalid("brand_id", b)).transpose().map_err(fail)?;
    let link = connect::link(&state, &key, brand_id.as_ref().map(BrandId::as_str)).await.map_err(fail)?;
    Ok((StatusCode::CREATED, Json(ConnectLink::from(link))).into_response())
}

/// Disconnect an X account
///
/// Revokes the account's tokens at X (when X answers) and deletes them.
#[utoipa::path(
    delete,
    path = "/v1/accounts/{id}",
    operation_id = "disconnectAccount",
    params(("id" = String, Path, description = "The account's id, as `GET /v1/accounts` lists it.", pattern = r"^xac_[0-9a-f]{32}$")),
    responses(
        (status = 200, description = "Disconnected.", body = DisconnectedAnswer),
        (status = 400, response = wire::BadRequest),
        (status = 401, response = wire::InvalidApiKey),
        (status = 404, response = wire::NotFound),
        (status = 422, response = wire::Validation),
        (status = 429, response = wire::Throttled),
    )
)]
pub async fn disconnect(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Answer {
    let key = key(&state, &headers).await?;
    // A path that is no id (not even UTF-8, a NUL, a quote) names no account.
    let id =
        path.ok().and_then(|Path(id)| AccountId::parse(&id)).ok_or_else(|| fail(AppError::not_found("X account")))?;
    let outcome = account_actions::disconnect(&state, &Actor::ApiKey(key), &id).await.map_err(fail)?;
    let data = Disconnected { id: id.as_str().to_owned(), username: outcome.username, revoked_at_x: outcome.revoked };
    Ok(Json(DisconnectedAnswer { data }).into_response())
}
