//! The Twitter integration's operations, shared by the dashboard's server functions and the
//! dashboard-only JSON API (`/v1/integrations/twitter/credentials`): authorize, parse the input
//! into domain types, talk to X or the store, and answer with an [`AppError`] a user can act on.
//!
//! A test of a pair is remembered in the browser session for a while (its result, a keyed
//! fingerprint of the pair and the Client ID sealed by the vault, never the secret), so that
//! **Save** right after **Test credentials** records the test, and so that the page can show the
//! result after a form post without JavaScript.

use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::credentials::{self, Actor};
use super::vault::{Aad, KeyRing};
use super::{AppState, brands, now};
use crate::domain::{
    Action, BrandCredentials, BrandId, ClientId, ClientSecret, LastTest, PendingTest, SCOPES, SaveChange, SaveOutcome,
    TestOutcome, TwitterSettings, Viewer, callback_url,
};
use crate::error::AppError;

/// The session key of the remembered tests.
const MEMO_KEY: &str = "twitter_credential_tests";
/// How long a test counts for a following save.
const MEMO_TTL_SECS: i64 = 30 * 60;
/// At most this many remembered tests (one per target).
const MEMO_MAX: usize = 10;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Memo {
    brand_id: Option<String>,
    /// Keyed fingerprint of (organization, target, Client ID, Client Secret), hex.
    fingerprint: String,
    /// The Client ID typed, sealed by the vault (it is stored encrypted everywhere).
    client_id: Vec<u8>,
    outcome: TestOutcome,
}

fn memo_aad<'a>(org_id: &'a str) -> Aad<'a> {
    Aad { org_id, record_id: "session-test-memo", field: "client_id" }
}

fn fingerprint(vault: &KeyRing, org_id: &str, target: Option<&str>, id: &ClientId, secret: &ClientSecret) -> String {
    let fp = vault.fingerprint(
        "twitter-credential-test",
        &[org_id.as_bytes(), target.unwrap_or("").as_bytes(), id.as_str().as_bytes(), secret.expose().as_bytes()],
    );
    fp.iter().map(|b| format!("{b:02x}")).collect()
}

async fn memos(session: &Session) -> Result<Vec<Memo>, AppError> {
    let t = now();
    let all: Vec<Memo> = session.get(MEMO_KEY).await?.unwrap_or_default();
    Ok(all.into_iter().filter(|m| t - m.outcome.tested_at < MEMO_TTL_SECS).collect())
}

async fn store_memos(session: &Session, mut all: Vec<Memo>) -> Result<(), AppError> {
    if all.len() > MEMO_MAX {
        all.drain(..all.len() - MEMO_MAX);
    }
    if all.is_empty() {
        session.remove_value(MEMO_KEY).await?;
    } else {
        session.insert(MEMO_KEY, all).await?;
    }
    Ok(())
}

/// An empty `brand_id` (a form's hidden field for the default) means the default.
pub fn normalize_target(brand_id: Option<&str>) -> Option<&str> {
    brand_id.map(str::trim).filter(|b| !b.is_empty())
}

/// The target a request's body names: the default, or a brand by a well-formed id (whether the
/// organization has it is [`target_label`]'s question).
fn parse_target(brand_id: Option<&str>) -> Result<Option<BrandId>, AppError> {
    normalize_target(brand_id).map(|b| BrandId::or_invalid("brand_id", b)).transpose()
}

/// How the trail names a target, after checking that the brand is the organization's.
async fn target_label(state: &AppState, viewer: &Viewer, target: Option<&str>) -> Result<String, AppError> {
    brands::trail_label(state.db.pool(), &viewer.org_id, target).await?.ok_or_else(|| AppError::not_found("brand"))
}

/// Parses both fields. A failure keeps the Client ID for the form when it is well-formed (it is
/// then certainly not a secret pasted in the wrong field); the secret is never sent back.
fn parse_pair(client_id: &str, client_secret: &str) -> Result<(ClientId, ClientSecret), AppError> {
    let id = ClientId::parse(client_id)?;
    let secret = ClientSecret::parse(client_secret).map_err(|mut e| {
        e.input = Some(id.as_str().to_owned());
        e
    })?;
    Ok((id, secret))
}

/// Everything the settings page shows.
pub async fn settings(state: &AppState, viewer: &Viewer, session: &Session) -> Result<TwitterSettings, AppError> {
    let pool = state.db.pool();
    let saved = credentials::list(pool, &state.vault, &viewer.org_id).await?;
    let (default, overrides): (Vec<_>, Vec<_>) = saved.into_iter().partition(|c| c.brand_id.is_none());
    let brands = brands::list(pool, &viewer.org_id)
        .await?
        .into_iter()
        .map(|b| BrandCredentials {
            own: overrides.iter().find(|c| c.brand_id.as_deref() == Some(b.id.as_str())).cloned(),
            brand_id: b.id,
            brand_name: b.name,
        })
        .collect();
    let mut pending_tests = Vec::new();
    for memo in memos(session).await? {
        // A memo sealed under a key since rotated away simply stops showing.
        if let Ok(id) = state.vault.decrypt_string(&memo.client_id, &memo_aad(&viewer.org_id)) {
            pending_tests.push(PendingTest {
                brand_id: memo.brand_id,
                client_id: id.expose_secret().to_owned(),
                outcome: memo.outcome,
            });
        }
    }
    Ok(TwitterSettings {
        callback_url: callback_url(&state.config.public_url),
        scopes: SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        default: default.into_iter().next(),
        brands,
        audit: super::audit::recent(pool, &viewer.org_id, super::audit::PAGE).await?,
        pending_tests,
        can_manage: viewer.role.may(Action::ManageCredentials),
        to_reconnect: super::accounts::to_reconnect(pool, &viewer.org_id).await?,
    })
}

/// "Test credentials": asks X about the pair, records the test (in the trail, on the saved
/// credentials when it is their pair, and in the session for a following save).
pub async fn test(
    state: &AppState,
    viewer: &Viewer,
    session: &Session,
    target: Option<&str>,
    client_id: &str,
    client_secret: &str,
) -> Result<TestOutcome, AppError> {
    super::auth::permit(viewer, Action::ManageCredentials)?;
    let target = parse_target(target)?;
    let target = target.as_ref().map(BrandId::as_str);
    let label = target_label(state, viewer, target).await?;
    let (id, secret) = parse_pair(client_id, client_secret)?;
    // Each test asks X's token endpoint: so many per minute per organization, on every instance.
    let max = state.config.limits.credential_tests_per_org;
    if let Some(limited) =
        super::rate_limit::hit(&state.db, super::rate_limit::Limit::CredentialTests, &viewer.org_id, max).await?
    {
        tracing::info!(org_id = %viewer.org_id, "credential test over the organization's limit");
        return Err(limited.error());
    }
    let check = state.x.test_credentials(&id, &secret, &callback_url(&state.config.public_url)).await;
    let outcome = TestOutcome::new(check.result, check.detail, now());
    tracing::info!(org_id = %viewer.org_id, brand_id = target.unwrap_or("-"), result = outcome.reason.as_str(), "credentials tested");
    let actor = Actor { org_id: &viewer.org_id, email: &viewer.email, target_label: &label };
    let last = LastTest { result: outcome.reason, at: outcome.tested_at };
    credentials::record_test(state.db.pool(), &state.vault, &actor, target, &id, &secret, last).await?;

    let mut all = memos(session).await?;
    all.retain(|m| m.brand_id.as_deref() != target);
    all.push(Memo {
        brand_id: target.map(str::to_owned),
        fingerprint: fingerprint(&state.vault, &viewer.org_id, target, &id, &secret),
        client_id: state.vault.encrypt_str(id.as_str(), &memo_aad(&viewer.org_id)),
        outcome: outcome.clone(),
    });
    store_memos(session, all).await?;
    Ok(outcome)
}

/// "Save": stores the pair for the default or a brand, as a rotation when only the secret
/// changed. A test of exactly this pair in this session within the last half hour is recorded
/// as its last test; otherwise it shows as not tested.
pub async fn save(
    state: &AppState,
    viewer: &Viewer,
    session: &Session,
    target: Option<&str>,
    client_id: &str,
    client_secret: &str,
) -> Result<SaveOutcome, AppError> {
    super::auth::permit(viewer, Action::ManageCredentials)?;
    let target = parse_target(target)?;
    let target = target.as_ref().map(BrandId::as_str);
    let label = target_label(state, viewer, target).await?;
    let (id, secret) = parse_pair(client_id, client_secret)?;
    let fp = fingerprint(&state.vault, &viewer.org_id, target, &id, &secret);
    let mut all = memos(session).await?;
    let tested = all
        .iter()
        .find(|m| m.brand_id.as_deref() == target && m.fingerprint == fp)
        .map(|m| LastTest { result: m.outcome.reason, at: m.outcome.tested_at });
    let actor = Actor { org_id: &viewer.org_id, email: &viewer.email, target_label: &label };
    // Saves of one organization run one at a time (db::begin_org_write), so two first
    // saves of one target cannot both insert: the second sees the first and replaces it.
    let mut outcome = credentials::save(state.db.pool(), &state.vault, &actor, target, &id, &secret, tested).await?;
    if matches!(outcome.change, SaveChange::SecretRotated | SaveChange::AppReplaced) {
        outcome.accounts_to_reconnect = super::accounts::to_reconnect(state.db.pool(), &viewer.org_id).await?;
    }
    tracing::info!(
        org_id = %viewer.org_id,
        brand_id = target.unwrap_or("-"),
        credential_id = %outcome.credential.id,
        change = outcome.change.as_str(),
        generation = outcome.credential.generation,
        "credentials saved"
    );
    if outcome.change != SaveChange::Unchanged || tested.is_some() {
        all.retain(|m| m.brand_id.as_deref() != target);
        store_memos(session, all).await?;
    }
    Ok(outcome)
}

/// "Remove": deletes the credentials of the default or a brand (which then falls back to the
/// default).
pub async fn remove(state: &AppState, viewer: &Viewer, target: Option<&str>) -> Result<(), AppError> {
    super::auth::permit(viewer, Action::ManageCredentials)?;
    // Named by a query on the JSON API (`DELETE ?brand_id=`): an id that cannot exist is not found.
    let target = normalize_target(target).map(BrandId::or_not_found).transpose()?;
    let target = target.as_ref().map(BrandId::as_str);
    let label = target_label(state, viewer, target).await?;
    let actor = Actor { org_id: &viewer.org_id, email: &viewer.email, target_label: &label };
    match credentials::remove(state.db.pool(), &actor, target).await? {
        Some(_) => {
            tracing::info!(org_id = %viewer.org_id, brand_id = target.unwrap_or("-"), "credentials removed");
            Ok(())
        }
        None => Err(AppError::new(
            crate::error::ErrorCode::NotFound,
            match target {
                None => "There are no default credentials to remove.",
                Some(_) => {
                    "This brand has no credentials of its own to remove; it already uses the organization default."
                }
            },
        )),
    }
}
