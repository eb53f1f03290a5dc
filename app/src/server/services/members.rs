//! An organization's people: creating a user (sign-up, `perch user create`), setting a password
//! at the operator's request, removing a member (Settings → Members, `perch user remove`). The
//! rules that depend on the roles as they are at that moment are re-checked by the store inside
//! the change's transaction ([`users::remove`]); the refusals are worded here, once.

use crate::domain::{Email, Role, UserId};
use crate::error::{AppError, ErrorCode};
use crate::server::AppState;
use crate::server::services::actor::{Actor, dashboard_only};
use crate::server::store::users::{self, By, Created, OrgTarget, PasswordSet, RemoveRefusal, Removed};

/// Creates a user with an already hashed password, in an existing organization or in a new one
/// created in the same transaction (sign-up; `perch user create` with a new name). `None` when
/// the email has an account (found by the database's unique index, so two concurrent creations
/// cannot both succeed): nothing is created then, not even the new organization.
pub async fn create(
    state: &AppState,
    org: OrgTarget<'_>,
    email: &Email,
    password_hash: &str,
    role: Role,
) -> Result<Option<Created>, AppError> {
    match users::create(state.db.pool(), org, email, password_hash, role).await {
        Ok(created) => Ok(Some(created)),
        Err(e) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// How the store names who acts on a user. API keys never act on people.
fn by(actor: &Actor) -> Result<By<'_>, AppError> {
    match actor {
        Actor::User(v) => Ok(By::User { user_id: &v.user_id, email: &v.email }),
        Actor::Operator { .. } => Ok(By::Operator),
        Actor::ApiKey(_) => Err(dashboard_only()),
    }
}

/// Sets a member's password without the current one (the operator's `perch user set-password`;
/// a person changes their own through `services::account::change_password`). Every session of
/// the member ends.
pub async fn set_password(
    state: &AppState,
    actor: &Actor,
    user_id: &UserId,
    password_hash: &str,
) -> Result<PasswordSet, AppError> {
    if !matches!(actor, Actor::Operator { .. }) {
        return Err(dashboard_only());
    }
    users::set_password(state.db.pool(), user_id.as_str(), None, password_hash, By::Operator)
        .await?
        .ok_or_else(|| AppError::not_found("member"))
}

/// Removes a member from the actor's organization (owners and admins; an admin cannot remove an
/// owner, nobody removes themselves, and the last owner stays). Their sessions end at once.
pub async fn remove(state: &AppState, actor: &Actor, user_id: &UserId) -> Result<Removed, AppError> {
    let org_id = actor.org_id();
    match users::remove(state.db.pool(), org_id, user_id.as_str(), by(actor)?).await? {
        Ok(removed) => {
            tracing::info!(org_id = %org_id, user_id = %user_id.as_str(), sessions_ended = removed.sessions_ended, "member removed");
            Ok(removed)
        }
        Err(RemoveRefusal::NotFound) => Err(AppError::not_found("member")),
        Err(RemoveRefusal::NotAManager) => Err(AppError::forbidden(
            "Only the organization's owner or an admin can remove members. Ask one of them to do it.",
        )),
        Err(RemoveRefusal::Yourself) => Err(AppError::forbidden(
            "You cannot remove yourself. Another owner or admin can; or use Sign out everywhere to end your sessions.",
        )),
        Err(RemoveRefusal::OwnerByAdmin) => Err(AppError::forbidden("Only an owner can remove another owner.")),
        Err(RemoveRefusal::LastOwner) => Err(AppError::new(
            ErrorCode::Conflict,
            "This is the organization's last owner, and an organization always keeps one.",
        )),
    }
}
