//! What can be done to a connected account: **Check** it, **Disconnect** it, and disconnect every
//! account of a brand being deleted. Each takes its [`Actor`] and authorizes it here.

use secrecy::SecretString;

use crate::domain::{AccountId, Action, BrandId, CheckResult, DisconnectOutcome};
use crate::error::{AppError, ErrorCode};
use crate::server::infra::x_client::{AccountRefusal, ApiError};
use crate::server::services::actor::Actor;
use crate::server::store::accounts::{self, Attempt, UseError};
use crate::server::{AppState, store::credentials};

/// **Check**: one call to X (`GET /2/users/me`) through [`accounts::with_token`], which refreshes,
/// retries once after a 401, or marks the account as needed; a working account's profile is
/// brought up to date. Answers the account's handle and the result.
pub async fn check(state: &AppState, actor: &Actor, account_id: &AccountId) -> Result<(String, CheckResult), AppError> {
    actor.permit(Action::CheckAccount)?;
    let pool = state.db.pool();
    let org_id = actor.org_id();
    let account_id = account_id.as_str();
    let account = accounts::get(pool, org_id, account_id).await?.ok_or_else(|| AppError::not_found("X account"))?;
    let asked = accounts::with_token(state, org_id, account_id, |token| async move {
        match state.x.users_me(&token).await {
            Err(ApiError::Unauthorized) => Attempt::Unauthorized,
            answer => Attempt::Done(answer),
        }
    })
    .await;
    // X's 402 marks the app's credits spent; an answer with the profile clears the mark.
    if let Ok((answer, used)) = &asked {
        used.note_credits(pool, org_id, answer).await;
    }
    let result = match asked {
        Ok((Ok(user), _)) => {
            accounts::update_profile(pool, org_id, account_id, &user).await?;
            CheckResult::Working
        }
        Ok((Err(ApiError::Account(refusal)), _)) => match refusal {
            AccountRefusal::CreditsDepleted => CheckResult::CreditsDepleted,
            AccountRefusal::UsageCapExceeded { .. } => CheckResult::UsageCapExceeded,
            AccountRefusal::ClientNotEnrolled | AccountRefusal::UserNotEnrolled => CheckResult::NotEnrolled,
        },
        Ok((Err(ApiError::Forbidden(_)), _)) => CheckResult::Forbidden,
        Ok((Err(ApiError::RateLimited), _)) => CheckResult::RateLimited,
        Ok((Err(ApiError::Unreachable(_) | ApiError::Unauthorized), _)) => CheckResult::Unreachable,
        Err(UseError::NotFound) => return Err(AppError::not_found("X account")),
        Err(UseError::NeedsReconnection(_)) => CheckResult::NeedsReconnection,
        Err(UseError::Unreachable(_)) => CheckResult::Unreachable,
        Err(UseError::Server(e)) => return Err(e.into()),
    };
    tracing::info!(org_id = %org_id, account_id, result = result.as_str(), "account checked");
    Ok((account.handle(), result))
}

/// **Disconnect**: deletes the account's tokens, then revokes them at X (refresh token first:
/// with it goes the grant). A revocation that fails still disconnects, and says so (docs/security.md
/// F.32). The audit trail names the actor (a user's email, an API key, the CLI).
pub async fn disconnect(
    state: &AppState,
    actor: &Actor,
    account_id: &AccountId,
) -> Result<DisconnectOutcome, AppError> {
    actor.permit(Action::DisconnectAccount)?;
    let org_id = actor.org_id();
    let account_id = account_id.as_str();
    let by = actor.name();
    let r = accounts::remove(state, org_id, account_id, &by).await?.ok_or_else(|| AppError::not_found("X account"))?;
    let revoked = match &r.credentials {
        None => false,
        Some(c) => revoke_at_x(state, c, &r.access_token, r.refresh_token.as_ref()).await,
    };
    if !revoked {
        tracing::warn!(org_id = %org_id, account_id, "X could not revoke the tokens of a disconnected account");
        accounts::record_unrevoked(state.db.pool(), org_id, &by, &r).await?;
    }
    tracing::info!(org_id = %org_id, account_id, revoked, "X account disconnected");
    Ok(DisconnectOutcome { username: r.username, revoked })
}

/// Revokes a grant's tokens at X, the refresh token first (with it goes the grant); whether X
/// confirmed every revocation.
async fn revoke_at_x(
    state: &AppState,
    c: &credentials::Resolved,
    access_token: &SecretString,
    refresh_token: Option<&SecretString>,
) -> bool {
    let mut answers = Vec::new();
    if let Some(rt) = refresh_token {
        answers.push(state.x.revoke(&c.client_id, &c.client_secret, rt, true).await);
    }
    answers.push(state.x.revoke(&c.client_id, &c.client_secret, access_token, false).await);
    for e in answers.iter().filter_map(|a| a.as_ref().err()) {
        tracing::warn!(error = ?e, "revocation at X failed");
    }
    answers.iter().all(Result::is_ok)
}

/// Disconnects every account of a brand about to be deleted, revoking each one's tokens at X
/// (the database would otherwise drop them with the brand and leave the grants alive at X).
/// Returns how many were disconnected and how many of those X confirmed.
pub async fn disconnect_brand(state: &AppState, actor: &Actor, brand_id: &BrandId) -> Result<(usize, usize), AppError> {
    actor.permit(Action::ManageBrands)?;
    let ids: Vec<AccountId> = accounts::list(state.db.pool(), actor.org_id())
        .await?
        .into_iter()
        .filter(|a| a.brand_id.as_deref() == Some(brand_id.as_str()))
        .filter_map(|a| AccountId::parse(&a.id))
        .collect();
    let mut revoked = 0;
    for id in &ids {
        match disconnect(state, actor, id).await {
            Ok(outcome) => revoked += usize::from(outcome.revoked),
            // Disconnected meanwhile by someone else.
            Err(e) if e.code == ErrorCode::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok((ids.len(), revoked))
}
