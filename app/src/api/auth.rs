use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::domain::Viewer;
use crate::error::AppError;

/// What the sign-in and sign-up pages need to know about this instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceInfo {
    pub signup_open: bool,
}

#[server(endpoint = "instance_info")]
pub async fn get_instance_info() -> Result<InstanceInfo, AppError> {
    let state = crate::server::services::auth::state()?;
    Ok(InstanceInfo { signup_open: state.config.signup_open })
}

/// The signed-in user, or `None`.
#[server(endpoint = "viewer")]
pub async fn get_viewer() -> Result<Option<Viewer>, AppError> {
    crate::server::services::auth::viewer().await
}

/// Creates an organization and its owner ([`crate::server::services::sign_in::sign_up`]): the
/// answer never says whether the email already had an account, and sends the browser to the
/// sign-in page either way.
#[server(endpoint = "signup")]
pub async fn signup(org_name: String, email: String, password: String) -> Result<(), AppError> {
    use crate::server::services::{auth, sign_in};

    let state = auth::state()?;
    let form = sign_in::SignUp { org_name, email, password };
    sign_in::sign_up(&state, form, &auth::client_address().await).await?;
    leptos_axum::redirect(SIGNED_UP_PAGE);
    Ok(())
}

/// Where a sign-up sends the browser: the sign-in page, with a note.
pub const SIGNED_UP_PAGE: &str = "/login?signed_up=1";

/// Signs in ([`crate::server::services::sign_in::sign_in`]): the session, a cookie that makes
/// this browser a known one for the account, and the page the user was going to.
#[server(endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use crate::server::{infra::sessions, services::auth, services::sign_in};

    let state = auth::state()?;
    let headers = auth::request_headers().await;
    let signed_in = sign_in::sign_in(&state, &email, password, &headers, &auth::client_address().await).await?;
    sessions::sign_in(&auth::session().await?, &signed_in.user_id).await?;
    if let Some(cookie) = signed_in.device_cookie
        && let Ok(value) = axum::http::HeaderValue::from_str(&cookie)
    {
        expect_context::<leptos_axum::ResponseOptions>().append_header(axum::http::header::SET_COOKIE, value);
    }
    leptos_axum::redirect(&super::safe_next(next.as_deref()));
    Ok(())
}

/// Signs out and deletes the session.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::server::{infra::sessions, services::auth};
    sessions::sign_out(&auth::session().await?).await?;
    leptos_axum::redirect("/login");
    Ok(())
}
