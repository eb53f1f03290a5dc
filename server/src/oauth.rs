//! The two HTTP ends of connecting an X account (the work is in `app::server::services::connect`):
//!
//! - `POST /oauth/connect/twitter` (form: `brand_id`, or `account_id` to reconnect): the Connect
//!   and Reconnect buttons. A plain form post, with or without JavaScript, answered with a 303 to
//!   X's consent page (or back to the card when there is no X app to connect through). Behind the
//!   cross-site wall like every POST (docs/security.md D.22).
//! - `GET /oauth/callback/twitter`: where X sends the browser back. For a dashboard flow, a 303
//!   to the accounts page, a fixed internal path with the result in its query; never a code or
//!   token in any URL Perch makes (E.29). For a connect link handed out through the API
//!   (`POST /v1/accounts/connect`), whoever opened it is no Perch user: the answer is a small page
//!   that says what happened, without any session.

use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_sessions::Session;

use app::domain::ConnectResult;
use app::domain::{ACCOUNTS_PAGE, AccountId, BrandId, CALLBACK_PATH, CONNECT_PATH};
use app::error::AppError;
use app::server::AppState;
use app::server::services::connect::{self, Callback, Completed};

use crate::RouterState;

pub fn routes() -> axum::Router<RouterState> {
    axum::Router::new()
        .route(CONNECT_PATH, axum::routing::post(start))
        .route(CALLBACK_PATH, axum::routing::get(callback))
}

#[derive(Deserialize)]
struct ConnectForm {
    #[serde(default)]
    brand_id: Option<String>,
    #[serde(default)]
    account_id: Option<String>,
}

impl ConnectForm {
    /// The card (`brand_id`, empty or `default` for the organization default) and the account to
    /// reconnect, parsed: an id that cannot exist is refused here, before any query.
    fn ids(&self) -> Result<(Option<BrandId>, Option<AccountId>), AppError> {
        fn given(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|v| !v.is_empty())
        }
        let brand_id = given(&self.brand_id)
            .filter(|b| *b != "default")
            .map(|b| BrandId::or_invalid("brand_id", b))
            .transpose()?;
        let account_id = given(&self.account_id).map(|a| AccountId::or_invalid("account_id", a)).transpose()?;
        Ok((brand_id, account_id))
    }
}

/// Where a signed-out browser goes: sign in, then back to the accounts page.
fn sign_in() -> Response {
    Redirect::to(&format!("/login?next={}", app::domain::encode_query_value(ACCOUNTS_PAGE))).into_response()
}

/// An error page a person can act on: back to the accounts page with the message.
fn failed(e: AppError) -> Response {
    crate::middleware::error_page(&e, ACCOUNTS_PAGE, "Back to X accounts")
}

async fn start(
    State(state): State<AppState>,
    session: Session,
    form: Result<Form<ConnectForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let viewer = match app::server::services::auth::viewer_of(&state, &session).await {
        Ok(Some(v)) => v,
        Ok(None) => return sign_in(),
        Err(e) => return failed(e),
    };
    let Ok(Form(form)) = form else {
        return failed(AppError::new(
            app::error::ErrorCode::BadRequest,
            "The Connect form was incomplete. Reload the page and press Connect again.",
        ));
    };
    let (brand_id, account_id) = match form.ids() {
        Ok(ids) => ids,
        Err(e) => return failed(e),
    };
    match connect::start(&state, &viewer, &session, brand_id.as_ref(), account_id.as_ref()).await {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(e) => failed(e),
    }
}

async fn callback(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<Callback>, axum::extract::rejection::QueryRejection>,
) -> Response {
    // A query that does not even parse carries no usable state.
    let cb = query.map(|Query(q)| q).unwrap_or_default();
    if let Some(st) = cb.state.as_deref().filter(|s| !s.is_empty() && s.len() <= 500) {
        match app::server::store::oauth_flows::is_link(state.db.pool(), st).await {
            Ok(Some(true)) => {
                return match connect::finish_link(&state, cb).await {
                    Ok(done) => link_page(&done),
                    Err(e) => crate::middleware::error_page(&e, "/", "Perch"),
                };
            }
            Ok(_) => {}
            Err(e) => return failed(e.into()),
        }
    }
    let viewer = match app::server::services::auth::viewer_of(&state, &session).await {
        Ok(Some(v)) => v,
        Ok(None) => return sign_in(),
        Err(e) => return failed(e),
    };
    match connect::finish(&state, &viewer, &session, cb).await {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(e) => failed(e),
    }
}

/// The page at the end of a connect link: what happened, for the person who opened it, and
/// when the fix is with whoever runs Perch, what to fix, for them.
fn link_page(done: &Completed) -> Response {
    use crate::middleware::{escape_html, standalone_page};
    use axum::http::StatusCode;
    let who = done.handle.as_deref();
    let (status, class) = if done.result.is_success() {
        (StatusCode::OK, if done.result == ConnectResult::MissingScopes { "banner-warning" } else { "banner-success" })
    } else {
        (StatusCode::BAD_REQUEST, "banner-error")
    };
    let mut main = format!(
        "<h1>Connect your X account</h1><div class=\"banner {class}\" role=\"{}\">{}</div>",
        if done.result.is_success() { "status" } else { "alert" },
        escape_html(&done.result.link_message(who)),
    );
    if let Some(hint) = done.result.operator_hint() {
        main.push_str(&format!(
            "<p class=\"hint\">For whoever runs Perch ({}): {}</p>",
            done.result.as_str(),
            escape_html(hint)
        ));
    }
    standalone_page(status, "Connect your X account · Perch", &main)
}
