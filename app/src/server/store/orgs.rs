//! Organizations (tenants).

use sqlx::AnyPool;

use crate::domain::{MemberView, OrgId, OrgName, OrgSettings, Role};
use crate::server::infra::error::ServerError;

/// An organization as someone named it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Named {
    pub id: OrgId,
    pub name: String,
}

impl std::fmt::Display for Named {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\"{}\" ({})", self.name, self.id)
    }
}

/// What a name or an id given for an organization found.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    One(Named),
    None,
    /// A name several organizations share (names are not unique): their ids, oldest first.
    Several(Vec<String>),
}

/// The organization `arg` names, by id, else by exact name. The one rule for every command: a
/// name several organizations share is never resolved to one of them (say the oldest), so that
/// a user or credentials cannot land in the wrong tenant; the caller lists the ids, which always
/// work.
pub async fn find(pool: &AnyPool, arg: &str) -> Result<Found, ServerError> {
    let arg = arg.trim();
    let name = OrgName::parse(arg).map(|n| n.as_str().to_owned()).unwrap_or_default();
    let rows: Vec<(OrgId, String)> =
        sqlx::query_as("select id, name from organizations where id = $1 or name = $2 order by created_at, id")
            .bind(arg)
            .bind(&name)
            .fetch_all(pool)
            .await?;
    if let Some((id, name)) = rows.iter().find(|(id, _)| id.as_str() == arg) {
        return Ok(Found::One(Named { id: id.clone(), name: name.clone() }));
    }
    Ok(match rows.as_slice() {
        [] => Found::None,
        [(id, name)] => Found::One(Named { id: id.clone(), name: name.clone() }),
        many => Found::Several(many.iter().map(|(id, _)| id.to_string()).collect()),
    })
}

/// Every organization, oldest first.
pub async fn all(pool: &AnyPool) -> Result<Vec<Named>, ServerError> {
    let rows: Vec<(OrgId, String)> =
        sqlx::query_as("select id, name from organizations order by created_at, id").fetch_all(pool).await?;
    Ok(rows.into_iter().map(|(id, name)| Named { id, name }).collect())
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    id: String,
    email: String,
    role: String,
    created_at: i64,
}

pub async fn settings(pool: &AnyPool, org_id: &OrgId) -> Result<Option<OrgSettings>, ServerError> {
    // The organization with its brand count, and its members: two queries in flight together.
    let org = sqlx::query_as::<_, (String, String, i64, i64)>(
        "select o.id, o.name, o.created_at, (select count(*) from brands b where b.org_id = o.id)
         from organizations o where o.id = $1",
    )
    .bind(org_id)
    .fetch_optional(pool);
    let members = sqlx::query_as::<_, MemberRow>(
        "select id, email, role, created_at from users where org_id = $1 order by created_at, email",
    )
    .bind(org_id)
    .fetch_all(pool);
    let (org, members) = tokio::try_join!(org, members)?;
    let Some((id, name, created_at, brand_count)) = org else { return Ok(None) };
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

pub async fn rename(pool: &AnyPool, org_id: &OrgId, name: &OrgName) -> Result<(), ServerError> {
    sqlx::query("update organizations set name = $1 where id = $2")
        .bind(name.as_str())
        .bind(org_id)
        .execute(pool)
        .await?;
    Ok(())
}
