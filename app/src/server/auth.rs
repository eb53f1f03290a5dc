//! What every server function starts with: the state, the session, and who is asking.

use leptos::prelude::*;
use tower_sessions::Session;

use super::{AppState, sessions, users};
use crate::domain::Viewer;
use crate::error::AppError;

/// The application state, provided to every page render and server function by the router.
pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        super::ServerError::Other("AppState missing from the Leptos context".into()).into()
    })
}

/// The request's session (tower-sessions puts it in the request extensions).
pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(|e| super::ServerError::Other(format!("session extractor: {e}")).into())
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

/// The signed-in user if they may manage the organization (owner or admin).
pub async fn require_manager() -> Result<(AppState, Viewer), AppError> {
    let (state, viewer) = require_viewer().await?;
    if !viewer.role.can_manage() {
        return Err(AppError::forbidden(
            "Only the organization's owner or an admin can do this. Ask one of them to change it or to make you an admin.",
        ));
    }
    Ok((state, viewer))
}

/// The client's address, for throttling. Perch takes the socket peer: behind a reverse proxy
/// that is the proxy, which still throttles, only more coarsely.
pub async fn client_address() -> String {
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;
    leptos_axum::extract::<ConnectInfo<SocketAddr>>()
        .await
        .map(|ConnectInfo(a)| a.ip().to_string())
        .unwrap_or_else(|_| "unknown".into())
}
