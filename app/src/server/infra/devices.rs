//! Device cookies: a browser that signed in as a user carries a random token (256 bits) that
//! says so, and its later sign-ins as that user are not counted against its address (OWASP's
//! answer to lock-outs by address). An attacker sharing the address, a proxy's or an office's,
//! then cannot lock out the people who use Perch there; the account's own limit still applies.
//! Only the token's SHA-256 is stored (`trusted_devices`), for [`LIFETIME_SECS`].

use sqlx::AnyPool;

use crate::server::infra::error::ServerError;
use crate::server::infra::ids::sha256_hex;
use crate::server::{AppConfig, now};

/// How long a browser stays known after a sign-in.
pub const LIFETIME_SECS: i64 = 90 * 24 * 3600;

/// The cookie's name: `__Host-` prefixed over https, like the session's.
pub fn cookie_name(config: &AppConfig) -> &'static str {
    if config.https { "__Host-perch_device" } else { "perch_device" }
}

/// The device token a request carries, if any.
pub fn presented(headers: &axum::http::HeaderMap, config: &AppConfig) -> Option<String> {
    let name = cookie_name(config);
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| v.len() == 43 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

/// The email of the user a device token was issued to, if it is known and unexpired.
pub async fn email_of(pool: &AnyPool, token: &str) -> Result<Option<String>, ServerError> {
    Ok(sqlx::query_scalar(
        "select u.email from trusted_devices d join users u on u.id = d.user_id where d.token_hash = $1 and d.expires_at > $2",
    )
    .bind(sha256_hex(token))
    .bind(now())
    .fetch_optional(pool)
    .await?)
}

/// Remembers this browser for `user_id`; returns the `Set-Cookie` value to send.
pub async fn remember(pool: &AnyPool, config: &AppConfig, user_id: &str) -> Result<String, ServerError> {
    use base64::Engine as _;
    let bytes: [u8; 32] = rand::random();
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let t = now();
    sqlx::query("insert into trusted_devices (token_hash, user_id, created_at, expires_at) values ($1, $2, $3, $4)")
        .bind(sha256_hex(&token))
        .bind(user_id)
        .bind(t)
        .bind(t + LIFETIME_SECS)
        .execute(pool)
        .await?;
    let secure = if config.https { "; Secure" } else { "" };
    Ok(format!("{}={token}; Path=/; Max-Age={LIFETIME_SECS}; HttpOnly; SameSite=Lax{secure}", cookie_name(config)))
}

/// Forgets every browser of a user (when all of their sessions end).
pub async fn forget_user(pool: &AnyPool, user_id: &str) -> Result<(), ServerError> {
    sqlx::query("delete from trusted_devices where user_id = $1").bind(user_id).execute(pool).await?;
    Ok(())
}

/// Deletes expired device tokens.
pub async fn forget_expired(pool: &AnyPool) -> Result<(), ServerError> {
    sqlx::query("delete from trusted_devices where expires_at <= $1").bind(now()).execute(pool).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_well_formed_token_under_the_right_name_is_read() {
        let config = AppConfig {
            public_url: "http://127.0.0.1:3000".into(),
            public_origin: "http://127.0.0.1:3000".into(),
            https: false,
            signup_open: true,
            session_idle: std::time::Duration::from_secs(60),
            session_max: std::time::Duration::from_secs(60),
            trusted_proxies: Default::default(),
            limits: Default::default(),
        };
        let token = "a".repeat(43);
        let mut h = axum::http::HeaderMap::new();
        h.insert(axum::http::header::COOKIE, format!("perch_session=x; perch_device={token}").parse().unwrap());
        assert_eq!(presented(&h, &config), Some(token));
        h.insert(axum::http::header::COOKIE, "perch_device=short; perch_devicex=aaaa".parse().unwrap());
        assert_eq!(presented(&h, &config), None);
        h.insert(axum::http::header::COOKIE, format!("perch_device={}%00", "a".repeat(40)).parse().unwrap());
        assert_eq!(presented(&h, &config), None);
    }
}
