//! Server functions of Settings → your account (change your password, sign out everywhere) and
//! of the member list (remove a member). Each ends sessions: every session of the user concerned,
//! on every instance, at once (docs/security.md D.21, H.42; `server::sessions::end_all`).
//!
//! All three answer a form post with a redirect, so the page says what happened with or without
//! JavaScript: back to Settings with `?done=...`, or to the sign-in page once signed out.

use leptos::prelude::*;

use crate::error::AppError;

/// Where the settings page says a change is done (`?done=`).
pub const DONE_PASSWORD: &str = "password";
pub const DONE_REMOVED: &str = "removed";

/// Changes the signed-in user's password. The current one is required (and checked like a
/// sign-in, counted against the account's throttle); the new one follows the sign-up rules. Every
/// other session of the user ends; this one stays signed in under a new id.
#[server(endpoint = "account/password")]
pub async fn change_password(current_password: String, new_password: String) -> Result<(), AppError> {
    use crate::server::{infra::sessions, services::account, services::auth};

    let (state, viewer) = auth::require_viewer().await?;
    let set = account::change_password(&state, &viewer, current_password, new_password).await?;
    // This browser stays signed in, under a new id that carries the new epoch.
    sessions::renew(&auth::session().await?, set.epoch).await?;
    leptos_axum::redirect(&format!("/settings?done={DONE_PASSWORD}#account"));
    Ok(())
}

/// Ends every session of the signed-in user, on every device and every instance, this one too.
#[server(endpoint = "account/sign-out-everywhere")]
pub async fn sign_out_everywhere() -> Result<(), AppError> {
    use crate::server::{infra::sessions, services::auth, store::users};

    let (state, viewer) = auth::require_viewer().await?;
    let ended = users::sign_out_everywhere(state.db.pool(), &viewer).await?;
    sessions::sign_out(&auth::session().await?).await?;
    tracing::info!(user_id = %viewer.user_id, sessions_ended = ended, "signed out everywhere");
    leptos_axum::redirect("/login");
    Ok(())
}

/// Removes a member from the organization (owners and admins; an admin cannot remove an owner,
/// nobody removes themselves here or the last owner). Their sessions end at once.
#[server(endpoint = "org/members/remove")]
pub async fn remove_member(user_id: String) -> Result<(), AppError> {
    use crate::server::services::{actor::Actor, auth, members};

    let (state, viewer) = auth::require_viewer().await?;
    let target = crate::domain::UserId::or_not_found(&user_id)?;
    members::remove(&state, &Actor::User(viewer), &target).await?;
    leptos_axum::redirect(&format!("/settings?done={DONE_REMOVED}#members"));
    Ok(())
}
