//! Server-side failures, and the one place they become what a user sees.

use crate::error::{AppError, ErrorCode};

/// Failures below the server functions. Converting one into an [`AppError`] logs the details
/// under a fresh correlation id and keeps them out of the response (docs/security.md B.12).
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("session store: {0}")]
    Session(#[from] tower_sessions::session::Error),
    #[error("vault: {0}")]
    Vault(#[from] crate::server::infra::vault::VaultError),
    #[error("password hashing: {0}")]
    Hashing(String),
    /// The password hashing queue stayed full for longer than a request waits.
    #[error("the password hashing queue is full")]
    Busy,
    #[error("{0}")]
    Other(String),
}

impl ServerError {
    /// Whether this is a unique-constraint violation (a duplicate the user can fix).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, ServerError::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }

    /// Whether PostgreSQL refused text it cannot store: a NUL byte (SQLSTATE 22021,
    /// character_not_in_repertoire) or a character the database encoding lacks (22P05). Input
    /// is parsed before it reaches a query, so this is a backstop for text that slipped past:
    /// the client's to fix, never an internal error.
    pub fn is_unstorable_text(&self) -> bool {
        matches!(self, ServerError::Database(sqlx::Error::Database(e)) if matches!(e.code().as_deref(), Some("22021" | "22P05")))
    }
}

/// A short random id that ties a user's error message to the log line with the details.
pub fn correlation_id() -> String {
    let v: u64 = rand::random();
    format!("{:012x}", v & 0xffff_ffff_ffff)
}

impl From<ServerError> for AppError {
    fn from(err: ServerError) -> Self {
        if err.is_unstorable_text() {
            tracing::warn!(error = %err, "text the database cannot store refused");
            return AppError::new(
                ErrorCode::BadRequest,
                "The request contains characters Perch cannot store, such as a NUL byte. Remove them and try again.",
            );
        }
        if matches!(err, ServerError::Busy) {
            tracing::warn!("password hashing queue full: a sign-in or sign-up was turned away");
            return AppError::new(
                ErrorCode::Busy,
                "Perch is busy checking other sign-ins right now. Wait a few seconds and try again.",
            )
            .retry_after(crate::server::infra::passwords::QUEUE_WAIT.as_secs());
        }
        // Not an internal error: the operator removed or never gave this server a key (issue 11).
        if let ServerError::Vault(crate::server::infra::vault::VaultError::UnknownKey(key_id)) = &err {
            tracing::error!(key_id = %format_args!("{key_id:#010x}"), "a stored secret was sealed with a master key this server does not have");
            return AppError::master_key_missing(*key_id);
        }
        let id = correlation_id();
        tracing::error!(correlation_id = %id, error = %err, "internal error");
        AppError {
            code: ErrorCode::Internal,
            message: "Something went wrong on our side; nothing was changed. Try again, and if it keeps happening, give the reference to your administrator.".into(),
            field: None,
            correlation_id: Some(id),
            input: None,
            retry_after: None,
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        ServerError::from(err).into()
    }
}

impl From<tower_sessions::session::Error> for AppError {
    fn from(err: tower_sessions::session::Error) -> Self {
        ServerError::from(err).into()
    }
}
