//! Server-only code (the `ssr` feature), in three layers (docs/architecture.md, "Code map"):
//! [`services`], the use cases every door calls; [`store`], the SQL of each concept; [`infra`],
//! what both stand on (the database, the vault, X's API, sessions, passwords, limits). A module
//! uses its own layer and those below it. Nothing here is compiled into the browser bundle.

pub mod infra;
pub mod services;
pub mod store;

pub use infra::config::AppConfig;
pub use infra::db::{Backend, Db};
pub use infra::error::ServerError;
pub use infra::state::AppState;

/// Seconds since the Unix epoch; every timestamp Perch stores is one of these.
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// The Content-Security-Policy of an HTML page (docs/security.md D.23): scripts only from this origin
/// or carrying this response's nonce, wasm allowed to compile, nothing framed or embedded. Forms
/// may post here and be redirected on to X's consent page (`x_authorize_origin`): Chromium
/// checks the redirect of a form submission against `form-action` too. Images may come from X's
/// image host (account avatars).
pub fn page_csp(nonce: &str, x_authorize_origin: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data: https://pbs.twimg.com; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; form-action 'self' {x_authorize_origin}"
    )
}

/// `scheme://host[:port]` of a URL, for a CSP source; empty when it has none.
pub fn origin_of(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) if u.has_host() => u.origin().ascii_serialization(),
        _ => String::new(),
    }
}
