//! Sessions: tower-sessions over Perch's own `sessions` table, in Perch's database so that every
//! instance sees every session.
//!
//! The store is Perch's own rather than tower-sessions-sqlx-store's, for three properties
//! (docs/security.md D.21, H.42):
//!
//! - **Only a hash of the id is stored.** A row is keyed by SHA-256 of the cookie's value
//!   (`id_hash`) and its data is stored without the id, so a copy of the database, a backup or a
//!   dump holds nothing a browser could present.
//! - **Only `create` inserts.** `save` updates the row if it still exists and does nothing
//!   otherwise: a request that loaded the session before a sign-out and changes it afterwards
//!   cannot bring the deleted session back (the sqlx store's `save` is an upsert).
//! - **A user's sessions end together.** A signed-in row names its user and the user's
//!   `session_epoch` when the row was created, and `load` accepts it only while the user exists
//!   with that epoch. [`end_all`] moves the epoch on and deletes the rows in the caller's
//!   transaction: every instance sees it at its next load, and a row that slipped past the delete
//!   (created from a read of the old epoch) is dead all the same.
//!
//! - **Who asks comes with the session.** `load` reads the signed-in user and their organization
//!   (a [`Viewer`]) in the same query as the session, so a page learns who asks in one round trip
//!   (docs/benchmarks.md, "Pages"). The viewer is kept in the loaded record for the request only:
//!   `create` and `save` leave it out of what they store.
//!
//! tower-sessions enforces the idle timeout (the row's expiry moves forward while the session is
//! used); the absolute lifetime is enforced here from the sign-in time kept in the session (D.20).

use async_trait::async_trait;
use sqlx::{Any, AnyPool, Transaction};
use time::OffsetDateTime;
use tower_sessions::Session;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion};

use crate::domain::{OrgId, Viewer};
use crate::server::infra::error::ServerError;
use crate::server::infra::ids::sha256_hex;
use crate::server::store::users::ViewerRow;
use crate::server::{AppConfig, now};

/// Session keys.
const USER_ID: &str = "uid";
const SIGNED_IN_AT: &str = "signed_in_at";
const SEEN_AT: &str = "seen_at";
/// The user's session epoch the sign-in was checked against, when the caller read it: the row is
/// then created only if the epoch is still the user's. Without it the row takes the epoch current
/// when it is created.
const EPOCH: &str = "epoch";
/// The viewer `load` read with the session, for this request only (never stored).
const VIEWER: &str = "_viewer";

/// The session store on Perch's database (either backend: portable SQL through the `AnyPool`).
#[derive(Clone, Debug)]
pub struct SessionStore {
    pool: AnyPool,
}

impl SessionStore {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }
}

/// The row key of a session id: SHA-256 of the cookie's value, lower-case hex. The id has 128
/// random bits, so a fast unkeyed hash is enough (nothing to slow down guessing against).
fn row_key(id: &Id) -> String {
    sha256_hex(&id.to_string())
}

fn backend_error(e: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

fn user_of(record: &Record) -> Option<&str> {
    record.data.get(USER_ID).and_then(|v| v.as_str())
}

/// The record's data as stored: everything but the request's [`VIEWER`].
fn stored_data(record: &Record) -> session_store::Result<String> {
    let data: std::collections::HashMap<&String, &serde_json::Value> =
        record.data.iter().filter(|(k, _)| k.as_str() != VIEWER).collect();
    serde_json::to_string(&data).map_err(|e| session_store::Error::Encode(e.to_string()))
}

/// A session row with its signed-in user's viewer columns (null for an anonymous session).
#[derive(sqlx::FromRow)]
struct LoadedRow {
    data: String,
    expires_at: i64,
    user_id: Option<String>,
    email: Option<String>,
    role: Option<String>,
    org_id: Option<OrgId>,
    org_name: Option<String>,
}

impl LoadedRow {
    fn viewer(&mut self) -> Option<Viewer> {
        Some(Viewer::from(ViewerRow {
            user_id: self.user_id.take()?,
            email: self.email.take()?,
            role: self.role.take()?,
            org_id: self.org_id.take()?,
            org_name: self.org_name.take()?,
        }))
    }
}

#[async_trait]
impl session_store::SessionStore for SessionStore {
    /// Inserts the session under its id, or under a fresh one when the id is taken (the contract
    /// tower-sessions relies on: the record's id is what the cookie will carry). A signed-in
    /// session is inserted only while its user exists (with the epoch the sign-in read, if any):
    /// otherwise nothing is stored and the cookie the browser gets signs nobody in.
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let data = stored_data(record)?;
        let expires_at = record.expiry_date.unix_timestamp();
        let user = user_of(record).map(str::to_owned);
        let epoch = record.data.get(EPOCH).and_then(|v| v.as_i64());
        loop {
            let key = row_key(&record.id);
            let inserted = match &user {
                None => sqlx::query(
                    "insert into sessions (id_hash, user_id, user_epoch, data, expires_at) values ($1, null, null, $2, $3)",
                )
                .bind(&key)
                .bind(&data)
                .bind(expires_at)
                .execute(&self.pool)
                .await,
                Some(uid) => sqlx::query(
                    "insert into sessions (id_hash, user_id, user_epoch, data, expires_at)
                     select $1, u.id, u.session_epoch, $2, $3 from users u
                     where u.id = $4 and u.session_epoch = coalesce($5, u.session_epoch)",
                )
                .bind(&key)
                .bind(&data)
                .bind(expires_at)
                .bind(uid)
                .bind(epoch)
                .execute(&self.pool)
                .await,
            };
            match inserted {
                Ok(done) => {
                    if done.rows_affected() == 0 {
                        tracing::info!(
                            "session not stored: its user was removed or signed out everywhere since the sign-in"
                        );
                    }
                    return Ok(());
                }
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => record.id = Id::default(),
                Err(e) => return Err(backend_error(e)),
            }
        }
    }

    /// Updates the session if its row still exists, unexpired and for the same user; never
    /// inserts. A session ended meanwhile stays ended, and the browser's next request is anonymous.
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = stored_data(record)?;
        let updated = sqlx::query(
            "update sessions set data = $1, expires_at = $2
             where id_hash = $3 and expires_at > $4 and coalesce(user_id, '') = $5",
        )
        .bind(&data)
        .bind(record.expiry_date.unix_timestamp())
        .bind(row_key(&record.id))
        .bind(now())
        // A session's user is fixed when its row is created: signing in cycles the id (create).
        .bind(user_of(record).unwrap_or_default())
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        if updated.rows_affected() == 0 {
            tracing::debug!("session not saved: it ended while the request ran");
        }
        Ok(())
    }

    /// The session, if unexpired and (when signed in) its user still exists at the epoch it was
    /// created with; with the user's viewer, read in the same query.
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let row: Option<LoadedRow> = sqlx::query_as(
            "select s.data, s.expires_at, u.id as user_id, u.email, u.role, o.id as org_id, o.name as org_name
             from sessions s left join users u on u.id = s.user_id left join organizations o on o.id = u.org_id
             where s.id_hash = $1 and s.expires_at > $2 and (s.user_id is null or u.session_epoch = s.user_epoch)",
        )
        .bind(row_key(id))
        .bind(now())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend_error)?;
        let Some(mut row) = row else { return Ok(None) };
        let mut data: std::collections::HashMap<String, serde_json::Value> =
            serde_json::from_str(&row.data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        data.remove(VIEWER);
        if let Some(viewer) = row.viewer() {
            let value = serde_json::to_value(viewer).map_err(|e| session_store::Error::Encode(e.to_string()))?;
            data.insert(VIEWER.to_owned(), value);
        }
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date: OffsetDateTime::from_unix_timestamp(row.expires_at)
                .map_err(|e| session_store::Error::Decode(e.to_string()))?,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sqlx::query("delete from sessions where id_hash = $1")
            .bind(row_key(id))
            .execute(&self.pool)
            .await
            .map_err(backend_error)?;
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for SessionStore {
    /// Deletes expired sessions and those of users whose epoch moved on (already refused by `load`).
    async fn delete_expired(&self) -> session_store::Result<()> {
        sqlx::query(
            "delete from sessions where expires_at <= $1
             or (user_id is not null and not exists
                 (select 1 from users u where u.id = sessions.user_id and u.session_epoch = sessions.user_epoch))",
        )
        .bind(now())
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        Ok(())
    }
}

/// What [`end_all`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    /// How many unexpired sessions of the user there were.
    pub sessions: i64,
    /// The user's new epoch (`None` if the user does not exist).
    pub epoch: Option<i64>,
}

/// Ends every session of `user_id`, on every instance, as part of the caller's transaction (a
/// password change, "sign out everywhere", a removal): moves the user's epoch on, which `load`
/// checks, and deletes the rows.
pub async fn end_all(tx: &mut Transaction<'_, Any>, user_id: &str) -> Result<Ended, ServerError> {
    let epoch: Option<i64> =
        sqlx::query_scalar("update users set session_epoch = session_epoch + 1 where id = $1 returning session_epoch")
            .bind(user_id)
            .fetch_optional(&mut **tx)
            .await?;
    let sessions: i64 = sqlx::query_scalar("select count(*) from sessions where user_id = $1 and expires_at > $2")
        .bind(user_id)
        .bind(now())
        .fetch_one(&mut **tx)
        .await?;
    sqlx::query("delete from sessions where user_id = $1").bind(user_id).execute(&mut **tx).await?;
    Ok(Ended { sessions, epoch })
}

/// Marks the session as signed in as `user_id`, under a new session id (docs/security.md D.18).
pub async fn sign_in(session: &Session, user_id: &str) -> Result<(), tower_sessions::session::Error> {
    start(session, user_id, None).await
}

/// [`sign_in`], for a caller that read the user's `session_epoch` together with the password hash
/// it verified: if the user's sessions were ended in between (a password change), the new
/// session is not stored either.
pub async fn sign_in_at_epoch(
    session: &Session,
    user_id: &str,
    epoch: i64,
) -> Result<(), tower_sessions::session::Error> {
    start(session, user_id, Some(epoch)).await
}

async fn start(session: &Session, user_id: &str, epoch: Option<i64>) -> Result<(), tower_sessions::session::Error> {
    // A fresh id first: whatever id the browser had before (possibly planted) dies here.
    session.cycle_id().await?;
    let t = now();
    session.insert(USER_ID, user_id).await?;
    session.insert(SIGNED_IN_AT, t).await?;
    session.insert(SEEN_AT, t).await?;
    match epoch {
        Some(e) => session.insert(EPOCH, e).await?,
        None => {
            session.remove_value(EPOCH).await?;
        }
    }
    Ok(())
}

/// Keeps the session signed in under a new id and the user's new epoch, after [`end_all`] ended
/// every session of the user (a password change: this browser stays, every other one leaves).
/// The sign-in time, and so the absolute lifetime, is kept.
pub async fn renew(session: &Session, epoch: i64) -> Result<(), tower_sessions::session::Error> {
    session.cycle_id().await?;
    session.insert(EPOCH, epoch).await?;
    Ok(())
}

/// Ends the session and deletes it from the store, so a replayed cookie is anonymous (D.21).
pub async fn sign_out(session: &Session) -> Result<(), tower_sessions::session::Error> {
    session.flush().await
}

/// The signed-in user id, if the session is signed in and within its absolute lifetime.
///
/// Touches the session at most once a minute, which moves its idle expiry forward without a
/// database write on every request.
pub async fn user_id(session: &Session, config: &AppConfig) -> Result<Option<String>, tower_sessions::session::Error> {
    let Some(uid) = session.get::<String>(USER_ID).await? else {
        return Ok(None);
    };
    let t = now();
    let signed_in_at = session.get::<i64>(SIGNED_IN_AT).await?.unwrap_or(0);
    if t - signed_in_at > config.session_max.as_secs() as i64 {
        session.flush().await?;
        return Ok(None);
    }
    let seen_at = session.get::<i64>(SEEN_AT).await?.unwrap_or(0);
    if t - seen_at >= 60 {
        session.insert(SEEN_AT, t).await?;
    }
    Ok(Some(uid))
}

/// The signed-in user `user_id` as this request's session load read them, if that is who the
/// session is signed in as (a sign-in within the request changes the user; the caller then reads
/// the user itself).
pub async fn loaded_viewer(session: &Session, user_id: &str) -> Result<Option<Viewer>, tower_sessions::session::Error> {
    Ok(session.get::<Viewer>(VIEWER).await?.filter(|v| v.user_id == user_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    fn config(max: Duration) -> AppConfig {
        AppConfig {
            public_url: "http://127.0.0.1:3000".into(),
            public_origin: "http://127.0.0.1:3000".into(),
            https: false,
            signup_open: true,
            session_idle: Duration::from_secs(3600),
            session_max: max,
            trusted_proxies: Default::default(),
            limits: Default::default(),
        }
    }

    /// A session on a store in a fresh SQLite database (a file: every connection to
    /// `sqlite::memory:` is a database of its own), and the database's directory.
    async fn session() -> (Session, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("perch-sessions-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = crate::server::Db::connect(&format!("sqlite://{}", dir.join("perch.db").display())).await.unwrap();
        db.migrate().await.unwrap();
        (Session::new(None, Arc::new(db.session_store()), None), dir)
    }

    #[tokio::test]
    async fn a_session_past_its_absolute_lifetime_is_signed_out() {
        // docs/security.md D.20: activity does not extend a session beyond its absolute lifetime.
        let (s, dir) = session().await;
        let cfg = config(Duration::from_secs(3600));
        sign_in(&s, "usr_1").await.unwrap();
        assert_eq!(user_id(&s, &cfg).await.unwrap().as_deref(), Some("usr_1"));
        s.insert(SIGNED_IN_AT, now() - 3599).await.unwrap();
        s.insert(SEEN_AT, now()).await.unwrap();
        assert_eq!(user_id(&s, &cfg).await.unwrap().as_deref(), Some("usr_1"), "still within the lifetime");
        s.insert(SIGNED_IN_AT, now() - 3601).await.unwrap();
        assert_eq!(user_id(&s, &cfg).await.unwrap(), None);
        assert!(s.is_empty().await, "the ended session is flushed, not just ignored");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn activity_is_recorded_at_most_once_a_minute() {
        let (s, dir) = session().await;
        let cfg = config(Duration::from_secs(3600));
        sign_in(&s, "usr_1").await.unwrap();
        s.insert(SEEN_AT, now() - 30).await.unwrap();
        user_id(&s, &cfg).await.unwrap();
        assert_eq!(s.get::<i64>(SEEN_AT).await.unwrap(), Some(now() - 30), "no write within the minute");
        s.insert(SEEN_AT, now() - 120).await.unwrap();
        user_id(&s, &cfg).await.unwrap();
        assert!(s.get::<i64>(SEEN_AT).await.unwrap().unwrap() >= now() - 1, "touched after a minute");
        let _ = std::fs::remove_dir_all(dir);
    }
}
