//! One database handle for SQLite and PostgreSQL.
//!
//! The logic runs on one code path: every query goes through an [`AnyPool`] with `$1`-style
//! placeholders, which both backends accept, and portable SQL (timestamps are Unix seconds in
//! `bigint`, ids are `text`). Migrations use a typed pool, because the migration files differ per
//! backend in their DDL.

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Any, AnyPool, Executor, PgPool, SqlitePool, Transaction};
use std::str::FromStr;
use std::time::Duration;

use crate::server::infra::error::ServerError;
use crate::server::infra::sessions::SessionStore;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Begins a transaction that writes. On SQLite it takes the write lock up front (`BEGIN
/// IMMEDIATE`), waiting out other writers under the busy timeout: a deferred transaction that
/// reads and then writes fails at once with "database is locked" (`SQLITE_BUSY_SNAPSHOT`) when
/// another connection committed in between, and the busy timeout does not help it. PostgreSQL
/// takes row locks as it goes, so a plain `BEGIN` is right there.
pub async fn begin_write(pool: &AnyPool) -> Result<Transaction<'static, Any>, sqlx::Error> {
    if pool.connect_options().database_url.scheme() == "sqlite" {
        pool.begin_with("BEGIN IMMEDIATE").await
    } else {
        pool.begin().await
    }
}

/// How long a SQLite statement waits for another connection's write lock before failing. A
/// refresh lease outlasts the waits its holder can meet (`accounts::LEASE_SECS`).
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Begins a write transaction that runs alone among those of one organization: what a
/// read-then-write needs when its rule spans rows (two credential saves must not both read
/// generation N and write N + 1, two key creations must not both count 99 active keys). SQLite
/// runs one write transaction at a time anyway ([`begin_write`]); on PostgreSQL the
/// organization's row is locked until commit.
pub async fn begin_org_write(pool: &AnyPool, org_id: &str) -> Result<Transaction<'static, Any>, ServerError> {
    let mut tx = begin_write(pool).await?;
    if tx.backend_name() == "PostgreSQL" {
        sqlx::query("select id from organizations where id = $1 for update").bind(org_id).execute(&mut *tx).await?;
    }
    Ok(tx)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Which backend a `PERCH_DATABASE_URL` selects, or `None` for an unsupported scheme.
    pub fn from_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

#[derive(Clone, Debug)]
enum Typed {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The application's database: cheap to clone, shared by every request.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    typed: Typed,
    backend: Backend,
}

impl Db {
    /// Connects, creating the SQLite file (and turning on WAL) on first use.
    pub async fn connect(url: &str) -> Result<Self, ServerError> {
        install_default_drivers();
        let backend =
            Backend::from_url(url).ok_or_else(|| ServerError::Other("unsupported database URL scheme".into()))?;
        let (typed, max) = match backend {
            Backend::Sqlite => {
                let opts = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT);
                let pool =
                    SqlitePoolOptions::new().max_connections(4).test_before_acquire(false).connect_with(opts).await?;
                (Typed::Sqlite(pool), 8)
            }
            Backend::Postgres => {
                let opts = PgConnectOptions::from_str(url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(opts)
                    .await?;
                (Typed::Postgres(pool), 16)
            }
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(5))
            // sqlx pings a connection before handing it out. A SQLite connection is a file this
            // process holds open, and each ping was one more trip to the connection's worker
            // thread per query (7 % of a page's CPU, measured with perf); a PostgreSQL
            // connection is a socket the server may have closed, so it is still checked.
            .test_before_acquire(backend == Backend::Postgres)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // Per-connection settings; WAL itself is persistent and was set above.
                        let pragmas = format!(
                            "pragma foreign_keys = on; pragma busy_timeout = {}; pragma synchronous = normal;",
                            SQLITE_BUSY_TIMEOUT.as_millis()
                        );
                        conn.execute(pragmas.as_str()).await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        Ok(Self { pool, typed, backend })
    }

    /// Applies the migrations in `migrations/<backend>/`.
    pub async fn migrate(&self) -> Result<(), ServerError> {
        match &self.typed {
            Typed::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await?,
            Typed::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await?,
        }
        Ok(())
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// An SQL expression for the database's clock in Unix seconds: the one clock every instance
    /// on a shared database reads alike, whatever their own clocks say.
    pub fn clock_sql(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "cast(strftime('%s', 'now') as integer)",
            Backend::Postgres => "cast(extract(epoch from clock_timestamp()) as bigint)",
        }
    }

    /// The session store living in this same database, so instances share sessions.
    pub fn session_store(&self) -> SessionStore {
        SessionStore::new(self.pool.clone())
    }

    /// Whether the database answers (for `/healthz`).
    pub async fn ping(&self) -> bool {
        tokio::time::timeout(Duration::from_secs(2), sqlx::query("select 1").execute(&self.pool))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    pub async fn close(&self) {
        self.pool.close().await;
        match &self.typed {
            Typed::Sqlite(p) => p.close().await,
            Typed::Postgres(p) => p.close().await,
        }
    }
}
