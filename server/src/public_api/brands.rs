//! `/v1/brands`

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;

use app::server::services::actor::Actor;
use app::server::services::brands;
use app::server::{AppState, store::credentials};

use super::wire::{self, Brand, BrandAnswer, BrandList, ErrorBody, NewBrand};
use super::{Answer, fail, key};
use crate::api::json_body as body;

/// The organization's brands
#[utoipa::path(
    get,
    path = "/v1/brands",
    operation_id = "listBrands",
    responses(
        (status = 200, description = "The brands, by name.", body = BrandList),
        (status = 401, response = wire::InvalidApiKey),
        (status = 429, response = wire::Throttled),
    )
)]
pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Answer {
    let key = key(&state, &headers).await?;
    let pool = state.db.pool();
    let saved = credentials::summaries(pool, &key.org_id).await.map_err(|e| fail(e.into()))?;
    let brands = brands::list(&state, &Actor::ApiKey(key.clone())).await.map_err(fail)?;
    let data = brands.into_iter().map(|b| Brand::new(b, &saved)).collect();
    Ok(Json(BrandList { data }).into_response())
}

/// Create a brand
#[utoipa::path(
    post,
    path = "/v1/brands",
    operation_id = "createBrand",
    request_body = NewBrand,
    responses(
        (status = 201, description = "The brand.", body = BrandAnswer),
        (status = 400, response = wire::BadRequest),
        (status = 401, response = wire::InvalidApiKey),
        (status = 409, description = "The organization already has a brand with this name (`conflict`).", body = ErrorBody),
        (status = 413, response = wire::PayloadTooLarge),
        (status = 422, response = wire::Validation),
        (status = 429, response = wire::Throttled),
    )
)]
pub async fn create(State(state): State<AppState>, headers: HeaderMap, bytes: Bytes) -> Answer {
    let key = key(&state, &headers).await?;
    let b: NewBrand = body(&headers, &bytes, "{\"name\": \"...\"}")?;
    let pool = state.db.pool();
    let brand = brands::create(&state, &Actor::ApiKey(key.clone()), &b.name).await.map_err(fail)?;
    let saved = credentials::summaries(pool, &key.org_id).await.map_err(|e| fail(e.into()))?;
    Ok((StatusCode::CREATED, Json(BrandAnswer { data: Brand::new(brand, &saved) })).into_response())
}
