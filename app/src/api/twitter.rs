//! Server functions of Settings → Twitter integration. The work is in
//! [`crate::server::services::twitter`], shared with the dashboard-only JSON API.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::domain::{SaveChange, TestOutcome, TwitterSettings};
use crate::error::AppError;

/// The page of the integration, and where a save or removal sends the browser back to.
pub const PAGE: &str = "/settings/twitter";

#[server(endpoint = "twitter/settings")]
pub async fn get_twitter_settings() -> Result<TwitterSettings, AppError> {
    let (state, viewer) = crate::server::services::auth::require(crate::domain::Action::View).await?;
    let session = crate::server::services::auth::session().await?;
    crate::server::services::twitter::settings(&state, &viewer, &session).await
}

/// What the credentials form did: a test (the page shows the result in place) or a save (the
/// browser is sent on to the page's `?done=` answer, which shows what was saved: the form itself
/// needs only what changed, and the island that reads this answer ships less code for it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubmitResult {
    Tested(TestOutcome),
    Saved(SaveChange),
}

/// `intent` is the button pressed: `test` (also when pressing Enter, the first button) or `save`.
/// `brand_id` is empty for the organization default.
#[server(endpoint = "twitter/submit")]
pub async fn submit_twitter_credentials(
    client_id: String,
    client_secret: String,
    brand_id: Option<String>,
    intent: Option<String>,
) -> Result<SubmitResult, AppError> {
    use crate::server::services::twitter;
    let (state, viewer) = crate::server::services::auth::require(crate::domain::Action::ManageCredentials).await?;
    let session = crate::server::services::auth::session().await?;
    let target = brand_id.as_deref().map(str::trim).filter(|b| !b.is_empty());
    if intent.as_deref() == Some("save") {
        let outcome = twitter::save(&state, &viewer, &session, target, &client_id, &client_secret).await?;
        leptos_axum::redirect(&done_url(outcome.change.as_str(), target));
        Ok(SubmitResult::Saved(outcome.change))
    } else {
        Ok(SubmitResult::Tested(twitter::test(&state, &viewer, &session, target, &client_id, &client_secret).await?))
    }
}

#[server(endpoint = "twitter/remove")]
pub async fn remove_twitter_credentials(brand_id: Option<String>) -> Result<(), AppError> {
    use crate::server::{services::actor::Actor, services::twitter};
    let (state, viewer) = crate::server::services::auth::require(crate::domain::Action::ManageCredentials).await?;
    let target = crate::domain::Target::from_query(brand_id.as_deref())?;
    twitter::remove_pair(&state, &Actor::User(viewer), &target).await?;
    leptos_axum::redirect(&done_url("removed", target.brand_id()));
    Ok(())
}

/// `/settings/twitter?done=<what>&for=<brand id or default>`: the page says what happened, with
/// or without JavaScript.
pub fn done_url(what: &str, target: Option<&str>) -> String {
    let target = target.unwrap_or("default");
    format!("{PAGE}?done={what}&for={}#{}", crate::domain::encode_query_value(target), anchor(Some(target)))
}

/// The id of a target's section on the page.
pub fn anchor(target: Option<&str>) -> String {
    match target {
        None | Some("default") => "default-credentials".to_owned(),
        Some(b) => format!("brand-{b}"),
    }
}
