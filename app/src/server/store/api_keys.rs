//! API keys (docs/security.md G.35): 256 random bits, shown once, stored only as a SHA-256 hash,
//! revocable with immediate effect.
//!
//! A fast hash is the right one here, unlike for passwords: a key has 256 bits of entropy, so
//! there is nothing for a slow hash to protect against guessing, and every API request looks
//! its key up. The lookup is by the hash's unique index, so no comparison of secrets happens in
//! Perch's code at all.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sqlx::AnyPool;

use crate::domain::{API_KEY_PREFIX, ApiKeyName, ApiKeyView, CreatedKey, OrgId};
use crate::server::infra::db::{begin_org_write, begin_write};
use crate::server::infra::error::ServerError;
use crate::server::infra::ids::new_id;
use crate::server::now;
use crate::server::store::audit::{self, AuditAction};

/// Random bytes in a key.
const KEY_BYTES: usize = 32;
/// `perch_` and the 43 base64url characters of 32 bytes.
pub const KEY_LEN: usize = API_KEY_PREFIX.len() + 43;
/// What the list shows of a key: the prefix and six characters (36 bits, useless to a guesser).
const SHOWN_LEN: usize = API_KEY_PREFIX.len() + 6;
/// An organization's active keys: far more than any integration needs, few enough to list.
pub const MAX_ACTIVE: i64 = 100;
/// A key's last use is recorded at most this often.
const TOUCH_EVERY_SECS: i64 = 60;

/// The hash a key is stored and looked up by.
fn hash(key: &str) -> String {
    crate::server::infra::ids::sha256_hex(key)
}

/// Whether `key` has the shape of a Perch key; anything else is refused without a query.
fn well_formed(key: &str) -> bool {
    key.len() == KEY_LEN
        && key.starts_with(API_KEY_PREFIX)
        && key[API_KEY_PREFIX.len()..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    name: String,
    prefix: String,
    created_by: String,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl From<Row> for ApiKeyView {
    fn from(r: Row) -> Self {
        ApiKeyView {
            id: r.id,
            name: r.name,
            prefix: r.prefix,
            created_by: r.created_by,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
    }
}

/// How the trail names a key.
fn label(name: &str) -> String {
    format!("API key “{name}”")
}

/// Creates a key. `Ok(None)` when the organization already has [`MAX_ACTIVE`] active keys.
pub async fn create(
    pool: &AnyPool,
    org_id: &OrgId,
    name: &ApiKeyName,
    actor: &str,
) -> Result<Option<CreatedKey>, ServerError> {
    let mut bytes = zeroize::Zeroizing::new([0u8; KEY_BYTES]);
    rand::rngs::OsRng.fill_bytes(bytes.as_mut());
    let key = format!("{API_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes.as_ref()));
    let view = ApiKeyView {
        id: new_id("key"),
        name: name.as_str().to_owned(),
        prefix: key[..SHOWN_LEN].to_owned(),
        created_by: actor.to_owned(),
        created_at: now(),
        last_used_at: None,
        revoked_at: None,
    };
    // One creation per organization at a time: two at once could both count 99 active keys.
    let mut tx = begin_org_write(pool, org_id).await?;
    let active: i64 = sqlx::query_scalar("select count(*) from api_keys where org_id = $1 and revoked_at is null")
        .bind(org_id)
        .fetch_one(&mut *tx)
        .await?;
    if active >= MAX_ACTIVE {
        return Ok(None);
    }
    sqlx::query(
        "insert into api_keys (id, org_id, name, prefix, key_hash, created_by, created_at) values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&view.id)
    .bind(org_id)
    .bind(&view.name)
    .bind(&view.prefix)
    .bind(hash(&key))
    .bind(actor)
    .bind(view.created_at)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        org_id,
        view.created_at,
        actor,
        AuditAction::ApiKeyCreated,
        &label(&view.name),
        &format!("{}…", view.prefix),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(CreatedKey { key, view }))
}

/// The organization's keys, newest first.
pub async fn list(pool: &AnyPool, org_id: &OrgId) -> Result<Vec<ApiKeyView>, ServerError> {
    let rows: Vec<Row> = sqlx::query_as(
        "select id, name, prefix, created_by, created_at, last_used_at, revoked_at from api_keys \
         where org_id = $1 order by created_at desc, id",
    )
    .bind(org_id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Revokes a key: the next request with it is refused. `Ok(None)` when the organization has no
/// such key; `Ok(Some(false))` when it was revoked already.
pub async fn revoke(pool: &AnyPool, org_id: &OrgId, key_id: &str, actor: &str) -> Result<Option<bool>, ServerError> {
    let mut tx = begin_write(pool).await?;
    let row: Option<(String, String, Option<i64>)> =
        sqlx::query_as("select name, prefix, revoked_at from api_keys where org_id = $1 and id = $2")
            .bind(org_id)
            .bind(key_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((name, prefix, revoked_at)) = row else { return Ok(None) };
    if revoked_at.is_some() {
        return Ok(Some(false));
    }
    let t = now();
    sqlx::query("update api_keys set revoked_at = $1, revoked_by = $2 where id = $3 and revoked_at is null")
        .bind(t)
        .bind(actor)
        .bind(key_id)
        .execute(&mut *tx)
        .await?;
    audit::record(&mut tx, org_id, t, actor, AuditAction::ApiKeyRevoked, &label(&name), &format!("{prefix}…")).await?;
    tx.commit().await?;
    Ok(Some(true))
}

/// The organization and key behind a request's key.
#[derive(Clone, Debug)]
pub struct KeyHolder {
    pub key_id: String,
    pub org_id: OrgId,
    pub name: String,
}

impl KeyHolder {
    /// How the audit trail names what this key did.
    pub fn actor(&self) -> String {
        label(&self.name)
    }
}

/// The key's holder, or `None` for a key that is malformed, unknown or revoked (the caller
/// answers all three alike). Records the use, at most once a minute.
pub async fn authenticate(pool: &AnyPool, key: &str) -> Result<Option<KeyHolder>, ServerError> {
    if !well_formed(key) {
        return Ok(None);
    }
    let row: Option<(String, OrgId, String, Option<i64>)> = sqlx::query_as(
        "select id, org_id, name, last_used_at from api_keys where key_hash = $1 and revoked_at is null",
    )
    .bind(hash(key))
    .fetch_optional(pool)
    .await?;
    let Some((key_id, org_id, name, last_used_at)) = row else { return Ok(None) };
    let t = now();
    if last_used_at.is_none_or(|u| t - u >= TOUCH_EVERY_SECS) {
        // Conditional, so that of many concurrent first requests one writes.
        sqlx::query(
            "update api_keys set last_used_at = $1 where id = $2 and (last_used_at is null or last_used_at <= $3)",
        )
        .bind(t)
        .bind(&key_id)
        .bind(t - TOUCH_EVERY_SECS)
        .execute(pool)
        .await?;
    }
    Ok(Some(KeyHolder { key_id, org_id, name }))
}

/// The name of an organization's key if it is still active: what a connect link checks when
/// it is used, so that revoking a key also ends the links it handed out.
pub async fn active_name(pool: &AnyPool, org_id: &OrgId, key_id: &str) -> Result<Option<String>, ServerError> {
    Ok(sqlx::query_scalar("select name from api_keys where org_id = $1 and id = $2 and revoked_at is null")
        .bind(org_id)
        .bind(key_id)
        .fetch_optional(pool)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_hashes() {
        let key = format!("{API_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode([7u8; KEY_BYTES]));
        assert_eq!(key.len(), KEY_LEN);
        assert!(well_formed(&key));
        assert!(!well_formed(&key[..KEY_LEN - 1]));
        assert!(!well_formed(&format!("{}!", &key[..KEY_LEN - 1])));
        assert!(!well_formed(&key.replacen("perch_", "pinch_", 1)));
        assert_eq!(hash(&key).len(), 64);
        assert_ne!(hash(&key), hash(&key.replace('H', "I")));
    }
}
