//! Per-tenant limits, so that one organization (or one of its API keys) cannot starve the others:
//! requests to the public API per key and per organization, connect flows started per
//! organization, and credential tests per organization. Each answers 429 `throttled` with
//! `Retry-After`.
//!
//! The counters live in the database (`rate_limit_windows`), so the limits hold across every
//! instance sharing it; in-process limiters (governor, tower_governor) keep their state in one
//! process and would give each instance the whole allowance (docs/architecture.md). Each counter
//! is a fixed one-minute window aligned on the database's clock, counted by one atomic upsert
//! (`on conflict … returning`): one statement per request, and for the public API one statement
//! for both of its counters on PostgreSQL.

use crate::error::{AppError, ErrorCode};
use crate::server::infra::db::{Backend, Db};
use crate::server::infra::error::ServerError;

/// The length of every window.
pub const WINDOW_SECS: i64 = 60;

/// The limits, per minute unless said otherwise (`PERCH_*` settings, see `server/src/config.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `/v1` requests per API key.
    pub api_per_key: i64,
    /// `/v1` requests per organization, all its keys together.
    pub api_per_org: i64,
    /// Connect flows started per organization (dashboard Connect and Reconnect, connect links).
    pub connect_starts_per_org: i64,
    /// Connect flows open at once per organization (started, not yet back from X, not expired).
    pub open_flows_per_org: i64,
    /// Credential tests per organization: each one asks X's token endpoint.
    pub credential_tests_per_org: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            api_per_key: 600,
            api_per_org: 1200,
            connect_starts_per_org: 30,
            open_flows_per_org: 50,
            credential_tests_per_org: 10,
        }
    }
}

/// Which limit was reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    ApiKey,
    ApiOrg,
    ConnectStarts,
    OpenFlows,
    CredentialTests,
}

/// A refusal: which limit, at how much, and when to try again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limited {
    pub limit: Limit,
    pub max: i64,
    pub retry_after: i64,
}

impl Limited {
    /// 429 `throttled`, saying which limit and when to try again (also as `Retry-After`).
    pub fn error(self) -> AppError {
        let Limited { max, retry_after, .. } = self;
        let wait = format!("Try again in {retry_after} s (Retry-After).");
        let message = match self.limit {
            Limit::ApiKey => format!(
                "This API key made {max} requests this minute, the most Perch takes from one key. {wait} Spread requests out, or give each integration its own key."
            ),
            Limit::ApiOrg => format!(
                "Your organization's API keys made {max} requests this minute, the most Perch takes from one organization. {wait}"
            ),
            Limit::ConnectStarts => format!(
                "Your organization started {max} account connections this minute, the most Perch allows. {wait}"
            ),
            Limit::OpenFlows => format!(
                "Your organization has {max} account connections waiting for their person to come back from X, the most Perch keeps open at once. Each ends when its person finishes at X, or after 10 minutes. {wait}"
            ),
            Limit::CredentialTests => format!(
                "Your organization tested X app credentials {max} times this minute, the most Perch allows (each test asks X). {wait}"
            ),
        };
        AppError::new(ErrorCode::Throttled, message).retry_after(retry_after.max(1) as u64)
    }
}

/// The database's clock in Unix seconds, stable within a statement (PostgreSQL's `now()` is the
/// transaction's start; SQLite's `'now'` is fixed for one statement), so the window a statement
/// counts in and the wait it answers agree.
fn clock(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "cast(strftime('%s', 'now') as integer)",
        Backend::Postgres => "cast(extract(epoch from now()) as bigint)",
    }
}

/// One hit on the counter named by `bucket` (`$n`), in the current window: a new window starts
/// at one. `window` is the SQL of the current window's start.
fn upsert(bucket: &str, window: &str) -> String {
    format!(
        "insert into rate_limit_windows (bucket, window_start, hits) values ({bucket}, {window}, 1) \
         on conflict (bucket) do update set \
         hits = case when rate_limit_windows.window_start = excluded.window_start then rate_limit_windows.hits + 1 else 1 end, \
         window_start = excluded.window_start"
    )
}

fn window(backend: Backend) -> String {
    let now = clock(backend);
    format!("({now} - {now} % {WINDOW_SECS})")
}

fn bucket_of(limit: Limit, id: &str) -> String {
    let kind = match limit {
        Limit::ApiKey => "api_key",
        Limit::ApiOrg => "api_org",
        Limit::ConnectStarts => "connect_starts",
        Limit::OpenFlows => "open_flows",
        Limit::CredentialTests => "credential_tests",
    };
    format!("{kind}:{id}")
}

/// Counts one request against `limit` for `id` (an organization's id): `Some` when it is over.
pub async fn hit(db: &Db, limit: Limit, id: &str, max: i64) -> Result<Option<Limited>, ServerError> {
    let now = clock(db.backend());
    let sql = format!("{} returning hits, window_start + {WINDOW_SECS} - {now}", upsert("$1", &window(db.backend())));
    let (hits, retry_after): (i64, i64) = sqlx::query_as(&sql).bind(bucket_of(limit, id)).fetch_one(db.pool()).await?;
    Ok((hits > max).then_some(Limited { limit, max, retry_after }))
}

/// Counts one public API request against its key's and its organization's limits: `Some` when
/// either is over. A request over its key's limit is not counted against the organization, so
/// one key that keeps calling cannot use up what the organization's other keys are allowed.
pub async fn hit_api(db: &Db, limits: &Limits, key_id: &str, org_id: &str) -> Result<Option<Limited>, ServerError> {
    let (backend, pool) = (db.backend(), db.pool());
    let now = clock(backend);
    let key_bucket = bucket_of(Limit::ApiKey, key_id);
    let org_bucket = bucket_of(Limit::ApiOrg, org_id);
    let (key_hits, org_hits, retry_after): (i64, Option<i64>, i64) = match backend {
        // One statement: the key's upsert, and the organization's only if the key is within
        // its limit (a data-modifying `with`).
        Backend::Postgres => {
            let sql = format!(
                "with k as ({} returning hits, window_start), \
                 o as (insert into rate_limit_windows (bucket, window_start, hits) select $2, k.window_start, 1 from k where k.hits <= $3 \
                       on conflict (bucket) do update set \
                       hits = case when rate_limit_windows.window_start = excluded.window_start then rate_limit_windows.hits + 1 else 1 end, \
                       window_start = excluded.window_start returning hits) \
                 select k.hits, (select o.hits from o), k.window_start + {WINDOW_SECS} - {now} from k",
                upsert("$1", &window(backend))
            );
            sqlx::query_as(&sql).bind(&key_bucket).bind(&org_bucket).bind(limits.api_per_key).fetch_one(pool).await?
        }
        // SQLite has no data-modifying `with`; it runs in this process, so a second statement
        // costs no round trip over a network.
        Backend::Sqlite => {
            let sql =
                format!("{} returning hits, window_start + {WINDOW_SECS} - {now}", upsert("$1", &window(backend)));
            let (key_hits, retry_after): (i64, i64) = sqlx::query_as(&sql).bind(&key_bucket).fetch_one(pool).await?;
            let org_hits = if key_hits <= limits.api_per_key {
                Some(
                    sqlx::query_scalar::<_, i64>(&format!("{} returning hits", upsert("$1", &window(backend))))
                        .bind(&org_bucket)
                        .fetch_one(pool)
                        .await?,
                )
            } else {
                None
            };
            (key_hits, org_hits, retry_after)
        }
    };
    if key_hits > limits.api_per_key {
        return Ok(Some(Limited { limit: Limit::ApiKey, max: limits.api_per_key, retry_after }));
    }
    Ok(org_hits.filter(|h| *h > limits.api_per_org).map(|_| Limited {
        limit: Limit::ApiOrg,
        max: limits.api_per_org,
        retry_after,
    }))
}

/// Deletes counters of windows that are over (the periodic clean-up): a key or organization
/// that comes back starts a new window anyway. By the database's clock, like the windows.
pub async fn forget_stale(db: &Db) -> Result<u64, ServerError> {
    let sql =
        format!("delete from rate_limit_windows where window_start < {} - {}", clock(db.backend()), 2 * WINDOW_SECS);
    Ok(sqlx::query(&sql).execute(db.pool()).await?.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_429_throttled_with_when_to_try_again() {
        let e = Limited { limit: Limit::ApiKey, max: 600, retry_after: 17 }.error();
        assert_eq!((e.code, e.code.status(), e.retry_after), (ErrorCode::Throttled, 429, Some(17)));
        assert!(e.message.contains("600") && e.message.contains("17 s"), "{}", e.message);
        // A window that just turned still asks for a second, never for nothing.
        assert_eq!(Limited { limit: Limit::ApiOrg, max: 1, retry_after: 0 }.error().retry_after, Some(1));
    }

    #[test]
    fn buckets_of_keys_and_organizations_never_collide() {
        assert_ne!(bucket_of(Limit::ApiKey, "x"), bucket_of(Limit::ApiOrg, "x"));
        assert_ne!(bucket_of(Limit::ConnectStarts, "x"), bucket_of(Limit::CredentialTests, "x"));
    }
}
