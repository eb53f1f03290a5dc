//! Bring-your-own X app credentials at rest: one default per organization and at most one
//! override per brand (unique partial indexes on both databases), each Client ID and Client
//! Secret a vault blob bound to its organization, record and field. Only the Client ID's first
//! six characters are stored in plaintext (docs/security.md A, B).
//!
//! Every write runs in one transaction with its audit event, so a crash leaves the old state or
//! the new one with its trail (H.37).

use sqlx::{Any, AnyPool, Transaction};

use crate::domain::{
    ClientId, ClientSecret, CredentialView, LastTest, OrgId, SaveChange, SaveOutcome, Target, TestResult,
};
use crate::server::infra::db::begin_org_write;
use crate::server::infra::error::ServerError;
use crate::server::infra::ids::new_id;
use crate::server::infra::vault::{Aad, KeyRing};
use crate::server::now;
use crate::server::store::audit::{self, AuditAction};

/// The vault fields of a credential row.
pub const FIELD_CLIENT_ID: &str = "client_id";
pub const FIELD_CLIENT_SECRET: &str = "client_secret";

/// A brand's override (`Some`) or the organization default (`None`), inside this module's SQL.
type BrandFilter<'a> = Option<&'a str>;

/// Credentials ready to talk to X with, for the connect flow: the brand's own, else the
/// default (see [`resolve`]).
#[derive(Debug, Clone)]
pub struct Resolved {
    pub credential_id: String,
    /// The brand whose override this is, or `None` when it is the organization default.
    pub brand_id: Option<String>,
    pub client_id: ClientId,
    pub client_secret: ClientSecret,
    pub generation: i64,
}

/// Where the app of a brand's accounts comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppSource {
    /// The brand's own override.
    Own,
    /// The organization default (for a brand without one of its own, or for the default itself).
    Default,
}

/// Something saved for a target: what [`applying`] chooses among.
pub trait Saved {
    /// The brand of an override; `None` for the organization default.
    fn brand(&self) -> Option<&str>;
}

/// The one rule of which app applies: among what an organization saved, the brand's own app,
/// else the organization default; `None` when neither exists. `brand_id` is `None` for the
/// default's own card. Connecting, the accounts page and the public API all choose with this.
pub fn applying<'a, S: Saved>(saved: &'a [S], brand_id: Option<&str>) -> Option<(&'a S, AppSource)> {
    let own = brand_id.and_then(|b| saved.iter().find(|c| c.brand() == Some(b)));
    match own {
        Some(c) => Some((c, AppSource::Own)),
        None => saved.iter().find(|c| c.brand().is_none()).map(|c| (c, AppSource::Default)),
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    brand_id: Option<String>,
    client_id_preview: String,
    generation: i64,
    created_at: i64,
    updated_at: i64,
    updated_by: String,
    last_test_result: Option<String>,
    last_tested_at: Option<i64>,
    credits_depleted_at: Option<i64>,
    /// The blobs' headers (version and key id), to tell a key this server lacks without
    /// opening anything.
    client_id_head: Vec<u8>,
    client_secret_head: Vec<u8>,
}

const COLUMNS: &str = "id, brand_id, client_id_preview, generation, created_at, updated_at, updated_by, last_test_result, \
    last_tested_at, credits_depleted_at, substr(client_id_enc, 1, 5) as client_id_head, substr(client_secret_enc, 1, 5) as client_secret_head";

impl Row {
    fn into_view(self, vault: &KeyRing) -> CredentialView {
        let last_test = match (self.last_test_result.as_deref().and_then(TestResult::parse), self.last_tested_at) {
            (Some(result), Some(at)) => Some(LastTest { result, at }),
            _ => None,
        };
        let sealed_with_missing_key =
            vault.missing_key(&self.client_id_head).or_else(|| vault.missing_key(&self.client_secret_head));
        CredentialView {
            id: self.id,
            brand_id: self.brand_id,
            client_id_preview: self.client_id_preview,
            has_secret: true,
            generation: self.generation,
            created_at: self.created_at,
            updated_at: self.updated_at,
            updated_by: self.updated_by,
            last_test,
            sealed_with_missing_key,
            credits_depleted_at: self.credits_depleted_at,
        }
    }
}

/// Records what X said about the pay-per-use credits of the developer account that owns these
/// credentials' app: spent (its 402, from now) or not (a call through the app succeeded). Only a
/// change is written (and logged): the first 402 keeps its time.
pub async fn note_credits(
    pool: &AnyPool,
    org_id: &OrgId,
    credential_id: &str,
    depleted: bool,
) -> Result<(), ServerError> {
    let query = if depleted {
        sqlx::query(
            "update twitter_credentials set credits_depleted_at = $3 \
             where org_id = $1 and id = $2 and credits_depleted_at is null",
        )
        .bind(org_id)
        .bind(credential_id)
        .bind(now())
    } else {
        sqlx::query(
            "update twitter_credentials set credits_depleted_at = null \
             where org_id = $1 and id = $2 and credits_depleted_at is not null",
        )
        .bind(org_id)
        .bind(credential_id)
    };
    if query.execute(pool).await?.rows_affected() > 0 {
        if depleted {
            tracing::warn!(org_id = %org_id, credential_id, "X says the app's pay-per-use credits are spent");
        } else {
            tracing::info!(org_id = %org_id, credential_id, "X answered through the app again: credits no longer spent");
        }
    }
    Ok(())
}

/// `brand_id is null` or `brand_id = $n`: the one place the target becomes SQL.
fn target_clause(target: BrandFilter<'_>, n: usize) -> String {
    match target {
        None => "brand_id is null".to_owned(),
        Some(_) => format!("brand_id = ${n}"),
    }
}

/// The organization's default and every override, default first. Each says whether it was
/// sealed with a master key `vault` lacks (issue 11), so the page and `perch credentials list`
/// can tell the operator instead of failing when the secret is needed.
pub async fn list(pool: &AnyPool, vault: &KeyRing, org_id: &OrgId) -> Result<Vec<CredentialView>, ServerError> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "select {COLUMNS} from twitter_credentials where org_id = $1 order by brand_id is not null, created_at, id"
    ))
    .bind(org_id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| r.into_view(vault)).collect())
}

pub async fn get(
    pool: &AnyPool,
    vault: &KeyRing,
    org_id: &OrgId,
    target: &Target,
) -> Result<Option<CredentialView>, ServerError> {
    let target = target.brand_id();
    let sql = format!("select {COLUMNS} from twitter_credentials where org_id = $1 and {}", target_clause(target, 2));
    let mut q = sqlx::query_as::<_, Row>(&sql).bind(org_id);
    if let Some(b) = target {
        q = q.bind(b);
    }
    Ok(q.fetch_optional(pool).await?.map(|r| r.into_view(vault)))
}

#[derive(sqlx::FromRow)]
struct SealedRow {
    id: String,
    brand_id: Option<String>,
    client_id_enc: Vec<u8>,
    client_secret_enc: Vec<u8>,
    generation: i64,
}

impl Saved for SealedRow {
    fn brand(&self) -> Option<&str> {
        self.brand_id.as_deref()
    }
}

impl SealedRow {
    fn open(self, vault: &KeyRing, org_id: &OrgId) -> Result<Resolved, ServerError> {
        let place = |field| Aad { org_id, record_id: &self.id, field };
        let id = vault.decrypt_string(&self.client_id_enc, &place(FIELD_CLIENT_ID))?;
        let secret = vault.decrypt_string(&self.client_secret_enc, &place(FIELD_CLIENT_SECRET))?;
        use secrecy::ExposeSecret as _;
        // What was stored passed these checks when saved; a failure now means the data changed.
        let client_id = ClientId::parse(id.expose_secret())
            .map_err(|_| ServerError::Other("a stored Client ID no longer parses".into()))?;
        let client_secret = ClientSecret::parse(secret.expose_secret())
            .map_err(|_| ServerError::Other("a stored Client Secret no longer parses".into()))?;
        Ok(Resolved {
            credential_id: self.id,
            brand_id: self.brand_id,
            client_id,
            client_secret,
            generation: self.generation,
        })
    }
}

async fn sealed(
    tx: &mut Transaction<'_, Any>,
    org_id: &OrgId,
    target: BrandFilter<'_>,
) -> Result<Option<SealedRow>, ServerError> {
    let sql = format!(
        "select id, brand_id, client_id_enc, client_secret_enc, generation from twitter_credentials where org_id = $1 and {}",
        target_clause(target, 2)
    );
    let mut q = sqlx::query_as::<_, SealedRow>(&sql).bind(org_id);
    if let Some(b) = target {
        q = q.bind(b);
    }
    Ok(q.fetch_optional(&mut **tx).await?)
}

/// The credentials a connection for `brand_id` uses ([`applying`]): the brand's override if it
/// has one, else the organization default; `None` when neither exists.
pub async fn resolve(
    pool: &AnyPool,
    vault: &KeyRing,
    org_id: &OrgId,
    brand_id: Option<&str>,
) -> Result<Option<Resolved>, ServerError> {
    let mut tx = pool.begin().await?;
    let mut rows = Vec::with_capacity(2);
    if let Some(b) = brand_id {
        rows.extend(sealed(&mut tx, org_id, Some(b)).await?);
    }
    rows.extend(sealed(&mut tx, org_id, None).await?);
    tx.commit().await?;
    let chosen = applying(&rows, brand_id).map(|(row, _)| row.id.clone());
    rows.into_iter().find(|r| Some(&r.id) == chosen.as_ref()).map(|r| r.open(vault, org_id)).transpose()
}

/// The credentials record `credential_id` of the organization, opened: what refreshes and
/// revokes the tokens it issued. `None` once it was replaced by another app or removed.
pub async fn open_by_id(
    pool: &AnyPool,
    vault: &KeyRing,
    org_id: &OrgId,
    credential_id: &str,
) -> Result<Option<Resolved>, ServerError> {
    let row: Option<SealedRow> = sqlx::query_as(
        "select id, brand_id, client_id_enc, client_secret_enc, generation from twitter_credentials where org_id = $1 and id = $2",
    )
    .bind(org_id)
    .bind(credential_id)
    .fetch_optional(pool)
    .await?;
    row.map(|r| r.open(vault, org_id)).transpose()
}

/// What is saved, without opening anything: enough to tell which app a card uses and which
/// accounts' tokens are stale.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Summary {
    pub id: String,
    pub brand_id: Option<String>,
    pub generation: i64,
    pub client_id_preview: String,
}

impl Saved for Summary {
    fn brand(&self) -> Option<&str> {
        self.brand_id.as_deref()
    }
}

/// Every credentials record of the organization.
pub async fn summaries(pool: &AnyPool, org_id: &OrgId) -> Result<Vec<Summary>, ServerError> {
    Ok(sqlx::query_as("select id, brand_id, generation, client_id_preview from twitter_credentials where org_id = $1")
        .bind(org_id)
        .fetch_all(pool)
        .await?)
}

/// How a change is recorded: in which organization, by whom (`updated_by` and the audit trail),
/// and how the trail names the target.
pub struct Trail<'a> {
    pub org_id: &'a OrgId,
    pub by: &'a str,
    /// How the target is named in the trail: "Organization default" or "Brand “Acme”".
    pub target_label: &'a str,
}

/// Saves credentials for `target`, telling a first save, a rotation (same Client ID, new
/// secret: the generation goes up), a new app (another Client ID: a new record, so accounts of
/// the old app can be told apart) and a repeat apart. `tested` is a test of exactly this pair
/// made just before. A brand of another organization fails the foreign key: the caller checks
/// the brand first.
pub async fn save(
    pool: &AnyPool,
    vault: &KeyRing,
    actor: &Trail<'_>,
    target: &Target,
    client_id: &ClientId,
    secret: &ClientSecret,
    tested: Option<LastTest>,
) -> Result<SaveOutcome, ServerError> {
    let typed = target;
    let target = target.brand_id();
    let org_id = actor.org_id;
    let t = now();
    let mut tx = begin_org_write(pool, org_id).await?;
    let existing = sealed(&mut tx, org_id, target).await?;
    let (change, id, generation) = match existing {
        None => (SaveChange::Created, new_id("xcr"), 1),
        Some(row) => {
            let id = row.id.clone();
            let generation = row.generation;
            let current = row.open(vault, org_id)?;
            if current.client_id != *client_id {
                sqlx::query("delete from twitter_credentials where id = $1").bind(&id).execute(&mut *tx).await?;
                (SaveChange::AppReplaced, new_id("xcr"), 1)
            } else if current.client_secret != *secret {
                (SaveChange::SecretRotated, id, generation + 1)
            } else {
                (SaveChange::Unchanged, id, generation)
            }
        }
    };
    let place = |field| Aad { org_id, record_id: &id, field };
    let id_blob = vault.encrypt_str(client_id.as_str(), &place(FIELD_CLIENT_ID));
    let secret_blob = vault.encrypt_str(secret.expose(), &place(FIELD_CLIENT_SECRET));
    let (test_result, tested_at) = (tested.map(|t| t.result.as_str()), tested.map(|t| t.at));
    match change {
        SaveChange::Created | SaveChange::AppReplaced => {
            sqlx::query(
                "insert into twitter_credentials (id, org_id, brand_id, client_id_preview, client_id_enc, client_secret_enc, \
                 generation, created_at, updated_at, updated_by, last_test_result, last_tested_at) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11)",
            )
            .bind(&id)
            .bind(org_id)
            .bind(target)
            .bind(client_id.preview())
            .bind(id_blob)
            .bind(secret_blob)
            .bind(generation)
            .bind(t)
            .bind(actor.by)
            .bind(test_result)
            .bind(tested_at)
            .execute(&mut *tx)
            .await?;
        }
        SaveChange::SecretRotated | SaveChange::Unchanged => {
            // A repeat keeps an earlier test result unless a new one came with it.
            sqlx::query(
                "update twitter_credentials set client_id_enc = $1, client_secret_enc = $2, generation = $3, updated_at = $4, \
                 updated_by = $5, last_test_result = case when $6 then $7 else last_test_result end, \
                 last_tested_at = case when $6 then $8 else last_tested_at end where id = $9",
            )
            .bind(id_blob)
            .bind(secret_blob)
            .bind(generation)
            .bind(t)
            .bind(actor.by)
            .bind(tested.is_some() || change == SaveChange::SecretRotated)
            .bind(test_result)
            .bind(tested_at)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        }
    }
    let action = match change {
        SaveChange::Created => AuditAction::CredentialsSaved,
        SaveChange::SecretRotated => AuditAction::SecretRotated,
        SaveChange::AppReplaced => AuditAction::AppReplaced,
        SaveChange::Unchanged => AuditAction::CredentialsSavedAgain,
    };
    let mut detail = format!("Client ID {}…", client_id.preview());
    if change == SaveChange::SecretRotated {
        detail.push_str(&format!(", secret generation {generation}"));
    }
    detail.push_str(&match tested {
        Some(t) => format!(", tested: {}", t.result.label()),
        None => ", not tested".to_owned(),
    });
    audit::record(&mut tx, org_id, t, actor.by, action, actor.target_label, &detail).await?;
    tx.commit().await?;
    let credential = get(pool, vault, org_id, typed)
        .await?
        .ok_or_else(|| ServerError::Other("saved credentials vanished".into()))?;
    Ok(SaveOutcome { change, credential, accounts_to_reconnect: Vec::new() })
}

/// Records a test in the trail and, when `client_id` and `secret` are exactly the pair saved for
/// `target`, as that pair's last test.
pub async fn record_test(
    pool: &AnyPool,
    vault: &KeyRing,
    actor: &Trail<'_>,
    target: &Target,
    client_id: &ClientId,
    secret: &ClientSecret,
    result: LastTest,
) -> Result<(), ServerError> {
    let target = target.brand_id();
    let org_id = actor.org_id;
    let mut tx = begin_org_write(pool, org_id).await?;
    let mut of_saved = false;
    if let Some(row) = sealed(&mut tx, org_id, target).await? {
        let id = row.id.clone();
        let current = row.open(vault, org_id)?;
        if current.client_id == *client_id && current.client_secret == *secret {
            of_saved = true;
            sqlx::query("update twitter_credentials set last_test_result = $1, last_tested_at = $2 where id = $3")
                .bind(result.result.as_str())
                .bind(result.at)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
        }
    }
    let detail = format!(
        "Client ID {}…{}: {}",
        client_id.preview(),
        if of_saved { " (the saved pair)" } else { "" },
        result.result.label()
    );
    audit::record(&mut tx, org_id, result.at, actor.by, AuditAction::CredentialsTested, actor.target_label, &detail)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Removes the credentials of `target`; `Ok(None)` when there were none. Returns the removed
/// credentials' preview.
pub async fn remove(pool: &AnyPool, actor: &Trail<'_>, target: &Target) -> Result<Option<String>, ServerError> {
    let target = target.brand_id();
    let org_id = actor.org_id;
    let mut tx = begin_org_write(pool, org_id).await?;
    let sql =
        format!("select client_id_preview from twitter_credentials where org_id = $1 and {}", target_clause(target, 2));
    let mut q = sqlx::query_scalar::<_, String>(&sql).bind(org_id);
    if let Some(b) = target {
        q = q.bind(b);
    }
    let Some(preview) = q.fetch_optional(&mut *tx).await? else {
        return Ok(None);
    };
    let sql = format!("delete from twitter_credentials where org_id = $1 and {}", target_clause(target, 2));
    let mut q = sqlx::query(&sql).bind(org_id);
    if let Some(b) = target {
        q = q.bind(b);
    }
    q.execute(&mut *tx).await?;
    let detail = format!("Client ID {preview}…");
    audit::record(&mut tx, org_id, now(), actor.by, AuditAction::CredentialsRemoved, actor.target_label, &detail)
        .await?;
    tx.commit().await?;
    Ok(Some(preview))
}

/// Every vault blob in this table, for `perch keys rewrap`: re-encrypts under the newest key
/// those sealed with an older one, one row per transaction. Returns (rewrapped, already current).
pub async fn rewrap_all(pool: &AnyPool, vault: &KeyRing) -> Result<(u64, u64), ServerError> {
    let rows: Vec<(String, String, Vec<u8>, Vec<u8>)> =
        sqlx::query_as("select id, org_id, client_id_enc, client_secret_enc from twitter_credentials order by id")
            .fetch_all(pool)
            .await?;
    let (mut moved, mut current) = (0, 0);
    for (id, org_id, id_blob, secret_blob) in rows {
        if !vault.needs_rewrap(&id_blob) && !vault.needs_rewrap(&secret_blob) {
            current += 1;
            continue;
        }
        let place = |field| Aad { org_id: &org_id, record_id: &id, field };
        let id_blob2 = vault.rewrap(&id_blob, &place(FIELD_CLIENT_ID))?;
        let secret_blob2 = vault.rewrap(&secret_blob, &place(FIELD_CLIENT_SECRET))?;
        // Only if the row still holds what was read: a save in between wins.
        let done = sqlx::query(
            "update twitter_credentials set client_id_enc = $1, client_secret_enc = $2 \
             where id = $3 and client_id_enc = $4 and client_secret_enc = $5",
        )
        .bind(id_blob2)
        .bind(secret_blob2)
        .bind(&id)
        .bind(id_blob)
        .bind(secret_blob)
        .execute(pool)
        .await?;
        moved += done.rows_affected();
    }
    Ok((moved, current))
}
