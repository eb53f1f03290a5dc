//! Users and their organizations.

use sqlx::AnyPool;

use super::db::begin_write;
use super::error::ServerError;
use super::ids::new_id;
use super::now;
use crate::domain::{Email, OrgName, Role, Viewer};

#[derive(sqlx::FromRow)]
pub struct Credentials {
    pub id: String,
    pub password_hash: String,
}

/// The id and password hash of the user with this email, if any.
pub async fn credentials_by_email(pool: &AnyPool, email: &Email) -> Result<Option<Credentials>, ServerError> {
    Ok(sqlx::query_as("select id, password_hash from users where email = $1")
        .bind(email.as_str())
        .fetch_optional(pool)
        .await?)
}

#[derive(sqlx::FromRow)]
struct ViewerRow {
    user_id: String,
    email: String,
    role: String,
    org_id: String,
    org_name: String,
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
    Ok(row.map(|r| Viewer {
        user_id: r.user_id,
        email: r.email,
        role: Role::parse(&r.role).unwrap_or(Role::Member),
        org_id: r.org_id,
        org_name: r.org_name,
    }))
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
    let n: i64 = sqlx::query_scalar("select count(*) from users where email = $1")
        .bind(email.as_str())
        .fetch_one(pool)
        .await?;
    Ok(n > 0)
}
