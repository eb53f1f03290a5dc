//! API keys, the use cases: list, create (at most [`MAX_ACTIVE`] active per organization) and
//! revoke. Only people in the dashboard manage keys: an API key is refused here too.

use crate::domain::{Action, ApiKeyId, ApiKeyName, ApiKeyView, CreatedKey};
use crate::error::AppError;
use crate::server::AppState;
use crate::server::services::actor::Actor;
use crate::server::store::api_keys::{self, MAX_ACTIVE};

pub async fn list(state: &AppState, actor: &Actor) -> Result<Vec<ApiKeyView>, AppError> {
    actor.permit(Action::ManageApiKeys)?;
    Ok(api_keys::list(state.db.pool(), actor.org_id()).await?)
}

/// A new key for the organization, named as typed; the key itself is only in the answer.
pub async fn create(state: &AppState, actor: &Actor, raw_name: &str) -> Result<CreatedKey, AppError> {
    actor.permit(Action::ManageApiKeys)?;
    let name = ApiKeyName::parse(raw_name)?;
    let org_id = actor.org_id();
    let created = api_keys::create(state.db.pool(), org_id, &name, &actor.name()).await?.ok_or_else(|| {
        AppError::conflict("name", format!("Your organization has {MAX_ACTIVE} active API keys, the most Perch keeps. Revoke keys that are no longer used, then create this one."))
    })?;
    tracing::info!(org_id = %org_id, key_id = %created.view.id, "API key created");
    Ok(created)
}

/// Revokes a key: requests with it are refused from the next one on. Answers whether this call
/// revoked it (`false`: it was already revoked); 404 for a key the organization does not have.
pub async fn revoke(state: &AppState, actor: &Actor, key_id: &ApiKeyId) -> Result<bool, AppError> {
    actor.permit(Action::ManageApiKeys)?;
    let org_id = actor.org_id();
    let key_id = key_id.as_str();
    match api_keys::revoke(state.db.pool(), org_id, key_id, &actor.name()).await? {
        None => Err(AppError::not_found("API key")),
        Some(revoked) => {
            if revoked {
                tracing::info!(org_id = %org_id, key_id, "API key revoked");
            }
            Ok(revoked)
        }
    }
}
