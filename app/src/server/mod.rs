//! Server-only code (the `ssr` feature): database, sessions, passwords and the SQL behind each
//! server function. Nothing here is compiled into the browser bundle.

pub mod audit;
pub mod auth;
pub mod brands;
pub mod config;
pub mod credentials;
pub mod db;
pub mod error;
pub mod ids;
pub mod orgs;
pub mod passwords;
pub mod sessions;
pub mod state;
pub mod throttle;
pub mod twitter;
pub mod users;
pub mod vault;
pub mod x_client;

pub use config::AppConfig;
pub use db::{Backend, Db};
pub use error::ServerError;
pub use state::AppState;

/// Seconds since the Unix epoch; every timestamp Perch stores is one of these.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The Content-Security-Policy of an HTML page (security.md D.23): scripts only from this origin
/// or carrying this response's nonce, wasm allowed to compile, nothing framed or embedded.
pub fn page_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; form-action 'self'"
    )
}
