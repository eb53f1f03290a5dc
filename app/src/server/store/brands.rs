//! Brands: an organization's clients (an agency's brands). Every query is scoped by `org_id`,
//! so an id from another organization behaves exactly like an id that does not exist.

use sqlx::{Any, AnyPool, Executor};

use crate::domain::{BrandName, BrandView, OrgId};
use crate::server::infra::error::ServerError;
use crate::server::infra::ids::new_id;
use crate::server::now;

#[derive(sqlx::FromRow)]
struct BrandRow {
    id: String,
    name: String,
    created_at: i64,
    updated_at: i64,
}

impl From<BrandRow> for BrandView {
    fn from(r: BrandRow) -> Self {
        BrandView { id: r.id, name: r.name, created_at: r.created_at, updated_at: r.updated_at }
    }
}

pub async fn list(pool: &AnyPool, org_id: &OrgId) -> Result<Vec<BrandView>, ServerError> {
    let rows: Vec<BrandRow> =
        sqlx::query_as("select id, name, created_at, updated_at from brands where org_id = $1 order by name_key, id")
            .bind(org_id)
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// The brand `arg` names within the organization: by id, else by name, ignoring case as brand
/// names are unique that way.
pub async fn find(pool: &AnyPool, org_id: &OrgId, arg: &str) -> Result<Option<BrandView>, ServerError> {
    let arg = arg.trim();
    let key = BrandName::parse(arg).ok().map(|n| n.key());
    let all = list(pool, org_id).await?;
    let by_name = |b: &&BrandView| key.is_some() && BrandName::parse(&b.name).ok().map(|n| n.key()) == key;
    Ok(all.iter().find(|b| b.id == arg).or_else(|| all.iter().find(by_name)).cloned())
}

/// How the audit trail names a card or a credentials target: "Organization default" or, for the
/// brand of this name, "Brand “Acme”".
pub fn label(brand_name: Option<&str>) -> String {
    match brand_name {
        None => "Organization default".to_owned(),
        Some(n) => format!("Brand “{n}”"),
    }
}

/// The [`label`] of the organization default (`None`) or of a brand; `None` when the brand is
/// not the organization's.
pub async fn trail_label<'e, E: Executor<'e, Database = Any>>(
    exec: E,
    org_id: &OrgId,
    brand_id: Option<&str>,
) -> Result<Option<String>, ServerError> {
    let Some(b) = brand_id else { return Ok(Some(label(None))) };
    let name: Option<String> = sqlx::query_scalar("select name from brands where org_id = $1 and id = $2")
        .bind(org_id)
        .bind(b)
        .fetch_optional(exec)
        .await?;
    Ok(name.map(|n| label(Some(&n))))
}

pub async fn get(pool: &AnyPool, org_id: &OrgId, id: &str) -> Result<Option<BrandView>, ServerError> {
    let row: Option<BrandRow> =
        sqlx::query_as("select id, name, created_at, updated_at from brands where org_id = $1 and id = $2")
            .bind(org_id)
            .bind(id)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(Into::into))
}

/// Creates a brand. A name already used in the organization (ignoring case) is a unique
/// violation, which the caller turns into a message.
pub async fn create(pool: &AnyPool, org_id: &OrgId, name: &BrandName) -> Result<BrandView, ServerError> {
    let t = now();
    let id = new_id("brd");
    sqlx::query(
        "insert into brands (id, org_id, name, name_key, created_at, updated_at) values ($1, $2, $3, $4, $5, $5)",
    )
    .bind(&id)
    .bind(org_id)
    .bind(name.as_str())
    .bind(name.key())
    .bind(t)
    .execute(pool)
    .await?;
    Ok(BrandView { id, name: name.as_str().to_owned(), created_at: t, updated_at: t })
}

/// Renames a brand; `Ok(false)` when there is no such brand in the organization.
pub async fn rename(pool: &AnyPool, org_id: &OrgId, id: &str, name: &BrandName) -> Result<bool, ServerError> {
    let done = sqlx::query("update brands set name = $1, name_key = $2, updated_at = $3 where org_id = $4 and id = $5")
        .bind(name.as_str())
        .bind(name.key())
        .bind(now())
        .bind(org_id)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a brand; `Ok(false)` when there is no such brand in the organization.
pub async fn delete(pool: &AnyPool, org_id: &OrgId, id: &str) -> Result<bool, ServerError> {
    let done =
        sqlx::query("delete from brands where org_id = $1 and id = $2").bind(org_id).bind(id).execute(pool).await?;
    Ok(done.rows_affected() == 1)
}
