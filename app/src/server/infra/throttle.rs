//! Sign-in and sign-up throttling (docs/security.md C.16), kept in the database so every instance sees
//! the same counts.
//!
//! An attempt is **admitted before any password is hashed**, in one transaction that counts it
//! against each of its keys: the attempts in flight count as if they had failed, so forty wrong
//! passwords sent at once for one account are not all checked because none has failed yet.
//! Keys of two kinds:
//!
//! - **the account** (the email typed, whether or not it exists, so the answer reveals nothing):
//!   [`ACCOUNT_LIMIT`] failures, then a lock that doubles with each further failure up to a cap.
//!   Once locked, one attempt is admitted each time the lock lapses. The real owner is slowed
//!   down, never locked out for good.
//! - **the client address** (behind a trusted proxy, the forwarded client's): [`ADDRESS_LIMIT`]
//!   failures within the window, then the address is *slowed down*, not locked: one attempt at a
//!   time, each held for [`SLOWDOWN`] before it is checked. A correct password for an account
//!   that is not itself locked still signs in, so one attacker behind a shared address (a
//!   proxy, an office) cannot lock everybody out; and a browser that signed in as this account
//!   before (a device cookie, [`crate::server::infra::devices`]) is not counted against its address at all.
//!
//! Sign-up is throttled per address the same way as an account: every attempt counts.

use std::time::Duration;

use sqlx::{Any, AnyPool, Transaction};

use crate::server::infra::db::begin_write;
use crate::server::infra::error::ServerError;
use crate::server::now;

/// Failures allowed per account within [`WINDOW_SECS`] before a lock starts.
pub const ACCOUNT_LIMIT: i64 = 5;
/// Failures allowed per address within [`WINDOW_SECS`] before the address is slowed down.
pub const ADDRESS_LIMIT: i64 = 20;
/// Sign-up attempts allowed per address within [`WINDOW_SECS`] before a lock starts.
pub const SIGNUP_LIMIT: i64 = 10;
/// Failures older than this (and not locked) are forgotten.
pub const WINDOW_SECS: i64 = 15 * 60;
/// How long an attempt from a slowed-down address waits before its password is checked.
pub const SLOWDOWN: Duration = Duration::from_secs(2);
/// An attempt admitted this long ago and never settled belonged to an instance that died.
const IN_FLIGHT_TTL_SECS: i64 = 60;
const FIRST_LOCK_SECS: i64 = 30;
const MAX_LOCK_SECS: i64 = 15 * 60;

/// What a key stands for, and so what happens past its limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Past the limit, locked; the lock doubles with each failure.
    Lock(i64),
    /// Past the limit, one attempt at a time, each after [`SLOWDOWN`].
    SlowDown(i64),
}

/// A key and its rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    pub key: String,
    pub rule: Rule,
}

impl Key {
    pub fn account(email: &str) -> Self {
        Key { key: format!("email:{email}"), rule: Rule::Lock(ACCOUNT_LIMIT) }
    }

    pub fn address(addr: &str) -> Self {
        Key { key: format!("addr:{addr}"), rule: Rule::SlowDown(ADDRESS_LIMIT) }
    }

    pub fn signup(addr: &str) -> Self {
        Key { key: format!("signup:{addr}"), rule: Rule::Lock(SIGNUP_LIMIT) }
    }
}

/// How long to lock after `failures` failures against a limit of `limit`.
pub fn lock_secs(failures: i64, limit: i64) -> i64 {
    if failures < limit {
        return 0;
    }
    let doublings = (failures - limit).min(10) as u32;
    (FIRST_LOCK_SECS << doublings).min(MAX_LOCK_SECS)
}

/// One key's row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Entry {
    pub failures: i64,
    pub in_flight: i64,
    pub locked_until: i64,
    pub updated_at: i64,
}

/// Why an attempt was not admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A lock: try again in this many seconds.
    Locked(i64),
    /// Other attempts for this key are being checked right now; try again in a moment.
    Busy,
}

impl Refusal {
    pub fn retry_after_secs(self) -> i64 {
        match self {
            Refusal::Locked(s) => s.max(1),
            Refusal::Busy => SLOWDOWN.as_secs() as i64,
        }
    }
}

/// An admitted attempt: settle it with [`Attempt::failed`], [`Attempt::succeeded`] or
/// [`Attempt::abandoned`] once the password was checked (or could not be).
#[derive(Debug)]
pub struct Attempt {
    keys: Vec<Key>,
    /// The address is past its limit: hold the attempt for [`SLOWDOWN`] before checking it.
    pub slowed: bool,
}

impl Entry {
    /// The entry as it stands at `t`: attempts of dead instances and failures outside the window
    /// forgotten.
    fn at(mut self, t: i64) -> Self {
        if self.updated_at < t - IN_FLIGHT_TTL_SECS {
            self.in_flight = 0;
        }
        if self.updated_at < t - WINDOW_SECS && self.locked_until < t {
            self.failures = 0;
        }
        self
    }

    /// Admits one more attempt at `t`, or says why not. Returns the entry with the attempt in
    /// flight, and whether it is to be slowed down.
    pub fn admit(self, t: i64, rule: Rule) -> Result<(Entry, bool), Refusal> {
        let mut e = self.at(t);
        let (limit, slowed) = match rule {
            Rule::Lock(limit) => {
                if e.locked_until > t {
                    return Err(Refusal::Locked(e.locked_until - t));
                }
                (limit, false)
            }
            Rule::SlowDown(limit) => (limit, e.failures >= limit),
        };
        // Under the limit, attempts in flight count as failures; past it, one at a time.
        let room = if e.failures >= limit { e.in_flight == 0 } else { e.failures + e.in_flight < limit };
        if !room {
            return Err(Refusal::Busy);
        }
        e.in_flight += 1;
        e.updated_at = t;
        Ok((e, slowed))
    }

    /// Settles an attempt that failed at `t`.
    pub fn fail(self, t: i64, rule: Rule) -> Entry {
        let mut e = self.at(t);
        e.in_flight = (e.in_flight - 1).max(0);
        e.failures += 1;
        if let Rule::Lock(limit) = rule {
            let lock = lock_secs(e.failures, limit);
            if lock > 0 {
                e.locked_until = t + lock;
            }
        }
        e.updated_at = t;
        e
    }

    /// Settles an attempt that was neither a success nor a failure (the check could not run).
    pub fn release(self, t: i64) -> Entry {
        let mut e = self.at(t);
        e.in_flight = (e.in_flight - 1).max(0);
        e.updated_at = t;
        e
    }
}

const EMPTY: Entry = Entry { failures: 0, in_flight: 0, locked_until: 0, updated_at: 0 };

/// Reads `key`'s entry for update inside `tx` (PostgreSQL locks the row; SQLite's write
/// transaction holds the whole database).
async fn read(tx: &mut Transaction<'static, Any>, key: &str) -> Result<Entry, ServerError> {
    let lock = if tx.backend_name() == "PostgreSQL" { " for update" } else { "" };
    let row: Option<Entry> = sqlx::query_as(&format!(
        "select failures, in_flight, locked_until, updated_at from login_throttle where key = $1{lock}"
    ))
    .bind(key)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.unwrap_or(EMPTY))
}

async fn write(tx: &mut Transaction<'static, Any>, key: &str, e: Entry) -> Result<(), ServerError> {
    sqlx::query(
        "insert into login_throttle (key, failures, in_flight, locked_until, updated_at) values ($1, $2, $3, $4, $5) \
         on conflict (key) do update set failures = $2, in_flight = $3, locked_until = $4, updated_at = $5",
    )
    .bind(key)
    .bind(e.failures)
    .bind(e.in_flight)
    .bind(e.locked_until)
    .bind(e.updated_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Begins a transaction in which `keys` are read for update: on PostgreSQL each row is created
/// first (so that two first attempts lock the same row) and locked in key order.
async fn begin(pool: &AnyPool, keys: &mut [Key]) -> Result<Transaction<'static, Any>, ServerError> {
    keys.sort_by(|a, b| a.key.cmp(&b.key));
    let mut tx = begin_write(pool).await?;
    if tx.backend_name() == "PostgreSQL" {
        for k in keys.iter() {
            sqlx::query(
                "insert into login_throttle (key, failures, in_flight, locked_until, updated_at) values ($1, 0, 0, 0, 0) \
                 on conflict (key) do nothing",
            )
            .bind(&k.key)
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(tx)
}

/// Admits an attempt against every key at once (all or none), before the password is hashed.
pub async fn admit(pool: &AnyPool, mut keys: Vec<Key>) -> Result<Result<Attempt, Refusal>, ServerError> {
    let t = now();
    let mut tx = begin(pool, &mut keys).await?;
    let mut slowed = false;
    let mut admitted = Vec::with_capacity(keys.len());
    for k in &keys {
        match read(&mut tx, &k.key).await?.admit(t, k.rule) {
            Ok((e, slow)) => {
                slowed |= slow;
                admitted.push(e);
            }
            // Nothing was written: the transaction ends without counting this attempt anywhere.
            Err(refusal) => return Ok(Err(refusal)),
        }
    }
    for (k, e) in keys.iter().zip(admitted) {
        write(&mut tx, &k.key, e).await?;
    }
    tx.commit().await?;
    Ok(Ok(Attempt { keys, slowed }))
}

impl Attempt {
    /// The password did not match: a failure on every key.
    pub async fn failed(self, pool: &AnyPool) -> Result<(), ServerError> {
        self.settle(pool, |e, t, rule| e.fail(t, rule), false).await
    }

    /// Signed in: the account's failures are forgotten; the address's are kept (another account
    /// signing in from it says nothing about the guesses made there).
    pub async fn succeeded(self, pool: &AnyPool) -> Result<(), ServerError> {
        self.settle(pool, |e, t, _| e.release(t), true).await
    }

    /// The check could not run (the hashing queue was full, say): the attempt counts for nothing.
    pub async fn abandoned(self, pool: &AnyPool) -> Result<(), ServerError> {
        self.settle(pool, |e, t, _| e.release(t), false).await
    }

    async fn settle(
        mut self,
        pool: &AnyPool,
        change: impl Fn(Entry, i64, Rule) -> Entry,
        forget_accounts: bool,
    ) -> Result<(), ServerError> {
        let t = now();
        let mut tx = begin(pool, &mut self.keys).await?;
        for k in &self.keys {
            if forget_accounts && matches!(k.rule, Rule::Lock(_)) {
                sqlx::query("delete from login_throttle where key = $1").bind(&k.key).execute(&mut *tx).await?;
                continue;
            }
            let e = change(read(&mut tx, &k.key).await?, t, k.rule);
            write(&mut tx, &k.key, e).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Deletes entries that are neither locked, nor within the counting window, nor in flight.
pub async fn forget_stale(pool: &AnyPool) -> Result<(), ServerError> {
    let t = now();
    sqlx::query("delete from login_throttle where updated_at < $1 and locked_until < $2")
        .bind(t - WINDOW_SECS.max(IN_FLIGHT_TTL_SECS))
        .bind(t)
        .execute(pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: Rule = Rule::Lock(5);
    const ADDRESS: Rule = Rule::SlowDown(20);

    #[test]
    fn locks_grow_and_are_capped() {
        assert_eq!(lock_secs(4, 5), 0);
        assert_eq!(lock_secs(5, 5), 30);
        assert_eq!(lock_secs(6, 5), 60);
        assert_eq!(lock_secs(50, 5), 900);
    }

    #[test]
    fn attempts_in_flight_count_against_the_limit() {
        let t = 1_000_000;
        let mut e = EMPTY;
        for _ in 0..5 {
            e = e.admit(t, ACCOUNT).unwrap().0;
        }
        assert_eq!(e.admit(t, ACCOUNT), Err(Refusal::Busy), "five being checked: a sixth waits");
        // Five failures: locked for 30 s.
        for _ in 0..5 {
            e = e.fail(t, ACCOUNT);
        }
        assert_eq!(e.admit(t + 1, ACCOUNT), Err(Refusal::Locked(29)));
        // The lock lapses: one attempt at a time; its failure doubles the lock.
        let (e2, _) = e.admit(t + 31, ACCOUNT).unwrap();
        assert_eq!(e2.admit(t + 31, ACCOUNT), Err(Refusal::Busy));
        assert_eq!(e2.fail(t + 31, ACCOUNT).locked_until, t + 31 + 60);
    }

    #[test]
    fn an_address_past_its_limit_is_slowed_never_locked() {
        let t = 1_000_000;
        let mut e = EMPTY;
        for _ in 0..20 {
            e = e.admit(t, ADDRESS).unwrap().0.fail(t, ADDRESS);
        }
        assert_eq!(e.locked_until, 0);
        let (busy, slowed) = e.admit(t, ADDRESS).unwrap();
        assert!(slowed, "past the limit each attempt waits before its check");
        assert_eq!(busy.admit(t, ADDRESS), Err(Refusal::Busy), "one at a time");
        assert!(busy.release(t).admit(t, ADDRESS).is_ok());
    }

    #[test]
    fn the_window_and_dead_instances_are_forgotten() {
        let t = 1_000_000;
        let stuck = Entry { failures: 4, in_flight: 1, locked_until: 0, updated_at: t - IN_FLIGHT_TTL_SECS - 1 };
        assert_eq!(stuck.admit(t, ACCOUNT).unwrap().0.in_flight, 1, "the dead instance's attempt no longer counts");
        let old = Entry { failures: 4, in_flight: 0, locked_until: 0, updated_at: t - WINDOW_SECS - 1 };
        assert_eq!(old.fail(t, ACCOUNT).failures, 1);
    }
}
