//! The one error type that crosses the wire.
//!
//! Server functions return `Result<T, AppError>`; the JSON API wraps the same value as
//! `{"error": {"code", "message"}}`. A user only ever sees `message`, written to say what to do.
//! Internal details stay in the server log, tied to the `correlation_id` shown to the user.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of failure this is. Each code maps to exactly one HTTP status ([`ErrorCode::status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The input was understood but is not acceptable; `field` names the culprit.
    Validation,
    /// The request itself was malformed (missing fields, wrong encoding).
    BadRequest,
    /// A path that cannot be read: a percent-encoded segment that is not UTF-8.
    InvalidPath,
    /// The path exists but does not take this method; `Allow` lists the ones it takes.
    MethodNotAllowed,
    /// No signed-in session.
    Unauthenticated,
    /// Signed in, but this role may not do this.
    Forbidden,
    /// A state-changing request from another site.
    CrossSite,
    /// A dashboard-only route reached with an API key.
    DashboardOnly,
    /// Nothing with this id in the caller's organization.
    NotFound,
    /// The request conflicts with what exists (a duplicate name, say).
    Conflict,
    /// Too many attempts; try again later.
    Throttled,
    /// Sign-up is closed on this instance.
    SignupClosed,
    /// The request body is larger than Perch accepts.
    PayloadTooLarge,
    /// Something failed on our side; the message carries a correlation id.
    Internal,
    /// The public API: no API key, or one that is malformed, unknown or revoked.
    InvalidApiKey,
    /// No X app credentials apply (neither the brand's own nor the organization default).
    ByokCredentialsMissing,
    /// The X account must be reconnected before Perch can act for it.
    NeedsReconnection,
    /// X refused because the account's token lacks scopes; the message names them.
    MissingScopes,
    /// X refused the request for another reason; the message carries X's explanation.
    XForbidden,
    /// X refused the request as malformed (its 400); the message carries X's explanation.
    XRejected,
    /// X's pay-per-use credits are spent for the developer account that owns the X app: every
    /// account connected through the app stops until credits are bought. About the app, never
    /// the account (reconnecting changes nothing).
    XCreditsDepleted,
    /// The app's usage cap over a long period (X's monthly product cap), not its 15-minute
    /// window; `Retry-After` says when the period ends.
    XUsageCapExceeded,
    /// The X app is not attached to a Project with the access the call needs.
    XClientNotEnrolled,
    /// X bills the call to a user who has no enrolled developer account.
    XUserNotEnrolled,
    /// X no longer lets the account reply here: it was not mentioned by the post's author.
    XReplyNotAllowed,
    /// X no longer lets the account quote this post (quotes left self-serve tiers).
    XQuoteNotAllowed,
    /// X refused the post as a duplicate of one the account already made.
    XDuplicate,
    /// X refused the media ids of a post (unknown, expired, another user's, or still
    /// processing); the message names them.
    XMediaInvalid,
    /// X's rate limit for the account or the app; `Retry-After` says when to try again.
    RateLimited,
    /// X could not be reached or failed (5xx); nothing was changed.
    XUnavailable,
    /// A stored secret was sealed with a master key this server does not have; an operator
    /// must give it back. The message names the key id.
    MasterKeyMissing,
    /// Perch is too busy to take this now (its password hashing queue is full); `Retry-After`
    /// says when to try again.
    Busy,
}

impl ErrorCode {
    /// The HTTP status this code is answered with.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::Validation => 422,
            ErrorCode::BadRequest | ErrorCode::InvalidPath => 400,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::Forbidden | ErrorCode::CrossSite | ErrorCode::DashboardOnly => 403,
            ErrorCode::SignupClosed => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::Throttled => 429,
            ErrorCode::Internal => 500,
            ErrorCode::InvalidApiKey => 401,
            ErrorCode::ByokCredentialsMissing => 412,
            ErrorCode::NeedsReconnection => 409,
            ErrorCode::MissingScopes | ErrorCode::XForbidden => 403,
            ErrorCode::XClientNotEnrolled | ErrorCode::XUserNotEnrolled => 403,
            ErrorCode::XReplyNotAllowed | ErrorCode::XQuoteNotAllowed => 403,
            ErrorCode::XRejected | ErrorCode::XMediaInvalid => 422,
            ErrorCode::XDuplicate => 409,
            ErrorCode::XCreditsDepleted => 402,
            ErrorCode::RateLimited | ErrorCode::XUsageCapExceeded => 429,
            ErrorCode::XUnavailable => 502,
            ErrorCode::MasterKeyMissing => 503,
            ErrorCode::Busy => 503,
        }
    }
}

/// An error a user can act on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    /// The form field the message is about, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Set on internal errors: the id under which the details were logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// What the user typed, to put back in the form after a post without JavaScript; only ever
    /// a value that is not secret (a well-formed Client ID, a name), never a password or secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// Seconds after which trying again makes sense, sent as `Retry-After` too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), field: None, correlation_id: None, input: None, retry_after: None }
    }

    /// Says when to try again (`Retry-After`).
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }

    /// A validation failure about one form field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self { field: Some(field.to_owned()), ..Self::new(ErrorCode::Validation, message) }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("No such {what} in your organization."))
    }

    pub fn unauthenticated() -> Self {
        Self::new(ErrorCode::Unauthenticated, "Your session has ended. Sign in again to continue.")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn conflict(field: &str, message: impl Into<String>) -> Self {
        Self { field: Some(field.to_owned()), ..Self::new(ErrorCode::Conflict, message) }
    }

    /// A stored secret that cannot be opened because this server lacks the master key it was
    /// sealed with: the operator's to fix, so the message says how instead of giving a reference.
    pub fn master_key_missing(key_id: u32) -> Self {
        Self::new(ErrorCode::MasterKeyMissing, master_key_missing_message(key_id))
    }

    /// The message for `field`, if this error is about it.
    pub fn for_field(&self, field: &str) -> Option<String> {
        (self.field.as_deref() == Some(field)).then(|| self.message.clone())
    }
}

/// What a page, an answer and `perch` say about a secret sealed with master key `key_id` when
/// this server does not have it. The id is in the logs' format (`0x…`); every blob carries it in
/// the clear, and it reveals nothing of the key.
pub fn master_key_missing_message(key_id: u32) -> String {
    format!(
        "This secret was sealed with master key {key_id:#010x}, which this server does not have, so Perch cannot use it. \
         The operator must give Perch that key again (PERCH_MASTER_KEY_FILE or PERCH_MASTER_KEY) and restart it."
    )
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(id) = &self.correlation_id {
            write!(f, " (reference {id})")?;
        }
        Ok(())
    }
}

impl std::error::Error for AppError {}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // The browser sent something the server function could not decode: a hand-made
            // or truncated request, never a normal form post.
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::Deserialization(_) => AppError::new(
                ErrorCode::BadRequest,
                "The request was incomplete or malformed. Reload the page and try again.",
            ),
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => {
                AppError::new(ErrorCode::Internal, "Perch could not be reached. Check your connection and try again.")
            }
            ServerFnErrorErr::UnsupportedRequestMethod(_) | ServerFnErrorErr::MissingArg(_) => {
                AppError::new(ErrorCode::BadRequest, "The request was incomplete. Reload the page and try again.")
            }
            _ => AppError::new(ErrorCode::Internal, "Something went wrong on our side. Try again."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_to_the_documented_shape() {
        let e = AppError::invalid("name", "Enter a name.");
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json, serde_json::json!({"code": "validation", "message": "Enter a name.", "field": "name"}));
    }

    #[test]
    fn display_includes_the_correlation_id_for_support() {
        let mut e = AppError::new(ErrorCode::Internal, "Something went wrong.");
        e.correlation_id = Some("abc123".into());
        assert_eq!(e.to_string(), "Something went wrong. (reference abc123)");
    }

    #[test]
    fn every_code_has_a_client_or_server_error_status() {
        for code in [
            ErrorCode::Validation,
            ErrorCode::BadRequest,
            ErrorCode::InvalidPath,
            ErrorCode::MethodNotAllowed,
            ErrorCode::Unauthenticated,
            ErrorCode::Forbidden,
            ErrorCode::CrossSite,
            ErrorCode::DashboardOnly,
            ErrorCode::NotFound,
            ErrorCode::Conflict,
            ErrorCode::Throttled,
            ErrorCode::SignupClosed,
            ErrorCode::PayloadTooLarge,
            ErrorCode::InvalidApiKey,
            ErrorCode::ByokCredentialsMissing,
            ErrorCode::NeedsReconnection,
            ErrorCode::MissingScopes,
            ErrorCode::XForbidden,
            ErrorCode::XRejected,
            ErrorCode::XCreditsDepleted,
            ErrorCode::XUsageCapExceeded,
            ErrorCode::XClientNotEnrolled,
            ErrorCode::XUserNotEnrolled,
            ErrorCode::XReplyNotAllowed,
            ErrorCode::XQuoteNotAllowed,
            ErrorCode::XDuplicate,
            ErrorCode::XMediaInvalid,
            ErrorCode::RateLimited,
        ] {
            assert!((400..500).contains(&code.status()), "{code:?}");
        }
        assert_eq!(ErrorCode::Internal.status(), 500);
        assert_eq!(ErrorCode::XUnavailable.status(), 502);
        assert_eq!(ErrorCode::MasterKeyMissing.status(), 503);
        assert_eq!(ErrorCode::Busy.status(), 503);
        let json = serde_json::to_value(ErrorCode::ByokCredentialsMissing).unwrap();
        assert_eq!(json, "byok_credentials_missing");
    }

    #[test]
    fn the_settings_pages_troubleshooting_names_real_error_codes() {
        for r in crate::domain::X_REFUSALS {
            let code: Result<ErrorCode, _> = serde_json::from_value(serde_json::Value::String(r.code.to_owned()));
            assert!(code.is_ok(), "{} is not an error code", r.code);
        }
    }
}
