//! Server functions of the accounts page. Connect and Reconnect are not here: they are plain form
//! posts to [`CONNECT_PATH`](crate::domain::CONNECT_PATH), answered with a redirect to X.

use leptos::prelude::*;

use crate::domain::{ACCOUNTS_PAGE, AccountsOverview, CheckResult, DisconnectOutcome};
use crate::error::AppError;

/// A page of the cards: `page` (from 1), or else the page that shows `account` or the card `card`
/// (`default` or a brand id): where the result of a connect, check or reconnect is.
#[server(endpoint = "twitter/accounts")]
pub async fn get_accounts(
    page: Option<u32>,
    account: Option<String>,
    card: Option<String>,
) -> Result<AccountsOverview, AppError> {
    use crate::server::services::connect::{Showing, overview};
    let (state, viewer) = crate::server::services::auth::require(crate::domain::Action::View).await?;
    // An account id that cannot be one (a NUL, markup) shows the first page, like an unknown one,
    // and never reaches the database.
    let account = account.as_deref().and_then(crate::domain::AccountId::parse);
    let showing = Showing { page, account: account.as_ref().map(|a| a.as_str()), card: card.as_deref() };
    overview(&state, &viewer, showing).await
}

/// **Check**: asks X for the account's profile through the token, refreshing or marking the
/// account as needed. Comes back to `/accounts?check=<result>&account=<id>`.
#[server(endpoint = "twitter/accounts/check")]
pub async fn check_twitter_account(account_id: String) -> Result<CheckResult, AppError> {
    let (state, viewer) = crate::server::services::auth::require(crate::domain::Action::CheckAccount).await?;
    let id = crate::domain::AccountId::or_not_found(&account_id)?;
    let actor = crate::server::services::actor::Actor::User(viewer);
    let (_, result) = crate::server::services::account_actions::check(&state, &actor, &id).await?;
    leptos_axum::redirect(&check_url(result, id.as_str()));
    Ok(result)
}

/// **Disconnect** (owners and admins): revokes the account's tokens at X and deletes them. Comes back to
/// `/accounts?disconnected=<username>&revoked=<0|1>`.
#[server(endpoint = "twitter/accounts/disconnect")]
pub async fn disconnect_twitter_account(account_id: String) -> Result<DisconnectOutcome, AppError> {
    let (state, viewer) = crate::server::services::auth::require(crate::domain::Action::DisconnectAccount).await?;
    let id = crate::domain::AccountId::or_not_found(&account_id)?;
    let actor = crate::server::services::actor::Actor::User(viewer);
    let outcome = crate::server::services::account_actions::disconnect(&state, &actor, &id).await?;
    leptos_axum::redirect(&disconnected_url(&outcome));
    Ok(outcome)
}

pub fn check_url(result: CheckResult, account_id: &str) -> String {
    let id = crate::domain::encode_query_value(account_id);
    format!("{ACCOUNTS_PAGE}?check={}&account={id}#account-{id}", result.as_str())
}

pub fn disconnected_url(outcome: &DisconnectOutcome) -> String {
    format!(
        "{ACCOUNTS_PAGE}?disconnected={}&revoked={}",
        crate::domain::encode_query_value(&outcome.username),
        u8::from(outcome.revoked)
    )
}
