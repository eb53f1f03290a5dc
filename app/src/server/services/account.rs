//! The signed-in user's own account: changing their password.

use crate::domain::{Password, Viewer};
use crate::error::{AppError, ErrorCode};
use crate::server::AppState;
use crate::server::infra::throttle::{self, Key, Refusal};
use crate::server::store::users::{self, By, PasswordSet};

/// Changes `viewer`'s password. The current one is required, and checked like a sign-in (counted
/// against the account's throttle: guesses from a stolen session count like failed sign-ins); the
/// new one follows the sign-up rules. Every session of the user ends; the caller renews the one
/// it wants to keep with the answer's epoch. Written only if the stored hash is still the one
/// the current password was checked against.
pub async fn change_password(
    state: &AppState,
    viewer: &Viewer,
    current_password: String,
    new_password: String,
) -> Result<PasswordSet, AppError> {
    let current =
        Password::for_login(current_password).map_err(|e| AppError::invalid("current_password", e.message))?;
    let new = Password::parse(new_password).map_err(|e| AppError::invalid("new_password", e.message))?;
    if new.expose() == current.expose() {
        return Err(AppError::invalid("new_password", "That is your current password. Choose a new one."));
    }
    let pool = state.db.pool();
    // Guesses at the current password from a signed-in browser (a stolen session, say) count
    // against the account exactly like failed sign-ins.
    let attempt = match throttle::admit(pool, vec![Key::account(&viewer.email)]).await? {
        Ok(a) => a,
        Err(refusal) => {
            let message = match refusal {
                Refusal::Locked(secs) => format!(
                    "Too many wrong passwords for this account. Wait {} minute(s) and try again.",
                    (secs + 59) / 60
                ),
                Refusal::Busy => {
                    "Another sign-in for this account is being checked. Wait a few seconds and try again.".to_owned()
                }
            };
            return Err(AppError::new(ErrorCode::Throttled, message).retry_after(refusal.retry_after_secs() as u64));
        }
    };
    let stored = match users::password_hash(pool, &viewer.user_id).await {
        Ok(h) => h,
        Err(e) => {
            attempt.abandoned(pool).await?;
            return Err(e.into());
        }
    };
    let Some(stored) = stored else {
        attempt.abandoned(pool).await?;
        return Err(AppError::unauthenticated());
    };
    match state.passwords.verify(current, Some(stored.clone())).await {
        Ok(true) => attempt.succeeded(pool).await?,
        Ok(false) => {
            attempt.failed(pool).await?;
            return Err(AppError::invalid("current_password", "That is not your current password."));
        }
        Err(e) => {
            attempt.abandoned(pool).await?;
            return Err(e.into());
        }
    }
    let hash = state.passwords.hash(new).await?;
    let by = By::User { user_id: &viewer.user_id, email: &viewer.email };
    let Some(set) = users::set_password(pool, &viewer.user_id, Some(&stored), &hash, by).await? else {
        return Err(AppError::new(
            ErrorCode::Conflict,
            "Your password was changed from somewhere else a moment ago. Reload the page and try again.",
        ));
    };
    tracing::info!(user_id = %viewer.user_id, sessions_ended = set.sessions_ended, "password changed");
    Ok(set)
}
