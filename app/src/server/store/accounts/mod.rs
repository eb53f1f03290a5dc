//! Connected X accounts: their profile, their tokens (vault blobs bound to the account, docs/security.md
//! A.1, A.3), which credentials issued them, and their state. Storing, listing, marking and
//! removing accounts is here; using an account's token is in [`tokens`].

use secrecy::{ExposeSecret as _, SecretString};
use sqlx::AnyPool;

use crate::domain::{AccountToReconnect, AccountView, OrgId, ReconnectMark, ReconnectReason, missing_scopes};
use crate::server::infra::db::{begin_org_write, begin_write};
use crate::server::infra::error::ServerError;
use crate::server::infra::ids::new_id;
use crate::server::infra::vault::{Aad, KeyRing};
use crate::server::infra::x_client::{Tokens, XUser};
use crate::server::store::audit::{self, AuditAction};
use crate::server::store::credentials;
use crate::server::{AppState, now};

mod tokens;

pub use tokens::{Attempt, LEASE_SECS, Usable, UseError, Used, usable, with_token};

/// An account's `status` column (the SQL's `'connected'` and `'needs_reconnection'`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Connected,
    /// Marked: Perch will not call X for it until it is reconnected (`status_reason` says why).
    NeedsReconnection,
}

impl Status {
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Connected => "connected",
            Status::NeedsReconnection => "needs_reconnection",
        }
    }

    /// The status a row holds; anything unknown counts as marked, so Perch never calls X for an
    /// account it cannot account for.
    pub fn of(column: &str) -> Self {
        if column == Status::Connected.as_str() { Status::Connected } else { Status::NeedsReconnection }
    }
}

pub const FIELD_ACCESS: &str = "access_token";
pub const FIELD_REFRESH: &str = "refresh_token";
/// The actor named in the audit trail for what Perch found on its own.
const PERCH: &str = "Perch";

/// Whether any saved credentials apply to account `a`'s card (its brand's own, or the
/// organization default), as 0 or 1: with `c.generation` (the issuing credentials now, from
/// [`VIEW_FROM`]), what [`staleness`] is computed from. A macro, for `concat!` into the queries
/// that read an account's state (here and in [`tokens`]).
macro_rules! app_applies_column {
    () => {
        "cast(case when exists (select 1 from twitter_credentials d where d.org_id = a.org_id \
         and (d.brand_id is null or d.brand_id = a.brand_id)) then 1 else 0 end as bigint) as app_applies"
    };
}
use app_applies_column;

/// An account as pages and the API show it, with what its state is computed against: the
/// generation of the credentials that issued its tokens now (null once they are gone), and
/// whether any saved credentials apply to its card. One query, whatever the page.
const VIEW_COLUMNS: &str = concat!(
    "a.id, a.brand_id, a.x_user_id, a.username, a.name, a.profile_image_url, a.credential_generation, \
     a.client_id_preview, a.scopes, a.status, a.status_reason, a.status_at, a.connected_at, a.updated_at, \
     c.generation as current_generation, c.credits_depleted_at as app_credits_depleted_at, ",
    app_applies_column!()
);

/// An account and the credentials that issued its tokens, as they are now.
const VIEW_FROM: &str =
    "twitter_accounts a left join twitter_credentials c on c.id = a.credential_id and c.org_id = a.org_id";

/// The accounts page's order (with `brands b` joined): the default card's accounts first, then
/// each brand's in the brands' order (`brands::list`), each card's oldest first.
const CARD_ORDER: &str =
    "order by case when a.brand_id is null then 0 else 1 end, b.name_key, b.id, a.connected_at, a.id";

#[derive(sqlx::FromRow)]
struct ViewRow {
    id: String,
    brand_id: Option<String>,
    x_user_id: String,
    username: String,
    name: String,
    profile_image_url: Option<String>,
    credential_generation: i64,
    client_id_preview: String,
    scopes: String,
    status: String,
    status_reason: Option<String>,
    status_at: Option<i64>,
    connected_at: i64,
    updated_at: i64,
    current_generation: Option<i64>,
    /// When X said the credits of the account's app were spent (still so), from the credentials.
    app_credits_depleted_at: Option<i64>,
    app_applies: i64,
}

/// Only X's image host: anything else would let a profile URL make the browser call elsewhere.
fn safe_avatar(url: Option<String>) -> Option<String> {
    url.filter(|u| u.starts_with("https://pbs.twimg.com/") && u.len() <= 500 && !u.contains(['"', '\'', '<', '>', ' ']))
}

fn split_scopes(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

/// Why the tokens of an account, issued by credentials of `generation`, no longer work with
/// what is saved, if they do not: `current` is the generation of those credentials now (`None`
/// once they were removed or replaced by another app), `app_applies` whether any saved
/// credentials apply to the account's card.
pub(super) fn staleness(current: Option<i64>, app_applies: bool, generation: i64) -> Option<ReconnectReason> {
    match current {
        Some(c) if c > generation => Some(ReconnectReason::SecretRotated),
        Some(_) => None,
        None if app_applies => Some(ReconnectReason::AppReplaced),
        None => Some(ReconnectReason::CredentialsRemoved),
    }
}

impl ViewRow {
    fn into_view(self) -> AccountView {
        let scopes = split_scopes(&self.scopes);
        let needs_reconnection = (Status::of(&self.status) == Status::NeedsReconnection).then(|| ReconnectMark {
            reason: self
                .status_reason
                .as_deref()
                .and_then(ReconnectReason::parse)
                .unwrap_or(ReconnectReason::TokenRejected),
            at: self.status_at.unwrap_or(self.updated_at),
        });
        let will_need_reconnection = if needs_reconnection.is_none() {
            staleness(self.current_generation, self.app_applies != 0, self.credential_generation)
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
            app_credits_depleted_at: self.app_credits_depleted_at,
        }
    }
}

/// Every account of the organization, oldest first.
pub async fn list(pool: &AnyPool, org_id: &OrgId) -> Result<Vec<AccountView>, ServerError> {
    let rows: Vec<ViewRow> = sqlx::query_as(&format!(
        "select {VIEW_COLUMNS} from {VIEW_FROM} where a.org_id = $1 order by a.connected_at, a.id"
    ))
    .bind(org_id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(ViewRow::into_view).collect())
}

/// Where a page of [`list_page`] starts: after the account connected at `connected_at` with id
/// `id` (the last one of the previous page). The order is `(connected_at, id)`, so a page never
/// repeats or skips an account when others are connected or disconnected between two pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct After {
    pub connected_at: i64,
    pub id: String,
}

/// Up to `limit` accounts of the organization (of one brand, with `brand_id`), oldest first,
/// starting after `after`; and whether more follow. One query for the page (it reads one row more
/// than it answers, to know).
pub async fn list_page(
    pool: &AnyPool,
    org_id: &OrgId,
    brand_id: Option<&str>,
    after: Option<&After>,
    limit: u32,
) -> Result<(Vec<AccountView>, bool), ServerError> {
    let rows: Vec<ViewRow> = sqlx::query_as(&format!(
        "select {VIEW_COLUMNS} from {VIEW_FROM} where a.org_id = $1
         and ($2 is null or a.brand_id = $2)
         and ($3 is null or a.connected_at > $3 or (a.connected_at = $3 and a.id > $4))
         order by a.connected_at, a.id limit $5"
    ))
    .bind(org_id)
    .bind(brand_id)
    .bind(after.map(|a| a.connected_at))
    .bind(after.map(|a| a.id.as_str()))
    .bind(i64::from(limit) + 1)
    .fetch_all(pool)
    .await?;
    let more = rows.len() > limit as usize;
    Ok((rows.into_iter().take(limit as usize).map(ViewRow::into_view).collect(), more))
}

/// How many accounts each card of the organization has: `(brand_id, count)`, the organization
/// default's under `None`; cards without accounts are absent.
pub async fn counts_by_card(pool: &AnyPool, org_id: &OrgId) -> Result<Vec<(Option<String>, i64)>, ServerError> {
    Ok(sqlx::query_as("select brand_id, count(*) from twitter_accounts where org_id = $1 group by brand_id")
        .bind(org_id)
        .fetch_all(pool)
        .await?)
}

/// The organization's accounts in the accounts page's order, `limit` of them from `offset`: the
/// default card's first, then each brand's in the brands' order (`brands::list`), each card's
/// oldest first.
pub async fn in_card_order(
    pool: &AnyPool,
    org_id: &OrgId,
    offset: u32,
    limit: u32,
) -> Result<Vec<AccountView>, ServerError> {
    let rows: Vec<ViewRow> = sqlx::query_as(&format!(
        "select {VIEW_COLUMNS} from {VIEW_FROM} left join brands b on b.id = a.brand_id where a.org_id = $1
         {CARD_ORDER} limit $2 offset $3"
    ))
    .bind(org_id)
    .bind(i64::from(limit))
    .bind(i64::from(offset))
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(ViewRow::into_view).collect())
}

/// The card of an account and its place on the card (how many of the card's accounts come
/// before it), to find the page that shows it.
pub async fn place_on_card(
    pool: &AnyPool,
    org_id: &OrgId,
    account_id: &str,
) -> Result<Option<(Option<String>, i64)>, ServerError> {
    Ok(sqlx::query_as(
        "select a.brand_id, (select count(*) from twitter_accounts x where x.org_id = a.org_id
             and coalesce(x.brand_id, '') = coalesce(a.brand_id, '')
             and (x.connected_at < a.connected_at or (x.connected_at = a.connected_at and x.id < a.id)))
         from twitter_accounts a where a.org_id = $1 and a.id = $2",
    )
    .bind(org_id)
    .bind(account_id)
    .fetch_optional(pool)
    .await?)
}

pub async fn get(pool: &AnyPool, org_id: &OrgId, account_id: &str) -> Result<Option<AccountView>, ServerError> {
    let row: Option<ViewRow> =
        sqlx::query_as(&format!("select {VIEW_COLUMNS} from {VIEW_FROM} where a.org_id = $1 and a.id = $2"))
            .bind(org_id)
            .bind(account_id)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(ViewRow::into_view))
}

/// The accounts that need reconnecting, or will on their next API call (their credentials were
/// rotated, replaced or removed since they connected), with the card each is on: what the
/// settings page lists right after a save. One query, which reads only those accounts: an
/// agency's hundreds of working accounts cost nothing here.
pub async fn to_reconnect(pool: &AnyPool, org_id: &OrgId) -> Result<Vec<AccountToReconnect>, ServerError> {
    let rows: Vec<(String, Option<String>, String, Option<String>)> = sqlx::query_as(&format!(
        "select a.id, a.brand_id, a.username, b.name from {VIEW_FROM} left join brands b on b.id = a.brand_id
         where a.org_id = $1 and (a.status <> 'connected' or c.generation is null or c.generation > a.credential_generation)
         {CARD_ORDER}"
    ))
    .bind(org_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, brand_id, username, brand_name)| AccountToReconnect {
            card: if brand_id.is_none() { "Organization default".to_owned() } else { brand_name.unwrap_or_default() },
            id,
            username,
            brand_id,
        })
        .collect())
}

/// A successful connect, to be stored.
pub struct Connection<'a> {
    pub org_id: &'a OrgId,
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
    let action = if reconnected { AuditAction::AccountReconnected } else { AuditAction::AccountConnected };
    audit::record(&mut tx, c.org_id, t, c.actor, action, c.card_label, &detail).await?;
    tx.commit().await?;
    Ok(Stored { account_id: id, reconnected })
}

/// Updates the profile X reported for an account.
pub async fn update_profile(pool: &AnyPool, org_id: &OrgId, account_id: &str, user: &XUser) -> Result<(), ServerError> {
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
    org_id: &OrgId,
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
        let card =
            crate::server::store::brands::trail_label(&mut *tx, org_id, brand.as_deref()).await?.unwrap_or_default();
        audit::record(
            &mut tx,
            org_id,
            t,
            PERCH,
            AuditAction::AccountMarked,
            &card,
            &format!("@{username}: {}", reason.as_str()),
        )
        .await?;
        tracing::info!(org_id = %org_id, account_id, reason = reason.as_str(), "account needs reconnection");
    }
    tx.commit().await?;
    Ok(marked)
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
    org_id: &OrgId,
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
    let card =
        crate::server::store::brands::trail_label(&mut *tx, org_id, brand_id.as_deref()).await?.unwrap_or_default();
    audit::record(&mut tx, org_id, now(), actor, AuditAction::AccountDisconnected, &card, &format!("@{username}"))
        .await?;
    tx.commit().await?;
    let credentials = credentials::open_by_id(pool, &state.vault, org_id, &credential_id).await?;
    Ok(Some(Removed { username, brand_id, access_token, refresh_token, credentials }))
}

/// Records that X could not revoke a disconnected account's tokens (F.32): the grant may still be
/// alive at X, which the user can end from X's own settings.
pub async fn record_unrevoked(
    pool: &AnyPool,
    org_id: &OrgId,
    actor: &str,
    removed: &Removed,
) -> Result<(), ServerError> {
    let mut tx = begin_write(pool).await?;
    let card = crate::server::store::brands::trail_label(&mut *tx, org_id, removed.brand_id.as_deref())
        .await?
        .unwrap_or_default();
    let detail = format!("@{}: X could not revoke the tokens", removed.username);
    audit::record(&mut tx, org_id, now(), actor, AuditAction::TokensNotRevoked, &card, &detail).await?;
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
        // Issued by generation 2 of the default's credentials, which are still at 2, then at 1.
        assert_eq!(staleness(Some(2), true, 2), None);
        assert_eq!(staleness(Some(2), true, 1), Some(ReconnectReason::SecretRotated));
        // The issuing record is gone: other credentials apply to the card, or none do.
        assert_eq!(staleness(None, true, 1), Some(ReconnectReason::AppReplaced));
        assert_eq!(staleness(None, false, 1), Some(ReconnectReason::CredentialsRemoved));
    }
}
