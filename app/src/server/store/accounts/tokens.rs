//! The one door to an account's access token: every call Perch makes to X on an account's behalf
//! goes through [`with_token`] (or, for a single read, [`usable`]).
//!
//! [`usable`] finds accounts whose tokens were issued under credentials that have since changed (a
//! rotated secret, another app, removed credentials) and marks them **needs reconnection**, and it
//! refreshes an expired access token under a database lease so that one refresh per account is in
//! flight across every instance (F.30), storing the new refresh token in the same statement as the
//! new access token. A refresh X refuses marks the account (F.31); a network error or an X outage
//! does not. A 401 for a token older than the stored one means another request already
//! refreshed: the stored token is used, nothing is refreshed twice. The lease's times come from
//! the database's clock, never an instance's own.
//!
//! [`with_token`] adds what every call needs on top: after X answers 401, one more try with a
//! newer token (another request's fresh one, or one refreshed for it); a second 401 marks the
//! account (its grant was revoked at X).

use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use sqlx::AnyPool;

use super::{
    FIELD_ACCESS, FIELD_REFRESH, Status, app_applies_column, mark_needs_reconnection, split_scopes, staleness,
};
use crate::domain::OrgId;
use crate::domain::ReconnectReason;
use crate::server::AppState;
use crate::server::infra::db::{Db, SQLITE_BUSY_TIMEOUT};
use crate::server::infra::error::ServerError;
use crate::server::infra::ids::new_id;
use crate::server::infra::vault::{Aad, KeyRing};
use crate::server::infra::x_client::{CreditsSignal, TIMEOUT as X_TIMEOUT, TokenError, Tokens};
use crate::server::store::credentials;

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

/// An account ready for a call to X.
pub struct Usable {
    pub account_id: String,
    pub x_user_id: String,
    pub username: String,
    pub access_token: SecretString,
    pub scopes: Vec<String>,
    /// The credentials that issued the tokens, and whether X last said their developer
    /// account's credits were spent.
    pub credential_id: String,
    pub credits_depleted: bool,
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
    /// 1 when X last answered a call through these credentials with 402, else 0.
    credits_depleted: i64,
    /// 1 when any saved credentials apply to the account's card, else 0.
    app_applies: i64,
}

async fn load_tokens(db: &Db, org_id: &OrgId, account_id: &str) -> Result<Option<TokenRow>, ServerError> {
    let clock = db.clock_sql();
    Ok(sqlx::query_as(&format!(
        concat!(
            "select a.x_user_id, a.username, a.credential_id, a.credential_generation, a.access_token_enc, \
             a.refresh_token_enc, a.access_expires_at, a.scopes, a.status, a.status_reason, \
             cast(case when a.refresh_lease_until is not null and a.refresh_lease_until >= {clock} then 1 else 0 end as bigint) as lease_held, \
             a.refresh_sent_at, c.generation as current_generation, \
             cast(case when c.credits_depleted_at is not null then 1 else 0 end as bigint) as credits_depleted, ",
            app_applies_column!(),
            " from {from} where a.org_id = $1 and a.id = $2"
        ),
        clock = clock,
        from = super::VIEW_FROM,
    ))
    .bind(org_id)
    .bind(account_id)
    .fetch_optional(db.pool())
    .await?)
}

impl TokenRow {
    fn usable(&self, vault: &KeyRing, org_id: &OrgId, account_id: &str) -> Result<Usable, ServerError> {
        let access = vault
            .decrypt_string(&self.access_token_enc, &Aad { org_id, record_id: account_id, field: FIELD_ACCESS })?;
        Ok(Usable {
            account_id: account_id.to_owned(),
            x_user_id: self.x_user_id.clone(),
            username: self.username.clone(),
            access_token: access,
            scopes: split_scopes(&self.scopes),
            credential_id: self.credential_id.clone(),
            credits_depleted: self.credits_depleted != 0,
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
    org_id: &OrgId,
    account_id: &str,
    refused: Option<&SecretString>,
) -> Result<Usable, UseError> {
    let pool = state.db.pool();
    let vault = &state.vault;
    let deadline = tokio::time::Instant::now() + LEASE_WAIT;
    loop {
        let row = load_tokens(&state.db, org_id, account_id).await?.ok_or(UseError::NotFound)?;
        if Status::of(&row.status) != Status::Connected {
            let reason =
                row.status_reason.as_deref().and_then(ReconnectReason::parse).unwrap_or(ReconnectReason::TokenRejected);
            return Err(UseError::NeedsReconnection(reason));
        }
        // Only the generation is needed here; the credentials are opened only to refresh.
        if let Some(reason) = staleness(row.current_generation, row.app_applies != 0, row.credential_generation) {
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
            tracing::warn!(org_id = %org_id, account_id, "a refresh was interrupted before X's answer was stored");
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
    org_id: &OrgId,
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
            tracing::warn!(org_id = %org_id, account_id, reason = reason.as_str(), "X refused a refresh");
            mark_needs_reconnection(pool, org_id, account_id, reason).await?;
            Err(UseError::NeedsReconnection(reason))
        }
        Err(TokenError::Unreachable(why)) => {
            tracing::warn!(org_id = %org_id, account_id, why, "refresh failed: X unreachable");
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
    org_id: &OrgId,
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
                tracing::warn!(org_id = %org_id, account_id, attempt, error = %e, "storing refreshed tokens failed; retrying");
                tokio::time::sleep(STORE_BACKOFF * (1 << (attempt - 1))).await;
            }
            Err(e) => {
                // The mark `refresh_sent_at` stays: the next holder marks the account
                // `refresh_interrupted` rather than send the spent token again.
                tracing::error!(org_id = %org_id, account_id, error = %e, "X's new tokens could not be stored; the account will need reconnection");
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
            org_id = %org_id,
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
    tracing::info!(org_id = %org_id, account_id, "access token refreshed");
    Ok(Refreshed::Stored(Usable {
        account_id: account_id.to_owned(),
        x_user_id: row.x_user_id.clone(),
        username: row.username.clone(),
        access_token: tokens.access_token,
        scopes: tokens.scopes,
        credential_id: row.credential_id.clone(),
        credits_depleted: row.credits_depleted != 0,
    }))
}

/// What one call to X made with an account's token came to, for [`with_token`].
pub enum Attempt<T> {
    /// X answered (with success or with a refusal the caller names): the call's outcome.
    Done(T),
    /// X answered 401: the token is not (or no longer) valid.
    Unauthorized,
}

/// The account a call was made for, without its token: what the caller may keep.
#[derive(Clone, Debug)]
pub struct Used {
    pub account_id: String,
    pub x_user_id: String,
    pub username: String,
    /// The scopes of the token the call was made with.
    pub scopes: Vec<String>,
    /// The credentials (the X app) the call went through, and whether X had said their
    /// developer account's credits were spent before this call.
    pub credential_id: String,
    pub credits_depleted: bool,
}

impl Used {
    /// Records what this call's answer said about the app's credits (X's 402, or a call X
    /// served), when it changes what is recorded: one write when the state flips, none
    /// otherwise. A failure to write it is logged: the call's own outcome stands.
    pub async fn note_credits(&self, pool: &sqlx::AnyPool, org_id: &OrgId, answer: &impl CreditsSignal) {
        let Some(depleted) = answer.credits_spent() else { return };
        if depleted == self.credits_depleted {
            return;
        }
        if let Err(e) = credentials::note_credits(pool, org_id, &self.credential_id, depleted).await {
            tracing::error!(org_id = %org_id, credential_id = %self.credential_id, error = %e, "recording the app's credits failed");
        }
    }
}

/// Makes one call to X for `account_id` with a usable token ([`usable`]): after a 401 the call is
/// made once more with a newer token; a second 401 marks the account `token_rejected` (its grant
/// was revoked at X). Every call Perch makes for an account (Check, posting, and whatever comes
/// next) goes through here, so refresh, retry and marking are written once.
// A plain `FnMut` returning a future rather than an async closure: an async closure borrowing
// the state makes the server function's future fail the `Send` check (rustc's "not general
// enough"), where this form does not.
pub async fn with_token<T, F, Fut>(
    state: &AppState,
    org_id: &OrgId,
    account_id: &str,
    mut call: F,
) -> Result<(T, Used), UseError>
where
    F: FnMut(SecretString) -> Fut,
    Fut: std::future::Future<Output = Attempt<T>>,
{
    // The token X refused, once it has: the next round asks for a newer one.
    let mut refused: Option<SecretString> = None;
    loop {
        let u = usable(state, org_id, account_id, refused.as_ref()).await?;
        match call(u.access_token.clone()).await {
            Attempt::Done(outcome) => {
                let used = Used {
                    account_id: u.account_id,
                    x_user_id: u.x_user_id,
                    username: u.username,
                    scopes: u.scopes,
                    credential_id: u.credential_id,
                    credits_depleted: u.credits_depleted,
                };
                return Ok((outcome, used));
            }
            Attempt::Unauthorized if refused.is_none() => refused = Some(u.access_token),
            Attempt::Unauthorized => {
                let reason = ReconnectReason::TokenRejected;
                mark_needs_reconnection(state.db.pool(), org_id, account_id, reason).await?;
                return Err(UseError::NeedsReconnection(reason));
            }
        }
    }
}
