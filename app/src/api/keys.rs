//! Server functions of Settings → API keys (owners and admins). Behind the dashboard-only wall
//! (`/api/keys/`): an API key can neither list, create nor revoke keys (docs/security.md G.34).
//!
//! A new key is in the answer of [`create_api_key`]. A form post without JavaScript is answered
//! with a redirect back to the page instead, so for that one the key is also sealed by the vault
//! in the browser session for five minutes, and the page takes it out when it shows it.

use leptos::prelude::*;

use crate::domain::{ApiKeysOverview, CreatedKey};
use crate::error::AppError;

#[cfg(feature = "ssr")]
mod flash {
    use serde::{Deserialize, Serialize};
    use tower_sessions::Session;

    use crate::domain::CreatedKey;
    use crate::error::AppError;
    use crate::server::infra::vault::{Aad, KeyRing};
    use crate::server::now;

    const KEY: &str = "api_key_just_created";
    const TTL_SECS: i64 = 5 * 60;

    #[derive(Serialize, Deserialize)]
    struct Sealed {
        view: crate::domain::ApiKeyView,
        key: Vec<u8>,
    }

    fn aad<'a>(org_id: &'a str, key_id: &'a str) -> Aad<'a> {
        Aad { org_id, record_id: key_id, field: "api_key_flash" }
    }

    pub async fn put(session: &Session, vault: &KeyRing, org_id: &str, created: &CreatedKey) -> Result<(), AppError> {
        let key = vault.encrypt_str(&created.key, &aad(org_id, &created.view.id));
        session.insert(KEY, Sealed { view: created.view.clone(), key }).await?;
        Ok(())
    }

    pub async fn take(session: &Session, vault: &KeyRing, org_id: &str) -> Result<Option<CreatedKey>, AppError> {
        let Some(sealed) = session.remove::<Sealed>(KEY).await? else { return Ok(None) };
        if now() - sealed.view.created_at > TTL_SECS {
            return Ok(None);
        }
        // Another organization's flash (the user switched sign-ins) does not open: skip it.
        let Ok(key) = vault.decrypt_string(&sealed.key, &aad(org_id, &sealed.view.id)) else { return Ok(None) };
        use secrecy::ExposeSecret as _;
        Ok(Some(CreatedKey { key: key.expose_secret().to_owned(), view: sealed.view }))
    }
}

/// Whether this is a plain form post (leptos_axum redirects those back to the page, the
/// answer unseen): the browser then asks for HTML, as for any navigation.
#[cfg(feature = "ssr")]
async fn posted_without_javascript() -> bool {
    leptos_axum::extract::<http::HeaderMap>().await.is_ok_and(|h| {
        h.get(http::header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"))
    })
}

/// The signed-in owner or admin, as the actor of a use case.
#[cfg(feature = "ssr")]
async fn actor() -> Result<(crate::server::AppState, crate::server::services::actor::Actor), AppError> {
    let (state, viewer) = crate::server::services::auth::require(crate::domain::Action::ManageApiKeys).await?;
    Ok((state, crate::server::services::actor::Actor::User(viewer)))
}

#[server(endpoint = "keys/list")]
pub async fn get_api_keys() -> Result<ApiKeysOverview, AppError> {
    let (state, actor) = actor().await?;
    let session = crate::server::services::auth::session().await?;
    Ok(ApiKeysOverview {
        keys: crate::server::services::api_keys::list(&state, &actor).await?,
        just_created: flash::take(&session, &state.vault, actor.org_id()).await?,
        api_url: format!("{}/v1", state.config.public_url.trim_end_matches('/')),
    })
}

#[server(endpoint = "keys/create")]
pub async fn create_api_key(name: String) -> Result<CreatedKey, AppError> {
    let (state, actor) = actor().await?;
    let session = crate::server::services::auth::session().await?;
    let created = crate::server::services::api_keys::create(&state, &actor, &name).await?;
    if posted_without_javascript().await {
        flash::put(&session, &state.vault, actor.org_id(), &created).await?;
    }
    Ok(created)
}

#[server(endpoint = "keys/revoke")]
pub async fn revoke_api_key(key_id: String) -> Result<(), AppError> {
    let (state, actor) = actor().await?;
    let key_id = crate::domain::ApiKeyId::or_not_found(&key_id)?;
    crate::server::services::api_keys::revoke(&state, &actor, &key_id).await?;
    leptos_axum::redirect(&format!(
        "{}?revoked={}",
        crate::domain::API_KEYS_PAGE,
        crate::domain::encode_query_value(key_id.as_str())
    ));
    Ok(())
}
