//! API v2: `GET /2/users/me` and `POST /2/tweets` (docs/x-api.md), with X's scope checks,
//! problem+json refusals and rate-limit headers.
//!
//! Checks run in this order: forced fault, Bearer token (401, no rate-limit headers), the
//! refusals about the app or the developer account rather than the request (client-not-enrolled,
//! user-not-enrolled, credits spent, the monthly usage cap), scopes (403), body, rate limits
//! (429), forced "not permitted", the reply restriction, duplicate content. Rate-limit headers
//! come on every answer from the rate-limit step on.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::errors::Problem;
use super::faults;
use super::oauth::{FormFields, bearer_token};
use super::state::{Bucket, Caller, FakeState, Quota};
use super::switches::{Refusal, Switches};

/// Rate-limit headers for one answer: the 15-minute window, then on writes the user's and the
/// app's 24-hour caps.
struct RateHeaders(Vec<Quota>);

impl RateHeaders {
    fn apply(&self, mut res: Response) -> Response {
        let names: [&[&'static str; 3]; 3] = [
            &["x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"],
            &["x-user-limit-24hour-limit", "x-user-limit-24hour-remaining", "x-user-limit-24hour-reset"],
            &["x-app-limit-24hour-limit", "x-app-limit-24hour-remaining", "x-app-limit-24hour-reset"],
        ];
        let headers = res.headers_mut();
        for (quota, [limit, remaining, reset]) in self.0.iter().zip(names) {
            for (name, value) in
                [(limit, quota.limit as u64), (remaining, quota.remaining as u64), (reset, quota.reset)]
            {
                headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
            }
        }
        res
    }
}

/// Spends a request from `buckets` (the 15-minute window first). `Err` means 429, with the
/// headers to send: a bucket is exhausted, or the test forces it.
fn rate_limit(
    state: &FakeState,
    switches: &Switches,
    refusal: Refusal,
    buckets: &[(Bucket, &str)],
) -> Result<RateHeaders, RateHeaders> {
    if refusal == Refusal::TooManyRequests {
        let mut quotas = state.quotas(buckets);
        let from_24h_cap = switches.too_many_requests_from_24h_cap;
        // On an endpoint without a 24-hour cap (users/me) nothing is marked spent: a 429 with
        // requests left in the window is what the switch asks for there too.
        if let Some(spent) = quotas.get_mut(if from_24h_cap { 1 } else { 0 }) {
            spent.remaining = 0;
        }
        return Err(RateHeaders(quotas));
    }
    match state.spend(buckets) {
        (quotas, true) => Ok(RateHeaders(quotas)),
        (quotas, false) => Err(RateHeaders(quotas)),
    }
}

/// X's 401, after `unauthorized_delay_ms`.
async fn unauthorized(switches: &Switches) -> Response {
    if switches.unauthorized_delay_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(switches.unauthorized_delay_ms)).await;
    }
    Problem::Unauthorized.into_response()
}

fn too_many_requests(limits: RateHeaders) -> Response {
    limits.apply(Problem::TooManyRequests.into_response())
}

/// The refusals that concern the app or its developer account rather than the request: they
/// come before the scope check (the record does not order them; an unfunded account fails
/// every call, reads included).
fn account_refusal(switches: &Switches, refusal: Refusal, caller: &Caller) -> Option<Response> {
    if refusal == Refusal::CreditsDepleted || switches.out_of_credits.contains(&caller.client_id) {
        return Some(Problem::CreditsDepleted(switches.credits_body).into_response());
    }
    let problem = match refusal {
        Refusal::ClientNotEnrolled => Problem::ClientNotEnrolled { client_id: caller.client_id.clone() },
        Refusal::UserNotEnrolled => Problem::UserNotEnrolled,
        Refusal::UsageCapExceeded => Problem::UsageCapExceeded,
        _ => return None,
    };
    Some(problem.into_response())
}

/// The caller behind the Bearer token; `None` is X's 401.
fn authenticate(state: &FakeState, headers: &HeaderMap) -> Option<Caller> {
    bearer_token(headers).and_then(|t| state.caller(&t))
}

#[derive(Serialize)]
struct Data<T> {
    data: T,
}

#[derive(Serialize)]
struct UserBody {
    id: String,
    name: String,
    username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    profile_image_url: Option<String>,
}

/// `GET /2/users/me[?user.fields=profile_image_url]`: needs `tweet.read` and `users.read`.
pub(crate) async fn users_me(
    State(state): State<FakeState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let switches = state.switches();
    if let Some(res) = faults::answer(switches.users_me_fault, &switches).await {
        return res;
    }
    let Some(caller) = authenticate(&state, &headers) else {
        return unauthorized(&switches).await;
    };
    if let Some(res) = account_refusal(&switches, switches.users_me_refusal, &caller) {
        return res;
    }
    if !caller.has_scopes(&["tweet.read", "users.read"]) {
        return Problem::Forbidden.into_response();
    }
    let limits = match rate_limit(&state, &switches, switches.users_me_refusal, &[(Bucket::UsersMe, &caller.user.id)]) {
        Ok(limits) => limits,
        Err(limits) => return too_many_requests(limits),
    };
    if switches.users_me_refusal == Refusal::NotPermitted {
        return limits.apply(Problem::NotPermitted.into_response());
    }
    let query = FormFields::parse(query.unwrap_or_default().as_bytes());
    let with_avatar = query.all("user.fields").flat_map(|v| v.split(',')).any(|f| f.trim() == "profile_image_url");
    let user = caller.user;
    let body = UserBody {
        id: user.id,
        name: user.name,
        username: user.username,
        profile_image_url: with_avatar.then_some(user.profile_image_url),
    };
    limits.apply(Json(Data { data: body }).into_response())
}

#[derive(Deserialize)]
struct TweetRequest {
    text: Option<String>,
    reply: Option<Reply>,
    quote_tweet_id: Option<String>,
    media: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Reply {
    in_reply_to_tweet_id: String,
}

#[derive(Serialize)]
struct TweetBody {
    id: String,
    text: String,
    edit_history_tweet_ids: [String; 1],
}

/// `POST /2/tweets`: needs `tweet.read`, `tweet.write` and `users.read`; 201 on success.
pub(crate) async fn create_tweet(State(state): State<FakeState>, headers: HeaderMap, body: Bytes) -> Response {
    let switches = state.switches();
    if let Some(res) = faults::answer(switches.tweets_fault, &switches).await {
        return res;
    }
    let Some(caller) = authenticate(&state, &headers) else {
        return unauthorized(&switches).await;
    };
    if let Some(res) = account_refusal(&switches, switches.tweets_refusal, &caller) {
        return res;
    }
    if !caller.has_scopes(&["tweet.read", "tweet.write", "users.read"]) {
        return Problem::Forbidden.into_response();
    }
    let request: TweetRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => return Problem::InvalidRequest(format!("The request body is not valid JSON: {e}")).into_response(),
    };
    let text = request.text.unwrap_or_default();
    if text.is_empty() && request.media.is_none() {
        return Problem::InvalidRequest("A post needs text or media.".into()).into_response();
    }
    let buckets = [
        (Bucket::Tweets, caller.user.id.as_str()),
        (Bucket::TweetsUser24h, caller.user.id.as_str()),
        (Bucket::TweetsApp24h, caller.client_id.as_str()),
    ];
    let limits = match rate_limit(&state, &switches, switches.tweets_refusal, &buckets) {
        Ok(limits) => limits,
        Err(limits) => return too_many_requests(limits),
    };
    let forced = match switches.tweets_refusal {
        Refusal::NotPermitted => Some(Problem::NotPermitted),
        Refusal::ReplyNotAllowed => Some(Problem::ReplyNotAllowed(switches.reply_refusal)),
        Refusal::QuoteNotAllowed => Some(Problem::QuoteNotAllowed),
        _ => None,
    };
    if let Some(problem) = forced {
        return limits.apply(problem.into_response());
    }
    let reply_to = request.reply.map(|r| r.in_reply_to_tweet_id);
    match state.post_tweet(&caller, &text, reply_to, request.quote_tweet_id, &switches) {
        Ok(tweet) => {
            let body = TweetBody { id: tweet.id.clone(), text: tweet.text, edit_history_tweet_ids: [tweet.id] };
            limits.apply((StatusCode::CREATED, Json(Data { data: body })).into_response())
        }
        Err(problem) => limits.apply(problem.into_response()),
    }
}
