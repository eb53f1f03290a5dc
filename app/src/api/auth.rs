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
    let state = crate::server::auth::state()?;
    Ok(InstanceInfo { signup_open: state.config.signup_open })
}

/// The signed-in user, or `None`.
#[server(endpoint = "viewer")]
pub async fn get_viewer() -> Result<Option<Viewer>, AppError> {
    crate::server::auth::viewer().await
}

/// Creates an organization and its owner, and signs the owner in.
#[server(endpoint = "signup")]
pub async fn signup(org_name: String, email: String, password: String) -> Result<(), AppError> {
    use crate::domain::{Email, OrgName, Password, Role};
    use crate::error::ErrorCode;
    use crate::server::{auth, sessions, users};

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
    let taken = AppError::conflict("email", "An account with this email already exists. Sign in instead.");
    if users::email_taken(pool, &email).await? {
        return Err(taken);
    }
    let hash = state.passwords.hash(password).await?;
    let created = match users::create(pool, users::OrgTarget::New(&org_name), &email, &hash, Role::Owner).await {
        Ok(c) => c,
        // Two sign-ups with one email at once: the database decides, the loser is told.
        Err(e) if e.is_unique_violation() => return Err(taken),
        Err(e) => return Err(e.into()),
    };
    sessions::sign_in(&auth::session().await?, &created.user_id).await?;
    tracing::info!(org_id = %created.org_id, user_id = %created.user_id, "organization signed up");
    leptos_axum::redirect("/brands");
    Ok(())
}

/// Signs in. Unknown email and wrong password get the same answer in the same time.
#[server(endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use crate::domain::{Email, Password};
    use crate::error::ErrorCode;
    use crate::server::{auth, sessions, throttle, users};

    let state = auth::state()?;
    let email = Email::parse(&email)?;
    let password = Password::for_login(password)?;
    let pool = state.db.pool();
    let email_key = throttle::email_key(email.as_str());
    let addr_key = throttle::address_key(&auth::client_address().await);

    if let Some(secs) = throttle::locked_for(pool, &[&email_key, &addr_key]).await? {
        let minutes = (secs + 59) / 60;
        return Err(AppError::new(
            ErrorCode::Throttled,
            format!("Too many failed sign-ins. Wait {minutes} minute{} and try again.", if minutes == 1 { "" } else { "s" }),
        ));
    }

    let creds = users::credentials_by_email(pool, &email).await?;
    let user_id = creds.as_ref().map(|c| c.id.clone());
    let ok = state.passwords.verify(password, creds.map(|c| c.password_hash)).await?;
    let Some(user_id) = user_id.filter(|_| ok) else {
        throttle::record_failure(pool, &email_key, throttle::EMAIL_LIMIT).await?;
        throttle::record_failure(pool, &addr_key, throttle::ADDRESS_LIMIT).await?;
        tracing::info!("sign-in refused");
        return Err(AppError::new(
            ErrorCode::Validation,
            "That email and password do not match an account. Check both and try again.",
        ));
    };
    throttle::clear(pool, &email_key).await?;
    sessions::sign_in(&auth::session().await?, &user_id).await?;
    tracing::info!(user_id = %user_id, "signed in");
    leptos_axum::redirect(&super::safe_next(next.as_deref()));
    Ok(())
}

/// Signs out and deletes the session.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::server::{auth, sessions};
    sessions::sign_out(&auth::session().await?).await?;
    leptos_axum::redirect("/login");
    Ok(())
}
