#![recursion_limit = "256"]

//! The `perch` server: configuration, router assembly, asset embedding and startup. The tests
//! build the same router through [`build_router`].

pub mod api;
pub mod assets;
pub mod cli;
pub mod config;
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

use app::server::infra::master_keys;
use app::server::infra::vault::{self, KeyRing};
use app::server::infra::x_client::XClient;
use app::server::{AppState, Backend, Db, infra::passwords::Passwords};
use app::{App, shell};
pub use config::Config;

/// The largest request body Perch reads. Every form and JSON body is far smaller.
pub const BODY_LIMIT: usize = 64 * 1024;

#[derive(Clone, FromRef)]
pub struct RouterState {
    pub leptos_options: LeptosOptions,
    pub app: AppState,
}

/// Connects to the database, applies migrations, loads the master keys and checks them against
/// the database, and builds the application state. Every `perch` command that needs the vault
/// comes through here, so none of them can run with keys that cannot open what is stored.
pub async fn build_state(config: &Config) -> anyhow::Result<AppState> {
    let db = open_database(config).await?;
    let vault = load_vault(config, &db).await?;
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

/// Makes every file this process creates its own (mode 0600, directories 0700), before the
/// database is opened: SQLite creates the database with 0644 less the umask, and its -wal and
/// -shm files with the database's mode, so the umask is the one place that covers all three.
/// Process-wide and for good, on purpose: Perch creates nothing another user should read.
#[cfg(unix)]
fn private_umask() {
    // SAFETY: umask(2) only swaps the process's file mode creation mask; it cannot fail and
    // touches no memory of ours.
    unsafe {
        libc::umask(0o077);
    }
}

/// Creates the data directory 0700, or warns when an existing one lets other users in: a copy
/// of the database and the key file beside it is all it takes to read every secret. A private
/// directory protects the files in it whatever their own modes (those of an older Perch were
/// 0644), which is why the warning is about the directory.
fn prepare_data_dir(dir: &std::path::Path, create: bool) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    match std::fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => anyhow::bail!("PERCH_DATA_DIR: {} is not a directory", dir.display()),
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o7777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    "PERCH_DATA_DIR {} has mode {mode:04o}, so other users can reach the database and key file in it; \
                     run `chmod 700 {}`",
                    dir.display(),
                    dir.display()
                );
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| anyhow::anyhow!("PERCH_DATA_DIR: cannot create {}: {e}", dir.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => anyhow::bail!("PERCH_DATA_DIR: cannot read {}: {e}", dir.display()),
    }
}

/// Opens the database (creating the data directory and the SQLite file on first run) and
/// applies pending migrations. Nothing here needs a master key.
pub async fn open_database(config: &Config) -> anyhow::Result<Db> {
    #[cfg(unix)]
    private_umask();
    // With PostgreSQL the directory only matters if a key file lives in it.
    prepare_data_dir(&config.data_dir, config.database_url.starts_with("sqlite:"))?;
    let db = Db::connect(&config.database_url)
        .await
        .map_err(|e| anyhow::anyhow!("PERCH_DATABASE_URL: cannot open the database: {e}"))?;
    db.migrate().await.map_err(|e| anyhow::anyhow!("database migration failed: {e}"))?;
    Ok(db)
}

/// Loads the master key ring (docs/security.md A.7): `PERCH_MASTER_KEY`, `PERCH_MASTER_KEY_FILE` or
/// `<data dir>/master.key`, and refuses one that lacks a key the database depends on (issue 11):
/// a key some stored secret names, or one recorded in `master_keys`. A key file is generated
/// only with SQLite, and only for a database that has never depended on any key: a restore
/// without the key file, or a command run from another directory, must not start over with a
/// new key beside secrets no one can read any more. Then records the key it seals with.
pub async fn load_vault(config: &Config, db: &Db) -> anyhow::Result<KeyRing> {
    use secrecy::ExposeSecret as _;
    let in_use = master_keys::in_use(db.pool(), app::server::now())
        .await
        .map_err(|e| anyhow::anyhow!("cannot read which master keys the database uses: {e}"))?;
    let env = config.master_key.as_ref().map(|k| k.expose_secret().to_owned());
    let mut source = vault::KeySource::new(env, config.master_key_file.clone(), &config.data_dir);
    if db.backend() != Backend::Sqlite || !in_use.is_empty() {
        source = source.without_generation();
    }
    let loaded = match vault::load(source) {
        Ok(loaded) => loaded,
        Err(vault::VaultError::NoKey { default_file }) if !in_use.is_empty() => {
            let have = format!(
                "This server has no master key: {} and {} are unset and {} does not exist.",
                vault::ENV_KEY,
                vault::ENV_KEY_FILE,
                default_file.display()
            );
            anyhow::bail!(missing_keys_message(&in_use.missing_from(None), &have, config))
        }
        Err(vault::VaultError::NoKey { default_file }) => anyhow::bail!(
            "{}: is required with PostgreSQL (or {}, or a key file at {}): every instance sharing the database must use the same \
             master keys. Make one with `perch keys generate` and give it to every instance.",
            vault::ENV_KEY,
            vault::ENV_KEY_FILE,
            default_file.display()
        ),
        Err(e) => anyhow::bail!("{e}"),
    };
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    let missing = in_use.missing_from(Some(&loaded.ring));
    if !missing.is_empty() {
        let ids: Vec<String> = loaded.ring.key_ids().iter().map(|id| format!("{id:#010x}")).collect();
        let have = format!("This server has {} from {}.", ids.join(", "), loaded.origin);
        anyhow::bail!(missing_keys_message(&missing, &have, config));
    }
    master_keys::record(db.pool(), loaded.ring.newest_key_id(), app::server::now())
        .await
        .map_err(|e| anyhow::anyhow!("cannot record the master key in use: {e}"))?;
    match &loaded.origin {
        vault::KeyOrigin::Generated(path) => tracing::warn!(
            path = %path.display(),
            "generated a new master key: back this file up, without it stored secrets cannot be decrypted"
        ),
        origin => {
            tracing::info!(keys = %origin, key_id = %format_args!("{:#010x}", loaded.ring.newest_key_id()), "master keys loaded")
        }
    }
    Ok(loaded.ring)
}

/// Why Perch will not start: which keys the database needs and this server lacks, what it has,
/// and the settings that give it the key. Names key ids only, never key material.
fn missing_keys_message(missing: &[(u32, &master_keys::KeyUse)], have: &str, config: &Config) -> String {
    let mut text = String::new();
    for (id, key_use) in missing {
        let what = if key_use.sealed() > 0 { "holds secrets sealed with" } else { "was used with" };
        text.push_str(&format!(
            "the database {what} master key {id:#010x}, which this server does not have ({key_use}).\n"
        ));
    }
    let default_file = config.data_dir.join(vault::DEFAULT_KEY_FILE);
    text.push_str(&format!(
        "{have}\n\
         Give Perch that key: put its key file back at {}, point {} at it, or add it to {} (comma separated, newest last). \
         No new key was generated: what was sealed with the missing key could never be read again.",
        default_file.display(),
        vault::ENV_KEY_FILE,
        vault::ENV_KEY,
    ));
    for (id, key_use) in missing {
        if key_use.sealed() == 0 {
            text.push_str(&format!(
                "\nNo stored secret names {id:#010x} now: if that key is lost, `perch keys forget {id:#010x}` lets Perch start with the keys it has."
            ));
        }
    }
    text
}

/// The Leptos options, set in code so the binary needs no `Cargo.toml` or site folder beside it.
pub fn leptos_options(listen: SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        // `perch.<version>`: the bundle's content-hashed name (see `assets`).
        .output_name(assets::output_name())
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
        .leptos_routes_with_context(&router_state, routes, move || provide_context(context_state.clone()), {
            let options = router_state.leptos_options.clone();
            move || shell(options.clone())
        })
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
        tracing::warn!(
            "this binary carries no browser bundle: pages work, but without JavaScript. Build it with scripts/build-release.sh"
        );
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

/// Deletes expired sessions, stale throttle entries, abandoned OAuth flows, past rate-limit
/// windows and expired device cookies every ten minutes.
async fn maintenance(state: AppState) {
    use tower_sessions::session_store::ExpiredDeletion;
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        if let Err(e) = state.db.session_store().delete_expired().await {
            tracing::warn!(error = %e, "deleting expired sessions failed");
        }
        if let Err(e) = app::server::infra::throttle::forget_stale(state.db.pool()).await {
            tracing::warn!(error = %e, "cleaning the sign-in throttle failed");
        }
        if let Err(e) = app::server::store::oauth_flows::forget_expired(state.db.pool()).await {
            tracing::warn!(error = %e, "deleting abandoned OAuth flows failed");
        }
        if let Err(e) = app::server::infra::rate_limit::forget_stale(&state.db).await {
            tracing::warn!(error = %e, "deleting past rate-limit windows failed");
        }
        if let Err(e) = app::server::infra::devices::forget_expired(state.db.pool()).await {
            tracing::warn!(error = %e, "deleting expired device cookies failed");
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM (`perch serve`; the `fake-x` crate has its own copy).
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
