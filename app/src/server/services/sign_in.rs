//! Signing up and signing in: who may, how attempts are counted, and what an answer reveals,
//! decided here. The server functions (`crate::api::auth`) only read the request (the client's
//! address, the browser's device cookie) and write the answer (the session, a cookie, a redirect).

use axum::http::HeaderMap;

use crate::domain::{Email, OrgName, Password, Role};
use crate::error::{AppError, ErrorCode};
use crate::server::AppState;
use crate::server::infra::devices;
use crate::server::infra::throttle::{self, Key, Refusal};
use crate::server::services::members;
use crate::server::store::users::{self, OrgTarget};

/// What a sign-up form sent, unparsed.
pub struct SignUp {
    pub org_name: String,
    pub email: String,
    pub password: String,
}

/// Creates an organization and its owner. The answer is the same whether or not the email
/// already has an account (docs/security.md C.15: sign-up must not tell anyone which emails are
/// taken): both cost one password hash and neither signs in. Throttled per client address
/// (`client_address`) like sign-in; every sign-up counts against it, made or not.
pub async fn sign_up(state: &AppState, form: SignUp, client_address: &str) -> Result<(), AppError> {
    if !state.config.signup_open {
        return Err(AppError::new(
            ErrorCode::SignupClosed,
            "Sign-up is closed on this Perch. Ask your administrator for an account.",
        ));
    }
    let org_name = OrgName::parse(&form.org_name)?;
    let email = Email::parse(&form.email)?;
    let password = Password::parse(form.password)?;
    let pool = state.db.pool();
    let attempt = match throttle::admit(pool, vec![Key::signup(client_address)]).await? {
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
    attempt.failed(pool).await?;
    match members::create(state, OrgTarget::New(&org_name), &email, &hash, Role::Owner).await? {
        Some(created) => {
            tracing::info!(org_id = %created.org_id, user_id = %created.user_id, "organization signed up")
        }
        // The email has an account (perhaps created a moment ago by a concurrent sign-up):
        // nothing is created, and the answer does not say so.
        None => tracing::info!("sign-up with an email that has an account: nothing created"),
    }
    Ok(())
}

/// Who signed in, and the cookie that makes this browser a known one for the account when it
/// was not yet.
pub struct SignedIn {
    pub user_id: String,
    pub device_cookie: Option<String>,
}

/// Checks an email and a password. Unknown email and wrong password get the same answer in the
/// same time. The attempt is counted against the account and the client address before the
/// password is hashed ([`throttle`]); a browser that signed in as this account before (its
/// device cookie, among `headers`) is not counted against its address ([`devices`]).
pub async fn sign_in(
    state: &AppState,
    email: &str,
    password: String,
    headers: &HeaderMap,
    client_address: &str,
) -> Result<SignedIn, AppError> {
    let email = Email::parse(email)?;
    let password = Password::for_login(password)?;
    let pool = state.db.pool();
    let device = devices::presented(headers, &state.config);
    let known_browser = match &device {
        Some(token) => devices::email_of(pool, token).await?.is_some_and(|e| e == email.as_str()),
        None => false,
    };
    let mut keys = vec![Key::account(email.as_str())];
    if !known_browser {
        keys.push(Key::address(client_address));
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
    let device_cookie =
        if known_browser { None } else { Some(devices::remember(pool, &state.config, &user_id).await?) };
    tracing::info!(user_id = %user_id, "signed in");
    Ok(SignedIn { user_id, device_cookie })
}
