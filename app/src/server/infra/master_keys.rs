//! Which master keys the database depends on (docs/security.md A.7; issue 11, item 8).
//!
//! The keys live outside the database, so a restore without the key file, a `perch` command run
//! from another directory, or an instance given another `PERCH_MASTER_KEY` would otherwise start
//! with a ring that cannot open what is stored, and on SQLite even generate a fresh key beside
//! it. So before the vault is used, [`in_use`] lists the key ids the database depends on: every
//! id a stored blob names in its header, and every id recorded in `master_keys`. Startup refuses
//! a ring lacking any of them (`server/src/lib.rs`, `load_vault`), then [`record`]s the key it
//! seals with, so that even a database holding no secret yet remembers its key. `perch keys
//! rewrap` [`forget_unused`] keys once nothing stored names them, so they can be retired.
//!
//! Not scanned: blobs inside browser sessions (the Client ID of a recent test, a new API key
//! between a form post and its page). They live minutes, and one that does not open is dropped.

use std::collections::BTreeMap;
use std::fmt;

use sqlx::AnyPool;

use crate::domain::format_utc;
use crate::server::infra::error::ServerError;
use crate::server::infra::vault::{KeyRing, blob_key_id};

/// What depends on one master key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyUse {
    /// Sealed Client IDs and Client Secrets of X apps.
    pub credential_values: i64,
    /// Sealed access and refresh tokens of connected X accounts.
    pub account_tokens: i64,
    /// Connections under way (an OAuth flow lives ten minutes).
    pub flows: i64,
    /// When the key was first recorded as this database's, if it was.
    pub recorded_at: Option<i64>,
}

impl KeyUse {
    /// How many stored blobs name the key.
    pub fn sealed(&self) -> i64 {
        self.credential_values + self.account_tokens + self.flows
    }
}

impl fmt::Display for KeyUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        for (n, what) in [
            (self.credential_values, "X app credential value(s)"),
            (self.account_tokens, "X account token(s)"),
            (self.flows, "account connection(s) under way"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        if parts.is_empty() {
            parts.push("nothing stored names it now".to_owned());
        }
        if let Some(at) = self.recorded_at {
            parts.push(format!("in use since {}", format_utc(at)));
        }
        f.write_str(&parts.join(", "))
    }
}

/// The master keys the database depends on, by key id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeysInUse(pub BTreeMap<u32, KeyUse>);

impl KeysInUse {
    /// True for a database that has never depended on a master key: the only one for which a
    /// new key file may be generated.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The keys in use that `ring` does not hold (all of them when there is no ring).
    pub fn missing_from(&self, ring: Option<&KeyRing>) -> Vec<(u32, &KeyUse)> {
        self.0.iter().filter(|(id, _)| ring.is_none_or(|r| !r.holds(**id))).map(|(id, u)| (*id, u)).collect()
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Credentials,
    Tokens,
    Flows,
}

/// Every column holding vault blobs, and which rows count: a flow past its expiry is dead and
/// only waits for the ten-minute clean-up.
const SEALED_COLUMNS: [(&str, &str, &str, Kind); 5] = [
    ("twitter_credentials", "client_id_enc", "", Kind::Credentials),
    ("twitter_credentials", "client_secret_enc", "", Kind::Credentials),
    ("twitter_accounts", "access_token_enc", "", Kind::Tokens),
    ("twitter_accounts", "refresh_token_enc", "", Kind::Tokens),
    ("twitter_oauth_flows", "sealed", "and expires_at > $1", Kind::Flows),
];

/// The key ids the database depends on: those stored blobs name (read from their headers,
/// nothing is decrypted) and those recorded. `now` decides which OAuth flows are still alive.
pub async fn in_use(pool: &AnyPool, now: i64) -> Result<KeysInUse, ServerError> {
    let mut keys: BTreeMap<u32, KeyUse> = BTreeMap::new();
    for (table, column, live, kind) in SEALED_COLUMNS {
        // The first five bytes are the version and the key id (the vault module); one row per distinct
        // header, so this reads a handful of rows however many secrets there are.
        let sql = format!(
            "select substr({column}, 1, 5), count(*) from {table} where {column} is not null {live} group by substr({column}, 1, 5)"
        );
        let mut query = sqlx::query_as::<_, (Vec<u8>, i64)>(&sql);
        if !live.is_empty() {
            query = query.bind(now);
        }
        for (header, count) in query.fetch_all(pool).await? {
            // A blob of another format is the vault's to refuse when it is opened; it names no key.
            let Some(id) = blob_key_id(&header) else { continue };
            let entry = keys.entry(id).or_default();
            match kind {
                Kind::Credentials => entry.credential_values += count,
                Kind::Tokens => entry.account_tokens += count,
                Kind::Flows => entry.flows += count,
            }
        }
    }
    let recorded: Vec<(i64, i64)> =
        sqlx::query_as("select key_id, first_seen_at from master_keys").fetch_all(pool).await?;
    for (id, at) in recorded {
        let id = u32::try_from(id)
            .map_err(|_| ServerError::Other(format!("master_keys holds {id}, which is not a key id")))?;
        keys.entry(id).or_default().recorded_at = Some(at);
    }
    Ok(KeysInUse(keys))
}

/// Records `key_id` as one this database's secrets are sealed with (once; the first time stays).
pub async fn record(pool: &AnyPool, key_id: u32, now: i64) -> Result<(), ServerError> {
    sqlx::query("insert into master_keys (key_id, first_seen_at) values ($1, $2) on conflict (key_id) do nothing")
        .bind(i64::from(key_id))
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}

/// After a rewrap: forgets the recorded keys of `ring` that no stored blob names any more, but
/// the newest, which seals everything new. Returns their ids. A key still sealing a connection
/// under way stays until the flow is over (ten minutes).
pub async fn forget_unused(pool: &AnyPool, ring: &KeyRing, now: i64) -> Result<Vec<u32>, ServerError> {
    let mut forgotten = Vec::new();
    for (id, key_use) in in_use(pool, now).await?.0 {
        if key_use.recorded_at.is_some() && key_use.sealed() == 0 && id != ring.newest_key_id() && ring.holds(id) {
            delete(pool, id).await?;
            forgotten.push(id);
        }
    }
    Ok(forgotten)
}

/// What [`forget`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Forgot {
    /// The record is gone.
    Forgotten,
    /// The key was not recorded (and no stored blob names it).
    NotRecorded,
    /// Stored secrets are sealed with it: they would be lost with it, so it stays.
    StillSealing(KeyUse),
}

/// `perch keys forget`: drops the record of a key that no stored blob names, for an operator
/// whose key is lost when nothing that needs it is.
pub async fn forget(pool: &AnyPool, key_id: u32, now: i64) -> Result<Forgot, ServerError> {
    let Some(key_use) = in_use(pool, now).await?.0.remove(&key_id) else {
        return Ok(Forgot::NotRecorded);
    };
    if key_use.sealed() > 0 {
        return Ok(Forgot::StillSealing(key_use));
    }
    delete(pool, key_id).await?;
    Ok(Forgot::Forgotten)
}

async fn delete(pool: &AnyPool, key_id: u32) -> Result<(), ServerError> {
    sqlx::query("delete from master_keys where key_id = $1").bind(i64::from(key_id)).execute(pool).await?;
    Ok(())
}
