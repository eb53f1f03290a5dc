//! OAuth 2.0 flows between **Connect** and X's callback (docs/security.md E.24, E.25, E.27, E.28).
//!
//! A flow is a database row keyed by the SHA-256 of its `state` (256 random bits), holding the
//! organization, who started it, the card, the credentials that started it and the PKCE
//! verifier, the last three sealed by the vault. A flow started by **Connect** in the dashboard
//! is bound to that browser: the session keeps the hashes of the flows it started, and a state
//! from another browser is refused. A flow started by an API key (a connect link, handed to an
//! end user to open in any browser) is bound to its organization and card only; its 256-bit
//! state is the capability. Taking a flow deletes its row in the same statement
//! (`delete … returning`), so of two callbacks with one state exactly one gets it, and a replay
//! finds nothing: all of this before anything is sent to X.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use sqlx::AnyPool;
use tower_sessions::Session;

use crate::domain::{ClientId, ClientSecret, OrgId};
use crate::server::infra::error::ServerError;
use crate::server::infra::vault::{Aad, KeyRing};
use crate::server::now;
use crate::server::store::credentials::Resolved;

/// How long a flow may take, from Connect to the callback.
pub const FLOW_TTL_SECS: i64 = 10 * 60;
/// The session key holding the hashes of the flows this browser started.
const SESSION_KEY: &str = "x_oauth_flows";
/// At most this many open flows per browser session (older ones are forgotten).
const SESSION_MAX: usize = 8;
const FIELD: &str = "oauth_flow";

/// A random value of `bytes` random bytes from the OS generator, base64url.
fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// The state's database key: a hash, so that the database alone cannot finish a flow.
pub fn state_hash(state: &str) -> String {
    crate::server::infra::ids::sha256_hex(state)
}

/// Who started a flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartedBy<T> {
    /// A dashboard user (its id), through **Connect** or **Reconnect**.
    User(T),
    /// An API key (its id), through `POST /v1/accounts/connect`.
    ApiKey(T),
}

/// What a flow is for.
pub struct NewFlow<'a> {
    pub org_id: &'a OrgId,
    pub started_by: StartedBy<&'a str>,
    pub brand_id: Option<&'a str>,
    /// The account a Reconnect is for.
    pub account_id: Option<&'a str>,
    pub credentials: &'a Resolved,
}

/// A started flow: what goes into X's authorize URL.
pub struct Started {
    pub state: String,
    pub verifier: SecretString,
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    client_id: String,
    client_secret: String,
    verifier: String,
}

/// A flow taken back at the callback.
pub struct Flow {
    pub org_id: OrgId,
    pub started_by: StartedBy<String>,
    pub brand_id: Option<String>,
    pub account_id: Option<String>,
    pub credential_id: String,
    pub credential_generation: i64,
    pub client_id_preview: String,
    pub client_id: ClientId,
    pub client_secret: ClientSecret,
    pub verifier: SecretString,
    pub expired: bool,
}

/// The organization has as many open flows as it may (`PERCH_CONNECT_OPEN_LIMIT`): no new one
/// starts until one ends, at the latest when the oldest expires in `retry_after` seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Full {
    pub retry_after: i64,
}

/// Records a new flow, unless its organization already has `max_open` open (unexpired) ones,
/// and, for a dashboard user's, remembers it in the browser session.
pub async fn start(
    pool: &AnyPool,
    vault: &KeyRing,
    session: Option<&Session>,
    flow: NewFlow<'_>,
    max_open: i64,
) -> Result<Result<Started, Full>, ServerError> {
    // 256 bits of state (E.24 asks for at least 128) and a 43-character verifier (RFC 7636's
    // 256-bit recommendation).
    let state = random_token(32);
    let verifier = random_token(32);
    let hash = state_hash(&state);
    let t = now();
    let sealed = zeroize::Zeroizing::new(
        serde_json::to_vec(&Sealed {
            client_id: flow.credentials.client_id.as_str().to_owned(),
            client_secret: flow.credentials.client_secret.expose().to_owned(),
            verifier: verifier.clone(),
        })
        .map_err(|e| ServerError::Other(format!("sealing a flow: {e}")))?,
    );
    let blob = vault.encrypt(&sealed, &Aad { org_id: flow.org_id, record_id: &hash, field: FIELD });
    // Abandoned flows go as new ones come.
    sqlx::query("delete from twitter_oauth_flows where expires_at < $1").bind(t).execute(pool).await?;
    // Counted and inserted alone per organization, on every instance: two starts at once must
    // not both see one flow left under the cap.
    let mut tx = crate::server::infra::db::begin_org_write(pool, flow.org_id).await?;
    let (open, oldest): (i64, Option<i64>) = sqlx::query_as(
        "select count(*), min(expires_at) from twitter_oauth_flows where org_id = $1 and expires_at >= $2",
    )
    .bind(flow.org_id)
    .bind(t)
    .fetch_one(&mut *tx)
    .await?;
    if open >= max_open {
        return Ok(Err(Full { retry_after: (oldest.unwrap_or(t + FLOW_TTL_SECS) - t).max(1) }));
    }
    sqlx::query(
        "insert into twitter_oauth_flows (state_hash, org_id, user_id, api_key_id, brand_id, account_id, credential_id, \
         credential_generation, client_id_preview, sealed, created_at, expires_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&hash)
    .bind(flow.org_id)
    .bind(match flow.started_by { StartedBy::User(u) => Some(u), StartedBy::ApiKey(_) => None })
    .bind(match flow.started_by { StartedBy::ApiKey(k) => Some(k), StartedBy::User(_) => None })
    .bind(flow.brand_id)
    .bind(flow.account_id)
    .bind(&flow.credentials.credential_id)
    .bind(flow.credentials.generation)
    .bind(flow.credentials.client_id.preview())
    .bind(blob)
    .bind(t)
    .bind(t + FLOW_TTL_SECS)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    if let Some(session) = session {
        let mut mine: Vec<String> = session.get(SESSION_KEY).await?.unwrap_or_default();
        mine.push(hash);
        if mine.len() > SESSION_MAX {
            mine.drain(..mine.len() - SESSION_MAX);
        }
        session.insert(SESSION_KEY, mine).await?;
    }
    Ok(Ok(Started { state, verifier: SecretString::from(verifier) }))
}

/// Whether this browser session started the flow of `state`. Does not spend it: a state from
/// another browser must not be able to cancel the real user's flow.
pub async fn started_here(session: &Session, state: &str) -> Result<bool, ServerError> {
    let hash = state_hash(state);
    let mine: Vec<String> = session.get(SESSION_KEY).await?.unwrap_or_default();
    Ok(mine.contains(&hash))
}

/// Whether `state` belongs to a connect link (started by an API key), without taking the flow:
/// `None` when no flow has this state (never had, or it was taken).
pub async fn is_link(pool: &AnyPool, state: &str) -> Result<Option<bool>, ServerError> {
    let key: Option<Option<String>> =
        sqlx::query_scalar("select api_key_id from twitter_oauth_flows where state_hash = $1")
            .bind(state_hash(state))
            .fetch_optional(pool)
            .await?;
    Ok(key.map(|k| k.is_some()))
}

#[derive(sqlx::FromRow)]
struct Row {
    org_id: OrgId,
    user_id: Option<String>,
    api_key_id: Option<String>,
    brand_id: Option<String>,
    account_id: Option<String>,
    credential_id: String,
    credential_generation: i64,
    client_id_preview: String,
    sealed: Vec<u8>,
    expires_at: i64,
}

/// Takes the flow of `state` for good: `None` when it does not exist (never did, or was
/// taken already).
pub async fn take(pool: &AnyPool, vault: &KeyRing, state: &str) -> Result<Option<Flow>, ServerError> {
    // The session keeps the hash: a replay from this browser is then told apart from a state it
    // never started (the row is gone either way, so the flow cannot run twice).
    let hash = state_hash(state);
    let row: Option<Row> = sqlx::query_as(
        "delete from twitter_oauth_flows where state_hash = $1 returning org_id, user_id, api_key_id, brand_id, account_id, \
         credential_id, credential_generation, client_id_preview, sealed, expires_at",
    )
    .bind(&hash)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let plain = vault.decrypt(&row.sealed, &Aad { org_id: &row.org_id, record_id: &hash, field: FIELD })?;
    let Sealed { client_id, client_secret, verifier } =
        serde_json::from_slice(&plain).map_err(|e| ServerError::Other(format!("opening a flow: {e}")))?;
    let client_secret = zeroize::Zeroizing::new(client_secret);
    let client_id =
        ClientId::parse(&client_id).map_err(|_| ServerError::Other("a flow's Client ID no longer parses".into()))?;
    let client_secret = ClientSecret::parse(&client_secret)
        .map_err(|_| ServerError::Other("a flow's Client Secret no longer parses".into()))?;
    let verifier = SecretString::from(verifier);
    let started_by = match (row.user_id, row.api_key_id) {
        (Some(u), _) => StartedBy::User(u),
        (None, Some(k)) => StartedBy::ApiKey(k),
        // The table's check constraint makes this impossible.
        (None, None) => return Err(ServerError::Other("a flow without a starter".into())),
    };
    Ok(Some(Flow {
        org_id: row.org_id,
        started_by,
        brand_id: row.brand_id,
        account_id: row.account_id,
        credential_id: row.credential_id,
        credential_generation: row.credential_generation,
        client_id_preview: row.client_id_preview,
        client_id,
        client_secret,
        verifier,
        expired: row.expires_at < now(),
    }))
}

/// Deletes abandoned flows (the periodic clean-up).
pub async fn forget_expired(pool: &AnyPool) -> Result<u64, ServerError> {
    Ok(sqlx::query("delete from twitter_oauth_flows where expires_at < $1")
        .bind(now())
        .execute(pool)
        .await?
        .rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_carry_256_random_bits_and_hash_to_hex() {
        let a = random_token(32);
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token(32));
        let h = state_hash(&a);
        assert_eq!(h.len(), 64);
        assert!(h.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(h, state_hash(&a));
    }

    mod properties {
        use super::super::*;
        use crate::server::Db;
        use crate::server::infra::vault::MasterKey;
        use crate::server::services::connect::Callback;
        use proptest::collection::vec;
        use proptest::prelude::*;

        /// `bytes` percent-encoded, as a browser carries any bytes in a query.
        fn encoded(bytes: &[u8]) -> String {
            bytes.iter().map(|b| format!("%{b:02X}")).collect()
        }

        /// What the callback reads from a query: a query that does not parse carries no state.
        fn state_of(query: &str) -> Option<String> {
            let uri: axum::http::Uri = format!("/oauth/callback/twitter?{query}").parse().ok()?;
            axum::extract::Query::<Callback>::try_from_uri(&uri).ok()?.0.state
        }

        /// A connect link's flow in a fresh SQLite database: the kind bound by its state alone.
        async fn one_link_flow(dir: &std::path::Path) -> (Db, KeyRing, String) {
            let db = Db::connect(&format!("sqlite://{}", dir.join("perch.db").display())).await.unwrap();
            db.migrate().await.unwrap();
            sqlx::query("insert into organizations (id, name, created_at) values ('org_1', 'Acme', 0)")
                .execute(db.pool())
                .await
                .unwrap();
            let vault = KeyRing::new(vec![MasterKey::generate()]).unwrap();
            let credentials = Resolved {
                credential_id: "crd_1".into(),
                brand_id: None,
                client_id: ClientId::parse("M1M5R3BMVy13QmpScXkzTUt5OE46MTpjaQ").unwrap(),
                client_secret: ClientSecret::parse("kJ9_x2Lm-QpR7sT4vW8yZ1aB3cD5eF6gH0iJ2kL4mN6oP8qR0s").unwrap(),
                generation: 1,
            };
            let flow = NewFlow {
                org_id: &OrgId::parse("org_1").unwrap(),
                started_by: StartedBy::ApiKey("key_1"),
                brand_id: None,
                account_id: None,
                credentials: &credentials,
            };
            let started = start(db.pool(), &vault, None, flow, 1).await.unwrap().unwrap();
            (db, vault, started.state)
        }

        /// The callback's `state` is whatever comes back in a browser's URL: any bytes,
        /// percent-encoded or not, near misses of the real state included. Reading it never
        /// panics, its hash is always 64 hex digits, and no value but the flow's own state finds
        /// the flow (`is_link`) or takes it (`take`): afterwards the real state still takes it,
        /// once (docs/security.md E.24, E.27).
        #[test]
        fn a_state_of_any_bytes_never_panics_and_never_finds_another_flow() {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let dir = std::env::temp_dir().join(format!("perch-flows-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&dir).unwrap();
            let (db, vault, real) = rt.block_on(one_link_flow(&dir));
            let near_miss = (0..real.len(), any::<char>()).prop_map({
                let real = real.clone();
                move |(at, c)| {
                    let mut s: Vec<char> = real.chars().collect();
                    s[at] = c;
                    s.into_iter().collect::<String>()
                }
            });
            let queries = prop_oneof![
                vec(any::<u8>(), 0..600).prop_map(|b| format!("state={}&code=abc", encoded(&b))),
                "[A-Za-z0-9%&=+;._~-]{0,120}",
                near_miss.prop_map(|s| format!("state={}", encoded(s.as_bytes()))),
                Just(format!("state={}", &real[..real.len() - 1])),
                Just(format!("state={real}x")),
                Just(format!("state={}", real.to_uppercase())),
                Just(format!("state=&state={real}")),
            ];
            proptest!(ProptestConfig::with_cases(256), |(query in queries)| {
                let Some(state) = state_of(&query) else { return Ok(()) };
                let hash = state_hash(&state);
                prop_assert!(hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()));
                if state != real {
                    prop_assert_ne!(&hash, &state_hash(&real));
                    rt.block_on(async {
                        assert_eq!(is_link(db.pool(), &state).await.unwrap(), None, "{query}");
                        assert!(take(db.pool(), &vault, &state).await.unwrap().is_none(), "{query}");
                    });
                }
            });
            rt.block_on(async {
                assert_eq!(is_link(db.pool(), &real).await.unwrap(), Some(true), "no other state took the flow");
                assert!(take(db.pool(), &vault, &real).await.unwrap().is_some());
                assert!(take(db.pool(), &vault, &real).await.unwrap().is_none(), "single use");
                db.close().await;
            });
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
