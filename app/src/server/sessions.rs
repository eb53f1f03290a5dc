//! Sessions: tower-sessions with its sqlx store, in Perch's own database.
//!
//! tower-sessions enforces the idle timeout (the record's expiry moves forward while the session
//! is used); the absolute lifetime is enforced here from the sign-in time kept in the session
//! (security.md D.20).

use async_trait::async_trait;
use tower_sessions::Session;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use super::{AppConfig, now};

/// Session keys.
const USER_ID: &str = "uid";
const SIGNED_IN_AT: &str = "signed_in_at";
const SEEN_AT: &str = "seen_at";

/// Either backend's store, chosen by the database URL.
#[derive(Clone, Debug)]
pub enum SessionStore {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl SessionStore {
    pub fn sqlite(pool: sqlx::SqlitePool) -> Self {
        Self::Sqlite(SqliteStore::new(pool))
    }

    pub fn postgres(pool: sqlx::PgPool) -> Self {
        Self::Postgres(PostgresStore::new(pool))
    }

    pub async fn migrate(&self) -> sqlx::Result<()> {
        match self {
            Self::Sqlite(s) => s.migrate().await,
            Self::Postgres(s) => s.migrate().await,
        }
    }
}

#[async_trait]
impl session_store::SessionStore for SessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.create(record).await,
            Self::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.save(record).await,
            Self::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Self::Sqlite(s) => s.load(id).await,
            Self::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.delete(id).await,
            Self::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for SessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.delete_expired().await,
            Self::Postgres(s) => s.delete_expired().await,
        }
    }
}

/// Marks the session as signed in as `user_id`, under a new session id (security.md D.18).
pub async fn sign_in(session: &Session, user_id: &str) -> Result<(), tower_sessions::session::Error> {
    // A fresh id first: whatever id the browser had before (possibly planted) dies here.
    session.cycle_id().await?;
    let t = now();
    session.insert(USER_ID, user_id).await?;
    session.insert(SIGNED_IN_AT, t).await?;
    session.insert(SEEN_AT, t).await?;
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
        }
    }

    async fn session() -> Session {
        // One connection: every connection to `sqlite::memory:` is a database of its own.
        let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect("sqlite::memory:").await.unwrap();
        let store = SessionStore::sqlite(pool);
        store.migrate().await.unwrap();
        Session::new(None, Arc::new(store), None)
    }

    #[tokio::test]
    async fn a_session_past_its_absolute_lifetime_is_signed_out() {
        // security.md D.20: activity does not extend a session beyond its absolute lifetime.
        let s = session().await;
        let cfg = config(Duration::from_secs(3600));
        sign_in(&s, "usr_1").await.unwrap();
        assert_eq!(user_id(&s, &cfg).await.unwrap().as_deref(), Some("usr_1"));
        s.insert(SIGNED_IN_AT, now() - 3599).await.unwrap();
        s.insert(SEEN_AT, now()).await.unwrap();
        assert_eq!(user_id(&s, &cfg).await.unwrap().as_deref(), Some("usr_1"), "still within the lifetime");
        s.insert(SIGNED_IN_AT, now() - 3601).await.unwrap();
        assert_eq!(user_id(&s, &cfg).await.unwrap(), None);
        assert!(s.is_empty().await, "the ended session is flushed, not just ignored");
    }

    #[tokio::test]
    async fn activity_is_recorded_at_most_once_a_minute() {
        let s = session().await;
        let cfg = config(Duration::from_secs(3600));
        sign_in(&s, "usr_1").await.unwrap();
        s.insert(SEEN_AT, now() - 30).await.unwrap();
        user_id(&s, &cfg).await.unwrap();
        assert_eq!(s.get::<i64>(SEEN_AT).await.unwrap(), Some(now() - 30), "no write within the minute");
        s.insert(SEEN_AT, now() - 120).await.unwrap();
        user_id(&s, &cfg).await.unwrap();
        assert!(s.get::<i64>(SEEN_AT).await.unwrap().unwrap() >= now() - 1, "touched after a minute");
    }
}
