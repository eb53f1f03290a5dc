//! The answers X gives when it refuses, word for word from docs/x-api.md: OAuth errors from the token
//! and revoke endpoints, problem+json from API v2, and the HTML pages of a broken edge.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::switches::{CreditsBody, ReplyRefusal};

/// An error of `POST /2/oauth2/token` or `POST /2/oauth2/revoke`:
/// `{"error":...,"error_description":...}`.
///
/// X says `invalid_request` where RFC 6749 says `invalid_grant` (bad codes and refresh tokens):
/// the fake follows X.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OAuthError {
    /// Wrong or rotated secret, missing or malformed Basic header, secret only in the body, and by
    /// default an unknown client id.
    UnauthorizedClient,
    /// An unknown client id under `unknown_client = invalid_client`. The shape is a guess.
    InvalidClient,
    /// A required parameter is absent. X's record has `code_verifier` and `token_type_hint`; the
    /// others follow the same pattern and are guesses.
    MissingParameter(&'static str),
    /// Code unknown, expired, already used, or issued to another app.
    InvalidCode,
    VerifierMismatch,
    RedirectMismatch,
    /// Refresh token unknown, revoked, already used, or issued to another app.
    InvalidToken,
    InvalidGrantType,
    /// `token_type_hint` other than `access_token` or `refresh_token`. Follows X's pattern; a guess.
    InvalidTokenTypeHint,
}

#[derive(Serialize)]
struct OAuthErrorBody {
    error: &'static str,
    error_description: String,
}

impl OAuthError {
    pub fn status(self) -> StatusCode {
        match self {
            OAuthError::UnauthorizedClient | OAuthError::InvalidClient => StatusCode::UNAUTHORIZED,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    pub fn error(self) -> &'static str {
        match self {
            OAuthError::UnauthorizedClient => "unauthorized_client",
            OAuthError::InvalidClient => "invalid_client",
            _ => "invalid_request",
        }
    }

    pub fn description(self) -> String {
        match self {
            OAuthError::UnauthorizedClient => "Missing valid authorization header".into(),
            OAuthError::InvalidClient => "Client authentication failed".into(),
            OAuthError::MissingParameter(name) => format!("Missing required parameter [{name}]."),
            OAuthError::InvalidCode => "Value passed for the authorization code was invalid.".into(),
            OAuthError::VerifierMismatch => "Value passed for the code verifier did not match the code challenge.".into(),
            OAuthError::RedirectMismatch => {
                "Value passed for the redirect uri did not match the uri of the authorization code.".into()
            }
            OAuthError::InvalidToken => "Value passed for the token was invalid.".into(),
            OAuthError::InvalidGrantType => "Value passed for the grant type was invalid. Grant type should be one of [authorization_code, refresh_token].".into(),
            OAuthError::InvalidTokenTypeHint => "Value passed for the token type hint was invalid.".into(),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = OAuthErrorBody { error: self.error(), error_description: self.description() };
        (self.status(), axum::Json(body)).into_response()
    }
}

/// A problem+json refusal of API v2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Expired, revoked or garbage access token, or none.
    Unauthorized,
    /// The token lacks a scope the endpoint needs.
    Forbidden,
    /// The plan or the account refuses the write.
    NotPermitted,
    DuplicateContent,
    /// The app is not attached to a Project, or has the wrong access level.
    ClientNotEnrolled {
        client_id: String,
    },
    TooManyRequests,
    /// A 5xx. X's body for these is not on record: this follows its problem+json pattern.
    ServerError(StatusCode),
    /// A body X cannot read. Shape as X's `invalid-request` problem; the message is the fake's.
    InvalidRequest(String),
    /// 402: the developer account has no pay-per-use credits left.
    CreditsDepleted(CreditsBody),
    /// 429: the monthly product cap (not a 15-minute window).
    UsageCapExceeded,
    /// 403: a request billed to a user who has no enrolled developer account.
    UserNotEnrolled,
    /// 403: a reply to a post whose author did not mention the replier.
    ReplyNotAllowed(ReplyRefusal),
    /// 403: a quote of a post whose author did not mention the quoter.
    QuoteNotAllowed,
}

/// The developer account id in a 402 body: a bare JSON number above 2^53, as captured.
const CREDITS_ACCOUNT_ID: &str = "2051096097834344448";

/// The full `detail` of client-not-enrolled; docs/x-api.md abbreviates it after "Project.".
const NOT_ENROLLED_DETAIL: &str = "When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project. You can create a project via the developer portal.";

#[derive(Serialize)]
struct ClientForbiddenBody<'a> {
    title: &'static str,
    reason: &'static str,
    r#type: &'static str,
    detail: &'static str,
    required_enrollment: &'static str,
    client_id: &'a str,
}

#[derive(Serialize)]
struct StatusProblemBody<'a> {
    title: &'a str,
    detail: &'a str,
    r#type: &'static str,
    status: u16,
}

#[derive(Serialize)]
struct InvalidRequestBody<'a> {
    errors: [InvalidRequestItem<'a>; 1],
    title: &'static str,
    detail: &'static str,
    r#type: &'static str,
}

#[derive(Serialize)]
struct InvalidRequestItem<'a> {
    parameters: serde_json::Map<String, serde_json::Value>,
    message: &'a str,
}

impl Problem {
    pub fn status(&self) -> StatusCode {
        match self {
            Problem::Unauthorized => StatusCode::UNAUTHORIZED,
            Problem::Forbidden
            | Problem::NotPermitted
            | Problem::DuplicateContent
            | Problem::ClientNotEnrolled { .. } => StatusCode::FORBIDDEN,
            Problem::TooManyRequests | Problem::UsageCapExceeded => StatusCode::TOO_MANY_REQUESTS,
            Problem::CreditsDepleted(_) => StatusCode::PAYMENT_REQUIRED,
            Problem::UserNotEnrolled | Problem::ReplyNotAllowed(_) | Problem::QuoteNotAllowed => StatusCode::FORBIDDEN,
            Problem::ServerError(status) => *status,
            Problem::InvalidRequest(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// The body, with X's key order (the captured bodies differ in order from one to the next).
    pub fn body(&self) -> String {
        match self {
            Problem::Unauthorized => {
                r#"{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}"#.into()
            }
            Problem::Forbidden => r#"{"title":"Forbidden","type":"about:blank","status":403,"detail":"Forbidden"}"#.into(),
            Problem::NotPermitted => r#"{"detail":"You are not permitted to perform this action.","type":"about:blank","title":"Forbidden","status":403}"#.into(),
            Problem::DuplicateContent => r#"{"detail":"You are not allowed to create a Tweet with duplicate content.","type":"about:blank","title":"Forbidden","status":403}"#.into(),
            Problem::ClientNotEnrolled { client_id } => serde_json::to_string(&ClientForbiddenBody {
                title: "Client Forbidden",
                reason: "client-not-enrolled",
                r#type: "https://api.twitter.com/2/problems/client-forbidden",
                detail: NOT_ENROLLED_DETAIL,
                required_enrollment: "Appropriate Level of API Access",
                client_id,
            })
            .expect("serializable"),
            Problem::TooManyRequests => {
                r#"{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}"#.into()
            }
            Problem::ServerError(status) => {
                let reason = status.canonical_reason().unwrap_or("Server Error");
                serde_json::to_string(&StatusProblemBody {
                    title: reason,
                    detail: reason,
                    r#type: "about:blank",
                    status: status.as_u16(),
                })
                .expect("serializable")
            }
            Problem::InvalidRequest(message) => serde_json::to_string(&InvalidRequestBody {
                errors: [InvalidRequestItem { parameters: serde_json::Map::new(), message }],
                title: "Invalid Request",
                detail: "One or more parameters to your request was invalid.",
                r#type: "https://api.twitter.com/2/problems/invalid-request",
            })
            .expect("serializable"),
            Problem::CreditsDepleted(CreditsBody::WithAccountId) => format!(
                r#"{{"account_id":{CREDITS_ACCOUNT_ID},"title":"CreditsDepleted","detail":"Your enrolled account [{CREDITS_ACCOUNT_ID}] does not have any credits to fulfill this request.","type":"https://api.twitter.com/2/problems/credits"}}"#
            ),
            Problem::CreditsDepleted(CreditsBody::WithoutAccountId) => r#"{"title":"CreditsDepleted","detail":"Your enrolled account does not have any credits to fulfill this request.","type":"https://api.twitter.com/2/problems/credits"}"#.into(),
            Problem::CreditsDepleted(CreditsBody::PaymentRequired) => r#"{"detail":"credits depleted","status":402,"title":"Payment Required","type":"https://api.x.com/2/problems/credits-depleted"}"#.into(),
            Problem::UsageCapExceeded => format!(
                r#"{{"account_id":"{CREDITS_ACCOUNT_ID}","product_name":"standard-basic","title":"UsageCapExceeded","period":"Monthly","scope":"Product","detail":"Usage cap exceeded: Monthly product cap","type":"https://api.twitter.com/2/problems/usage-capped"}}"#
            ),
            Problem::UserNotEnrolled => r#"{"type":"https://api.x.com/2/problems/client-forbidden","title":"Client Forbidden","detail":"This request is billed to the authenticated user. Create a developer account at the Developer Console and enroll it in Pay-per-use.","reason":"user-not-enrolled","registration_url":"https://console.x.com","required_enrollment":"Pay-per-use"}"#.into(),
            Problem::ReplyNotAllowed(ReplyRefusal::NotEngaged) => r#"{"detail":"Reply to this conversation is not allowed because you have not been mentioned or otherwise engaged by the author of the post you are replying to.","type":"about:blank","title":"Forbidden","status":403}"#.into(),
            Problem::ReplyNotAllowed(ReplyRefusal::NotAuthorizedForResource) => r#"{"detail":"You can only reply to or quote posts where you are mentioned or are the author.","status":403,"title":"Authorization Error","type":"https://api.x.com/2/problems/not-authorized-for-resource"}"#.into(),
            Problem::QuoteNotAllowed => r#"{"detail":"Quoting this post is not allowed because you have not been mentioned or are not part of the conversation thread of the post you are quoting.","type":"about:blank","title":"Forbidden","status":403}"#.into(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        // The captured 402 came as plain JSON, not problem+json.
        let content_type = match self {
            Problem::CreditsDepleted(_) => "application/json; charset=utf-8",
            _ => "application/problem+json",
        };
        let mut res = (self.status(), [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], self.body())
            .into_response();
        if matches!(self, Problem::UsageCapExceeded) {
            // As captured: the window's headers show requests left; the monthly cap is what ran out.
            let reset = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() + 900)
                .unwrap_or_default();
            let headers = res.headers_mut();
            headers.insert("x-rate-limit-limit", HeaderValue::from(40_000u32));
            headers.insert("x-rate-limit-remaining", HeaderValue::from(39_999u32));
            headers.insert("x-rate-limit-reset", HeaderValue::from(reset));
        }
        res
    }
}

/// The page an edge proxy or a captive portal shows instead of JSON.
pub fn html_error_page(status: StatusCode) -> Response {
    const PAGE: &str = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>X</title></head>\n<body><h1>Something went wrong, but don\u{2019}t fret \u{2014} let\u{2019}s give it another shot.</h1></body></html>\n";
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], PAGE).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_bodies_are_json() {
        for problem in [
            Problem::Unauthorized,
            Problem::Forbidden,
            Problem::NotPermitted,
            Problem::DuplicateContent,
            Problem::ClientNotEnrolled { client_id: "abc\"MTpjaQ".into() },
            Problem::TooManyRequests,
            Problem::ServerError(StatusCode::SERVICE_UNAVAILABLE),
            Problem::InvalidRequest("text is missing".into()),
            Problem::CreditsDepleted(CreditsBody::WithAccountId),
            Problem::CreditsDepleted(CreditsBody::WithoutAccountId),
            Problem::CreditsDepleted(CreditsBody::PaymentRequired),
            Problem::UsageCapExceeded,
            Problem::UserNotEnrolled,
            Problem::ReplyNotAllowed(ReplyRefusal::NotEngaged),
            Problem::ReplyNotAllowed(ReplyRefusal::NotAuthorizedForResource),
            Problem::QuoteNotAllowed,
        ] {
            let value: serde_json::Value = serde_json::from_str(&problem.body()).unwrap();
            if matches!(
                problem,
                Problem::Unauthorized
                    | Problem::Forbidden
                    | Problem::NotPermitted
                    | Problem::DuplicateContent
                    | Problem::TooManyRequests
                    | Problem::ServerError(_)
            ) {
                assert_eq!(value["status"], problem.status().as_u16(), "{problem:?}");
            }
        }
    }
}
