//! The runtime settings the app layer needs. The `server` crate parses them from `PERCH_*`
//! variables and the command line; see `server/src/config.rs`.

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct AppConfig {
    /// `PERCH_PUBLIC_URL` without a trailing slash. Every absolute URL is built from it.
    pub public_url: String,
    /// The origin (`scheme://host[:port]`) of `public_url`; state-changing requests must come from it.
    pub public_origin: String,
    /// Whether the public URL is https: then cookies are `Secure` and `__Host-` prefixed, and HSTS is sent.
    pub https: bool,
    /// `PERCH_SIGNUP` (`open` or `closed`).
    pub signup_open: bool,
    /// A session unused this long ends.
    pub session_idle: Duration,
    /// A session ends this long after sign-in, however active.
    pub session_max: Duration,
    /// `PERCH_TRUSTED_PROXIES`: peers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: crate::server::infra::client_ip::TrustedProxies,
    /// Per-tenant limits (`PERCH_API_*_RATE_LIMIT`, `PERCH_CONNECT_*`).
    pub limits: crate::server::infra::rate_limit::Limits,
}

impl AppConfig {
    /// The session cookie's name: `__Host-` prefixed over https (docs/security.md D.19).
    pub fn session_cookie_name(&self) -> &'static str {
        if self.https { "__Host-perch_session" } else { "perch_session" }
    }
}
