use leptos::prelude::*;

use crate::domain::BrandView;
use crate::error::AppError;

#[server(endpoint = "brands/list")]
pub async fn list_brands() -> Result<Vec<BrandView>, AppError> {
    let (state, viewer) = crate::server::services::auth::require(crate::domain::Action::View).await?;
    Ok(crate::server::store::brands::list(state.db.pool(), &viewer.org_id).await?)
}

#[server(endpoint = "brands/get")]
pub async fn get_brand(id: String) -> Result<BrandView, AppError> {
    let (state, viewer) = crate::server::services::auth::require(crate::domain::Action::View).await?;
    let id = crate::domain::BrandId::or_not_found(&id)?;
    crate::server::store::brands::get(state.db.pool(), &viewer.org_id, id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found("brand"))
}

#[server(endpoint = "brands/create")]
pub async fn create_brand(name: String) -> Result<BrandView, AppError> {
    let (state, viewer) = crate::server::services::auth::require(crate::domain::Action::ManageBrands).await?;
    crate::server::store::brands::create_from_input(state.db.pool(), &viewer.org_id, &name).await
}

#[server(endpoint = "brands/rename")]
pub async fn rename_brand(id: String, name: String) -> Result<(), AppError> {
    use crate::domain::{BrandId, BrandName};
    let (state, viewer) = crate::server::services::auth::require(crate::domain::Action::ManageBrands).await?;
    let id = BrandId::or_not_found(&id)?;
    let name = BrandName::parse(&name)?;
    match crate::server::store::brands::rename(state.db.pool(), &viewer.org_id, id.as_str(), &name).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(AppError::not_found("brand")),
        Err(e) if e.is_unique_violation() => Err(crate::server::store::brands::duplicate_name()),
        Err(e) => Err(e.into()),
    }
}

#[server(endpoint = "brands/delete")]
pub async fn delete_brand(id: String) -> Result<(), AppError> {
    let (state, viewer) = crate::server::services::auth::require(crate::domain::Action::ManageBrands).await?;
    let brand = crate::domain::BrandId::or_not_found(&id)?;
    let id = brand.as_str();
    crate::server::store::brands::get(state.db.pool(), &viewer.org_id, id)
        .await?
        .ok_or_else(|| AppError::not_found("brand"))?;
    let actor = crate::server::services::actor::Actor::User(viewer.clone());
    let (accounts, revoked) =
        crate::server::services::account_actions::disconnect_brand(&state, &actor, &brand).await?;
    if accounts > 0 {
        tracing::info!(org_id = %viewer.org_id, brand_id = %id, accounts, revoked, "X accounts of a deleted brand disconnected");
    }
    if !crate::server::store::brands::delete(state.db.pool(), &viewer.org_id, id).await? {
        return Err(AppError::not_found("brand"));
    }
    tracing::info!(org_id = %viewer.org_id, brand_id = %id, "brand deleted");
    leptos_axum::redirect("/brands");
    Ok(())
}
