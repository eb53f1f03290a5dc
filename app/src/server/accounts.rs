//! Connected X accounts: their profile, their tokens (vault blobs bound to the account, docs/security.md
//! A.1, A.3), which credentials issued them, and their state.
//!
//! [`usable`] is the one door to an account's access token: every call Perch makes to X on an
//! account's behalf goes through it. It finds accounts whose tokens were issued under credentials
//! that have since changed (a rotated secret, another app, removed credentials) and marks them
//! **needs reconnection**, and it refreshes an expired access token under a database lease so that
//! one refresh per account is in flight across every instance (F.30), storing the new refresh
//! token in the same statement as the new access token. A refresh X refuses marks the account
//! (F.31); a network error or an X outage does not. A 401 for a token older than the stored one
//! means another request already refreshed: the stored token is used, nothing is refreshed
//! twice. The lease's times come from the database's clock, never an instance's own.

use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use sqlx::AnyPool;

use super::audit;
use super::credentials;
use super::db::{Db, SQLITE_BUSY_TIMEOUT, begin_org_write, begin_write};
use super::error::ServerError;
use super::ids::new_id;
use super::vault::{Aad, KeyRing};
use super::x_client::{TIMEOUT as X_TIMEOUT, TokenError, Tokens, XUser};
use super::{AppState, now};
use crate::domain::{AccountToReconnect, AccountView, ReconnectMark, ReconnectReason, missing_scopes};

pub const FIELD_ACCESS: &str = "access_token";
pub const FIELD_REFRESH: &str = "refresh_token";
/// An access token this close to its expiry is refreshed before use.
const EXPIRY_MARGIN_SECS: i64 = 60;
/// How many times X's new tokens are written before giving up, and the first pause between
/// tries (doubling each time).
const STORE_ATTEMPTS: u32 = 6;
const STORE_BACKOFF: Duration = Duration::from_millis(100);
/// How long a refresh lease lasts, by the database's clock: longer than everything its holder
/// can spend while alive (the write marking the send, X's timeout, every try of the final
/// write with their pauses, each write waiting out SQLite's busy timeout), so that a live holder
/// never loses it; a crashed holder's lease lapses after this.
pub const LEASE_SECS: i64 = {
    let busy = SQLITE_BUSY_TIMEOUT.as_secs() as i64;
    let pauses = (STORE_BACKOFF.as_millis() as i64 * ((1 << STORE_ATTEMPTS) - 1) + 999) / 1000;
    busy + X_TIMEOUT.as_secs() as i64 + STORE_ATTEMPTS as i64 * busy + pauses + 30
};
/// How long a caller waits for another request's refresh before answering that X is busy.
const LEASE_WAIT: Duration = Duration::from_secs(25);
/// How often a waiting caller looks at the lease.
const LEASE_POLL: Duration = Duration::from_millis(50);
/// The actor named in the audit trail for what Perch found on its own.
const PERCH: &str = "Perch";

const VIEW_COLUMNS: &str = "a.id, a.brand_id, a.x_user_id, a.username, a.name, a.profile_image_url, a.credential_id, \
     a.credential_generation, a.client_id_preview, a.scopes, a.status, a.status_reason, a.status_at, a.connected_at, a.updated_at";

#[derive(sqlx::FromRow)]
struct ViewRow {
    id: String,
    brand_id: Option<String>,
    x_user_id: String,
    username: String,
    name: String,
    profile_image_url: Option<String>,
    credential_id: String,
    credential_generation: i64,
    client_id_preview: String,
    scopes: String,
    status: String,
    status_reason: Option<String>,
    status_at: Option<i64>,
    connected_at: i64,
    updated_at: i64,
}

/// Only X's image host: anything else would let a profile URL make the browser call elsewhere.
fn safe_avatar(url: Option<String>) -> Option<String> {
    url.filter(|u| u.starts_with("https://pbs.twimg.com/") && u.len() <= 500 && !u.contains(['"', '\'', '<', '>', ' ']))
}

fn split_scopes(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

/// What the organization's credentials are now, to tell which accounts' tokens are stale.
struct CredentialsNow(Vec<credentials::Summary>);

impl CredentialsNow {
    async fn load(pool: &AnyPool, org_id: &str) -> Result<Self, ServerError> {
        Ok(Self(credentials::summaries(pool, org_id).await?))
    }

    /// Why the tokens of an account issued by (`credential_id`, `generation`) no longer work
    /// with what is saved, if they do not.
    fn staleness(&self, brand_id: Option<&str>, credential_id: &str, generation: i64) -> Option<ReconnectReason> {
        match self.0.iter().find(|c| c.id == credential_id) {
            Some(c) if c.generation > generation => Some(ReconnectReason::SecretRotated),
            Some(_) => None,
            None => {
                let applies = self
                    .0
                    .iter()
                    .any(|c| c.brand_id.is_none() || (brand_id.is_some() && c.brand_id.as_deref() == brand_id));
                Some(if applies { ReconnectReason::AppReplaced } else { ReconnectReason::CredentialsRemoved })
            }
        }
    }
}

impl ViewRow {
    fn into_view(self, now_creds: &CredentialsNow) -> AccountView {
        let scopes = split_scopes(&self.scopes);
        let needs_reconnection = (self.status == "needs_reconnection").then(|| ReconnectMark {
            reason: self
                .status_reason
                .as_deref()
                .and_then(ReconnectReason::parse)
                .unwrap_or(ReconnectReason::TokenRejected),
            at: self.status_at.unwrap_or(self.updated_at),
        });
        let will_need_reconnection = if needs_reconnection.is_none() {
            now_creds.staleness(self.brand_id.as_deref(), &self.credential_id, self.credential_generation)
        } else {
            None
        };
        AccountView {
            id: self.id,
            brand_id: self.brand_id,
            x_user_id: self.x_user_id,
            username: self.username,
            name: self.name,
            avatar_url: safe_avatar(self.profile_image_url),
            client_id_preview: self.client_id_preview,
            connected_at: self.connected_at,
            updated_at: self.updated_at,
            missing_scopes: missing_scopes(&scopes),
            scopes,
            needs_reconnection,
            will_need_reconnection,
        }
    }
}

/// Every account of the organization, oldest first.
pub async fn list(pool: &AnyPool, org_id: &str) -> Result<Vec<AccountView>, ServerError> {
    let rows: Vec<ViewRow> = sqlx::query_as(&format!(
        "select {VIEW_COLUMNS} from twitter_accounts a where a.org_id = $1 order by a.connected_at, a.id"
    ))
    .bind(org_id)
    .fetch_all(pool)
    .await?;
    let now_creds = CredentialsNow::load(pool, org_id).await?;
    Ok(rows.into_iter().map(|r| r.into_view(&now_creds)).collect())
}

pub async fn get(pool: &AnyPool, org_id: &str, account_id: &str) -> Result<Option<AccountView>, ServerError> {
    let row: Option<ViewRow> =
        sqlx::query_as(&format!("select {VIEW_COLUMNS} from twitter_accounts a where a.org_id = $1 and a.id = $2"))
            .bind(org_id)
            .bind(account_id)
            .fetch_optional(pool)
            .await?;
    let now_creds = CredentialsNow::load(pool, org_id).await?;
    Ok(row.map(|r| r.into_view(&now_creds)))
}

/// The accounts that need reconnecting, or will on their next API call, with the card each is
/// on: what the settings page lists right after a save.
pub async fn to_reconnect(pool: &AnyPool, org_id: &str) -> Result<Vec<AccountToReconnect>, ServerError> {
    let brands = super::brands::list(pool, org_id).await?;
    Ok(list(pool, org_id)
        .await?
        .into_iter()
        .filter(|a| a.needs_reconnection.is_some() || a.will_need_reconnection.is_some())
        .map(|a| AccountToReconnect {
            card: match &a.brand_id {
                None => "Organization default".to_owned(),
                Some(b) => brands.iter().find(|x| x.id == *b).map(|x| x.name.clone()).unwrap_or_default(),
            },
            id: a.id,
            username: a.username,
            brand_id: a.brand_id,
        })
        .collect())
}

/// A successful connect, to be stored.
pub struct Connection<'a> {
    pub org_id: &'a str,
    pub brand_id: Option<&'a str>,
    pub user: &'a XUser,
    pub tokens: &'a Tokens,
    pub credential_id: &'a str,
    pub credential_generation: i64,
    pub client_id_preview: &'a str,
    /// Who connected it, and the card's name, for the audit trail.
    pub actor: &'a str,
    pub card_label: &'a str,
}

/// What storing a connection did.
pub struct Stored {
    pub account_id: String,
    /// The account existed on this card already: its tokens and profile were replaced.
    pub reconnected: bool,
}

/// Stores a connected account: a new row, or, when this X account is already on this card, the
/// same row with new tokens, profile and credentials and its mark cleared (never a duplicate).
pub async fn store(pool: &AnyPool, vault: &KeyRing, c: Connection<'_>) -> Result<Stored, ServerError> {
    let t = now();
    // One write per organization at a time, so two callbacks for one X account cannot both insert.
    let mut tx = begin_org_write(pool, c.org_id).await?;
    let target = match c.brand_id {
        None => "brand_id is null",
        Some(_) => "brand_id = $3",
    };
    let sql = format!("select id from twitter_accounts where org_id = $1 and x_user_id = $2 and {target}");
    let mut q = sqlx::query_scalar::<_, String>(&sql).bind(c.org_id).bind(&c.user.id);
    if let Some(b) = c.brand_id {
        q = q.bind(b);
    }
    let existing = q.fetch_optional(&mut *tx).await?;
    let reconnected = existing.is_some();
    let id = existing.unwrap_or_else(|| new_id("xac"));
    let place = |field| Aad { org_id: c.org_id, record_id: &id, field };
    let access = vault.encrypt_str(c.tokens.access_token.expose_secret(), &place(FIELD_ACCESS));
    let refresh = c.tokens.refresh_token.as_ref().map(|r| vault.encrypt_str(r.expose_secret(), &place(FIELD_REFRESH)));
    let scopes = c.tokens.scopes.join(" ");
    let expires_at = t + c.tokens.expires_in;
    if reconnected {
        sqlx::query(
            "update twitter_accounts set username = $1, name = $2, profile_image_url = $3, credential_id = $4, \
             credential_generation = $5, client_id_preview = $6, access_token_enc = $7, refresh_token_enc = $8, \
             access_expires_at = $9, scopes = $10, status = 'connected', status_reason = null, status_at = null, \
             updated_at = $11, refreshed_at = null, refresh_lease_owner = null, refresh_lease_until = null, refresh_sent_at = null \
             where id = $12",
        )
        .bind(&c.user.username)
        .bind(&c.user.name)
        .bind(c.user.profile_image_url.as_deref())
        .bind(c.credential_id)
        .bind(c.credential_generation)
        .bind(c.client_id_preview)
        .bind(access)
        .bind(refresh)
        .bind(expires_at)
        .bind(&scopes)
        .bind(t)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    } else {
        sqlx::query(
            "insert into twitter_accounts (id, org_id, brand_id, x_user_id, username, name, profile_image_url, credential_id, \
             credential_generation, client_id_preview, access_token_enc, refresh_token_enc, access_expires_at, scopes, status, \
             connected_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'connected', $15, $15)",
        )
        .bind(&id)
        .bind(c.org_id)
        .bind(c.brand_id)
        .bind(&c.user.id)
        .bind(&c.user.username)
        .bind(&c.user.name)
        .bind(c.user.profile_image_url.as_deref())
        .bind(c.credential_id)
        .bind(c.credential_generation)
        .bind(c.client_id_preview)
        .bind(access)
        .bind(refresh)
        .bind(expires_at)
        .bind(&scopes)
        .bind(t)
        .execute(&mut *tx)
        .await?;
    }
    let missing = missing_scopes(&c.tokens.scopes);
    let mut detail = format!("@{} through Client ID {}…", c.user.username, c.client_id_preview);
    if !missing.is_empty() {
        detail.push_str(&format!(", missing scopes: {}", missing.join(" ")));
    }
    let action = if reconnected { "Reconnected an X account" } else { "Connected an X account" };
    audit::record(&mut tx, c.org_id, t, c.actor, action, c.card_label, &detail).await?;
    tx.commit().await?;
    Ok(Stored { account_id: id, reconnected })
}

/// Updates the profile X reported for an account.
pub async fn update_profile(pool: &AnyPool, org_id: &str, account_id: &str, user: &XUser) -> Result<(), ServerError> {
    sqlx::query(
        "update twitter_accounts set username = $1, name = $2, profile_image_url = $3, updated_at = $4 \
         where org_id = $5 and id = $6 and x_user_id = $7",
    )
    .bind(&user.username)
    .bind(&user.name)
    .bind(user.profile_image_url.as_deref())
    .bind(now())
    .bind(org_id)
    .bind(account_id)
    .bind(&user.id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Marks an account **needs reconnection** (once: an account already marked keeps its first
/// reason), with an audit entry. Returns whether this call marked it.
pub async fn mark_needs_reconnection(
    pool: &AnyPool,
    org_id: &str,
    account_id: &str,
    reason: ReconnectReason,
) -> Result<bool, ServerError> {
    let t = now();
    let mut tx = begin_write(pool).await?;
    let marked = sqlx::query(
        "update twitter_accounts set status = 'needs_reconnection', status_reason = $1, status_at = $2, \
         refresh_lease_owner = null, refresh_lease_until = null, refresh_sent_at = null \
         where org_id = $3 and id = $4 and status = 'connected'",
    )
    .bind(reason.as_str())
    .bind(t)
    .bind(org_id)
    .bind(account_id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if marked {
        let (username, brand): (String, Option<String>) =
            sqlx::query_as("select username, brand_id from twitter_accounts where id = $1")
                .bind(account_id)
                .fetch_one(&mut *tx)
                .await?;
        let card = super::brands::trail_label(&mut *tx, org_id, brand.as_deref()).await?.unwrap_or_default();
        audit::record(
            &mut tx,
            org_id,
            t,
            PERCH,
            "Marked an X account as needing reconnection",
            &card,
            &format!("@{username}: {}", reason.as_str()),
        )
        .await?;
        tracing::info!(org_id, account_id, reason = reason.as_str(), "account needs reconnection");
    }
    tx.commit().await?;
    Ok(marked)
}

/// An account ready for a call to X.
pub struct Usable {
    pub account_id: String,
    pub x_user_id: String,
    pub username: String,
    pub access_token: SecretString,
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for Usable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Usable")
            .field("account_id", &self.account_id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Why an account cannot be used now.
#[derive(Debug, thiserror::Error)]
pub enum UseError {
    #[error("no such account")]
    NotFound,
    #[error("the account needs reconnection ({})", .0.as_str())]
    NeedsReconnection(ReconnectReason),
    /// X could not be asked (a refresh was needed); nothing was marked.
    #[error("X could not be reached: {0}")]
    Unreachable(String),
    #[error(transparent)]
    Server(#[from] ServerError),
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    brand_id: Option<String>,
    x_user_id: String,
    username: String,
    credential_id: String,
    credential_generation: i64,
    access_token_enc: Vec<u8>,
    refresh_token_enc: Option<Vec<u8>>,
    access_expires_at: i64,
    scopes: String,
    status: String,
    status_reason: Option<String>,
    /// 1 while a live lease (by the database's clock) is held on the account, else 0.
    lease_held: i64,
    refresh_sent_at: Option<i64>,
    /// The generation of the credentials that issued the tokens, as saved now; `None` once that
    /// record was replaced or removed.
    current_generation: Option<i64>,
}

async fn load_tokens(db: &Db, org_id: &str, account_id: &str) -> Result<Option<TokenRow>, ServerError> {
    let clock = db.clock_sql();
    Ok(sqlx::query_as(&format!(
        "select a.brand_id, a.x_user_id, a.username, a.credential_id, a.credential_generation, a.access_token_enc, \
         a.refresh_token_enc, a.access_expires_at, a.scopes, a.status, a.status_reason, \
         cast(case when a.refresh_lease_until is not null and a.refresh_lease_until >= {clock} then 1 else 0 end as bigint) as lease_held, \
         a.refresh_sent_at, c.generation as current_generation \
         from twitter_accounts a left join twitter_credentials c on c.id = a.credential_id and c.org_id = a.org_id \
         where a.org_id = $1 and a.id = $2"
    ))
    .bind(org_id)
    .bind(account_id)
    .fetch_optional(db.pool())
    .await?)
}

impl TokenRow {
    fn usable(&self, vault: &KeyRing, org_id: &str, account_id: &str) -> Result<Usable, ServerError> {
        let access = vault
            .decrypt_string(&self.access_token_enc, &Aad { org_id, record_id: account_id, field: FIELD_ACCESS })?;
        Ok(Usable {
            account_id: account_id.to_owned(),
            x_user_id: self.x_user_id.clone(),
            username: self.username.clone(),
            access_token: access,
            scopes: split_scopes(&self.scopes),
        })
    }

    /// Whether the stored access token can be used as it is: not about to expire, and not the
    /// one X just refused. A 401 for an older token than the stored one (another request
    /// refreshed meanwhile) means "use the stored one", never "refresh again".
    fn serves(&self, current: &Usable, refused: Option<&SecretString>, t: i64) -> bool {
        let refused_this = refused.is_some_and(|r| r.expose_secret() == current.access_token.expose_secret());
        !refused_this && self.access_expires_at - EXPIRY_MARGIN_SECS > t
    }
}

/// The account's access token for a call to X, refreshed first when it expires within a minute
/// or when it is the token X just refused (`refused`, after a 401). Marks the account and fails
/// when its tokens can no longer work; see the module's documentation.
pub async fn usable(
    state: &AppState,
    org_id: &str,
    account_id: &str,
    refused: Option<&SecretString>,
) -> Result<Usable, UseError> {
    let pool = state.db.pool();
    let vault = &state.vault;
    let deadline = tokio::time::Instant::now() + LEASE_WAIT;
    loop {
        let row = load_tokens(&state.db, org_id, account_id).await?.ok_or(UseError::NotFound)?;
        if row.status != "connected" {
            let reason =
                row.status_reason.as_deref().and_then(ReconnectReason::parse).unwrap_or(ReconnectReason::TokenRejected);
            return Err(UseError::NeedsReconnection(reason));
        }
        // Only the generation is needed here; the credentials are opened only to refresh.
        let stale = match row.current_generation {
            None => Some(
                CredentialsNow::load(pool, org_id)
                    .await?
                    .staleness(row.brand_id.as_deref(), &row.credential_id, row.credential_generation)
                    .unwrap_or(ReconnectReason::CredentialsRemoved),
            ),
            Some(current) if current > row.credential_generation => Some(ReconnectReason::SecretRotated),
            Some(_) => None,
        };
        if let Some(reason) = stale {
            mark_needs_reconnection(pool, org_id, account_id, reason).await?;
            return Err(UseError::NeedsReconnection(reason));
        }
        let current = row.usable(vault, org_id, account_id)?;
        if row.serves(&current, refused, state.clock.now()) {
            return Ok(current);
        }
        if row.lease_held == 1 {
            // Another request (maybe on another instance) is refreshing: wait for its result
            // rather than spend the refresh token a second time, which would kill the grant.
            if tokio::time::Instant::now() >= deadline {
                return Err(UseError::Unreachable(
                    "another refresh of this account is still running; try again shortly".to_owned(),
                ));
            }
            tokio::time::sleep(LEASE_POLL).await;
            continue;
        }
        let owner = new_id("lease");
        let clock = state.db.clock_sql();
        let took = sqlx::query(&format!(
            "update twitter_accounts set refresh_lease_owner = $1, refresh_lease_until = {clock} + $2 \
             where org_id = $3 and id = $4 and status = 'connected' and (refresh_lease_until is null or refresh_lease_until < {clock})"
        ))
        .bind(&owner)
        .bind(LEASE_SECS)
        .bind(org_id)
        .bind(account_id)
        .execute(pool)
        .await
        .map_err(ServerError::from)?
        .rows_affected()
            == 1;
        if !took {
            continue;
        }
        // Read again under the lease: a refresh may have finished between the two reads.
        let row = load_tokens(&state.db, org_id, account_id).await?.ok_or(UseError::NotFound)?;
        let current = row.usable(vault, org_id, account_id)?;
        if row.serves(&current, refused, state.clock.now()) {
            release(pool, account_id, &owner).await?;
            return Ok(current);
        }
        if row.refresh_sent_at.is_some() {
            // An earlier holder sent the stored refresh token to X and never stored the answer
            // (it died, its lease lapsed). X may have spent the token: never send it again.
            tracing::warn!(org_id, account_id, "a refresh was interrupted before X's answer was stored");
            mark_needs_reconnection(pool, org_id, account_id, ReconnectReason::RefreshInterrupted).await?;
            return Err(UseError::NeedsReconnection(ReconnectReason::RefreshInterrupted));
        }
        match credentials::open_by_id(pool, vault, org_id, &row.credential_id).await? {
            Some(creds) if creds.generation == row.credential_generation => {
                match refresh_under_lease(state, org_id, account_id, &owner, &row, &creds).await? {
                    Refreshed::Stored(usable) => return Ok(usable),
                    // Reconnected, marked or disconnected while X answered: start again from
                    // what the account is now.
                    Refreshed::Superseded => continue,
                }
            }
            // The credentials changed between the reads: the next round marks the account.
            _ => release(pool, account_id, &owner).await?,
        }
    }
}

async fn release(pool: &AnyPool, account_id: &str, owner: &str) -> Result<(), ServerError> {
    sqlx::query(
        "update twitter_accounts set refresh_lease_owner = null, refresh_lease_until = null, refresh_sent_at = null \
         where id = $1 and refresh_lease_owner = $2",
    )
    .bind(account_id)
    .bind(owner)
    .execute(pool)
    .await?;
    Ok(())
}

/// How a refresh under the lease ended when X issued new tokens.
enum Refreshed {
    /// Stored; here they are.
    Stored(Usable),
    /// The account changed while X answered (reconnected with other tokens, marked, or
    /// disconnected): the new tokens were not stored (and, for a disconnected account, were
    /// revoked at X).
    Superseded,
}

async fn refresh_under_lease(
    state: &AppState,
    org_id: &str,
    account_id: &str,
    owner: &str,
    row: &TokenRow,
    creds: &credentials::Resolved,
) -> Result<Refreshed, UseError> {
    let pool = state.db.pool();
    let vault = &state.vault;
    let Some(blob) = &row.refresh_token_enc else {
        mark_needs_reconnection(pool, org_id, account_id, ReconnectReason::NoRefreshToken).await?;
        return Err(UseError::NeedsReconnection(ReconnectReason::NoRefreshToken));
    };
    let refresh_token = vault
        .decrypt_string(blob, &Aad { org_id, record_id: account_id, field: FIELD_REFRESH })
        .map_err(ServerError::from)?;
    let granted = split_scopes(&row.scopes);
    // Recorded before the token leaves: if this process dies before X's answer is stored, the
    // next holder knows the token may be spent (see `usable`).
    let marked =
        sqlx::query("update twitter_accounts set refresh_sent_at = $1 where id = $2 and refresh_lease_owner = $3")
            .bind(state.clock.now())
            .bind(account_id)
            .bind(owner)
            .execute(pool)
            .await
            .map_err(ServerError::from)?;
    if marked.rows_affected() != 1 {
        return Err(UseError::Unreachable("the refresh lease was lost before X was asked".to_owned()));
    }
    match state.x.refresh(&creds.client_id, &creds.client_secret, &refresh_token, &granted).await {
        Ok(tokens) => store_refreshed(state, org_id, account_id, owner, row, creds, tokens).await,
        Err(e @ TokenError::Refused { .. }) => {
            // No retry: X said no, and asking again with the same token cannot change that.
            let reason =
                if e.is_client_refused() { ReconnectReason::AppRefused } else { ReconnectReason::RefreshRefused };
            tracing::warn!(org_id, account_id, reason = reason.as_str(), "X refused a refresh");
            mark_needs_reconnection(pool, org_id, account_id, reason).await?;
            Err(UseError::NeedsReconnection(reason))
        }
        Err(TokenError::Unreachable(why)) => {
            tracing::warn!(org_id, account_id, why, "refresh failed: X unreachable");
            release(pool, account_id, owner).await?;
            Err(UseError::Unreachable(why))
        }
    }
}

/// Stores the tokens X just issued: the only copy of the only valid refresh token, so a failed
/// write is retried (a locked or briefly unreachable database must not cost the account). The
/// write happens only while this request still holds the lease and the credentials that issued
/// them are still saved as they were: a reconnect, a mark, a disconnect or a new secret saved
/// meanwhile wins.
async fn store_refreshed(
    state: &AppState,
    org_id: &str,
    account_id: &str,
    owner: &str,
    row: &TokenRow,
    creds: &credentials::Resolved,
    tokens: Tokens,
) -> Result<Refreshed, UseError> {
    let pool = state.db.pool();
    let t = state.clock.now();
    let place = |field| Aad { org_id, record_id: account_id, field };
    let access = state.vault.encrypt_str(tokens.access_token.expose_secret(), &place(FIELD_ACCESS));
    // X rotates refresh tokens; an answer without one leaves the old one in place.
    let refresh =
        tokens.refresh_token.as_ref().map(|r| state.vault.encrypt_str(r.expose_secret(), &place(FIELD_REFRESH)));
    let scopes = tokens.scopes.join(" ");
    let mut attempt = 0;
    let stored = loop {
        // One statement: the new access token never lands without the new refresh token
        // (docs/security.md F.30, H.37).
        let written = sqlx::query(
            "update twitter_accounts set access_token_enc = $1, refresh_token_enc = coalesce($2, refresh_token_enc), \
             access_expires_at = $3, scopes = $4, refreshed_at = $5, refresh_lease_owner = null, refresh_lease_until = null, \
             refresh_sent_at = null \
             where id = $6 and refresh_lease_owner = $7 and credential_id = $8 and credential_generation = $9 and status = 'connected' \
             and exists (select 1 from twitter_credentials c where c.id = $8 and c.generation = $9)",
        )
        .bind(access.clone())
        .bind(refresh.clone())
        .bind(t + tokens.expires_in)
        .bind(scopes.clone())
        .bind(t)
        .bind(account_id)
        .bind(owner)
        .bind(&row.credential_id)
        .bind(row.credential_generation)
        .execute(pool)
        .await;
        match written {
            Ok(done) => break done.rows_affected() == 1,
            Err(e) if attempt + 1 < STORE_ATTEMPTS => {
                attempt += 1;
                tracing::warn!(org_id, account_id, attempt, error = %e, "storing refreshed tokens failed; retrying");
                tokio::time::sleep(STORE_BACKOFF * (1 << (attempt - 1))).await;
            }
            Err(e) => {
                // The mark `refresh_sent_at` stays: the next holder marks the account
                // `refresh_interrupted` rather than send the spent token again.
                tracing::error!(org_id, account_id, error = %e, "X's new tokens could not be stored; the account will need reconnection");
                return Err(UseError::Server(e.into()));
            }
        }
    };
    if !stored {
        // Disconnected meanwhile: the new tokens are revoked like the ones the disconnect
        // revoked. Reconnected or marked: they are left alone, like the tokens a reconnect
        // replaces, since X's record does not say whether revoking one grant's tokens spares the
        // other grants of the same user and app (the reconnect's own).
        let gone = sqlx::query_scalar::<_, i64>("select count(*) from twitter_accounts where id = $1")
            .bind(account_id)
            .fetch_one(pool)
            .await
            .map_err(ServerError::from)?
            == 0;
        tracing::warn!(
            org_id,
            account_id,
            gone,
            "the account changed while X refreshed its token; the new tokens were not stored"
        );
        if gone {
            if let Some(r) = &tokens.refresh_token {
                let _ = state.x.revoke(&creds.client_id, &creds.client_secret, r, true).await;
            }
            let _ = state.x.revoke(&creds.client_id, &creds.client_secret, &tokens.access_token, false).await;
        }
        return Ok(Refreshed::Superseded);
    }
    tracing::info!(org_id, account_id, "access token refreshed");
    Ok(Refreshed::Stored(Usable {
        account_id: account_id.to_owned(),
        x_user_id: row.x_user_id.clone(),
        username: row.username.clone(),
        access_token: tokens.access_token,
        scopes: tokens.scopes,
    }))
}

/// An account just removed: its tokens, opened, and the credentials that can revoke them at X.
pub struct Removed {
    pub username: String,
    pub brand_id: Option<String>,
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub credentials: Option<credentials::Resolved>,
}

/// **Disconnect**'s first half: deletes the account with an audit entry and hands back its tokens
/// to be revoked at X. Deleting first means a request racing the disconnect finds no account (or
/// used it before it went) rather than meet a revoked token and mark the account. `Ok(None)` when
/// there was no such account.
pub async fn remove(
    state: &AppState,
    org_id: &str,
    account_id: &str,
    actor: &str,
) -> Result<Option<Removed>, ServerError> {
    let pool = state.db.pool();
    let mut tx = begin_write(pool).await?;
    // username, brand_id, credential_id, access token blob, refresh token blob
    type Deleted = (String, Option<String>, String, Vec<u8>, Option<Vec<u8>>);
    let row: Option<Deleted> = sqlx::query_as(
        "delete from twitter_accounts where org_id = $1 and id = $2 \
         returning username, brand_id, credential_id, access_token_enc, refresh_token_enc",
    )
    .bind(org_id)
    .bind(account_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((username, brand_id, credential_id, access, refresh)) = row else { return Ok(None) };
    let place = |field| Aad { org_id, record_id: account_id, field };
    let access_token = state.vault.decrypt_string(&access, &place(FIELD_ACCESS))?;
    let refresh_token = refresh.as_ref().map(|b| state.vault.decrypt_string(b, &place(FIELD_REFRESH))).transpose()?;
    let card = super::brands::trail_label(&mut *tx, org_id, brand_id.as_deref()).await?.unwrap_or_default();
    audit::record(&mut tx, org_id, now(), actor, "Disconnected an X account", &card, &format!("@{username}")).await?;
    tx.commit().await?;
    let credentials = credentials::open_by_id(pool, &state.vault, org_id, &credential_id).await?;
    Ok(Some(Removed { username, brand_id, access_token, refresh_token, credentials }))
}

/// Records that X could not revoke a disconnected account's tokens (F.32): the grant may still be
/// alive at X, which the user can end from X's own settings.
pub async fn record_unrevoked(pool: &AnyPool, org_id: &str, actor: &str, removed: &Removed) -> Result<(), ServerError> {
    let mut tx = begin_write(pool).await?;
    let card = super::brands::trail_label(&mut *tx, org_id, removed.brand_id.as_deref()).await?.unwrap_or_default();
    let detail = format!("@{}: X could not revoke the tokens", removed.username);
    audit::record(&mut tx, org_id, now(), actor, "Could not revoke an X account's tokens at X", &card, &detail).await?;
    tx.commit().await?;
    Ok(())
}

/// Every token blob, for `perch keys rewrap`: re-encrypts under the newest key those sealed with
/// an older one. Returns (rewrapped, already current).
pub async fn rewrap_all(pool: &AnyPool, vault: &KeyRing) -> Result<(u64, u64), ServerError> {
    type Tokens = (String, String, Vec<u8>, Option<Vec<u8>>);
    let rows: Vec<Tokens> =
        sqlx::query_as("select id, org_id, access_token_enc, refresh_token_enc from twitter_accounts order by id")
            .fetch_all(pool)
            .await?;
    let (mut moved, mut current) = (0, 0);
    for (id, org_id, access, refresh) in rows {
        if !vault.needs_rewrap(&access) && !refresh.as_ref().is_some_and(|r| vault.needs_rewrap(r)) {
            current += 1;
            continue;
        }
        let place = |field| Aad { org_id: &org_id, record_id: &id, field };
        let access2 = vault.rewrap(&access, &place(FIELD_ACCESS))?;
        let refresh2 = refresh.as_ref().map(|r| vault.rewrap(r, &place(FIELD_REFRESH))).transpose()?;
        // Only if the row still holds what was read: a refresh in between wins.
        let done = sqlx::query(
            "update twitter_accounts set access_token_enc = $1, refresh_token_enc = $2 where id = $3 and access_token_enc = $4",
        )
        .bind(access2)
        .bind(refresh2)
        .bind(&id)
        .bind(access)
        .execute(pool)
        .await?;
        moved += done.rows_affected();
    }
    Ok((moved, current))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_x_image_urls_are_shown() {
        assert!(safe_avatar(Some("https://pbs.twimg.com/profile_images/1/a_normal.jpg".into())).is_some());
        for bad in [
            "http://pbs.twimg.com/a.jpg",
            "https://evil.example/a.jpg",
            "https://pbs.twimg.com.evil.example/a",
            "https://pbs.twimg.com/a\" onerror=\"x",
        ] {
            assert_eq!(safe_avatar(Some(bad.into())), None, "{bad}");
        }
    }

    #[test]
    fn staleness_follows_the_issuing_credentials() {
        let saved = |id: &str, brand_id: Option<&str>, generation| credentials::Summary {
            id: id.into(),
            brand_id: brand_id.map(Into::into),
            generation,
            client_id_preview: "AAAAAA".into(),
        };
        let now = CredentialsNow(vec![saved("xcr_d", None, 2), saved("xcr_b", Some("brd_1"), 1)]);
        assert_eq!(now.staleness(None, "xcr_d", 2), None);
        assert_eq!(now.staleness(None, "xcr_d", 1), Some(ReconnectReason::SecretRotated));
        assert_eq!(now.staleness(Some("brd_1"), "xcr_old", 1), Some(ReconnectReason::AppReplaced));
        let none = CredentialsNow(vec![]);
        assert_eq!(none.staleness(Some("brd_1"), "xcr_old", 1), Some(ReconnectReason::CredentialsRemoved));
    }
}
