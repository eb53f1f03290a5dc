#![recursion_limit = "256"]

//! The `perch` server: configuration, router assembly, asset embedding and startup. The tests
//! build the same router through [`build_router`].

pub mod api;
pub mod assets;
pub mod cli;
pub mod config;
#[cfg(feature = "fake-x")]
pub mod fake_x;
pub mod middleware;
pub mod oauth;
pub mod public_api;
pub mod telemetry;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRef, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::compression::CompressionLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use app::server::vault::{self, KeyRing};
use app::server::x_client::XClient;
use app::server::{AppState, Db, passwords::Passwords};
use app::{App, shell};
pub use config::Config;

/// The largest request body Perch reads. Every form and JSON body is far smaller.
pub const BODY_LIMIT: usize = 64 * 1024;

#[derive(Clone, FromRef)]
pub struct RouterState {
    pub leptos_options: LeptosOptions,
    pub app: AppState,
}

/// Connects to the database, applies migrations and builds the application state.
pub async fn build_state(config: &Config) -> anyhow::Result<AppState> {
    if config.database_url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            anyhow::anyhow!("PERCH_DATA_DIR: cannot create {}: {e}", config.data_dir.display())
        })?;
    }
    let db = Db::connect(&config.database_url)
        .await
        .map_err(|e| anyhow::anyhow!("PERCH_DATABASE_URL: cannot open the database: {e}"))?;
    db.migrate().await.map_err(|e| anyhow::anyhow!("database migration failed: {e}"))?;
    let vault = load_vault(config)?;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    Ok(AppState {
        db,
        config: Arc::new(config.app.clone()),
        passwords: Passwords::new(cores),
        vault: Arc::new(vault),
        x: XClient::new(&config.x_api_url, &config.x_authorize_url),
        clock: Default::default(),
    })
}

/// Loads the master key ring (security.md A.7): `PERCH_MASTER_KEY`, `PERCH_MASTER_KEY_FILE` or
/// `<data dir>/master.key`, generating the last on a first run with SQLite only.
pub fn load_vault(config: &Config) -> anyhow::Result<KeyRing> {
    use secrecy::ExposeSecret as _;
    let env = config.master_key.as_ref().map(|k| k.expose_secret().to_owned());
    let mut source = vault::KeySource::new(env, config.master_key_file.clone(), &config.data_dir);
    if !config.database_url.starts_with("sqlite:") {
        source = source.without_generation();
    }
    let loaded = vault::load(source).map_err(|e| anyhow::anyhow!("{e}"))?;
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    match &loaded.origin {
        vault::KeyOrigin::Generated(path) => tracing::warn!(
            path = %path.display(),
            "generated a new master key: back this file up, without it stored secrets cannot be decrypted"
        ),
        origin => tracing::info!(keys = %origin, key_id = %format_args!("{:#010x}", loaded.ring.newest_key_id()), "master keys loaded"),
    }
    Ok(loaded.ring)
}

/// The Leptos options, set in code so the binary needs no `Cargo.toml` or site folder beside it.
pub fn leptos_options(listen: SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name(option_env!("LEPTOS_OUTPUT_NAME").unwrap_or("perch"))
        .site_root("target/site")
        .site_pkg_dir("pkg")
        .site_addr(listen)
        .env(leptos::config::Env::PROD)
        .build()
}

/// The app's routes, generated once per process. Generating them renders the app with resource
/// loading switched off process-wide (a global flag in leptos_server), and a page that starts
/// loading a resource in that moment, in another router of the same process, never finishes
/// (leptos-rs/leptos#4773). One `perch serve` builds one router before it serves, but the tests
/// start many Perch instances in one process while others are serving pages.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The whole application: pages, server functions, JSON endpoints, assets and middleware.
pub fn build_router(state: AppState, listen: SocketAddr) -> Router {
    let config = state.config.clone();
    let leptos_options = leptos_options(listen);
    let routes = route_list();
    let router_state = RouterState { leptos_options, app: state.clone() };

    let sessions = SessionManagerLayer::new(state.db.session_store())
        .with_name(config.session_cookie_name())
        .with_secure(config.https)
        .with_http_only(true)
        // Lax, not Strict: Strict would drop the cookie on the OAuth return from x.com (D.19).
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(config.session_idle.as_secs() as i64)));

    let context_state = state.clone();
    Router::new()
        .route("/healthz", get(healthz))
        .merge(api::routes().method_not_allowed_fallback(api::method_not_allowed))
        .merge(public_api::routes().method_not_allowed_fallback(api::method_not_allowed))
        .merge(oauth::routes())
        .leptos_routes_with_context(
            &router_state,
            routes,
            move || provide_context(context_state.clone()),
            {
                let options = router_state.leptos_options.clone();
                move || shell(options.clone())
            },
        )
        // Assets and the 404 page are compressed (the wasm shrinks about threefold). Pages with
        // account data are not: compressing those is what BREACH-style attacks measure.
        .fallback_service(
            Router::new().fallback(fallback).layer(CompressionLayer::new()).with_state(router_state.clone()),
        )
        .layer(axum::middleware::from_fn(middleware::server_fn_status))
        .layer(axum::middleware::from_fn(api::dashboard_only))
        .layer(sessions)
        .layer(axum::middleware::from_fn_with_state(config.clone(), middleware::refuse_cross_site))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(BODY_LIMIT))
        // Outside the body limit, so its 413 gets the API's JSON shape and the security headers.
        .layer(axum::middleware::from_fn(middleware::api_errors_as_json))
        .layer(axum::middleware::from_fn_with_state(config.clone(), middleware::security_headers))
        .layer(telemetry::trace_layer())
        .with_state(router_state)
}

/// `GET /healthz`: 200 when the database answers, 503 otherwise.
async fn healthz(State(state): State<AppState>) -> Response {
    if state.db.ping().await {
        (StatusCode::OK, "ok").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
    }
}

/// Anything that is not a page or an endpoint: an embedded asset, or the app's 404 page.
async fn fallback(State(state): State<RouterState>, req: Request) -> Response {
    if let Some(res) = assets::serve(req.uri().path(), req.headers()) {
        return res;
    }
    if req.uri().path().starts_with("/v1/") {
        return public_api::unknown_endpoint();
    }
    let app_state = state.app.clone();
    let options = state.leptos_options.clone();
    let handler = leptos_axum::render_app_to_stream_with_context(
        move || provide_context(app_state.clone()),
        move || shell(options.clone()),
    );
    handler(req).await.into_response()
}

/// Serves until Ctrl-C or SIGTERM, running the periodic clean-up alongside.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let state = build_state(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("PERCH_LISTEN: cannot listen on {}: {e}", config.listen))?;
    if !assets::has_bundle() {
        tracing::warn!("this binary carries no browser bundle: pages work, but without JavaScript. Build with `cargo leptos build --release`");
    }
    tokio::spawn(maintenance(state.clone()));
    let router = build_router(state.clone(), config.listen);
    tracing::info!(listen = %config.listen, public_url = %config.app.public_url, backend = ?state.db.backend(), "Perch is up");
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    state.db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Deletes expired sessions, stale throttle entries and abandoned OAuth flows every ten minutes.
async fn maintenance(state: AppState) {
    use tower_sessions::session_store::ExpiredDeletion;
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        if let Err(e) = state.db.session_store().delete_expired().await {
            tracing::warn!(error = %e, "deleting expired sessions failed");
        }
        if let Err(e) = app::server::throttle::forget_stale(state.db.pool()).await {
            tracing::warn!(error = %e, "cleaning the sign-in throttle failed");
        }
        if let Err(e) = app::server::oauth_flows::forget_expired(state.db.pool()).await {
            tracing::warn!(error = %e, "deleting abandoned OAuth flows failed");
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM (shared by `perch serve` and the `fake-x` test server).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
