//! Configuration: defaults, then an optional file of `PERCH_*=value` lines (`--config` or
//! `PERCH_CONFIG`), then `PERCH_*` environment variables. Invalid values stop startup with a
//! message that names the setting.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use app::server::infra::client_ip::TrustedProxies;
use app::server::infra::rate_limit::Limits;
use app::server::{AppConfig, Backend};
use secrecy::SecretString;

/// Every setting Perch reads, with its default and meaning, for `--help` and the README.
pub const SETTINGS: &[(&str, &str, &str)] = &[
    ("PERCH_LISTEN", "127.0.0.1:3000", "address and port to listen on"),
    (
        "PERCH_PUBLIC_URL",
        "http://127.0.0.1:3000",
        "the URL people use to reach Perch; every absolute URL (the OAuth callback too) is built from it",
    ),
    ("PERCH_DATA_DIR", "./perch-data", "where the SQLite database and generated keys live"),
    (
        "PERCH_DATABASE_URL",
        "sqlite://<data dir>/perch.db",
        "sqlite:// or postgres:// URL; PostgreSQL for several instances",
    ),
    (
        "PERCH_SIGNUP",
        "open",
        "`open` lets anyone create an organization; `closed` leaves `perch user create` as the way in",
    ),
    (
        "PERCH_TRUSTED_PROXIES",
        "(none)",
        "addresses or CIDR ranges of reverse proxies whose X-Forwarded-For names the client (sign-in throttling counts per client address); comma separated",
    ),
    ("PERCH_SESSION_IDLE_MINUTES", "480", "a dashboard session unused this long ends"),
    ("PERCH_SESSION_MAX_HOURS", "168", "a dashboard session ends this long after sign-in"),
    (
        "PERCH_MASTER_KEY",
        "(none)",
        "base64 32-byte master key(s) sealing secrets at rest, comma separated, newest last; required with PostgreSQL",
    ),
    (
        "PERCH_MASTER_KEY_FILE",
        "<data dir>/master.key",
        "a file of master keys, one per line, newest last; with SQLite generated (0600) on first run if no key is set",
    ),
    (
        "PERCH_API_KEY_RATE_LIMIT",
        "600",
        "requests per minute one API key may make to the public API (/v1); more answer 429 with Retry-After",
    ),
    (
        "PERCH_API_ORG_RATE_LIMIT",
        "1200",
        "requests per minute one organization's API keys together may make to the public API",
    ),
    (
        "PERCH_CONNECT_RATE_LIMIT",
        "30",
        "account connections (Connect, Reconnect, connect links) one organization may start per minute",
    ),
    (
        "PERCH_CONNECT_OPEN_LIMIT",
        "50",
        "account connections one organization may have waiting for X at once (each ends within 10 minutes)",
    ),
    ("PERCH_X_API_URL", "https://api.x.com", "X's API base URL (token, revoke, users/me, tweets)"),
    ("PERCH_X_AUTHORIZE_URL", "https://x.com/i/oauth2/authorize", "X's OAuth 2.0 consent page"),
    ("PERCH_CONFIG", "(none)", "a file of PERCH_*=value lines read before the environment"),
];

#[derive(Debug, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct ConfigError {
    pub setting: String,
    pub message: String,
}

fn err(setting: &str, message: impl Into<String>) -> ConfigError {
    ConfigError { setting: setting.to_owned(), message: message.into() }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// `PERCH_MASTER_KEY`, kept secret (its `Debug` is redacted).
    pub master_key: Option<SecretString>,
    /// `PERCH_MASTER_KEY_FILE`.
    pub master_key_file: Option<PathBuf>,
    pub x_api_url: String,
    pub x_authorize_url: String,
    pub app: AppConfig,
}

impl Config {
    /// Reads the configuration from the process environment (and the file it names).
    pub fn load(config_file: Option<&Path>) -> Result<Self, ConfigError> {
        let env: HashMap<String, String> = std::env::vars().filter(|(k, _)| k.starts_with("PERCH_")).collect();
        let file = config_file.map(Path::to_path_buf).or_else(|| env.get("PERCH_CONFIG").map(PathBuf::from));
        let mut vars = match file {
            Some(path) => read_file(&path)?,
            None => HashMap::new(),
        };
        vars.extend(env);
        Self::from_vars(&vars)
    }

    /// Builds the configuration from `PERCH_*` values (the tests use this directly).
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |k: &str| vars.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());

        let listen = get("PERCH_LISTEN").unwrap_or("127.0.0.1:3000");
        let listen: SocketAddr = listen.parse().map_err(|_| {
            err("PERCH_LISTEN", format!("`{listen}` is not an address and port such as 127.0.0.1:3000"))
        })?;

        let (public_url, public_origin, https) =
            parse_public_url(get("PERCH_PUBLIC_URL").unwrap_or("http://127.0.0.1:3000"))?;

        let data_dir = PathBuf::from(get("PERCH_DATA_DIR").unwrap_or("./perch-data"));
        let database_url = match get("PERCH_DATABASE_URL") {
            Some(url) => url.to_owned(),
            None => format!("sqlite://{}", data_dir.join("perch.db").display()),
        };
        if Backend::from_url(&database_url).is_none() {
            return Err(err("PERCH_DATABASE_URL", "must start with sqlite:// or postgres://"));
        }

        let signup_open = match get("PERCH_SIGNUP").unwrap_or("open") {
            "open" => true,
            "closed" => false,
            other => return Err(err("PERCH_SIGNUP", format!("`{other}` is neither `open` nor `closed`"))),
        };
        let x_api_url = plain_url("PERCH_X_API_URL", get("PERCH_X_API_URL").unwrap_or("https://api.x.com"), true)?;
        let x_authorize_url = plain_url(
            "PERCH_X_AUTHORIZE_URL",
            get("PERCH_X_AUTHORIZE_URL").unwrap_or("https://x.com/i/oauth2/authorize"),
            false,
        )?;
        // An empty PERCH_MASTER_KEY is kept (and refused by the vault), not taken as unset.
        let master_key = vars.get("PERCH_MASTER_KEY").map(|v| SecretString::from(v.trim().to_owned()));
        let master_key_file = get("PERCH_MASTER_KEY_FILE").map(PathBuf::from);
        let idle = positive(get("PERCH_SESSION_IDLE_MINUTES"), "PERCH_SESSION_IDLE_MINUTES", 480)?;
        let max = positive(get("PERCH_SESSION_MAX_HOURS"), "PERCH_SESSION_MAX_HOURS", 168)?;
        let trusted_proxies = TrustedProxies::parse(get("PERCH_TRUSTED_PROXIES").unwrap_or(""))
            .map_err(|m| err("PERCH_TRUSTED_PROXIES", m))?;
        let defaults = Limits::default();
        let limit = |setting: &str, default: i64| -> Result<i64, ConfigError> {
            match get(setting) {
                None => Ok(default),
                Some(v) => v
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| err(setting, format!("`{v}` is not a whole number between 1 and {MAX_LIMIT}"))),
            }
        };
        let limits = Limits {
            api_per_key: limit("PERCH_API_KEY_RATE_LIMIT", defaults.api_per_key)?,
            api_per_org: limit("PERCH_API_ORG_RATE_LIMIT", defaults.api_per_org)?,
            connect_starts_per_org: limit("PERCH_CONNECT_RATE_LIMIT", defaults.connect_starts_per_org)?,
            open_flows_per_org: limit("PERCH_CONNECT_OPEN_LIMIT", defaults.open_flows_per_org)?,
            credential_tests_per_org: defaults.credential_tests_per_org,
        };

        Ok(Self {
            listen,
            data_dir,
            database_url,
            master_key,
            master_key_file,
            x_api_url,
            x_authorize_url,
            app: AppConfig {
                public_url,
                public_origin,
                https,
                signup_open,
                session_idle: Duration::from_secs(idle * 60),
                session_max: Duration::from_secs(max * 3600),
                trusted_proxies,
                limits,
            },
        })
    }
}

/// The most a limit setting takes: high enough to switch a limit off in practice (a load test,
/// the API fuzzer), low enough to stay a number.
const MAX_LIMIT: i64 = 1_000_000_000;

fn positive(value: Option<&str>, setting: &str, default: u64) -> Result<u64, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0 && *n <= 100_000)
            .ok_or_else(|| err(setting, format!("`{v}` is not a whole number between 1 and 100000"))),
    }
}

/// Returns the URL without a trailing slash, its origin, and whether it is https.
fn parse_public_url(raw: &str) -> Result<(String, String, bool), ConfigError> {
    const S: &str = "PERCH_PUBLIC_URL";
    let url = url::Url::parse(raw).map_err(|e| err(S, format!("`{raw}` is not a URL ({e})")))?;
    let https = match url.scheme() {
        "https" => true,
        "http" => false,
        other => return Err(err(S, format!("the scheme must be http or https, not `{other}`"))),
    };
    if url.host_str().is_none() {
        return Err(err(S, "needs a host, such as https://perch.example.com"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(err(S, "must be the site's root (no path, query or fragment): Perch serves from /"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(err(S, "must not contain a user name or password"));
    }
    let origin = url.origin().ascii_serialization();
    Ok((origin.clone(), origin, https))
}

/// An http(s) URL without query or fragment; with `base`, its trailing slash removed.
fn plain_url(setting: &str, raw: &str, base: bool) -> Result<String, ConfigError> {
    let url = url::Url::parse(raw).map_err(|e| err(setting, format!("`{raw}` is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(err(setting, format!("`{raw}` must be an http or https URL with a host")));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(err(setting, "must not contain a query, fragment, user name or password"));
    }
    let s = url.to_string();
    Ok(if base { s.trim_end_matches('/').to_owned() } else { s })
}

fn read_file(path: &Path) -> Result<HashMap<String, String>, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| err("PERCH_CONFIG", format!("cannot read {}: {e}", path.display())))?;
    let mut vars = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            return Err(err("PERCH_CONFIG", format!("{}:{}: expected PERCH_NAME=value", path.display(), n + 1)));
        };
        let k = k.trim();
        if !SETTINGS.iter().any(|(name, _, _)| *name == k) || k == "PERCH_CONFIG" {
            return Err(err("PERCH_CONFIG", format!("{}:{}: unknown setting `{k}`", path.display(), n + 1)));
        }
        vars.insert(k.to_owned(), v.trim().trim_matches('"').to_owned());
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_are_a_local_sqlite_instance() {
        let c = Config::from_vars(&HashMap::new()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(c.app.public_url, "http://127.0.0.1:3000");
        assert_eq!(c.database_url, "sqlite://./perch-data/perch.db");
        assert!(c.app.signup_open && !c.app.https);
        assert_eq!(c.x_api_url, "https://api.x.com");
        assert_eq!(c.x_authorize_url, "https://x.com/i/oauth2/authorize");
        assert!(c.master_key.is_none() && c.master_key_file.is_none());
        assert_eq!(c.app.limits, Limits::default());
    }

    #[test]
    fn the_master_key_never_shows_in_debug() {
        let c =
            Config::from_vars(&vars(&[("PERCH_MASTER_KEY", "c2VjcmV0LWtleS1tYXRlcmlhbC0zMi1ieXRlcy0hIQ==")])).unwrap();
        assert!(!format!("{c:?}").contains("c2VjcmV0"));
    }

    #[test]
    fn public_url_loses_its_trailing_slash_and_https_is_detected() {
        let c = Config::from_vars(&vars(&[("PERCH_PUBLIC_URL", "https://perch.example.com/")])).unwrap();
        assert_eq!(c.app.public_url, "https://perch.example.com");
        assert_eq!(c.app.public_origin, "https://perch.example.com");
        assert!(c.app.https);
        assert_eq!(c.app.session_cookie_name(), "__Host-perch_session");
    }

    #[test]
    fn each_invalid_setting_is_named_in_the_error() {
        for (k, v) in [
            ("PERCH_LISTEN", "localhost"),
            ("PERCH_PUBLIC_URL", "perch.example.com"),
            ("PERCH_PUBLIC_URL", "ftp://perch.example.com"),
            ("PERCH_PUBLIC_URL", "https://perch.example.com/app"),
            ("PERCH_DATABASE_URL", "mysql://db/perch"),
            ("PERCH_SIGNUP", "maybe"),
            ("PERCH_SESSION_IDLE_MINUTES", "0"),
            ("PERCH_SESSION_MAX_HOURS", "soon"),
            ("PERCH_X_API_URL", "api.x.com"),
            ("PERCH_X_AUTHORIZE_URL", "ftp://x.com/i/oauth2/authorize"),
            ("PERCH_TRUSTED_PROXIES", "proxy.internal"),
            ("PERCH_TRUSTED_PROXIES", "10.0.0.0/40"),
            ("PERCH_API_KEY_RATE_LIMIT", "0"),
            ("PERCH_API_ORG_RATE_LIMIT", "lots"),
            ("PERCH_CONNECT_RATE_LIMIT", "-1"),
            ("PERCH_CONNECT_OPEN_LIMIT", "1.5"),
        ] {
            let e = Config::from_vars(&vars(&[(k, v)])).unwrap_err();
            assert_eq!(e.setting, k, "{k}={v}");
            assert!(e.to_string().starts_with(k));
        }
    }

    #[test]
    fn a_config_file_is_read_and_the_environment_wins() {
        let dir = std::env::temp_dir().join(format!("perch-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("perch.env");
        std::fs::write(&path, "# comment\nPERCH_SIGNUP=closed\nPERCH_LISTEN=\"0.0.0.0:8080\"\n").unwrap();
        let mut v = read_file(&path).unwrap();
        assert_eq!(v["PERCH_LISTEN"], "0.0.0.0:8080");
        v.extend(vars(&[("PERCH_SIGNUP", "open")]));
        let c = Config::from_vars(&v).unwrap();
        assert!(c.app.signup_open);
        std::fs::write(&path, "PERCH_SINGUP=closed\n").unwrap();
        assert!(read_file(&path).unwrap_err().message.contains("unknown setting `PERCH_SINGUP`"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
