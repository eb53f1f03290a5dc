use leptos::prelude::*;

use crate::domain::OrgSettings;
use crate::error::AppError;

#[server(endpoint = "org/settings")]
pub async fn get_org_settings() -> Result<OrgSettings, AppError> {
    let (state, viewer) = crate::server::services::auth::require(crate::domain::Action::View).await?;
    crate::server::store::orgs::settings(state.db.pool(), &viewer.org_id)
        .await?
        .ok_or_else(|| AppError::not_found("organization"))
}

#[server(endpoint = "org/rename")]
pub async fn rename_org(org_name: String) -> Result<(), AppError> {
    use crate::domain::OrgName;
    let (state, viewer) = crate::server::services::auth::require(crate::domain::Action::RenameOrganization).await?;
    let name = OrgName::parse(&org_name)?;
    crate::server::store::orgs::rename(state.db.pool(), &viewer.org_id, &name).await?;
    Ok(())
}
