//! Server functions of the brands pages: each says who asks and calls one use case of
//! [`crate::server::services::brands`].

use leptos::prelude::*;

use crate::domain::BrandView;
use crate::error::AppError;

/// The signed-in user, as the actor of a use case, if their role may do `action`: refused before
/// anything is parsed (the use case checks again).
#[cfg(feature = "ssr")]
async fn actor(
    action: crate::domain::Action,
) -> Result<(crate::server::AppState, crate::server::services::actor::Actor), AppError> {
    let (state, viewer) = crate::server::services::auth::require(action).await?;
    Ok((state, crate::server::services::actor::Actor::User(viewer)))
}

#[server(endpoint = "brands/list")]
pub async fn list_brands() -> Result<Vec<BrandView>, AppError> {
    let (state, actor) = actor(crate::domain::Action::View).await?;
    crate::server::services::brands::list(&state, &actor).await
}

#[server(endpoint = "brands/get")]
pub async fn get_brand(id: String) -> Result<BrandView, AppError> {
    let (state, actor) = actor(crate::domain::Action::View).await?;
    let id = crate::domain::BrandId::or_not_found(&id)?;
    crate::server::services::brands::get(&state, &actor, &id).await
}

#[server(endpoint = "brands/create")]
pub async fn create_brand(name: String) -> Result<BrandView, AppError> {
    let (state, actor) = actor(crate::domain::Action::ManageBrands).await?;
    crate::server::services::brands::create(&state, &actor, &name).await
}

#[server(endpoint = "brands/rename")]
pub async fn rename_brand(id: String, name: String) -> Result<(), AppError> {
    let (state, actor) = actor(crate::domain::Action::ManageBrands).await?;
    let id = crate::domain::BrandId::or_not_found(&id)?;
    crate::server::services::brands::rename(&state, &actor, &id, &name).await
}

#[server(endpoint = "brands/delete")]
pub async fn delete_brand(id: String) -> Result<(), AppError> {
    let (state, actor) = actor(crate::domain::Action::ManageBrands).await?;
    let id = crate::domain::BrandId::or_not_found(&id)?;
    crate::server::services::brands::delete(&state, &actor, &id).await?;
    leptos_axum::redirect("/brands");
    Ok(())
}
