//! The Twitter integration's use cases: test, save and remove X app credentials
//! ([`test_pair`], [`save_pair`], [`remove_pair`]), each for an [`Actor`] who is authorized here,
//! whichever door it came through (the dashboard's server functions, the dashboard-only JSON API
//! `/v1/integrations/twitter/credentials`, `perch credentials`), and the settings page's data.
//!
//! A test of a pair is remembered in the browser session for a while (its result, a keyed
//! fingerprint of the pair and the Client ID sealed by the vault, never the secret), so that
//! **Save** right after **Test credentials** records the test, and so that the page can show the
//! result after a form post without JavaScript.

use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::domain::{
    AccountToReconnect, Action, BrandCredentials, ClientId, ClientSecret, LastTest, OrgId, PendingTest, SCOPES,
    SaveChange, SaveOutcome, Target, TestOutcome, TwitterSettings, Viewer, callback_url,
};
use crate::error::AppError;
use crate::server::infra::vault::{Aad, KeyRing};
use crate::server::services::actor::Actor;
use crate::server::store::credentials::{self, Trail};
use crate::server::{AppState, now, store::brands};

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

fn memo_aad<'a>(org_id: &'a OrgId) -> Aad<'a> {
    Aad { org_id, record_id: "session-test-memo", field: "client_id" }
}

fn fingerprint(vault: &KeyRing, org_id: &OrgId, target: Option<&str>, id: &ClientId, secret: &ClientSecret) -> String {
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

/// Who changes the target's credentials, if they may, and how the trail names both (after
/// checking that the brand is the organization's): what every credentials use case starts with.
struct Change {
    by: String,
    label: String,
}

impl Change {
    async fn of(state: &AppState, actor: &Actor, target: &Target) -> Result<Self, AppError> {
        actor.permit(Action::ManageCredentials)?;
        let label = super::brands::trail_label(state, actor.org_id(), target.brand_id()).await?;
        Ok(Change { by: actor.name(), label })
    }

    fn trail<'a>(&'a self, org_id: &'a OrgId) -> Trail<'a> {
        Trail { org_id, by: &self.by, target_label: &self.label }
    }
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
    let org_id = &viewer.org_id;
    // Independent reads, in flight together: the page waits for one round trip, not four.
    let (saved, brands, audit, to_reconnect) = tokio::try_join!(
        credentials::list(pool, &state.vault, org_id),
        brands::list(pool, org_id),
        crate::server::store::audit::recent(pool, org_id, crate::server::store::audit::PAGE),
        crate::server::store::accounts::to_reconnect(pool, org_id),
    )?;
    let (default, overrides): (Vec<_>, Vec<_>) = saved.into_iter().partition(|c| c.brand_id.is_none());
    let brands = brands
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
        audit,
        pending_tests,
        can_manage: viewer.role.may(Action::ManageCredentials),
        to_reconnect,
    })
}

/// **Test credentials**, the use case: asks X's token endpoint about the pair (so many tests a
/// minute per organization, on every instance) and records the test in the trail, and on the
/// saved credentials when it is their pair.
pub async fn test_pair(
    state: &AppState,
    actor: &Actor,
    target: &Target,
    id: &ClientId,
    secret: &ClientSecret,
) -> Result<TestOutcome, AppError> {
    let change = Change::of(state, actor, target).await?;
    let org_id = actor.org_id();
    let max = state.config.limits.credential_tests_per_org;
    if let Some(limited) = crate::server::infra::rate_limit::hit(
        &state.db,
        crate::server::infra::rate_limit::Limit::CredentialTests,
        org_id,
        max,
    )
    .await?
    {
        tracing::info!(org_id = %org_id, "credential test over the organization's limit");
        return Err(limited.error());
    }
    let check = state.x.test_credentials(id, secret, &callback_url(&state.config.public_url)).await;
    let outcome = TestOutcome::new(check.result, check.detail, now());
    tracing::info!(
        org_id = %org_id,
        brand_id = target.brand_id().unwrap_or("-"),
        result = outcome.reason.as_str(),
        "credentials tested"
    );
    let trail = change.trail(org_id);
    let last = LastTest { result: outcome.reason, at: outcome.tested_at };
    credentials::record_test(state.db.pool(), &state.vault, &trail, target, id, secret, last).await?;
    Ok(outcome)
}

/// **Save**, the use case: stores the pair for the target, as a rotation when only the secret
/// changed, another app when the Client ID changed. `tested` is a test of exactly this pair made
/// just before (recorded as its last test). After a rotation or a new app, the outcome lists the
/// accounts that now need reconnecting.
pub async fn save_pair(
    state: &AppState,
    actor: &Actor,
    target: &Target,
    id: &ClientId,
    secret: &ClientSecret,
    tested: Option<LastTest>,
) -> Result<SaveOutcome, AppError> {
    let change = Change::of(state, actor, target).await?;
    let org_id = actor.org_id();
    let trail = change.trail(org_id);
    // Saves of one organization run one at a time (db::begin_org_write), so two first
    // saves of one target cannot both insert: the second sees the first and replaces it.
    let mut outcome = credentials::save(state.db.pool(), &state.vault, &trail, target, id, secret, tested).await?;
    if matches!(outcome.change, SaveChange::SecretRotated | SaveChange::AppReplaced) {
        outcome.accounts_to_reconnect = crate::server::store::accounts::to_reconnect(state.db.pool(), org_id).await?;
    }
    tracing::info!(
        org_id = %org_id,
        brand_id = target.brand_id().unwrap_or("-"),
        credential_id = %outcome.credential.id,
        change = outcome.change.as_str(),
        generation = outcome.credential.generation,
        "credentials saved"
    );
    Ok(outcome)
}

/// What **Remove** took away.
pub struct Removed {
    /// The first characters of the removed app's Client ID.
    pub client_id_preview: String,
    /// The accounts that now need reconnecting (those of the removed app among them).
    pub accounts_to_reconnect: Vec<AccountToReconnect>,
}

/// **Remove**, the use case: deletes the target's credentials (a brand then falls back to the
/// default); 404 when it has none of its own.
pub async fn remove_pair(state: &AppState, actor: &Actor, target: &Target) -> Result<Removed, AppError> {
    let change = Change::of(state, actor, target).await?;
    let org_id = actor.org_id();
    let trail = change.trail(org_id);
    let Some(client_id_preview) = credentials::remove(state.db.pool(), &trail, target).await? else {
        return Err(AppError::new(
            crate::error::ErrorCode::NotFound,
            match target {
                Target::Default => "There are no default credentials to remove.",
                Target::Brand(_) => {
                    "This brand has no credentials of its own to remove; it already uses the organization default."
                }
            },
        ));
    };
    tracing::info!(org_id = %org_id, brand_id = target.brand_id().unwrap_or("-"), "credentials removed");
    let accounts_to_reconnect = crate::server::store::accounts::to_reconnect(state.db.pool(), org_id).await?;
    Ok(Removed { client_id_preview, accounts_to_reconnect })
}

// ---- the dashboard's side: a test remembered in the browser session -----------------------------

/// What the credentials form (or the JSON API's body) says, for a signed-in user allowed to
/// change credentials: refused before anything is parsed otherwise.
fn from_form(
    viewer: &Viewer,
    brand_id: Option<&str>,
    client_id: &str,
    client_secret: &str,
) -> Result<(Actor, Target, ClientId, ClientSecret), AppError> {
    let actor = Actor::User(viewer.clone());
    actor.permit(Action::ManageCredentials)?;
    let target = Target::from_field(brand_id)?;
    let (id, secret) = parse_pair(client_id, client_secret)?;
    Ok((actor, target, id, secret))
}

/// "Test credentials" in the dashboard: [`test_pair`], remembered in the session for a following
/// save. `brand_id` is the form's field (empty for the default).
pub async fn test(
    state: &AppState,
    viewer: &Viewer,
    session: &Session,
    brand_id: Option<&str>,
    client_id: &str,
    client_secret: &str,
) -> Result<TestOutcome, AppError> {
    let (actor, target, id, secret) = from_form(viewer, brand_id, client_id, client_secret)?;
    let outcome = test_pair(state, &actor, &target, &id, &secret).await?;
    let mut all = memos(session).await?;
    all.retain(|m| m.brand_id.as_deref() != target.brand_id());
    all.push(Memo {
        brand_id: target.brand_id().map(str::to_owned),
        fingerprint: fingerprint(&state.vault, &viewer.org_id, target.brand_id(), &id, &secret),
        client_id: state.vault.encrypt_str(id.as_str(), &memo_aad(&viewer.org_id)),
        outcome: outcome.clone(),
    });
    store_memos(session, all).await?;
    Ok(outcome)
}

/// "Save" in the dashboard: [`save_pair`], with a test of exactly this pair in this session
/// within the last half hour recorded as its last test; otherwise it shows as not tested.
pub async fn save(
    state: &AppState,
    viewer: &Viewer,
    session: &Session,
    brand_id: Option<&str>,
    client_id: &str,
    client_secret: &str,
) -> Result<SaveOutcome, AppError> {
    let (actor, target, id, secret) = from_form(viewer, brand_id, client_id, client_secret)?;
    let fp = fingerprint(&state.vault, &viewer.org_id, target.brand_id(), &id, &secret);
    let mut all = memos(session).await?;
    let tested = all
        .iter()
        .find(|m| m.brand_id.as_deref() == target.brand_id() && m.fingerprint == fp)
        .map(|m| LastTest { result: m.outcome.reason, at: m.outcome.tested_at });
    let outcome = save_pair(state, &actor, &target, &id, &secret, tested).await?;
    if outcome.change != SaveChange::Unchanged || tested.is_some() {
        all.retain(|m| m.brand_id.as_deref() != target.brand_id());
        store_memos(session, all).await?;
    }
    Ok(outcome)
}
