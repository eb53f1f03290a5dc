//! `/v1/posts`

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;

use app::domain::{AccountId, PostText, parse_post_id};
use app::server::AppState;
use app::server::services::posts::{self, Failure, NewPost};

use super::wire::{self, ErrorBody, PostAnswer, PostBody};
use super::{Answer, fail, key};
use crate::api::json_body as body;

/// Post on X for an account
///
/// Posts through the account's token, refreshed first when it is about to expire (one refresh
/// per account at a time, across every Perch instance). After a 401 from X the token is refreshed
/// once and the post tried once more. The text is checked before X is called: not blank, at most
/// 280 characters as X counts them.
#[utoipa::path(
    post,
    path = "/v1/posts",
    operation_id = "createPost",
    request_body = PostBody,
    responses(
        (status = 201, description = "Posted.", body = PostAnswer),
        (status = 400, response = wire::BadRequest),
        (status = 401, response = wire::InvalidApiKey),
        (status = 402, description = "The developer account that owns the account's X app has no pay-per-use credits left (`x_credits_depleted`): every account of the app is stopped until credits are bought in X's developer console. About the app: the account is not marked and needs no reconnection.", body = ErrorBody),
        (status = 403, description = "X refused the post: the token lacks scopes (`missing_scopes`, naming them); a reply where the author did not mention the account (`x_reply_not_allowed`) or a quote X no longer allows (`x_quote_not_allowed`), never retried; the app is not enrolled (`x_client_not_enrolled`) or X bills the user (`x_user_not_enrolled`); or another refusal with X's explanation (`x_forbidden`).", body = ErrorBody),
        (status = 404, response = wire::NotFound),
        (status = 409, description = "The account needs reconnection (`needs_reconnection`): its app's secret was rotated, X refused its refresh token, or its access was revoked. Or X refused the text as a duplicate of the account's own (`x_duplicate`).", body = ErrorBody),
        (status = 413, response = wire::PayloadTooLarge),
        (status = 422, description = "The text or an id is not acceptable (`validation`, with `field`), X refused the post's media ids (`x_media_invalid`, naming them), or X refused the request as invalid (`x_rejected`).", body = ErrorBody),
        (status = 429, description = "X's rate limit for the account or its app (`rate_limited`), the app's usage cap over its billing period (`x_usage_cap_exceeded`: not the 15-minute window), or one of Perch's own limits (`throttled`: this key's or its organization's requests per minute, see the `Throttled` response).",
            body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds until the limit resets: from X's rate-limit headers for `rate_limited`, until the end of the period (the calendar month, in UTC) for `x_usage_cap_exceeded`, from Perch's window for `throttled`."))),
        (status = 502, description = "X could not be reached or failed (`x_unavailable`); the account is left as it is.", body = ErrorBody),
    )
)]
pub async fn create(State(state): State<AppState>, headers: HeaderMap, bytes: Bytes) -> Answer {
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
        Ok(p) => Ok((StatusCode::CREATED, Json(PostAnswer { data: p.into() })).into_response()),
        Err(Failure::RateLimited { error, retry_after_secs }) => Err(fail(error.retry_after(retry_after_secs))),
        Err(Failure::Error(e)) => Err(fail(e)),
    }
}
