//! Switches: behaviour the public record leaves open (docs/x-api.md says "make it a switch"), faults a
//! test forces, and the lifetimes and limits tests shorten. Every field has X's documented or
//! most likely behaviour as its default.

use serde::{Deserialize, Serialize};

/// The fake's adjustable behaviour. Over HTTP, `PUT /_fake/switches` takes any subset of these
/// fields (snake_case JSON) and leaves the rest as they are; an unknown field is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Switches {
    /// Cancel on the authorize page redirects with `error=access_denied` besides `state`. X's
    /// record does not say whether it adds it; Perch must treat "no code" as a refusal either way.
    pub cancel_adds_access_denied: bool,
    /// How the token and revoke endpoints answer a well-formed Basic header with an unknown
    /// client id. Not on record.
    pub unknown_client: UnknownClient,
    /// Rotating an app's secret kills its issued access and refresh tokens (and unused codes) at
    /// once. The product documentation says so; X's own docs do not. Read at rotation time.
    pub rotation_kills_tokens: bool,
    /// Revoking a refresh token also kills the access tokens of the same grant (RFC 7009 2.1
    /// "SHOULD"). When false only the refresh token dies. X's record is silent.
    pub revoke_refresh_kills_grant: bool,
    /// The token endpoint refuses a request without `client_id` in the body with 400
    /// `Missing required parameter [client_id].` An older capture shows X demanding it; today it
    /// seems not to, hence off by default. The message follows X's pattern; it is a guess.
    pub require_client_id_in_body: bool,
    /// How long an authorization code is valid. X: 30 seconds.
    pub code_lifetime_ms: u64,
    /// How long an access token is valid, and the `expires_in` the token endpoint reports. X: 7200.
    pub access_token_lifetime_secs: u64,

    /// Forced failure of `POST /2/oauth2/token`, checked before anything else.
    pub token_fault: Fault,
    /// Forced failure of `POST /2/oauth2/revoke`.
    pub revoke_fault: Fault,
    /// Forced failure of `GET /2/users/me`.
    pub users_me_fault: Fault,
    /// Forced refusal of `GET /2/users/me` by an authenticated request.
    pub users_me_refusal: Refusal,
    /// Forced failure of `POST /2/tweets`.
    pub tweets_fault: Fault,
    /// Forced refusal of `POST /2/tweets` by an authenticated request with the right scopes.
    pub tweets_refusal: Refusal,
    /// The status a [`Fault::ServerError`] answers with.
    pub server_error_status: u16,
    /// How long a [`Fault::Hang`] holds the request before dropping the connection.
    pub hang_ms: u64,
    /// How long the token endpoint takes to answer a grant it has already carried out (a code
    /// exchanged, a refresh token spent): a caller killed in this window leaves X holding the
    /// new tokens and the old refresh token dead, as a slow or lost answer does at X.
    pub token_delay_ms: u64,
    /// How long `POST /2/tweets` and `GET /2/users/me` take to answer a 401, so that a test can
    /// bring a refused request back after another request already refreshed the token.
    pub unauthorized_delay_ms: u64,
    /// A forced 429 says the user's 24-hour cap ran out: `x-rate-limit-remaining` stays above 0
    /// and `x-user-limit-24hour-remaining` is 0. When false the 15-minute window is the one spent.
    pub too_many_requests_from_24h_cap: bool,

    /// `GET /2/users/me` requests per user per 15 minutes (X: 75).
    pub users_me_limit_15min: u32,
    /// `POST /2/tweets` requests per user per 15 minutes (X: 100).
    pub tweets_limit_15min: u32,
    /// Posts per user per 24 hours. X's number depends on the plan and is not on record here.
    pub tweets_user_limit_24h: u32,
    /// Posts per app per 24 hours (X: 10,000).
    pub tweets_app_limit_24h: u32,

    /// Client ids whose developer account has run out of pay-per-use credits: every API v2 call
    /// with their tokens (users/me and posts, reads included) answers 402, while the token and
    /// revoke endpoints keep working (no 402 is on record there). The balance belongs to the
    /// developer account, so every account connected through the app stops at once.
    pub out_of_credits: Vec<String>,
    /// Which of the three 402 bodies on record X sends when credits are out.
    pub credits_body: CreditsBody,
    /// X's reply restriction on self-serve tiers (since 2026-02-23): a reply to another author's
    /// post is refused unless that post mentions the replier; replying to one's own post (a
    /// thread) is allowed. Quotes of another author's post follow the same rule (removed from
    /// self-serve tiers on 2026-04-20; the exact answer for quotes is not on record).
    pub enforce_reply_restriction: bool,
    /// Which of the two recorded wordings a refused reply gets.
    pub reply_refusal: ReplyRefusal,
}

impl Default for Switches {
    fn default() -> Self {
        Switches {
            cancel_adds_access_denied: true,
            unknown_client: UnknownClient::UnauthorizedClient,
            rotation_kills_tokens: true,
            revoke_refresh_kills_grant: true,
            require_client_id_in_body: false,
            code_lifetime_ms: 30_000,
            access_token_lifetime_secs: 7200,
            token_fault: Fault::None,
            revoke_fault: Fault::None,
            users_me_fault: Fault::None,
            users_me_refusal: Refusal::None,
            tweets_fault: Fault::None,
            tweets_refusal: Refusal::None,
            server_error_status: 503,
            hang_ms: 600_000,
            token_delay_ms: 0,
            unauthorized_delay_ms: 0,
            too_many_requests_from_24h_cap: false,
            users_me_limit_15min: 75,
            tweets_limit_15min: 100,
            tweets_user_limit_24h: 2_400,
            tweets_app_limit_24h: 10_000,
            out_of_credits: Vec::new(),
            credits_body: CreditsBody::WithAccountId,
            enforce_reply_restriction: true,
            reply_refusal: ReplyRefusal::NotAuthorizedForResource,
        }
    }
}

/// The answer to an unknown client id in an otherwise valid Basic header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownClient {
    /// 401 `unauthorized_client` / `Missing valid authorization header`, as for a wrong secret.
    #[default]
    UnauthorizedClient,
    /// 401 `{"error":"invalid_client","error_description":"Client authentication failed"}`: a
    /// third party reports `invalid_client`; the status and description are a guess.
    InvalidClient,
}

/// A failure below the level of X's answers: X is down, behind an HTML error page, or unreachable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    #[default]
    None,
    /// `server_error_status` (default 503) with a problem+json body named after the status.
    ServerError,
    /// 200 with an HTML page (`text/html`), as a captive portal or a misrouted proxy gives.
    Html200,
    /// 503 with an HTML page, as an overloaded edge gives.
    Html503,
    /// No answer for `hang_ms`, then the connection drops: for timeout tests.
    Hang,
    /// The connection closes without any answer: "X unreachable".
    Close,
    /// `server_error_status` (429 or a 5xx) with an OAuth-shaped body (`{"error",
    /// "error_description"}`), as a token endpoint behind a rate limiter or an overloaded
    /// authorization server may give. X's bodies for these are not on record; the `error` field
    /// is what must not make a caller read an outage as a refusal.
    OauthError,
}

/// An answer X gives an authenticated request it will not serve.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    #[default]
    None,
    /// 403 "You are not permitted to perform this action."
    NotPermitted,
    /// 403 `client-not-enrolled`: the app is not attached to a Project.
    ClientNotEnrolled,
    /// 429 Too Many Requests (see `too_many_requests_from_24h_cap` for its headers).
    TooManyRequests,
    /// 402: the developer account's pay-per-use credits are spent (`credits_body` picks the body).
    CreditsDepleted,
    /// 429 `UsageCapExceeded`: the monthly product cap, with requests left in the window.
    UsageCapExceeded,
    /// 403 `user-not-enrolled`: a request billed to a user without a developer account.
    UserNotEnrolled,
    /// 403: a reply where the replier was not mentioned (`reply_refusal` picks the wording).
    ReplyNotAllowed,
    /// 403: a quote of a post where the quoter was not mentioned.
    QuoteNotAllowed,
}

/// The 402 body of spent credits (docs/x-api.md, addendum 2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CreditsBody {
    /// `CreditsDepleted` with the developer account's id as a bare number above 2^53.
    #[default]
    WithAccountId,
    /// The same without `account_id` (an older detail text).
    WithoutAccountId,
    /// `Payment Required` / `credits-depleted`, from one other source.
    PaymentRequired,
}

/// The two recorded 403 bodies of a refused reply (docs/x-api.md, addendum 3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyRefusal {
    /// "Reply to this conversation is not allowed because you have not been mentioned or
    /// otherwise engaged by the author…", `about:blank` (reports from March to July 2026).
    NotEngaged,
    /// "You can only reply to or quote posts where you are mentioned or are the author.",
    /// `not-authorized-for-resource` (since mid-July 2026).
    #[default]
    NotAuthorizedForResource,
}

impl Switches {
    /// Applies the fields present in `patch` (a JSON object) over these switches.
    pub fn patched(&self, patch: serde_json::Value) -> Result<Switches, String> {
        let serde_json::Value::Object(patch) = patch else {
            return Err("switches must be a JSON object".into());
        };
        let mut merged = match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => unreachable!("Switches serializes to an object"),
        };
        merged.extend(patch);
        serde_json::from_value(serde_json::Value::Object(merged)).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_changes_only_the_named_switches() {
        let patched = Switches::default()
            .patched(serde_json::json!({"cancel_adds_access_denied": false, "tweets_fault": "close"}))
            .unwrap();
        assert!(!patched.cancel_adds_access_denied);
        assert_eq!(patched.tweets_fault, Fault::Close);
        assert_eq!(patched.code_lifetime_ms, 30_000);
    }

    #[test]
    fn patch_refuses_unknown_switches_and_values() {
        assert!(Switches::default().patched(serde_json::json!({"no_such_switch": true})).is_err());
        assert!(Switches::default().patched(serde_json::json!({"unknown_client": "maybe"})).is_err());
        assert!(Switches::default().patched(serde_json::json!([1])).is_err());
    }
}
