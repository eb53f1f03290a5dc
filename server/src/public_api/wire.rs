//! What the public API reads and answers, as types: serde gives the wire shape, utoipa derives the
//! OpenAPI schemas from the same definitions, so the document cannot drift from the answers.
//! Times are RFC 3339 in UTC; ids are Perch's (`brd_…`, `xac_…`, `pst_…`) except X's own
//! (`x_user_id`, `x_post_id`).

use serde::{Deserialize, Serialize};
use utoipa::openapi::{ObjectBuilder, RefOr, Schema, Type};
use utoipa::{ToResponse, ToSchema};

use app::domain::{AccountView, BrandView, PostView, ReconnectReason};
use app::error::ErrorCode;
use app::server::services::connect::ConnectLink as Link;
use app::server::store::credentials::{AppSource, Summary};

/// Unix seconds as RFC 3339 (`2026-11-23T10:30:00Z`).
pub fn rfc3339(t: i64) -> String {
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

// ---- errors ------------------------------------------------------------------------------------

/// The codes the public API answers with (the dashboard's own, such as `unauthenticated`, never
/// reach `/v1`).
const CODES: [ErrorCode; 29] = [
    ErrorCode::Validation,
    ErrorCode::BadRequest,
    ErrorCode::InvalidPath,
    ErrorCode::MethodNotAllowed,
    ErrorCode::InvalidApiKey,
    ErrorCode::Forbidden,
    ErrorCode::CrossSite,
    ErrorCode::DashboardOnly,
    ErrorCode::NotFound,
    ErrorCode::Conflict,
    ErrorCode::PayloadTooLarge,
    ErrorCode::Throttled,
    ErrorCode::Internal,
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
    ErrorCode::XUnavailable,
    ErrorCode::MasterKeyMissing,
];

fn error_code_schema() -> impl Into<RefOr<Schema>> {
    let names = CODES.iter().map(|c| serde_json::to_value(c).ok().and_then(|v| v.as_str().map(str::to_owned)));
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(names.flatten())).description(Some(
        "What went wrong. Besides each operation's own answers, any path under /v1 can answer 400 `invalid_path` \
             (a percent-encoded part that is not UTF-8), 404 `not_found` (no such endpoint), 405 `method_not_allowed` \
             (with `Allow`) and 413 `payload_too_large`, and any request with a valid key 429 `throttled` (with \
             `Retry-After`) when the key or its organization is over its limit.",
    ))
}

/// Every error answer: `{"error": {"code", "message", ...}}`.
// `crate::middleware::error_response` writes it from an `AppError`; this type describes it.
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    #[schema(inline)]
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    #[schema(schema_with = error_code_schema)]
    pub code: ErrorCode,
    /// What happened and what to do.
    pub message: String,
    /// The request field the message is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub field: Option<String>,
    /// On internal errors: the id under which Perch logged the details.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub correlation_id: Option<String>,
    /// On 429: seconds until trying again makes sense, as in `Retry-After`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 1)]
    pub retry_after: Option<u64>,
}

/// No API key, or one that is malformed, unknown or revoked (`invalid_api_key`).
#[derive(ToResponse)]
#[response(headers(("WWW-Authenticate" = String)))]
pub struct InvalidApiKey(#[allow(dead_code, reason = "documents the body error_response writes")] ErrorBody);

/// No such id in the key's organization (`not_found`).
#[derive(ToResponse)]
pub struct NotFound(#[allow(dead_code, reason = "documents the body error_response writes")] ErrorBody);

/// The body is not JSON, or not the fields this endpoint takes, or a query parameter it does not
/// take (`bad_request`); or a path whose percent-encoding is not UTF-8 (`invalid_path`).
#[derive(ToResponse)]
pub struct BadRequest(#[allow(dead_code, reason = "documents the body error_response writes")] ErrorBody);

/// A field's value is not acceptable (`validation`); `field` names it.
#[derive(ToResponse)]
pub struct Validation(#[allow(dead_code, reason = "documents the body error_response writes")] ErrorBody);

/// The body is larger than Perch reads, 64 KiB (`payload_too_large`).
#[derive(ToResponse)]
pub struct PayloadTooLarge(#[allow(dead_code, reason = "documents the body error_response writes")] ErrorBody);

/// Over one of Perch's own limits (`throttled`), which hold across every Perch instance: this
/// key's requests per minute (600 unless the operator set `PERCH_API_KEY_RATE_LIMIT`), or its
/// organization's, all keys together (1,200, `PERCH_API_ORG_RATE_LIMIT`). Requests refused by the
/// key's limit do not count against the organization's. `Retry-After` says when to try again.
#[derive(ToResponse)]
#[response(headers(("Retry-After" = u64, description = "Seconds until a request is allowed again.")))]
pub struct Throttled(#[allow(dead_code, reason = "documents the body error_response writes")] ErrorBody);

// ---- brands ------------------------------------------------------------------------------------

/// The X app a brand's accounts connect through.
#[derive(Serialize, ToSchema)]
pub struct XApp {
    /// The brand's own X app, the organization's default app, or none saved.
    #[schema(inline)]
    pub source: XAppSource,
    /// The first six characters of the app's Client ID.
    #[schema(required = true)]
    pub client_id_preview: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum XAppSource {
    Own,
    Default,
    None,
}

impl XApp {
    /// The app of `brand_id`'s accounts among what the organization saved.
    pub fn of(saved: &[Summary], brand_id: &str) -> Self {
        match app::server::store::credentials::applying(saved, Some(brand_id)) {
            Some((c, AppSource::Own)) => {
                XApp { source: XAppSource::Own, client_id_preview: Some(c.client_id_preview.clone()) }
            }
            Some((c, AppSource::Default)) => {
                XApp { source: XAppSource::Default, client_id_preview: Some(c.client_id_preview.clone()) }
            }
            None => XApp { source: XAppSource::None, client_id_preview: None },
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Brand {
    pub id: String,
    pub name: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub x_app: XApp,
}

impl Brand {
    pub fn new(b: BrandView, saved: &[Summary]) -> Self {
        let x_app = XApp::of(saved, &b.id);
        Brand { id: b.id, name: b.name, created_at: rfc3339(b.created_at), x_app }
    }
}

/// `POST /v1/brands`
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "name": "Acme" }))]
pub struct NewBrand {
    /// 1 to 80 characters once runs of white space are collapsed to one space (so a name of only
    /// white space is refused), with no control or invisible characters; unique in the
    /// organization regardless of case. Otherwise 422 `validation` (or 409 `conflict`).
    #[schema(
        min_length = 1,
        pattern = r"^[^\u0000-\u0008\u000E-\u001F\u007F-\u0084\u0086-\u009F\u200B-\u200F\u202A-\u202E\uFEFF]*$"
    )]
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct BrandAnswer {
    pub data: Brand,
}

#[derive(Serialize, ToSchema)]
pub struct BrandList {
    pub data: Vec<Brand>,
}

// ---- accounts ----------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct NeedsReconnection {
    #[schema(schema_with = reason_schema)]
    pub reason: ReconnectReason,
    pub message: String,
    #[schema(format = DateTime)]
    pub since: String,
}

fn reason_schema() -> impl Into<RefOr<Schema>> {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(ReconnectReason::ALL.iter().map(|r| r.as_str())))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Twitter,
}

fn platform_schema() -> impl Into<RefOr<Schema>> {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["twitter"]))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Active,
    NeedsReconnection,
}

/// A connected X account. `status` is `active` or `needs_reconnection`; an account whose app
/// changed since it connected is still `active` until its next call, with `reconnection_pending`
/// saying why that call will mark it.
#[derive(Serialize, ToSchema)]
pub struct Account {
    pub id: String,
    #[schema(inline)]
    pub platform: Platform,
    /// null: connected to the organization default.
    #[schema(required = true)]
    pub brand_id: Option<String>,
    pub x_user_id: String,
    pub username: String,
    pub name: String,
    #[schema(required = true)]
    pub avatar_url: Option<String>,
    #[schema(inline)]
    pub status: AccountStatus,
    #[schema(required = true)]
    pub needs_reconnection: Option<NeedsReconnection>,
    /// Set while still active when the app that issued its tokens changed since it connected:
    /// its next call marks it, for this reason.
    #[schema(required = true)]
    pub reconnection_pending: Option<String>,
    pub scopes: Vec<String>,
    /// Scopes Perch asked for that X did not grant.
    pub missing_scopes: Vec<String>,
    pub client_id_preview: String,
    /// Set while X says the developer account that owns the account's app has no pay-per-use
    /// credits left (since when): every call through the app fails with 402
    /// `x_credits_depleted` until credits are bought. About the app, not the account: `status`
    /// stays `active`. null once a call through the app succeeds again.
    #[schema(required = true, format = DateTime)]
    pub app_credits_depleted_since: Option<String>,
    #[schema(format = DateTime)]
    pub connected_at: String,
}

impl From<AccountView> for Account {
    fn from(a: AccountView) -> Self {
        let needs = a.needs_reconnection.map(|m| NeedsReconnection {
            reason: m.reason,
            message: m.reason.message().to_owned(),
            since: rfc3339(m.at),
        });
        Account {
            id: a.id,
            platform: Platform::Twitter,
            brand_id: a.brand_id,
            x_user_id: a.x_user_id,
            username: a.username,
            name: a.name,
            avatar_url: a.avatar_url,
            status: if needs.is_some() { AccountStatus::NeedsReconnection } else { AccountStatus::Active },
            needs_reconnection: needs,
            reconnection_pending: a.will_need_reconnection.map(|r| r.as_str().to_owned()),
            scopes: a.scopes,
            missing_scopes: a.missing_scopes,
            client_id_preview: a.client_id_preview,
            app_credits_depleted_since: a.app_credits_depleted_at.map(rfc3339),
            connected_at: rfc3339(a.connected_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AccountList {
    pub data: Vec<Account>,
    /// Whether more accounts follow this page.
    pub has_more: bool,
    /// The `cursor` of the next page, when there is one.
    pub next_cursor: Option<String>,
}

/// `POST /v1/accounts/connect`
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "platform": "twitter", "brand_id": "brd_0f8e3b2a9c7d4e1f8a6b5c4d3e2f1a0b" }))]
pub struct ConnectBody {
    /// `twitter`; another value is 422 `validation`.
    #[schema(schema_with = platform_schema)]
    pub platform: String,
    /// The brand to connect the account to (`brd_` and 32 hexadecimal digits); absent, null or
    /// empty for the organization default.
    #[serde(default)]
    pub brand_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ConnectLink {
    #[schema(format = "uri")]
    pub auth_url: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
    #[schema(required = true)]
    pub brand_id: Option<String>,
    pub client_id_preview: String,
}

impl From<Link> for ConnectLink {
    fn from(l: Link) -> Self {
        ConnectLink {
            auth_url: l.auth_url,
            expires_at: rfc3339(l.expires_at),
            brand_id: l.brand_id,
            client_id_preview: l.client_id_preview,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Disconnected {
    pub id: String,
    pub username: String,
    /// Whether X confirmed the revocation; the tokens are deleted either way.
    pub revoked_at_x: bool,
}

#[derive(Serialize, ToSchema)]
pub struct DisconnectedAnswer {
    pub data: Disconnected,
}

// ---- posts -------------------------------------------------------------------------------------

/// `POST /v1/posts`
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "account_id": "xac_5b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e", "text": "Hello from Perch" }))]
pub struct PostBody {
    /// The account to post as, as `GET /v1/accounts` lists it.
    #[schema(pattern = r"^xac_[0-9a-f]{32}$")]
    pub account_id: String,
    /// Not only white space, no control characters but tabs and line breaks, and at most 280
    /// characters as X counts them (links 23, most emoji and CJK characters 2). Otherwise 422
    /// `validation` with `field`.
    #[schema(min_length = 1, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$")]
    pub text: String,
    #[serde(default)]
    #[schema(pattern = r"^[0-9]{1,19}$")]
    pub reply_to_post_id: Option<String>,
    #[serde(default)]
    #[schema(pattern = r"^[0-9]{1,19}$")]
    pub quote_post_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Post {
    /// Perch's id of the post.
    pub id: String,
    pub account_id: String,
    /// X's id of the post.
    pub x_post_id: String,
    #[schema(format = "uri")]
    pub url: String,
    pub text: String,
    #[schema(required = true)]
    pub reply_to_post_id: Option<String>,
    #[schema(required = true)]
    pub quote_post_id: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<PostView> for Post {
    fn from(p: PostView) -> Self {
        Post {
            url: p.url(),
            id: p.id,
            account_id: p.account_id,
            x_post_id: p.x_post_id,
            text: p.text,
            reply_to_post_id: p.reply_to_post_id,
            quote_post_id: p.quote_post_id,
            created_at: rfc3339(p.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PostAnswer {
    pub data: Post,
}
