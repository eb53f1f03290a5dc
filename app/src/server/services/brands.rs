//! Brands, the use cases: list, add, rename and delete (which first disconnects the brand's
//! accounts, revoking their tokens at X). The dashboard and the public API (`GET`/`POST
//! /v1/brands`) both call these.

use crate::domain::{Action, BrandId, BrandName, BrandView, OrgId};
use crate::error::AppError;
use crate::server::AppState;
use crate::server::services::account_actions;
use crate::server::services::actor::Actor;
use crate::server::store::brands;

/// The message for a name the organization already uses.
fn duplicate_name() -> AppError {
    AppError::conflict("name", "Your organization already has a brand with this name. Choose another name.")
}

/// How the audit trail names the organization default (`None`) or one of its brands; 404 for a
/// brand the organization does not have (deleted meanwhile, or another's).
pub async fn trail_label(state: &AppState, org_id: &OrgId, brand_id: Option<&str>) -> Result<String, AppError> {
    brands::trail_label(state.db.pool(), org_id, brand_id).await?.ok_or_else(|| AppError::not_found("brand"))
}

pub async fn list(state: &AppState, actor: &Actor) -> Result<Vec<BrandView>, AppError> {
    actor.permit(Action::View)?;
    Ok(brands::list(state.db.pool(), actor.org_id()).await?)
}

pub async fn get(state: &AppState, actor: &Actor, id: &BrandId) -> Result<BrandView, AppError> {
    actor.permit(Action::View)?;
    brands::get(state.db.pool(), actor.org_id(), id.as_str()).await?.ok_or_else(|| AppError::not_found("brand"))
}

/// Adds a brand named as typed, with a message for a bad or taken name.
pub async fn create(state: &AppState, actor: &Actor, raw_name: &str) -> Result<BrandView, AppError> {
    actor.permit(Action::ManageBrands)?;
    let name = BrandName::parse(raw_name)?;
    let org_id = actor.org_id();
    match brands::create(state.db.pool(), org_id, &name).await {
        Ok(b) => {
            tracing::info!(org_id = %org_id, brand_id = %b.id, "brand created");
            Ok(b)
        }
        Err(e) if e.is_unique_violation() => Err(duplicate_name()),
        Err(e) => Err(e.into()),
    }
}

pub async fn rename(state: &AppState, actor: &Actor, id: &BrandId, raw_name: &str) -> Result<(), AppError> {
    actor.permit(Action::ManageBrands)?;
    let name = BrandName::parse(raw_name)?;
    match brands::rename(state.db.pool(), actor.org_id(), id.as_str(), &name).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(AppError::not_found("brand")),
        Err(e) if e.is_unique_violation() => Err(duplicate_name()),
        Err(e) => Err(e.into()),
    }
}

/// Deletes a brand after disconnecting its accounts (revoking their tokens at X: the database
/// would otherwise drop them with the brand and leave the grants alive at X).
pub async fn delete(state: &AppState, actor: &Actor, id: &BrandId) -> Result<(), AppError> {
    actor.permit(Action::ManageBrands)?;
    let org_id = actor.org_id();
    brands::get(state.db.pool(), org_id, id.as_str()).await?.ok_or_else(|| AppError::not_found("brand"))?;
    let (accounts, revoked) = account_actions::disconnect_brand(state, actor, id).await?;
    if accounts > 0 {
        tracing::info!(org_id = %org_id, brand_id = %id.as_str(), accounts, revoked, "X accounts of a deleted brand disconnected");
    }
    if !brands::delete(state.db.pool(), org_id, id.as_str()).await? {
        return Err(AppError::not_found("brand"));
    }
    tracing::info!(org_id = %org_id, brand_id = %id.as_str(), "brand deleted");
    Ok(())
}
