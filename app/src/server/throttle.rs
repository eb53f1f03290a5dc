//! Sign-in throttling (security.md C.16), kept in the database so every instance sees the same
//! counts. Two keys are counted per attempt: the email typed (whether or not it exists, so the
//! answer reveals nothing) and the client address. Locks are temporary and grow with repeated
//! failures up to a cap, so the real owner is slowed down, never locked out for good.

use sqlx::AnyPool;

use super::error::ServerError;
use super::now;

/// Failures allowed per key within [`WINDOW_SECS`] before a lock starts.
pub const EMAIL_LIMIT: i64 = 5;
pub const ADDRESS_LIMIT: i64 = 20;
/// Failures older than this (and not locked) are forgotten.
pub const WINDOW_SECS: i64 = 15 * 60;
const FIRST_LOCK_SECS: i64 = 30;
const MAX_LOCK_SECS: i64 = 15 * 60;

pub fn email_key(email: &str) -> String {
    format!("email:{email}")
}

pub fn address_key(addr: &str) -> String {
    format!("addr:{addr}")
}

/// How long to lock after `failures` failures against a limit of `limit`.
pub fn lock_secs(failures: i64, limit: i64) -> i64 {
    if failures < limit {
        return 0;
    }
    let doublings = (failures - limit).min(10) as u32;
    (FIRST_LOCK_SECS << doublings).min(MAX_LOCK_SECS)
}

/// Seconds until any of `keys` unlocks, if one is locked now.
pub async fn locked_for(pool: &AnyPool, keys: &[&str]) -> Result<Option<i64>, ServerError> {
    let t = now();
    let mut longest = 0;
    for key in keys {
        let until: Option<i64> = sqlx::query_scalar("select locked_until from login_throttle where key = $1")
            .bind(*key)
            .fetch_optional(pool)
            .await?;
        longest = longest.max(until.unwrap_or(0) - t);
    }
    Ok((longest > 0).then_some(longest))
}

/// Counts a failed attempt against `key`, locking it once `limit` is reached.
pub async fn record_failure(pool: &AnyPool, key: &str, limit: i64) -> Result<(), ServerError> {
    let t = now();
    let failures: i64 = sqlx::query_scalar(
        "insert into login_throttle (key, failures, locked_until, updated_at) values ($1, 1, 0, $2)
         on conflict (key) do update set
           failures = case when login_throttle.updated_at < $3 and login_throttle.locked_until < $2
                           then 1 else login_throttle.failures + 1 end,
           updated_at = $2
         returning failures",
    )
    .bind(key)
    .bind(t)
    .bind(t - WINDOW_SECS)
    .fetch_one(pool)
    .await?;
    let lock = lock_secs(failures, limit);
    if lock > 0 {
        sqlx::query("update login_throttle set locked_until = $1 where key = $2")
            .bind(t + lock)
            .bind(key)
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// Forgets the failures of `key` (after a successful sign-in).
pub async fn clear(pool: &AnyPool, key: &str) -> Result<(), ServerError> {
    sqlx::query("delete from login_throttle where key = $1").bind(key).execute(pool).await?;
    Ok(())
}

/// Deletes entries that are neither locked nor within the counting window.
pub async fn forget_stale(pool: &AnyPool) -> Result<(), ServerError> {
    let t = now();
    sqlx::query("delete from login_throttle where updated_at < $1 and locked_until < $2")
        .bind(t - WINDOW_SECS)
        .bind(t)
        .execute(pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::lock_secs;

    #[test]
    fn locks_grow_and_are_capped() {
        assert_eq!(lock_secs(4, 5), 0);
        assert_eq!(lock_secs(5, 5), 30);
        assert_eq!(lock_secs(6, 5), 60);
        assert_eq!(lock_secs(50, 5), 900);
    }
}
