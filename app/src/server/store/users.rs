//! Users and their organizations.

use sqlx::AnyPool;

use crate::domain::{Email, OrgId, OrgName, Role, Viewer};
use crate::server::infra::db::{begin_org_write, begin_write};
use crate::server::infra::error::ServerError;
use crate::server::infra::ids::new_id;
use crate::server::store::audit::{self, AuditAction};
use crate::server::{infra::sessions, now};

#[derive(sqlx::FromRow)]
pub struct Credentials {
    pub id: String,
    pub password_hash: String,
    /// The user's session epoch as it was with this hash: for [`sessions::sign_in_at_epoch`], so
    /// that a sign-in checked against a password changed meanwhile stores no session.
    pub session_epoch: i64,
}

/// The id and password hash of the user with this email, if any.
pub async fn credentials_by_email(pool: &AnyPool, email: &Email) -> Result<Option<Credentials>, ServerError> {
    Ok(sqlx::query_as("select id, password_hash, session_epoch from users where email = $1")
        .bind(email.as_str())
        .fetch_optional(pool)
        .await?)
}

/// The columns of a [`Viewer`]: `u.id as user_id, u.email, u.role, o.id as org_id, o.name as
/// org_name` of `users u join organizations o on o.id = u.org_id`. The session store reads them
/// in the same query as the session ([`sessions`]), so that a page knows who asks in one round trip.
#[derive(sqlx::FromRow)]
pub(crate) struct ViewerRow {
    pub user_id: String,
    pub email: String,
    pub role: String,
    pub org_id: OrgId,
    pub org_name: String,
}

impl From<ViewerRow> for Viewer {
    fn from(r: ViewerRow) -> Self {
        Viewer {
            user_id: r.user_id,
            email: r.email,
            role: Role::parse(&r.role).unwrap_or(Role::Member),
            org_id: r.org_id,
            org_name: r.org_name,
        }
    }
}

/// The signed-in user with their organization, if the user still exists.
pub async fn viewer(pool: &AnyPool, user_id: &str) -> Result<Option<Viewer>, ServerError> {
    let row: Option<ViewerRow> = sqlx::query_as(
        "select u.id as user_id, u.email, u.role, o.id as org_id, o.name as org_name
         from users u join organizations o on o.id = u.org_id
         where u.id = $1",
    )
    .bind(user_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(Viewer::from))
}

/// What `create_with_org` made.
#[derive(Debug)]
pub struct Created {
    pub org_id: String,
    pub user_id: String,
    pub org_created: bool,
    pub role: Role,
}

/// Creates a user in the organization named `org`, creating the organization first when
/// `create_org` is set (its first user becomes the owner). One transaction: either both exist
/// afterwards or neither.
pub async fn create(
    pool: &AnyPool,
    org: OrgTarget<'_>,
    email: &Email,
    password_hash: &str,
    role: Role,
) -> Result<Created, ServerError> {
    let t = now();
    let mut tx = begin_write(pool).await?;
    let (org_id, org_created) = match org {
        OrgTarget::New(name) => {
            let id = new_id("org");
            sqlx::query("insert into organizations (id, name, created_at) values ($1, $2, $3)")
                .bind(&id)
                .bind(name.as_str())
                .bind(t)
                .execute(&mut *tx)
                .await?;
            (id, true)
        }
        OrgTarget::Existing(id) => (id.to_owned(), false),
    };
    let user_id = new_id("usr");
    sqlx::query(
        "insert into users (id, org_id, email, password_hash, role, created_at) values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&user_id)
    .bind(&org_id)
    .bind(email.as_str())
    .bind(password_hash)
    .bind(role.as_str())
    .bind(t)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Created { org_id, user_id, org_created, role })
}

pub enum OrgTarget<'a> {
    New(&'a OrgName),
    Existing(&'a str),
}

pub async fn email_taken(pool: &AnyPool, email: &Email) -> Result<bool, ServerError> {
    let n: i64 =
        sqlx::query_scalar("select count(*) from users where email = $1").bind(email.as_str()).fetch_one(pool).await?;
    Ok(n > 0)
}

/// The id and organization of the user with this email, if any (for the operator's commands).
pub async fn by_email(pool: &AnyPool, email: &Email) -> Result<Option<(String, OrgId)>, ServerError> {
    Ok(sqlx::query_as("select id, org_id from users where email = $1")
        .bind(email.as_str())
        .fetch_optional(pool)
        .await?)
}

/// The user's password hash, if the user exists.
pub async fn password_hash(pool: &AnyPool, user_id: &str) -> Result<Option<String>, ServerError> {
    Ok(sqlx::query_scalar("select password_hash from users where id = $1").bind(user_id).fetch_optional(pool).await?)
}

/// Who changes a user, as the store re-checks it inside the change's transaction: a signed-in
/// user (acting on themselves, or as a manager on a member), or the operator at the server's
/// command line. `services::members::by` derives it from the use case's actor.
#[derive(Clone, Copy, Debug)]
pub enum By<'a> {
    User { user_id: &'a str, email: &'a str },
    Operator,
}

impl By<'_> {
    /// The name the audit trail shows.
    fn name(&self) -> &str {
        match self {
            By::User { email, .. } => email,
            By::Operator => crate::domain::OPERATOR,
        }
    }
}

/// What [`set_password`] did.
#[derive(Debug)]
pub struct PasswordSet {
    pub email: String,
    /// The user's session epoch afterwards: the one a session kept signed in must carry.
    pub epoch: i64,
    /// How many unexpired sessions of the user ended (the changer's own among them).
    pub sessions_ended: i64,
}

/// Replaces a user's password hash and ends every session of the user, in one transaction with
/// its audit entry. A user changing their own password passes `expected`, the hash their current
/// password was verified against: if another change landed since, nothing is changed (`None`).
/// `None` too when the user does not exist.
pub async fn set_password(
    pool: &AnyPool,
    user_id: &str,
    expected: Option<&str>,
    new_hash: &str,
    by: By<'_>,
) -> Result<Option<PasswordSet>, ServerError> {
    let mut tx = begin_write(pool).await?;
    let row: Option<(String, OrgId, String)> =
        sqlx::query_as("select email, org_id, password_hash from users where id = $1")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((email, org_id, current)) = row else { return Ok(None) };
    let updated = sqlx::query("update users set password_hash = $1 where id = $2 and password_hash = $3")
        .bind(new_hash)
        .bind(user_id)
        .bind(expected.unwrap_or(&current))
        .execute(&mut *tx)
        .await?;
    if updated.rows_affected() == 0 {
        return Ok(None);
    }
    let ended = sessions::end_all(&mut tx, user_id).await?;
    let (action, detail) = match by {
        By::User { user_id: by, .. } if by == user_id => {
            (AuditAction::PasswordChanged, format!("{} other session(s) signed out", (ended.sessions - 1).max(0)))
        }
        _ => (AuditAction::PasswordSet, format!("{} session(s) signed out", ended.sessions)),
    };
    audit::record(&mut tx, &org_id, now(), by.name(), action, &email, &detail).await?;
    tx.commit().await?;
    Ok(Some(PasswordSet { email, epoch: ended.epoch.unwrap_or_default(), sessions_ended: ended.sessions }))
}

/// Ends every session of the signed-in user on every instance ("Sign out everywhere"), with its
/// audit entry. Returns how many sessions ended, the caller's own among them.
pub async fn sign_out_everywhere(pool: &AnyPool, viewer: &Viewer) -> Result<i64, ServerError> {
    let mut tx = begin_write(pool).await?;
    let ended = sessions::end_all(&mut tx, &viewer.user_id).await?;
    let detail = format!("{} session(s) signed out", ended.sessions);
    audit::record(
        &mut tx,
        &viewer.org_id,
        now(),
        &viewer.email,
        AuditAction::SignedOutEverywhere,
        &viewer.email,
        &detail,
    )
    .await?;
    tx.commit().await?;
    Ok(ended.sessions)
}

/// Why a removal was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveRefusal {
    /// No such member in this organization.
    NotFound,
    /// The remover is no longer an owner or admin of the organization.
    NotAManager,
    /// Members do not remove themselves from the settings page.
    Yourself,
    /// An admin cannot remove an owner.
    OwnerByAdmin,
    /// An organization always keeps at least one owner.
    LastOwner,
}

/// What [`remove`] removed.
#[derive(Debug)]
pub struct Removed {
    pub email: String,
    pub role: Role,
    pub sessions_ended: i64,
}

/// Removes a member from the organization: ends all their sessions and deletes the user (their
/// unfinished OAuth flows go with them; API keys and connected accounts belong to the
/// organization and stay), with an audit entry. Every rule is checked inside the transaction,
/// which runs alone among the organization's writes: two owners removing each other at once
/// cannot leave the organization without one.
pub async fn remove(
    pool: &AnyPool,
    org_id: &OrgId,
    target_id: &str,
    by: By<'_>,
) -> Result<Result<Removed, RemoveRefusal>, ServerError> {
    let mut tx = begin_org_write(pool, org_id).await?;
    let role_of = |id: String| {
        sqlx::query_as::<_, (String, String)>("select email, role from users where id = $1 and org_id = $2")
            .bind(id)
            .bind(org_id)
    };
    let remover_role = match by {
        By::User { user_id, .. } => {
            let role = role_of(user_id.to_owned()).fetch_optional(&mut *tx).await?.and_then(|(_, r)| Role::parse(&r));
            match role {
                Some(r) if r.can_manage() => Some(r),
                _ => return Ok(Err(RemoveRefusal::NotAManager)),
            }
        }
        By::Operator => None,
    };
    let Some((email, role)) = role_of(target_id.to_owned()).fetch_optional(&mut *tx).await? else {
        return Ok(Err(RemoveRefusal::NotFound));
    };
    let role = Role::parse(&role).unwrap_or(Role::Member);
    if matches!(by, By::User { user_id, .. } if user_id == target_id) {
        return Ok(Err(RemoveRefusal::Yourself));
    }
    if role == Role::Owner {
        if remover_role.is_some_and(|r| r != Role::Owner) {
            return Ok(Err(RemoveRefusal::OwnerByAdmin));
        }
        let owners: i64 = sqlx::query_scalar("select count(*) from users where org_id = $1 and role = $2")
            .bind(org_id)
            .bind(Role::Owner.as_str())
            .fetch_one(&mut *tx)
            .await?;
        if owners <= 1 {
            return Ok(Err(RemoveRefusal::LastOwner));
        }
    }
    let ended = sessions::end_all(&mut tx, target_id).await?;
    sqlx::query("delete from users where id = $1 and org_id = $2")
        .bind(target_id)
        .bind(org_id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        org_id,
        now(),
        by.name(),
        AuditAction::MemberRemoved,
        &email,
        &format!("{}; {} session(s) signed out", role.label(), ended.sessions),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(Removed { email, role, sessions_ended: ended.sessions }))
}
