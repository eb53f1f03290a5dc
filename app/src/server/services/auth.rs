//! What every server function starts with: the state, the session, and who is asking.

use leptos::prelude::*;
use tower_sessions::Session;

use crate::domain::{Action, Viewer};
use crate::error::AppError;
use crate::server::{AppState, infra::sessions, store::users};

/// The application state, provided to every page render and server function by the router.
pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>()
        .ok_or_else(|| crate::server::ServerError::Other("AppState missing from the Leptos context".into()).into())
}

/// The request's session (tower-sessions puts it in the request extensions).
pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(|e| crate::server::ServerError::Other(format!("session extractor: {e}")).into())
}

/// The signed-in user, or `None` for an anonymous request or an ended session.
pub async fn viewer() -> Result<Option<Viewer>, AppError> {
    let state = state()?;
    let session = session().await?;
    viewer_of(&state, &session).await
}

/// The user signed in to `session`, outside a server function (the JSON API's handlers).
pub async fn viewer_of(state: &AppState, session: &Session) -> Result<Option<Viewer>, AppError> {
    let Some(uid) = sessions::user_id(session, &state.config).await? else {
        return Ok(None);
    };
    // Read with the session, in the same query; from the database only after a sign-in within
    // this request.
    if let Some(viewer) = sessions::loaded_viewer(session, &uid).await? {
        return Ok(Some(viewer));
    }
    let viewer = users::viewer(state.db.pool(), &uid).await?;
    if viewer.is_none() {
        // The user was deleted while signed in: end the session rather than keep a ghost.
        sessions::sign_out(session).await?;
    }
    Ok(viewer)
}

/// The signed-in user, or `Unauthenticated`.
pub async fn require_viewer() -> Result<(AppState, Viewer), AppError> {
    let viewer = viewer().await?.ok_or_else(AppError::unauthenticated)?;
    Ok((state()?, viewer))
}

/// The signed-in user, if their role may do `action` ([`crate::domain::Role::may`]): what
/// every server function of the organization's starts with.
pub async fn require(action: Action) -> Result<(AppState, Viewer), AppError> {
    let (state, viewer) = require_viewer().await?;
    permit(&viewer, action)?;
    Ok((state, viewer))
}

/// Refuses `viewer` with 403 `forbidden` when their role may not do `action`, in the one
/// wording ([`crate::domain::Role::refusal`]): for doors that found the viewer themselves (the
/// dashboard's JSON API, the Connect form) and the operations they share.
pub fn permit(viewer: &Viewer, action: Action) -> Result<(), AppError> {
    if viewer.role.may(action) {
        return Ok(());
    }
    tracing::info!(org_id = %viewer.org_id, role = viewer.role.as_str(), ?action, "refused by role");
    Err(AppError::forbidden(viewer.role.refusal(action)))
}

/// The client's address, for throttling: the socket peer, or behind a peer listed in
/// `PERCH_TRUSTED_PROXIES` the client its `X-Forwarded-For` names (see [`crate::server::infra::client_ip`]).
pub async fn client_address() -> String {
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;
    let Ok(ConnectInfo(peer)) = leptos_axum::extract::<ConnectInfo<SocketAddr>>().await else {
        return "unknown".into();
    };
    let trusted = &state().map(|s| s.config.trusted_proxies.clone()).unwrap_or_default();
    if trusted.is_empty() {
        return peer.ip().to_canonical().to_string();
    }
    let headers = request_headers().await;
    let forwarded: Vec<&str> = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
    trusted.client(peer.ip(), &forwarded).to_string()
}

/// The request's headers (empty outside a request).
pub async fn request_headers() -> axum::http::HeaderMap {
    leptos_axum::extract::<axum::http::HeaderMap>().await.unwrap_or_default()
}
