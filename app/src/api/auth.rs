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

/// Creates an organization and its owner. The answer is the same whether or not the email
/// already has an account (docs/security.md C.15: sign-up must not tell anyone which emails are
/// taken): both cost one password hash, neither signs in, and both send the browser to the
/// sign-in page. Throttled per client address like sign-in.
#[server(endpoint = "signup")]
pub async fn signup(org_name: String, email: String, password: String) -> Result<(), AppError> {
    use crate::domain::{Email, OrgName, Password, Role};
    use crate::error::ErrorCode;
    use crate::server::infra::throttle::{self, Key};
    use crate::server::{services::auth, store::users};

    let state = auth::state()?;
    if !state.config.signup_open {
        return Err(AppError::new(
            ErrorCode::SignupClosed,
            "Sign-up is closed on this Perch. Ask your administrator for an account.",
        ));
    }
    let org_name = OrgName::parse(&org_name)?;
    let email = Email::parse(&email)?;
    let password = Password::parse(password)?;
    let pool = state.db.pool();
    let attempt = match throttle::admit(pool, vec![Key::signup(&auth::client_address().await)]).await? {
        Ok(a) => a,
        Err(refusal) => {
            return Err(AppError::new(
                ErrorCode::Throttled,
                "Too many sign-ups from this network. Wait a few minutes and try again.",
            )
            .retry_after(refusal.retry_after_secs() as u64));
        }
    };
    let hash = match state.passwords.hash(password).await {
        Ok(h) => h,
        Err(e) => {
            attempt.abandoned(pool).await?;
            return Err(e.into());
        }
    };
    // Every sign-up counts against the address, made or not.
    attempt.failed(pool).await?;
    match users::create(pool, users::OrgTarget::New(&org_name), &email, &hash, Role::Owner).await {
        Ok(created) => tracing::info!(org_id = %created.org_id, user_id = %created.user_id, "organization signed up"),
        // The email has an account (perhaps created a moment ago by a concurrent sign-up):
        // nothing is created, and the answer does not say so.
        Err(e) if e.is_unique_violation() => {
            tracing::info!("sign-up with an email that has an account: nothing created")
        }
        Err(e) => return Err(e.into()),
    }
    leptos_axum::redirect(SIGNED_UP_PAGE);
    Ok(())
}

/// Where a sign-up sends the browser: the sign-in page, with a note.
pub const SIGNED_UP_PAGE: &str = "/login?signed_up=1";

/// Signs in. Unknown email and wrong password get the same answer in the same time. The attempt
/// is counted against the account and the client address before the password is hashed
/// ([`crate::server::infra::throttle`]); a browser that signed in as this account before is not counted
/// against its address ([`crate::server::infra::devices`]).
#[server(endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use crate::domain::{Email, Password};
    use crate::error::ErrorCode;
    use crate::server::infra::throttle::{self, Key, Refusal};
    use crate::server::{infra::devices, infra::sessions, services::auth, store::users};

    let state = auth::state()?;
    let email = Email::parse(&email)?;
    let password = Password::for_login(password)?;
    let pool = state.db.pool();
    let headers = auth::request_headers().await;
    let device = devices::presented(&headers, &state.config);
    let known_browser = match &device {
        Some(token) => devices::email_of(pool, token).await?.is_some_and(|e| e == email.as_str()),
        None => false,
    };
    let mut keys = vec![Key::account(email.as_str())];
    if !known_browser {
        keys.push(Key::address(&auth::client_address().await));
    }
    let attempt = match throttle::admit(pool, keys).await? {
        Ok(a) => a,
        Err(refusal) => {
            let message = match refusal {
                Refusal::Locked(secs) => {
                    let minutes = (secs + 59) / 60;
                    format!(
                        "Too many failed sign-ins. Wait {minutes} minute{} and try again.",
                        if minutes == 1 { "" } else { "s" }
                    )
                }
                Refusal::Busy => {
                    "Too many sign-ins at once for this account or from this network. Wait a few seconds and try again."
                        .to_owned()
                }
            };
            return Err(AppError::new(ErrorCode::Throttled, message).retry_after(refusal.retry_after_secs() as u64));
        }
    };
    if attempt.slowed {
        tokio::time::sleep(throttle::SLOWDOWN).await;
    }
    let checked = async {
        let creds = users::credentials_by_email(pool, &email).await?;
        let user_id = creds.as_ref().map(|c| c.id.clone());
        let ok = state.passwords.verify(password, creds.map(|c| c.password_hash)).await?;
        Ok::<_, crate::server::ServerError>(user_id.filter(|_| ok))
    }
    .await;
    let user_id = match checked {
        Ok(Some(user_id)) => user_id,
        Ok(None) => {
            attempt.failed(pool).await?;
            tracing::info!("sign-in refused");
            return Err(AppError::new(
                ErrorCode::Validation,
                "That email and password do not match an account. Check both and try again.",
            ));
        }
        Err(e) => {
            attempt.abandoned(pool).await?;
            return Err(e.into());
        }
    };
    attempt.succeeded(pool).await?;
    sessions::sign_in(&auth::session().await?, &user_id).await?;
    if !known_browser {
        let cookie = devices::remember(pool, &state.config, &user_id).await?;
        if let Ok(value) = axum::http::HeaderValue::from_str(&cookie) {
            expect_context::<leptos_axum::ResponseOptions>().append_header(axum::http::header::SET_COOKIE, value);
        }
    }
    tracing::info!(user_id = %user_id, "signed in");
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
