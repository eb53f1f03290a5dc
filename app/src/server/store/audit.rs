//! The organization's audit trail: who saved, replaced, tested or removed which credentials, and
//! when. Entries are written in the transaction of the change they describe and hold only
//! previews, names and results, never a secret (docs/security.md B.11).

use sqlx::{Any, AnyPool, Transaction};

use crate::domain::AuditEntry;
use crate::domain::OrgId;
use crate::server::infra::error::ServerError;

/// What an entry records. The trail stores the label, which is what the settings page shows; the
/// enum keeps every writer to the same fixed set of actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditAction {
    CredentialsSaved,
    SecretRotated,
    AppReplaced,
    CredentialsSavedAgain,
    CredentialsTested,
    CredentialsRemoved,
    AccountConnected,
    AccountReconnected,
    AccountMarked,
    AccountDisconnected,
    TokensNotRevoked,
    ApiKeyCreated,
    ApiKeyRevoked,
    PasswordChanged,
    PasswordSet,
    SignedOutEverywhere,
    MemberRemoved,
}

impl AuditAction {
    pub fn label(self) -> &'static str {
        match self {
            AuditAction::CredentialsSaved => "Saved credentials",
            AuditAction::SecretRotated => "Replaced the Client Secret (rotation)",
            AuditAction::AppReplaced => "Replaced the X app (new Client ID)",
            AuditAction::CredentialsSavedAgain => "Saved the same credentials again",
            AuditAction::CredentialsTested => "Tested credentials",
            AuditAction::CredentialsRemoved => "Removed credentials",
            AuditAction::AccountConnected => "Connected an X account",
            AuditAction::AccountReconnected => "Reconnected an X account",
            AuditAction::AccountMarked => "Marked an X account as needing reconnection",
            AuditAction::AccountDisconnected => "Disconnected an X account",
            AuditAction::TokensNotRevoked => "Could not revoke an X account's tokens at X",
            AuditAction::ApiKeyCreated => "Created an API key",
            AuditAction::ApiKeyRevoked => "Revoked an API key",
            AuditAction::PasswordChanged => "Changed their password",
            AuditAction::PasswordSet => "Set a member's password",
            AuditAction::SignedOutEverywhere => "Signed out everywhere",
            AuditAction::MemberRemoved => "Removed a member",
        }
    }
}

/// How many entries the settings page shows.
pub const PAGE: i64 = 50;

pub async fn record(
    tx: &mut Transaction<'_, Any>,
    org_id: &OrgId,
    at: i64,
    actor: &str,
    action: AuditAction,
    target: &str,
    detail: &str,
) -> Result<(), ServerError> {
    sqlx::query("insert into audit_events (org_id, at, actor, action, target, detail) values ($1, $2, $3, $4, $5, $6)")
        .bind(org_id)
        .bind(at)
        .bind(actor)
        .bind(action.label())
        .bind(target)
        .bind(detail)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The newest `limit` entries, newest first.
pub async fn recent(pool: &AnyPool, org_id: &OrgId, limit: i64) -> Result<Vec<AuditEntry>, ServerError> {
    let rows: Vec<(i64, String, String, String, String)> = sqlx::query_as(
        "select at, actor, action, target, detail from audit_events where org_id = $1 order by seq desc limit $2",
    )
    .bind(org_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(at, actor, action, target, detail)| AuditEntry { at, actor, action, target, detail })
        .collect())
}
