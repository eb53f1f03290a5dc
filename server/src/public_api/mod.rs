//! The public API (`/v1/...`), for programs holding an API key (`Authorization: Bearer <key>`):
//! brands, X accounts, connect links, disconnecting, and posting. Its OpenAPI document, served at
//! `/v1/openapi.json`, is generated from these handlers' `#[utoipa::path]` annotations and the
//! types in [`wire`]; the routes are registered through the same annotations
//! ([`utoipa_axum::routes!`]), so a route cannot exist undocumented. Errors are
//! `{"error": {"code", "message"}}`.
//!
//! Each handler is an adapter: read the key, parse the request into domain types, call one
//! operation of `app::server`, answer its result as a [`wire`] type.
//!
//! Everything is scoped to the key's organization: an id from another organization answers 404,
//! exactly like one that does not exist (docs/security.md G.33). Credentials and API keys are not
//! here and cannot be reached with a key (`crate::api::dashboard_only`, G.34). A session cookie
//! counts for nothing on these routes: only the key does.

mod accounts;
mod brands;
mod posts;
pub mod wire;

use std::sync::LazyLock;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi as _;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use app::error::{AppError, ErrorCode};
use app::server::store::api_keys::{self, KeyHolder};
use app::server::{AppState, infra::rate_limit};

use crate::RouterState;
use crate::middleware::error_response;

/// The document's own parts; the paths and schemas come from the handlers.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Perch API",
        version = "1.0.0",
        description = "Perch's public API: brands, X accounts connected through each brand's own X app (or the organization's default app), connect links, and posting. Authenticate with an API key from Settings → API keys, sent as `Authorization: Bearer <key>`. Every id is scoped to the key's organization: an id of another organization answers 404. Twitter credentials and API keys are managed only in the dashboard (or with `perch credentials` on the server): their routes answer 403 `dashboard_only` to any API key. Errors are `{\"error\": {\"code\", \"message\"}}`. Each key may make 600 requests a minute and each organization 1,200 (the operator may set other limits); more answer 429 `throttled` with `Retry-After`.",
    ),
    servers((url = "/")),
    security(("apiKey" = [])),
    modifiers(&BearerKeys),
    components(responses(
        wire::InvalidApiKey,
        wire::NotFound,
        wire::BadRequest,
        wire::Validation,
        wire::PayloadTooLarge,
        wire::Throttled
    ))
)]
struct Document;

/// The `apiKey` security scheme (a bearer token), which the derive cannot declare itself.
struct BearerKeys;

impl utoipa::Modify for BearerKeys {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.description = Some("An API key from Settings → API keys (`perch_…`).".to_owned());
        doc.components.get_or_insert_with(Default::default).add_security_scheme("apiKey", SecurityScheme::Http(scheme));
    }
}

/// The routes with their documentation.
fn documented() -> OpenApiRouter<RouterState> {
    OpenApiRouter::with_openapi(Document::openapi())
        .routes(routes!(openapi))
        .routes(routes!(brands::list, brands::create))
        .routes(routes!(accounts::list))
        .routes(routes!(accounts::connect_link))
        .routes(routes!(accounts::disconnect))
        .routes(routes!(posts::create))
}

pub fn routes() -> Router<RouterState> {
    documented().split_for_parts().0
}

/// The OpenAPI document, generated once.
pub static OPENAPI: LazyLock<String> = LazyLock::new(|| {
    let mut doc = serde_json::to_value(documented().into_openapi()).expect("the OpenAPI document serializes");
    unwrap_descriptions(&mut doc);
    serde_json::to_string_pretty(&doc).expect("the OpenAPI document serializes")
});

/// Descriptions come from doc comments wrapped at the code's width: each paragraph becomes one
/// line, as a reader of the document (or a tool that shows it) expects.
fn unwrap_descriptions(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                match v {
                    Value::String(s) if k == "description" => {
                        let paragraphs: Vec<String> = s.split("\n\n").map(|p| p.replace('\n', " ")).collect();
                        *s = paragraphs.join("\n\n");
                    }
                    _ => unwrap_descriptions(v),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(unwrap_descriptions),
        _ => {}
    }
}

/// This document.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    operation_id = "getOpenApi",
    summary = "This document",
    security(()),
    responses((status = 200, description = "The OpenAPI document.", body = Object))
)]
async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI.as_str()).into_response()
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

/// A path under `/v1/` that is no endpoint: 404 in the API's shape, not the dashboard's page.
pub fn unknown_endpoint() -> Response {
    fail(AppError::new(ErrorCode::NotFound, "No such endpoint. The endpoints are described at /v1/openapi.json."))
}
