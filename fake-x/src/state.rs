//! Everything the fake remembers (apps, users, codes, grants, tokens, posts, rate-limit windows,
//! the request log) and the rules X applies to it. Handlers and the control plane both come
//! here; each operation takes the lock once, never across an `.await`, so that checks and
//! changes are atomic (two exchanges of one code: exactly one wins).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::errors::{OAuthError, Problem};
use super::ids::{self, TokenKind, now_ms, pkce_challenge};
use super::log::RecordedRequest;
use super::oauth::BasicAuth;
use super::switches::{Switches, UnknownClient};

pub use super::records::{
    ControlError, Counters, DEFAULT_USER_ID, FakeApp, FakeTweet, FakeUser, GrantInfo, KNOWN_SCOPES, NewApp, TokenPair,
};

/// Who is calling API v2 with a valid access token.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    pub client_id: String,
    pub user: FakeUser,
    pub scopes: Vec<String>,
}

impl Caller {
    pub fn has_scopes(&self, needed: &[&str]) -> bool {
        needed.iter().all(|n| self.scopes.iter().any(|s| s == n))
    }
}

/// A rate-limit bucket of X's: 15-minute windows per user and endpoint, 24-hour caps on writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Bucket {
    UsersMe,
    Tweets,
    TweetsUser24h,
    TweetsApp24h,
}

impl Bucket {
    fn window_secs(self) -> u64 {
        match self {
            Bucket::UsersMe | Bucket::Tweets => 15 * 60,
            Bucket::TweetsUser24h | Bucket::TweetsApp24h => 24 * 60 * 60,
        }
    }

    fn limit(self, switches: &Switches) -> u32 {
        match self {
            Bucket::UsersMe => switches.users_me_limit_15min,
            Bucket::Tweets => switches.tweets_limit_15min,
            Bucket::TweetsUser24h => switches.tweets_user_limit_24h,
            Bucket::TweetsApp24h => switches.tweets_app_limit_24h,
        }
    }
}

/// The state of one bucket as the `x-*-limit-*` headers report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Quota {
    pub limit: u32,
    pub remaining: u32,
    /// Unix seconds.
    pub reset: u64,
}

#[derive(Clone, Copy, Debug)]
struct Window {
    start_s: u64,
    used: u32,
}

#[derive(Clone, Debug)]
struct CodeRecord {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    scopes: Vec<String>,
    user_id: String,
    expires_at_ms: u64,
    used: bool,
}

#[derive(Clone, Debug)]
struct AccessRecord {
    grant: usize,
    expires_at_ms: u64,
    revoked: bool,
}

#[derive(Clone, Debug)]
struct RefreshRecord {
    grant: usize,
    /// Spent by a refresh: refresh tokens are single use.
    used: bool,
    revoked: bool,
}

struct Inner {
    switches: Switches,
    apps: BTreeMap<String, FakeApp>,
    users: Vec<FakeUser>,
    next_user_id: String,
    codes: HashMap<String, CodeRecord>,
    grants: Vec<GrantInfo>,
    access_tokens: HashMap<String, AccessRecord>,
    refresh_tokens: HashMap<String, RefreshRecord>,
    tweets: Vec<FakeTweet>,
    /// (author, text) of every post, for X's duplicate-content refusal without a scan.
    posted: HashSet<(String, String)>,
    windows: HashMap<(Bucket, String), Window>,
    log: Vec<RecordedRequest>,
    next_seq: u64,
    counters: Counters,
}

impl Inner {
    fn new() -> Self {
        Inner {
            switches: Switches::default(),
            apps: BTreeMap::new(),
            users: vec![FakeUser::x_developers()],
            next_user_id: DEFAULT_USER_ID.into(),
            codes: HashMap::new(),
            grants: Vec::new(),
            access_tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            tweets: Vec::new(),
            posted: HashSet::new(),
            windows: HashMap::new(),
            log: Vec::new(),
            next_seq: 1,
            counters: Counters::default(),
        }
    }

    fn user(&self, id: &str) -> Option<&FakeUser> {
        self.users.iter().find(|u| u.id == id)
    }

    fn upsert_user(&mut self, user: FakeUser) {
        let user = user.completed();
        match self.users.iter_mut().find(|u| u.id == user.id) {
            Some(existing) => *existing = user,
            None => self.users.push(user),
        }
    }

    /// Starts a grant and issues its first tokens.
    fn grant(&mut self, client_id: &str, user_id: &str, scopes: Vec<String>) -> TokenPair {
        let index = self.grants.len();
        self.grants.push(GrantInfo {
            id: format!("grant-{}", index + 1),
            client_id: client_id.into(),
            user_id: user_id.into(),
            scopes,
            refreshes: 0,
            revoked: false,
            created_at_ms: now_ms(),
        });
        self.issue_for_grant(index)
    }

    fn issue_for_grant(&mut self, grant: usize) -> TokenPair {
        let lifetime = self.switches.access_token_lifetime_secs;
        let access_token = ids::token(TokenKind::Access);
        self.access_tokens.insert(
            access_token.clone(),
            AccessRecord {
                grant,
                expires_at_ms: now_ms().saturating_add(lifetime.saturating_mul(1000)),
                revoked: false,
            },
        );
        let info = &self.grants[grant];
        let refresh_token = info.scopes.iter().any(|s| s == "offline.access").then(|| {
            let token = ids::token(TokenKind::Refresh);
            self.refresh_tokens.insert(token.clone(), RefreshRecord { grant, used: false, revoked: false });
            token
        });
        let info = &self.grants[grant];
        TokenPair {
            access_token,
            refresh_token,
            scope: info.scopes.join(" "),
            expires_in: lifetime,
            grant_id: info.id.clone(),
        }
    }

    fn grant_index(&self, grant_id: &str) -> Option<usize> {
        self.grants.iter().position(|g| g.id == grant_id)
    }

    /// Kills a token as the revoke endpoint does. Returns the grant it belonged to.
    fn kill_token(&mut self, token: &str) -> Option<usize> {
        if let Some(access) = self.access_tokens.get_mut(token) {
            access.revoked = true;
            return Some(access.grant);
        }
        if let Some(refresh) = self.refresh_tokens.get_mut(token) {
            refresh.revoked = true;
            let grant = refresh.grant;
            if self.switches.revoke_refresh_kills_grant {
                self.grants[grant].revoked = true;
            }
            return Some(grant);
        }
        None
    }

    fn window(&mut self, bucket: Bucket, key: &str, now_s: u64) -> (Quota, &mut Window) {
        let limit = bucket.limit(&self.switches);
        let window = self.windows.entry((bucket, key.to_string())).or_insert(Window { start_s: now_s, used: 0 });
        if now_s >= window.start_s + bucket.window_secs() {
            *window = Window { start_s: now_s, used: 0 };
        }
        let quota =
            Quota { limit, remaining: limit.saturating_sub(window.used), reset: window.start_s + bucket.window_secs() };
        (quota, window)
    }
}

/// The fake's shared state: cheap to clone, one per fake server.
#[derive(Clone)]
pub struct FakeState {
    inner: Arc<Mutex<Inner>>,
}

impl Default for FakeState {
    fn default() -> Self {
        FakeState::new()
    }
}

impl FakeState {
    pub fn new() -> Self {
        FakeState { inner: Arc::new(Mutex::new(Inner::new())) }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking test thread must not take every later request down with it.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    // ---- control: apps -------------------------------------------------------------------

    /// Registers an app, replacing one with the same client id.
    pub fn register_app(&self, app: NewApp) -> FakeApp {
        let app = FakeApp {
            client_id: app.client_id.unwrap_or_else(ids::client_id),
            client_secret: app.client_secret.unwrap_or_else(ids::client_secret),
            name: app.name.unwrap_or_else(|| "Perch test app".into()),
            callback_urls: app.callback_urls,
        };
        self.lock().apps.insert(app.client_id.clone(), app.clone());
        app
    }

    pub fn app(&self, client_id: &str) -> Option<FakeApp> {
        self.lock().apps.get(client_id).cloned()
    }

    pub fn apps(&self) -> Vec<FakeApp> {
        self.lock().apps.values().cloned().collect()
    }

    /// Gives the app a new secret; the old one fails from now on. With `rotation_kills_tokens`
    /// every token and unused code of the app dies too.
    pub fn rotate_secret(&self, client_id: &str) -> Result<String, ControlError> {
        let mut inner = self.lock();
        let secret = ids::client_secret();
        let app = inner.apps.get_mut(client_id).ok_or_else(|| ControlError::UnknownApp(client_id.into()))?;
        app.client_secret = secret.clone();
        if inner.switches.rotation_kills_tokens {
            for grant in inner.grants.iter_mut().filter(|g| g.client_id == client_id) {
                grant.revoked = true;
            }
            for code in inner.codes.values_mut().filter(|c| c.client_id == client_id) {
                code.used = true;
            }
        }
        Ok(secret)
    }

    pub fn set_callback_urls<S: Into<String>>(
        &self,
        client_id: &str,
        callback_urls: impl IntoIterator<Item = S>,
    ) -> Result<FakeApp, ControlError> {
        let mut inner = self.lock();
        let app = inner.apps.get_mut(client_id).ok_or_else(|| ControlError::UnknownApp(client_id.into()))?;
        app.callback_urls = callback_urls.into_iter().map(Into::into).collect();
        Ok(app.clone())
    }

    // ---- control: switches ---------------------------------------------------------------

    pub fn switches(&self) -> Switches {
        self.lock().switches.clone()
    }

    pub fn set_switches(&self, switches: Switches) {
        self.lock().switches = switches;
    }

    /// Changes some switches: `fake.update_switches(|s| s.cancel_adds_access_denied = false)`.
    pub fn update_switches(&self, change: impl FnOnce(&mut Switches)) -> Switches {
        let mut inner = self.lock();
        change(&mut inner.switches);
        inner.switches.clone()
    }

    /// Applies a JSON object of switches over the current ones (what `PUT /_fake/switches` does).
    pub fn patch_switches(&self, patch: serde_json::Value) -> Result<Switches, ControlError> {
        let mut inner = self.lock();
        inner.switches = inner.switches.patched(patch).map_err(ControlError::InvalidSwitches)?;
        Ok(inner.switches.clone())
    }

    // ---- control: users ------------------------------------------------------------------

    /// Adds a user (or updates the one with the same id) to the authorize page's list.
    pub fn add_user(&self, user: FakeUser) {
        self.lock().upsert_user(user);
    }

    pub fn users(&self) -> Vec<FakeUser> {
        self.lock().users.clone()
    }

    /// The user the authorize page preselects from now on (added if new). It stays until changed.
    pub fn set_next_user(&self, user: FakeUser) {
        let mut inner = self.lock();
        inner.next_user_id = user.id.clone();
        inner.upsert_user(user);
    }

    pub fn next_user(&self) -> FakeUser {
        let inner = self.lock();
        inner.user(&inner.next_user_id).cloned().unwrap_or_else(FakeUser::x_developers)
    }

    // ---- control: tokens -----------------------------------------------------------------

    /// Issues tokens as if `user_id` had authorized `client_id` for `scopes`, skipping the browser.
    pub fn issue_tokens(&self, client_id: &str, user_id: &str, scopes: &[&str]) -> Result<TokenPair, ControlError> {
        let mut inner = self.lock();
        if !inner.apps.contains_key(client_id) {
            return Err(ControlError::UnknownApp(client_id.into()));
        }
        if inner.user(user_id).is_none() {
            return Err(ControlError::UnknownUser(user_id.into()));
        }
        Ok(inner.grant(client_id, user_id, scopes.iter().map(|s| s.to_string()).collect()))
    }

    /// Kills an access or refresh token as the revoke endpoint would, whatever app it belongs to.
    pub fn revoke_token(&self, token: &str) -> Result<(), ControlError> {
        self.lock().kill_token(token).map(|_| ()).ok_or(ControlError::UnknownToken)
    }

    /// Kills a whole grant: all its access and refresh tokens.
    pub fn revoke_grant(&self, grant_id: &str) -> Result<(), ControlError> {
        let mut inner = self.lock();
        let index = inner.grant_index(grant_id).ok_or_else(|| ControlError::UnknownGrant(grant_id.into()))?;
        inner.grants[index].revoked = true;
        Ok(())
    }

    /// Makes an access token expire now; a refresh token (which X does not expire for months)
    /// dies as if revoked.
    pub fn expire_token(&self, token: &str) -> Result<(), ControlError> {
        let mut inner = self.lock();
        if let Some(access) = inner.access_tokens.get_mut(token) {
            access.expires_at_ms = now_ms();
            return Ok(());
        }
        if let Some(refresh) = inner.refresh_tokens.get_mut(token) {
            refresh.revoked = true;
            return Ok(());
        }
        Err(ControlError::UnknownToken)
    }

    /// Whether an access token would be accepted by API v2 now.
    pub fn access_token_is_valid(&self, token: &str) -> bool {
        self.caller(token).is_some()
    }

    /// Whether a refresh token would be accepted by the token endpoint now.
    pub fn refresh_token_is_valid(&self, token: &str) -> bool {
        let inner = self.lock();
        inner.refresh_tokens.get(token).is_some_and(|r| !r.used && !r.revoked && !inner.grants[r.grant].revoked)
    }

    // ---- control: observation ------------------------------------------------------------

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().log.clone()
    }

    pub fn clear_requests(&self) {
        self.lock().log.clear();
    }

    pub fn counters(&self) -> Counters {
        self.lock().counters.clone()
    }

    pub fn grants(&self) -> Vec<GrantInfo> {
        self.lock().grants.clone()
    }

    pub fn tweets(&self) -> Vec<FakeTweet> {
        self.lock().tweets.clone()
    }

    /// Forgets codes, grants, tokens, posts, rate-limit windows, the log and the counters, and
    /// puts the switches back to their defaults. Apps and users stay.
    pub fn reset(&self) {
        let mut inner = self.lock();
        let fresh = Inner::new();
        let apps = std::mem::take(&mut inner.apps);
        let users = std::mem::take(&mut inner.users);
        let next_user_id = std::mem::take(&mut inner.next_user_id);
        *inner = Inner { apps, users, next_user_id, ..fresh };
    }

    // ---- the rules the endpoints apply ---------------------------------------------------

    pub(crate) fn begin_request(&self, mut entry: RecordedRequest) -> u64 {
        let mut inner = self.lock();
        entry.seq = inner.next_seq;
        inner.next_seq += 1;
        let seq = entry.seq;
        inner.log.push(entry);
        seq
    }

    pub(crate) fn finish_request(&self, seq: u64, status: Option<u16>) {
        if let Some(entry) = self.lock().log.iter_mut().rev().find(|e| e.seq == seq) {
            entry.status = status;
        }
    }

    pub(crate) fn count(&self, change: impl FnOnce(&mut Counters)) {
        change(&mut self.lock().counters);
    }

    /// Client authentication of the token and revoke endpoints (`client_secret_basic` only).
    pub(crate) fn authenticate_client(&self, basic: BasicAuth) -> Result<String, OAuthError> {
        let BasicAuth::Present { client_id, client_secret } = basic else {
            return Err(OAuthError::UnauthorizedClient);
        };
        let inner = self.lock();
        match inner.apps.get(&client_id) {
            None => Err(match inner.switches.unknown_client {
                UnknownClient::UnauthorizedClient => OAuthError::UnauthorizedClient,
                UnknownClient::InvalidClient => OAuthError::InvalidClient,
            }),
            Some(app) if app.client_secret == client_secret => Ok(client_id),
            Some(_) => Err(OAuthError::UnauthorizedClient),
        }
    }

    /// Records the code the authorize page hands out on "Authorize app".
    pub(crate) fn issue_code(
        &self,
        client_id: &str,
        redirect_uri: &str,
        code_challenge: &str,
        scopes: Vec<String>,
        user_id: &str,
    ) -> String {
        let code = ids::token(TokenKind::Code);
        let mut inner = self.lock();
        let expires_at_ms = now_ms().saturating_add(inner.switches.code_lifetime_ms);
        inner.codes.insert(
            code.clone(),
            CodeRecord {
                client_id: client_id.into(),
                redirect_uri: redirect_uri.into(),
                code_challenge: code_challenge.into(),
                scopes,
                user_id: user_id.into(),
                expires_at_ms,
                used: false,
            },
        );
        inner.counters.codes_issued += 1;
        code
    }

    /// `grant_type=authorization_code` for an authenticated client.
    ///
    /// The code is spent by the first presentation from its own app, whether or not the rest
    /// checks out: a code is never good twice. One presented by another app stays unspent.
    pub(crate) fn exchange_code(
        &self,
        client_id: &str,
        code: &str,
        redirect_uri: &str,
        code_verifier: &str,
    ) -> Result<TokenPair, OAuthError> {
        let mut inner = self.lock();
        let record = inner.codes.get_mut(code).filter(|c| c.client_id == client_id).ok_or(OAuthError::InvalidCode)?;
        if record.used || now_ms() >= record.expires_at_ms {
            return Err(OAuthError::InvalidCode);
        }
        record.used = true;
        if record.redirect_uri != redirect_uri {
            return Err(OAuthError::RedirectMismatch);
        }
        if pkce_challenge(code_verifier) != record.code_challenge {
            return Err(OAuthError::VerifierMismatch);
        }
        let (user_id, scopes) = (record.user_id.clone(), record.scopes.clone());
        inner.counters.code_exchanges += 1;
        Ok(inner.grant(client_id, &user_id, scopes))
    }

    /// `grant_type=refresh_token`: spends the refresh token and issues a new pair with the scopes
    /// first granted. The old access token lives on until it expires.
    pub(crate) fn refresh(&self, client_id: &str, refresh_token: &str) -> Result<TokenPair, OAuthError> {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let record = inner.refresh_tokens.get_mut(refresh_token).ok_or(OAuthError::InvalidToken)?;
        let grant = &mut inner.grants[record.grant];
        if grant.client_id != client_id || record.used || record.revoked || grant.revoked {
            return Err(OAuthError::InvalidToken);
        }
        record.used = true;
        grant.refreshes += 1;
        let (index, grant_id) = (record.grant, grant.id.clone());
        inner.counters.refreshes += 1;
        *inner.counters.refreshes_by_grant.entry(grant_id).or_default() += 1;
        Ok(inner.issue_for_grant(index))
    }

    /// The revoke endpoint. Like RFC 7009 2.2, an unknown token (or another app's) is no error:
    /// the answer is the same, and nothing is revoked.
    pub(crate) fn revoke(&self, client_id: &str, token: &str) {
        let mut inner = self.lock();
        let grant = inner
            .access_tokens
            .get(token)
            .map(|a| a.grant)
            .or_else(|| inner.refresh_tokens.get(token).map(|r| r.grant));
        if grant.is_some_and(|g| inner.grants[g].client_id == client_id) {
            inner.kill_token(token);
        }
        inner.counters.revocations += 1;
    }

    /// The caller behind a Bearer token, if the token is alive.
    pub(crate) fn caller(&self, access_token: &str) -> Option<Caller> {
        let inner = self.lock();
        let record = inner.access_tokens.get(access_token)?;
        let grant = &inner.grants[record.grant];
        if record.revoked || grant.revoked || now_ms() >= record.expires_at_ms {
            return None;
        }
        let user = inner.user(&grant.user_id).cloned().unwrap_or_else(|| FakeUser::new(grant.user_id.clone(), "", ""));
        Some(Caller { client_id: grant.client_id.clone(), user, scopes: grant.scopes.clone() })
    }

    /// The quotas of `buckets` for `keys`, without spending any.
    pub(crate) fn quotas(&self, buckets: &[(Bucket, &str)]) -> Vec<Quota> {
        let mut inner = self.lock();
        let now_s = now_ms() / 1000;
        buckets.iter().map(|(bucket, key)| inner.window(*bucket, key, now_s).0).collect()
    }

    /// Spends one request from every bucket, or none when any is exhausted. Returns the quotas
    /// after spending and whether the request may go ahead.
    pub(crate) fn spend(&self, buckets: &[(Bucket, &str)]) -> (Vec<Quota>, bool) {
        let mut inner = self.lock();
        let now_s = now_ms() / 1000;
        let before: Vec<Quota> = buckets.iter().map(|(bucket, key)| inner.window(*bucket, key, now_s).0).collect();
        if before.iter().any(|q| q.remaining == 0) {
            return (before, false);
        }
        let after = buckets
            .iter()
            .map(|(bucket, key)| {
                let (quota, window) = inner.window(*bucket, key, now_s);
                window.used += 1;
                Quota { remaining: quota.remaining - 1, ..quota }
            })
            .collect();
        (after, true)
    }

    /// Creates a post, refusing the same text twice from one user.
    pub(crate) fn post_tweet(
        &self,
        caller: &Caller,
        text: &str,
        in_reply_to_tweet_id: Option<String>,
        quote_tweet_id: Option<String>,
        switches: &Switches,
    ) -> Result<FakeTweet, Problem> {
        let mut inner = self.lock();
        if switches.enforce_reply_restriction {
            // Another author's post that does not mention this user: not a conversation it was
            // brought into. Posts the fake does not know (made elsewhere) are let through.
            let summoned = |id: &Option<String>| {
                id.as_ref()
                    .and_then(|id| inner.tweets.iter().find(|t| &t.id == id))
                    .is_none_or(|t| t.author_id == caller.user.id || mentions(&t.text, &caller.user.username))
            };
            if !summoned(&in_reply_to_tweet_id) {
                return Err(Problem::ReplyNotAllowed(switches.reply_refusal));
            }
            if !summoned(&quote_tweet_id) {
                return Err(Problem::QuoteNotAllowed);
            }
        }
        if !inner.posted.insert((caller.user.id.clone(), text.to_owned())) {
            return Err(Problem::DuplicateContent);
        }
        let tweet = FakeTweet {
            id: ids::tweet_id(),
            text: text.into(),
            author_id: caller.user.id.clone(),
            client_id: caller.client_id.clone(),
            in_reply_to_tweet_id,
            quote_tweet_id,
            created_at_ms: now_ms(),
        };
        inner.tweets.push(tweet.clone());
        inner.counters.tweets_created += 1;
        Ok(tweet)
    }
}

/// Whether `text` mentions `@username` (X's usernames are case-insensitive; a mention ends where
/// a username character cannot follow).
fn mentions(text: &str, username: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let wanted = format!("@{}", username.to_ascii_lowercase());
    lower
        .match_indices(&wanted)
        .any(|(at, m)| lower[at + m.len()..].chars().next().is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_')))
}
