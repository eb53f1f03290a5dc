//! `perch user create | set-password | remove`: the organization's people, by the operator.

use app::domain::{Email, OrgName, Password, Role, UserId};
use app::error::ErrorCode;
use app::server::AppState;
use app::server::services::{actor::Actor, members};
use app::server::store::users::{self, OrgTarget};

use super::{looks_like_org_id, lookup_org, read_secret, refused};
use crate::config::Config;

/// `perch user create`
pub async fn create_user(config: &Config, email: &str, org: &str, role: Option<&str>) -> anyhow::Result<()> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("--email: {}", e.message))?;
    let org_name = OrgName::parse(org).map_err(|e| anyhow::anyhow!("--org: {}", e.message))?;
    let role = role
        .map(|r| Role::parse(r).ok_or_else(|| anyhow::anyhow!("--role: `{r}` is not owner, admin or member")))
        .transpose()?;
    let password =
        Password::parse(read_secret("Password: ")?).map_err(|e| anyhow::anyhow!("password: {}", e.message))?;

    let state = crate::build_state(config).await?;
    let pool = state.db.pool();
    if users::email_taken(pool, &email).await? {
        anyhow::bail!("--email: a user with the email {email} already exists");
    }
    let existing = lookup_org(pool, org).await?;
    if existing.is_none() && looks_like_org_id(org.trim()) {
        anyhow::bail!("--org: there is no organization with the id `{}`", org.trim());
    }
    let role = role.unwrap_or(if existing.is_some() { Role::Member } else { Role::Owner });
    let hash = state.passwords.hash(password).await?;
    let org_target = match &existing {
        Some(o) => OrgTarget::Existing(&o.id),
        None => OrgTarget::New(&org_name),
    };
    let Some(created) = members::create(&state, org_target, &email, &hash, role).await.map_err(refused)? else {
        anyhow::bail!("--email: a user with the email {email} already exists");
    };
    match &existing {
        None => println!("Created organization \"{}\" ({})", org_name.as_str(), created.org_id),
        Some(o) => println!("Using existing organization {o}"),
    }
    println!("Created user {email} ({}) as {}", created.user_id, created.role.as_str());
    state.db.close().await;
    Ok(())
}

/// The user with this email and the operator acting on their organization (`perch user ...`).
async fn operator_on_user(state: &AppState, email: &Email) -> anyhow::Result<(Actor, UserId)> {
    let Some((user_id, org_id)) = users::by_email(state.db.pool(), email).await? else {
        anyhow::bail!("--email: no user has the email {email}");
    };
    let user_id = UserId::parse(&user_id).ok_or_else(|| anyhow::anyhow!("a stored user id is malformed"))?;
    Ok((Actor::Operator { org_id }, user_id))
}

/// `perch user set-password`
pub async fn user_set_password(config: &Config, email: &str) -> anyhow::Result<()> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("--email: {}", e.message))?;
    let password =
        Password::parse(read_secret("New password: ")?).map_err(|e| anyhow::anyhow!("password: {}", e.message))?;
    let state = crate::build_state(config).await?;
    let (operator, user_id) = operator_on_user(&state, &email).await?;
    let hash = state.passwords.hash(password).await?;
    let set = match members::set_password(&state, &operator, &user_id, &hash).await {
        Ok(set) => set,
        Err(e) if e.code == ErrorCode::NotFound => anyhow::bail!("--email: the user {email} was removed meanwhile"),
        Err(e) => return Err(refused(e)),
    };
    println!("Set the password of {}; {} session(s) signed out.", set.email, set.sessions_ended);
    state.db.close().await;
    Ok(())
}

/// `perch user remove`
pub async fn user_remove(config: &Config, email: &str) -> anyhow::Result<()> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("--email: {}", e.message))?;
    let state = crate::build_state(config).await?;
    let (operator, user_id) = operator_on_user(&state, &email).await?;
    let removed = match members::remove(&state, &operator, &user_id).await {
        Ok(r) => r,
        Err(e) if e.code == ErrorCode::NotFound => anyhow::bail!("--email: the user {email} was removed meanwhile"),
        Err(e) if e.code == ErrorCode::Conflict => anyhow::bail!(
            "--email: {email}: {} Create another owner first (perch user create --role owner).",
            e.message
        ),
        Err(e) => return Err(refused(e)),
    };
    println!(
        "Removed {} ({}) from organization {}; {} session(s) signed out.",
        removed.email,
        removed.role.as_str(),
        operator.org_id(),
        removed.sessions_ended
    );
    state.db.close().await;
    Ok(())
}
