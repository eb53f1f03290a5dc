//! Connecting X accounts through the organization's (or a brand's) own X app: the accounts page's
//! data, **Connect** / **Reconnect** (OAuth 2.0 with PKCE), connect links, and X's callback. Every
//! outcome of the callback becomes a [`ConnectResult`] shown on the card. Check and Disconnect are
//! in [`crate::server::services::account_actions`].

use tower_sessions::Session;

use crate::domain::{
    ACCOUNTS_PAGE, ACCOUNTS_PER_PAGE, AccountId, AccountsOverview, Action, BrandId, CardApp, ConnectResult,
    PlatformCard, SCOPES, Viewer, callback_url, missing_scopes, page_layout, page_of,
};
use crate::error::AppError;
use crate::server::infra::rate_limit::{self, Limit, Limited};
use crate::server::infra::x_client::{AccountRefusal, ApiError, CreditsSignal, TokenError};
use crate::server::services::actor::Actor;
use crate::server::store::accounts::{self, Connection};
use crate::server::store::credentials::AppSource;
use crate::server::store::oauth_flows::{self, Flow, NewFlow, StartedBy};
use crate::server::{AppState, store::brands, store::credentials};

/// Which page of the accounts page to show: a number, or else the one that shows an account or a
/// card (`"default"` or a brand id), where a connect, check or reconnect comes back to.
#[derive(Clone, Copy, Debug, Default)]
pub struct Showing<'a> {
    pub page: Option<u32>,
    pub account: Option<&'a str>,
    pub card: Option<&'a str>,
}

/// A page of the cards: the organization default first, then every brand, each with the app its
/// accounts connect through and its accounts on this page ([`ACCOUNTS_PER_PAGE`] at most, so
/// the page costs the same for 5 accounts or 500). Two round trips to the database: what the
/// page is (credentials, brands, counts per card, and the place of an account to show), then
/// the page's accounts.
pub async fn overview(state: &AppState, viewer: &Viewer, showing: Showing<'_>) -> Result<AccountsOverview, AppError> {
    let pool = state.db.pool();
    let org_id = &viewer.org_id;
    let place = async {
        match (showing.page, showing.account) {
            (None, Some(a)) => accounts::place_on_card(pool, org_id, a).await,
            _ => Ok(None),
        }
    };
    let (creds, brands, counts, place) = tokio::try_join!(
        credentials::summaries(pool, org_id),
        brands::list(pool, org_id),
        accounts::counts_by_card(pool, org_id),
        place,
    )?;
    let card_keys: Vec<Option<&str>> =
        std::iter::once(None).chain(brands.iter().map(|b| Some(b.id.as_str()))).collect();
    let card_of = |brand_id: Option<&str>| card_keys.iter().position(|k| *k == brand_id);
    let counts: Vec<u32> = card_keys
        .iter()
        .map(|k| counts.iter().find(|(b, _)| b.as_deref() == *k).map_or(0, |(_, n)| u32::try_from(*n).unwrap_or(0)))
        .collect();
    let page = match (showing.page, place, showing.card) {
        (Some(p), _, _) => p,
        (None, Some((brand_id, at)), _) => card_of(brand_id.as_deref())
            .map_or(1, |c| page_of(&counts, ACCOUNTS_PER_PAGE, c, u32::try_from(at).unwrap_or(0))),
        (None, None, Some(card)) => {
            card_of(Some(card).filter(|c| *c != "default")).map_or(1, |c| page_of(&counts, ACCOUNTS_PER_PAGE, c, 0))
        }
        (None, None, None) => 1,
    };
    let (pages, slices) = page_layout(&counts, ACCOUNTS_PER_PAGE, page);
    let page = page.clamp(1, pages);
    let shown = accounts::in_card_order(pool, org_id, (page - 1) * ACCOUNTS_PER_PAGE, ACCOUNTS_PER_PAGE).await?;
    let app_of = |brand_id: Option<&str>| {
        credentials::applying(&creds, brand_id).map(|(c, source)| CardApp {
            client_id_preview: c.client_id_preview.clone(),
            own: source == AppSource::Own,
        })
    };
    let cards = slices
        .into_iter()
        .map(|slice| {
            let brand_id = card_keys[slice.card];
            PlatformCard {
                brand_id: brand_id.map(str::to_owned),
                title: match slice.card {
                    0 => "Organization default".to_owned(),
                    i => brands[i - 1].name.clone(),
                },
                app: app_of(brand_id),
                accounts: shown.iter().filter(|a| a.brand_id.as_deref() == brand_id).cloned().collect(),
                account_count: counts[slice.card],
                shown_from: slice.from,
            }
        })
        .collect();
    Ok(AccountsOverview {
        callback_url: callback_url(&state.config.public_url),
        scopes: SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        cards,
        can_manage_credentials: viewer.role.may(Action::ManageCredentials),
        can_disconnect: viewer.role.may(Action::DisconnectAccount),
        page,
        pages,
        account_total: counts.iter().sum(),
    })
}

/// The accounts page with a result for a card: `/accounts?connect=<result>&for=<card>[&account=<id>]#<card>`.
pub fn result_url(result: ConnectResult, brand_id: Option<&str>, account_id: Option<&str>) -> String {
    let card = brand_id.unwrap_or("default");
    let mut url =
        format!("{ACCOUNTS_PAGE}?connect={}&for={}", result.as_str(), crate::domain::encode_query_value(card));
    if let Some(a) = account_id {
        url.push_str(&format!("&account={}", crate::domain::encode_query_value(a)));
    }
    url.push_str(&format!("#{}", card_anchor(brand_id)));
    url
}

/// The id of a card on the accounts page.
pub fn card_anchor(brand_id: Option<&str>) -> String {
    match brand_id {
        None => "card-default".to_owned(),
        Some(b) => format!("card-{b}"),
    }
}

/// **Connect** (or **Reconnect** of `account_id`): starts a flow with the credentials that apply
/// to the card and answers where to send the browser: X's authorize URL, or back to the card when
/// there are no credentials.
pub async fn start(
    state: &AppState,
    viewer: &Viewer,
    session: &Session,
    brand_id: Option<&BrandId>,
    account_id: Option<&AccountId>,
) -> Result<String, AppError> {
    let action = if account_id.is_some() { Action::ReconnectAccount } else { Action::ConnectAccount };
    super::auth::permit(viewer, action)?;
    let pool = state.db.pool();
    let mut brand_id = brand_id.map(|b| b.as_str().to_owned());
    let account_id = account_id.map(AccountId::as_str);
    if let Some(a) = account_id {
        // A reconnect happens on the account's own card, whatever the form said.
        let account = accounts::get(pool, &viewer.org_id, a).await?.ok_or_else(|| AppError::not_found("X account"))?;
        brand_id = account.brand_id;
    }
    let brand_id = brand_id.as_deref();
    if let Some(b) = brand_id {
        brands::get(pool, &viewer.org_id, b).await?.ok_or_else(|| AppError::not_found("brand"))?;
    }
    let Some(creds) = credentials::resolve(pool, &state.vault, &viewer.org_id, brand_id).await? else {
        return Ok(result_url(ConnectResult::NoCredentials, brand_id, account_id));
    };
    let url = start_flow(
        state,
        Some(session),
        NewFlow {
            org_id: &viewer.org_id,
            started_by: StartedBy::User(&viewer.user_id),
            brand_id,
            account_id,
            credentials: &creds,
        },
    )
    .await?;
    tracing::info!(org_id = %viewer.org_id, brand_id = brand_id.unwrap_or("-"), reconnect = account_id.is_some(), credential_id = %creds.credential_id, "connect started");
    Ok(url)
}

/// Starts a flow within the organization's limits, shared by Connect, Reconnect and connect
/// links: so many starts a minute (`PERCH_CONNECT_RATE_LIMIT`) and so many open flows at once
/// (`PERCH_CONNECT_OPEN_LIMIT`); over either, 429 `throttled` with when to try again. Returns X's
/// consent URL for the flow (the state and the PKCE challenge in it; the verifier stays sealed).
async fn start_flow(state: &AppState, session: Option<&Session>, flow: NewFlow<'_>) -> Result<String, AppError> {
    let creds = flow.credentials;
    let limits = &state.config.limits;
    if let Some(limited) =
        rate_limit::hit(&state.db, Limit::ConnectStarts, flow.org_id, limits.connect_starts_per_org).await?
    {
        tracing::info!(org_id = %flow.org_id, "connect start over the organization's limit");
        return Err(limited.error());
    }
    let started =
        match oauth_flows::start(state.db.pool(), &state.vault, session, flow, limits.open_flows_per_org).await? {
            Ok(started) => started,
            Err(oauth_flows::Full { retry_after }) => {
                return Err(Limited { limit: Limit::OpenFlows, max: limits.open_flows_per_org, retry_after }.error());
            }
        };
    use secrecy::ExposeSecret as _;
    state
        .x
        .consent_url(
            &creds.client_id,
            &callback_url(&state.config.public_url),
            &SCOPES,
            &started.state,
            started.verifier.expose_secret(),
        )
        .map_err(|e| AppError::from(crate::server::ServerError::Other(e)))
}

/// What X sent back to the callback.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Callback {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
}

/// `GET /oauth/callback/twitter`: checks the state (refusing a missing, foreign, replayed or
/// expired one before anything is sent to X), exchanges the code with the flow's own credentials,
/// asks X who the user is, stores the account. Answers the accounts page URL with the result.
pub async fn finish(state: &AppState, viewer: &Viewer, session: &Session, cb: Callback) -> Result<String, AppError> {
    let pool = state.db.pool();
    let Some(st) = cb.state.as_deref().filter(|s| !s.is_empty() && s.len() <= 500) else {
        return Ok(result_url(ConnectResult::StateInvalid, None, None));
    };
    if !oauth_flows::started_here(session, st).await? {
        tracing::warn!(org_id = %viewer.org_id, "callback with a state this session did not start");
        return Ok(result_url(ConnectResult::StateInvalid, None, None));
    }
    let Some(flow) = oauth_flows::take(pool, &state.vault, st).await? else {
        tracing::warn!(org_id = %viewer.org_id, "callback with a used or unknown state");
        return Ok(result_url(ConnectResult::StateUsed, None, None));
    };
    let brand = flow.brand_id.clone();
    let account = flow.account_id.clone();
    if flow.org_id != viewer.org_id || flow.started_by != StartedBy::User(viewer.user_id.clone()) {
        // The session started it, but under another sign-in: not this user's flow.
        return Ok(result_url(ConnectResult::StateInvalid, None, None));
    }
    let done = complete(state, flow, cb, &viewer.email).await?;
    if done.result == ConnectResult::StateUsed {
        // The card's brand was deleted while the user was at X: the page-wide banner says so.
        return Ok(result_url(done.result, None, None));
    }
    Ok(result_url(done.result, brand.as_deref(), done.account_id.as_deref().or(account.as_deref())))
}

/// How a taken flow ended.
pub struct Completed {
    pub result: ConnectResult,
    /// The account stored, or the one a failed reconnect was for.
    pub account_id: Option<String>,
    /// The X account connected (`@name`), when one was.
    pub handle: Option<String>,
}

impl Completed {
    fn failed(result: ConnectResult) -> Self {
        Completed { result, account_id: None, handle: None }
    }
}

/// The part of a callback after its flow was taken, shared by dashboard flows and connect links:
/// expiry, cancel, the code exchange with the flow's own credentials and verifier, users/me, and
/// storing the account, with `actor` in the audit trail.
async fn complete(state: &AppState, flow: Flow, cb: Callback, actor: &str) -> Result<Completed, AppError> {
    let pool = state.db.pool();
    let org_id = &flow.org_id;
    let brand = flow.brand_id.as_deref();
    let account = flow.account_id.as_deref();
    if flow.expired {
        return Ok(Completed::failed(ConnectResult::StateExpired));
    }
    let Some(code) = cb.code.as_deref().filter(|c| !c.is_empty()) else {
        // X adds error=access_denied on Cancel, or not (docs/x-api.md): no code is a refusal either way.
        tracing::info!(org_id = %org_id, error = cb.error.as_deref().unwrap_or("-"), "connect cancelled at X");
        return Ok(Completed::failed(ConnectResult::Cancelled));
    };
    let redirect_uri = callback_url(&state.config.public_url);
    let tokens = match state
        .x
        .exchange_code(&flow.client_id, &flow.client_secret, &redirect_uri, code, &flow.verifier, &SCOPES)
        .await
    {
        Ok(t) => t,
        Err(e) => {
            let result = exchange_failure(&e);
            tracing::warn!(org_id = %org_id, result = result.as_str(), error = ?e, "code exchange failed");
            return Ok(Completed::failed(result));
        }
    };
    let asked = state.x.users_me(&tokens.access_token).await;
    // X's 402 marks the app's credits spent (the account is never marked); an answer clears it.
    if let Some(depleted) = asked.credits_spent() {
        // Usually nothing to write: only a change of state is.
        let marked = credentials::note_credits(pool, org_id, &flow.credential_id, depleted).await;
        if let Err(e) = marked {
            tracing::error!(org_id = %org_id, error = %e, "recording the app's credits failed");
        }
    }
    let user = match asked {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!(org_id = %org_id, error = ?e, "users/me failed after a code exchange");
            // Perch cannot keep tokens it cannot attribute: give them back to X.
            let _ = state.x.revoke(&flow.client_id, &flow.client_secret, &tokens.access_token, false).await;
            if let Some(r) = &tokens.refresh_token {
                let _ = state.x.revoke(&flow.client_id, &flow.client_secret, r, true).await;
            }
            let result = match e {
                ApiError::Account(AccountRefusal::CreditsDepleted) => ConnectResult::CreditsDepleted,
                ApiError::Forbidden(_) | ApiError::Account(_) => ConnectResult::IdentityRefused,
                _ => ConnectResult::Unreachable,
            };
            return Ok(Completed::failed(result));
        }
    };
    let label = match super::brands::trail_label(state, org_id, brand).await {
        Ok(l) => l,
        // The brand was deleted while the user was at X.
        Err(_) => return Ok(Completed::failed(ConnectResult::StateUsed)),
    };
    let stored = accounts::store(
        pool,
        &state.vault,
        Connection {
            org_id,
            brand_id: brand,
            user: &user,
            tokens: &tokens,
            credential_id: &flow.credential_id,
            credential_generation: flow.credential_generation,
            client_id_preview: &flow.client_id_preview,
            actor,
            card_label: &label,
        },
    )
    .await?;
    tracing::info!(org_id = %org_id, account_id = %stored.account_id, reconnected = stored.reconnected, "X account connected");
    let result = if account.is_some_and(|a| a != stored.account_id) {
        ConnectResult::OtherAccount
    } else if !missing_scopes(&tokens.scopes).is_empty() {
        ConnectResult::MissingScopes
    } else if stored.reconnected {
        ConnectResult::Reconnected
    } else {
        ConnectResult::Connected
    };
    Ok(Completed { result, account_id: Some(stored.account_id), handle: Some(format!("@{}", user.username)) })
}

/// A connect link: where to send an end user so that their X account connects to the card of
/// `brand_id` (the organization default when `None`) through the card's X app.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ConnectLink {
    /// X's consent page for a new flow; single use, valid until `expires_at`.
    pub auth_url: String,
    pub expires_at: i64,
    pub brand_id: Option<String>,
    /// The first six characters of the Client ID of the app the account will connect through.
    pub client_id_preview: String,
}

/// `POST /v1/accounts/connect`: starts a flow bound to the key's organization and the card, not
/// to any browser. No credentials for the card: `byok_credentials_missing`.
pub async fn link(
    state: &AppState,
    key: &crate::server::store::api_keys::KeyHolder,
    brand_id: Option<&str>,
) -> Result<ConnectLink, AppError> {
    Actor::ApiKey(key.clone()).permit(Action::ConnectAccount)?;
    let pool = state.db.pool();
    if let Some(b) = brand_id {
        brands::get(pool, &key.org_id, b).await?.ok_or_else(|| AppError::not_found("brand"))?;
    }
    let Some(creds) = credentials::resolve(pool, &state.vault, &key.org_id, brand_id).await? else {
        let whose =
            if brand_id.is_some() { "this brand, nor a default for the organization" } else { "the organization" };
        return Err(AppError::new(
            crate::error::ErrorCode::ByokCredentialsMissing,
            format!(
                "No X app credentials are saved for {whose}. An owner or admin saves them in Perch's dashboard (Settings → Twitter integration) or with `perch credentials set`; then ask for the link again."
            ),
        ));
    };
    let auth_url = start_flow(
        state,
        None,
        NewFlow {
            org_id: &key.org_id,
            started_by: StartedBy::ApiKey(&key.key_id),
            brand_id,
            account_id: None,
            credentials: &creds,
        },
    )
    .await?;
    tracing::info!(org_id = %key.org_id, key_id = %key.key_id, brand_id = brand_id.unwrap_or("-"), credential_id = %creds.credential_id, "connect link made");
    Ok(ConnectLink {
        auth_url,
        expires_at: crate::server::now() + oauth_flows::FLOW_TTL_SECS,
        brand_id: brand_id.map(str::to_owned),
        client_id_preview: creds.client_id.preview().to_owned(),
    })
}

/// The callback of a connect link (the caller checked [`oauth_flows::is_link`]). Whoever opened
/// the link is not a Perch user: the outcome is a page for them, not the accounts page. A link
/// whose key was revoked meanwhile no longer connects anything.
pub async fn finish_link(state: &AppState, cb: Callback) -> Result<Completed, AppError> {
    let pool = state.db.pool();
    let Some(st) = cb.state.as_deref() else { return Ok(Completed::failed(ConnectResult::StateInvalid)) };
    let Some(flow) = oauth_flows::take(pool, &state.vault, st).await? else {
        return Ok(Completed::failed(ConnectResult::StateUsed));
    };
    let StartedBy::ApiKey(key_id) = &flow.started_by else {
        return Ok(Completed::failed(ConnectResult::StateInvalid));
    };
    let Some(key_name) = crate::server::store::api_keys::active_name(pool, &flow.org_id, key_id).await? else {
        tracing::warn!(org_id = %flow.org_id, key_id, "connect link of a revoked API key");
        return Ok(Completed::failed(ConnectResult::StateUsed));
    };
    let actor = format!("API key “{key_name}” (connect link)");
    complete(state, flow, cb, &actor).await
}

/// What a failed code exchange means for the user (docs/x-api.md "Token endpoint": X says
/// `invalid_request`, not `invalid_grant`, and names the failing parameter in the description).
fn exchange_failure(e: &TokenError) -> ConnectResult {
    match e {
        TokenError::Unreachable(_) => ConnectResult::Unreachable,
        e if e.is_client_refused() => ConnectResult::InvalidClient,
        e if e.mentions("redirect uri") => ConnectResult::RedirectMismatch,
        e if e.mentions("code verifier") => ConnectResult::VerifierMismatch,
        e if e.mentions("authorization code") => ConnectResult::CodeInvalid,
        TokenError::Refused { error, .. } if error == "invalid_grant" => ConnectResult::CodeInvalid,
        TokenError::Refused { .. } => ConnectResult::Refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(error: &str, description: &str) -> TokenError {
        TokenError::Refused { error: error.into(), description: description.into() }
    }

    #[test]
    fn exchange_failures_follow_x_descriptions() {
        assert_eq!(
            exchange_failure(&refused("unauthorized_client", "Missing valid authorization header")),
            ConnectResult::InvalidClient
        );
        assert_eq!(exchange_failure(&refused("invalid_client", "")), ConnectResult::InvalidClient);
        assert_eq!(
            exchange_failure(&refused("invalid_request", "Value passed for the authorization code was invalid.")),
            ConnectResult::CodeInvalid
        );
        assert_eq!(
            exchange_failure(&refused(
                "invalid_request",
                "Value passed for the redirect uri did not match the uri of the authorization code."
            )),
            ConnectResult::RedirectMismatch
        );
        assert_eq!(
            exchange_failure(&refused(
                "invalid_request",
                "Value passed for the code verifier did not match the code challenge."
            )),
            ConnectResult::VerifierMismatch
        );
        assert_eq!(exchange_failure(&refused("invalid_grant", "")), ConnectResult::CodeInvalid);
        assert_eq!(exchange_failure(&refused("server_error", "")), ConnectResult::Refused);
        assert_eq!(exchange_failure(&TokenError::Unreachable("x".into())), ConnectResult::Unreachable);
    }

    #[test]
    fn result_urls_are_fixed_internal_pages() {
        assert_eq!(
            result_url(ConnectResult::Connected, None, Some("xac_1")),
            "/accounts?connect=connected&for=default&account=xac_1#card-default"
        );
        assert_eq!(
            result_url(ConnectResult::Cancelled, Some("brd_1"), None),
            "/accounts?connect=cancelled&for=brd_1#card-brd_1"
        );
    }
}
