//! Organizations (tenants).

use sqlx::AnyPool;

use super::error::ServerError;
use crate::domain::{MemberView, OrgName, OrgSettings, Role};

/// The id of the organization with exactly this name, if one exists (names are not unique;
/// the oldest wins, and the CLI says which it used).
pub async fn id_by_name(pool: &AnyPool, name: &OrgName) -> Result<Option<String>, ServerError> {
    Ok(sqlx::query_scalar("select id from organizations where name = $1 order by created_at, id limit 1")
        .bind(name.as_str())
        .fetch_optional(pool)
        .await?)
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    id: String,
    email: String,
    role: String,
    created_at: i64,
}

pub async fn settings(pool: &AnyPool, org_id: &str) -> Result<Option<OrgSettings>, ServerError> {
    let org: Option<(String, String, i64)> =
        sqlx::query_as("select id, name, created_at from organizations where id = $1")
            .bind(org_id)
            .fetch_optional(pool)
            .await?;
    let Some((id, name, created_at)) = org else { return Ok(None) };
    let members: Vec<MemberRow> =
        sqlx::query_as("select id, email, role, created_at from users where org_id = $1 order by created_at, email")
            .bind(org_id)
            .fetch_all(pool)
            .await?;
    let brand_count: i64 =
        sqlx::query_scalar("select count(*) from brands where org_id = $1").bind(org_id).fetch_one(pool).await?;
    Ok(Some(OrgSettings {
        org_id: id,
        name,
        created_at,
        brand_count,
        members: members
            .into_iter()
            .map(|m| MemberView {
                user_id: m.id,
                email: m.email,
                role: Role::parse(&m.role).unwrap_or(Role::Member),
                created_at: m.created_at,
            })
            .collect(),
    }))
}

pub async fn rename(pool: &AnyPool, org_id: &str, name: &OrgName) -> Result<(), ServerError> {
    sqlx::query("update organizations set name = $1 where id = $2")
        .bind(name.as_str())
        .bind(org_id)
        .execute(pool)
        .await?;
    Ok(())
}
