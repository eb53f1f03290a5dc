//! Connected X accounts as the dashboard shows them, and every outcome of connecting one, each
//! with the message that tells the user what to do (the product documents' troubleshooting).

use serde::{Deserialize, Serialize};

use super::SCOPES;

/// The page of the account cards, and where the OAuth callback sends the browser back to.
pub const ACCOUNTS_PAGE: &str = "/accounts";

/// Where the Connect and Reconnect buttons post (a plain form: the answer is a redirect to X).
pub const CONNECT_PATH: &str = "/oauth/connect/twitter";

/// Why an account needs reconnection. Stored by name in `twitter_accounts.status_reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReconnectReason {
    /// The Client Secret of the app that issued the tokens was replaced in Perch (a rotation).
    SecretRotated,
    /// The app that issued the tokens was replaced by another Client ID.
    AppReplaced,
    /// The credentials that issued the tokens were removed from Perch.
    CredentialsRemoved,
    /// X refused the app's credentials when refreshing (`unauthorized_client`).
    AppRefused,
    /// X refused the refresh token (revoked at X, or already used).
    RefreshRefused,
    /// The access token expired and X issued no refresh token (`offline.access` not granted).
    NoRefreshToken,
    /// X refused the access token although it had not expired, and a refresh did not help.
    TokenRejected,
    /// Perch stopped between sending the refresh token to X and storing X's answer: the token
    /// may be spent, and sending it again could not work.
    RefreshInterrupted,
}

impl ReconnectReason {
    pub const ALL: [ReconnectReason; 8] = [
        ReconnectReason::SecretRotated,
        ReconnectReason::AppReplaced,
        ReconnectReason::CredentialsRemoved,
        ReconnectReason::AppRefused,
        ReconnectReason::RefreshRefused,
        ReconnectReason::NoRefreshToken,
        ReconnectReason::TokenRejected,
        ReconnectReason::RefreshInterrupted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReconnectReason::SecretRotated => "secret_rotated",
            ReconnectReason::AppReplaced => "app_replaced",
            ReconnectReason::CredentialsRemoved => "credentials_removed",
            ReconnectReason::AppRefused => "app_refused",
            ReconnectReason::RefreshRefused => "refresh_refused",
            ReconnectReason::NoRefreshToken => "no_refresh_token",
            ReconnectReason::TokenRejected => "token_rejected",
            ReconnectReason::RefreshInterrupted => "refresh_interrupted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// What happened and what to do.
    pub fn message(self) -> &'static str {
        match self {
            ReconnectReason::SecretRotated => {
                "The Client Secret of the X app it connected through was replaced after it connected; X invalidates tokens issued under the old secret. Reconnect it."
            }
            ReconnectReason::AppReplaced => {
                "The X app it connected through was replaced by another Client ID in Settings → Twitter integration; its tokens belong to the old app. Reconnect it through the new one."
            }
            ReconnectReason::CredentialsRemoved => {
                "The X app credentials it connected through were removed from Perch, so its tokens can no longer be refreshed. Save credentials in Settings → Twitter integration, then reconnect it."
            }
            ReconnectReason::AppRefused => {
                "X refused the app's Client ID and Secret (invalid_client) when renewing its access: the secret was probably rotated in X's developer portal. Paste the current secret in Settings → Twitter integration, then reconnect."
            }
            ReconnectReason::RefreshRefused => {
                "X no longer accepts this account's refresh token: access was revoked on X, or the token was already used. Reconnect it."
            }
            ReconnectReason::NoRefreshToken => {
                "Its access expired and X issued no refresh token, because the offline.access scope was not granted. Enable offline.access in the X app, then reconnect."
            }
            ReconnectReason::TokenRejected => {
                "X refused its access token although it had not expired: access was probably revoked on X. Reconnect it."
            }
            ReconnectReason::RefreshInterrupted => {
                "Perch stopped while X was renewing this account's access, so the new tokens X issued never arrived, and the old refresh token may no longer be used. Reconnect it."
            }
        }
    }
}

/// An account found to need reconnection, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconnectMark {
    pub reason: ReconnectReason,
    pub at: i64,
}

/// A connected X account, as its card shows it. Never holds a token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub id: String,
    /// `None` for the organization default's card.
    pub brand_id: Option<String>,
    pub x_user_id: String,
    pub username: String,
    pub name: String,
    /// Only ever an `https://pbs.twimg.com/` URL (X's image host, allowed by the page's CSP).
    pub avatar_url: Option<String>,
    /// The first six characters of the Client ID of the app that issued its tokens.
    pub client_id_preview: String,
    pub connected_at: i64,
    pub updated_at: i64,
    pub scopes: Vec<String>,
    /// Requested scopes that X did not grant.
    pub missing_scopes: Vec<String>,
    /// Set once an API call found that it needs reconnection.
    pub needs_reconnection: Option<ReconnectMark>,
    /// Not marked yet, but certain to be on its next API call: the credentials that issued its
    /// tokens have changed since it connected.
    pub will_need_reconnection: Option<ReconnectReason>,
    /// When X answered a call through the account's app with 402: the developer account that
    /// owns the app has no pay-per-use credits left, so every account of the app is stopped
    /// (reconnecting changes nothing). Cleared by the next call through the app that succeeds.
    #[serde(default)]
    pub app_credits_depleted_at: Option<i64>,
}

impl AccountView {
    pub fn handle(&self) -> String {
        format!("@{}", self.username)
    }
}

/// The X app a card's accounts connect through.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardApp {
    pub client_id_preview: String,
    /// The brand's own override (true) or the organization default (false).
    pub own: bool,
}

/// A Twitter platform card: the organization default, or one brand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformCard {
    pub brand_id: Option<String>,
    /// "Organization default" or the brand's name.
    pub title: String,
    /// `None` when neither the brand nor the organization has credentials: Connect cannot work.
    pub app: Option<CardApp>,
    /// The card's accounts on this page of the accounts page.
    pub accounts: Vec<AccountView>,
    /// How many accounts the card has on every page together.
    pub account_count: u32,
    /// The place within the card of the first account shown (0 unless the card began on an
    /// earlier page).
    pub shown_from: u32,
}

/// Everything the accounts page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountsOverview {
    pub callback_url: String,
    pub scopes: Vec<String>,
    pub cards: Vec<PlatformCard>,
    pub can_manage_credentials: bool,
    /// Whether the viewer's role may disconnect accounts (members may not: the page says so
    /// instead of offering the button).
    pub can_disconnect: bool,
    /// Which page of the accounts this is (from 1), of how many, and how many accounts in all.
    pub page: u32,
    pub pages: u32,
    pub account_total: u32,
}

/// How many accounts a page of the accounts page shows at most (an agency's hundreds of accounts
/// are paged, so the page costs the same whatever their number).
pub const ACCOUNTS_PER_PAGE: u32 = 50;

/// The part of one card a page of the accounts page shows: the card's accounts `from..to` (its
/// own places, counted from 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CardSlice {
    pub card: usize,
    pub from: u32,
    pub to: u32,
}

/// The pages of the accounts page: every card's accounts, card after card, cut into pages of
/// `per_page`. Answers how many pages there are and what `page` (from 1; clamped into range)
/// shows of each card. A card with no account sits where its accounts would begin (on the last
/// page when that is past the end), so every card, and its Connect button, is on some page.
pub fn page_layout(counts: &[u32], per_page: u32, page: u32) -> (u32, Vec<CardSlice>) {
    let total: u32 = counts.iter().sum();
    let pages = total.div_ceil(per_page).max(1);
    let index = page.clamp(1, pages) - 1;
    let (window_start, window_end) = (index * per_page, (index + 1) * per_page);
    let mut slices = Vec::new();
    let mut start = 0;
    for (card, &count) in counts.iter().enumerate() {
        if count == 0 {
            if (start / per_page).min(pages - 1) == index {
                slices.push(CardSlice { card, from: 0, to: 0 });
            }
        } else {
            let (lo, hi) = (start.max(window_start), (start + count).min(window_end));
            if lo < hi {
                slices.push(CardSlice { card, from: lo - start, to: hi - start });
            }
        }
        start += count;
    }
    (pages, slices)
}

/// The page (from 1) of the accounts page that shows the account at `place` within card `card`,
/// given every card's account count in card order.
pub fn page_of(counts: &[u32], per_page: u32, card: usize, place: u32) -> u32 {
    let start: u32 = counts.iter().take(card).sum();
    (start + place) / per_page + 1
}

/// An account that needs (or will need) reconnecting, for the settings page's warning after a
/// save.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountToReconnect {
    pub id: String,
    pub username: String,
    /// "Organization default" or the brand's name.
    pub card: String,
    pub brand_id: Option<String>,
}

/// The requested scopes missing from a granted set, in the requested order.
pub fn missing_scopes(granted: &[String]) -> Vec<String> {
    SCOPES.iter().filter(|s| !granted.iter().any(|g| g == *s)).map(|s| (*s).to_owned()).collect()
}

/// How a connect flow ended: the callback redirects to the accounts page with this in the
/// query (`?connect=<name>`), so the message shows the same with and without JavaScript. Never
/// carries a code or a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectResult {
    Connected,
    Reconnected,
    /// Connected, but X granted fewer scopes than requested.
    MissingScopes,
    /// A reconnect where the user authorized as another X account than the one reconnected.
    OtherAccount,
    Cancelled,
    InvalidClient,
    CodeInvalid,
    RedirectMismatch,
    /// X refused the PKCE verifier: the flow was tampered with or mixed up.
    VerifierMismatch,
    /// X granted access but refused to say who the user is (403 on /2/users/me).
    IdentityRefused,
    Unreachable,
    /// No state, a state this browser did not start, or a malformed one.
    StateInvalid,
    /// A state already used, or unknown.
    StateUsed,
    StateExpired,
    /// Neither the brand nor the organization has X app credentials.
    NoCredentials,
    /// X sent an error Perch does not know.
    Refused,
    /// X granted access but answered users/me with 402: the app's developer account has no
    /// pay-per-use credits left.
    CreditsDepleted,
}

impl ConnectResult {
    pub const ALL: [ConnectResult; 17] = [
        ConnectResult::Connected,
        ConnectResult::Reconnected,
        ConnectResult::MissingScopes,
        ConnectResult::OtherAccount,
        ConnectResult::Cancelled,
        ConnectResult::InvalidClient,
        ConnectResult::CodeInvalid,
        ConnectResult::RedirectMismatch,
        ConnectResult::VerifierMismatch,
        ConnectResult::IdentityRefused,
        ConnectResult::Unreachable,
        ConnectResult::StateInvalid,
        ConnectResult::StateUsed,
        ConnectResult::StateExpired,
        ConnectResult::NoCredentials,
        ConnectResult::Refused,
        ConnectResult::CreditsDepleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConnectResult::Connected => "connected",
            ConnectResult::Reconnected => "reconnected",
            ConnectResult::MissingScopes => "missing_scopes",
            ConnectResult::OtherAccount => "other_account",
            ConnectResult::Cancelled => "cancelled",
            ConnectResult::InvalidClient => "invalid_client",
            ConnectResult::CodeInvalid => "code_invalid",
            ConnectResult::RedirectMismatch => "redirect_mismatch",
            ConnectResult::VerifierMismatch => "verifier_mismatch",
            ConnectResult::IdentityRefused => "identity_refused",
            ConnectResult::Unreachable => "unreachable",
            ConnectResult::StateInvalid => "state_invalid",
            ConnectResult::StateUsed => "state_used",
            ConnectResult::StateExpired => "state_expired",
            ConnectResult::NoCredentials => "no_credentials",
            ConnectResult::Refused => "refused",
            ConnectResult::CreditsDepleted => "credits_depleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn is_success(self) -> bool {
        matches!(
            self,
            ConnectResult::Connected
                | ConnectResult::Reconnected
                | ConnectResult::MissingScopes
                | ConnectResult::OtherAccount
        )
    }

    /// What happened and what to do; `who` is the account's @handle when one connected.
    pub fn message(self, who: Option<&str>) -> String {
        let who = who.unwrap_or("The account");
        match self {
            ConnectResult::Connected => format!("{who} is connected."),
            ConnectResult::Reconnected => format!("{who} is reconnected with fresh tokens through the current X app."),
            ConnectResult::MissingScopes => format!(
                "{who} is connected, but X granted fewer permissions than Perch asked for, so some API calls will fail with 403. In the X developer portal, open the app's User authentication settings, set App permissions to “Read and write and Direct message” and enable every scope listed at the top of this page, then Reconnect."
            ),
            ConnectResult::OtherAccount => format!(
                "You authorized {who} on X, not the account you were reconnecting, so {who} was connected instead. To reconnect the other account, switch to it on x.com first, then press Reconnect again."
            ),
            ConnectResult::Cancelled => "The connection was cancelled on X; nothing was connected. Press Connect to try again.".to_owned(),
            ConnectResult::InvalidClient => "X refused the app's credentials (invalid_client): the Client ID or Client Secret is incorrect, or the secret was rotated in X's developer portal without updating Perch. Copy the current pair from developer.x.com into Settings → Twitter integration, then connect again.".to_owned(),
            ConnectResult::CodeInvalid => "X said the authorization code was invalid or expired: codes are single use and live 30 seconds. Press Connect to try again.".to_owned(),
            ConnectResult::RedirectMismatch => "X refused the callback URL: the callback URL registered in the X app must match Perch's exactly. Copy the callback URL shown on this card into the app's User authentication settings exactly — no trailing slash, no environment suffix — then connect again.".to_owned(),
            ConnectResult::VerifierMismatch => "X refused the connection's proof key (PKCE), so nothing was connected. Press Connect to start a fresh connection.".to_owned(),
            ConnectResult::IdentityRefused => "X granted access but refused to tell Perch which account it is (403 on users/me): the users.read and tweet.read scopes are missing. Enable every scope listed at the top of this page in the X app's User authentication settings, then connect again.".to_owned(),
            ConnectResult::Unreachable => "Perch could not get an answer from X, so nothing was connected. Try again in a minute; if it persists, check that this server can reach api.x.com.".to_owned(),
            ConnectResult::StateInvalid => "This sign-in link from X was not started in this browser session, or it was altered, so Perch refused it and did not contact X. Press Connect here to start a new connection.".to_owned(),
            ConnectResult::StateUsed => "This sign-in link from X was already used (or is unknown), so Perch refused it and did not contact X. If the account is not listed, press Connect again.".to_owned(),
            ConnectResult::StateExpired => "The connection took longer than 10 minutes, so Perch refused it and did not contact X. Press Connect to start again.".to_owned(),
            ConnectResult::NoCredentials => "No X app is set up for this card: save a Client ID and Client Secret in Settings → Twitter integration first.".to_owned(),
            ConnectResult::Refused => "X refused the connection with an error Perch does not recognise. Press Connect to try again; if it keeps happening, test the credentials in Settings → Twitter integration.".to_owned(),
            ConnectResult::CreditsDepleted => "X granted access but would not say which account it is, because the developer account that owns this X app has no pay-per-use credits left (402), so nothing was connected. Buy credits in X's developer console (console.x.com), then connect again.".to_owned(),
        }
    }
}

impl ConnectResult {
    /// What the person who opened a connect link sees: they are not a Perch user, so the page
    /// says what happened to them and whom to turn to; [`ConnectResult::message`] (for the
    /// people who run Perch) follows it on the page when the fix is theirs.
    pub fn link_message(self, who: Option<&str>) -> String {
        let who = who.unwrap_or("Your X account");
        match self {
            ConnectResult::Connected | ConnectResult::Reconnected => format!("{who} is connected. You can close this window."),
            ConnectResult::MissingScopes => format!(
                "{who} is connected, but X granted fewer permissions than needed, so some posts may fail. Tell whoever sent you this link: their X app's settings need fixing, then they can send you a new link."
            ),
            ConnectResult::OtherAccount => format!("{who} is connected. You can close this window."),
            ConnectResult::Cancelled => {
                "You cancelled on X, so nothing was connected. Links work once: to connect after all, ask whoever sent it for a new one.".to_owned()
            }
            ConnectResult::StateExpired => {
                "This link has expired (links work for 10 minutes), so nothing was connected. Ask whoever sent it for a new one.".to_owned()
            }
            ConnectResult::StateUsed | ConnectResult::StateInvalid => {
                "This link was already used, or is no longer valid, so nothing was connected. Ask whoever sent it for a new one.".to_owned()
            }
            ConnectResult::CodeInvalid | ConnectResult::VerifierMismatch | ConnectResult::Unreachable => {
                "X and Perch could not complete the connection, so nothing was connected. Ask whoever sent this link for a new one and try again in a minute.".to_owned()
            }
            ConnectResult::InvalidClient
            | ConnectResult::RedirectMismatch
            | ConnectResult::IdentityRefused
            | ConnectResult::NoCredentials
            | ConnectResult::Refused
            | ConnectResult::CreditsDepleted => {
                "X refused the connection because of how the app behind this link is set up, so nothing was connected. Tell whoever sent you the link; the details below are for them.".to_owned()
            }
        }
    }

    /// What the people who run Perch have to fix after a connect link failed this way, if
    /// anything (shown under [`ConnectResult::link_message`]).
    pub fn operator_hint(self) -> Option<&'static str> {
        Some(match self {
            ConnectResult::MissingScopes => {
                "X granted fewer scopes than Perch asks for. In the X developer portal, set the app's permissions to “Read and write and Direct message” and enable every scope listed in Perch under Settings → Twitter integration."
            }
            ConnectResult::InvalidClient => {
                "X refused the app's Client ID and Secret (invalid_client). Paste the current pair from developer.x.com in Perch under Settings → Twitter integration."
            }
            ConnectResult::RedirectMismatch => {
                "X refused the callback URL. Register Perch's callback URL, shown under Settings → Twitter integration, exactly as it is in the app's User authentication settings."
            }
            ConnectResult::IdentityRefused => {
                "X refused to say which account connected (403 on users/me): enable the users.read and tweet.read scopes in the app's User authentication settings."
            }
            ConnectResult::NoCredentials => "No X app credentials are saved for this brand or the organization.",
            ConnectResult::Refused => {
                "X answered with an error Perch does not recognise. Test the credentials under Settings → Twitter integration."
            }
            ConnectResult::CreditsDepleted => {
                "X answered 402: the developer account that owns the X app has no pay-per-use credits left, which stops every account of the app. Buy credits in X's developer console (console.x.com)."
            }
            _ => return None,
        })
    }
}

/// What an account's **Check** found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckResult {
    /// X answered for the account; its profile is up to date.
    Working,
    /// The account needs reconnection (its card says why).
    NeedsReconnection,
    /// X answered 403: the token lacks scopes.
    Forbidden,
    /// X's rate limit for this account is used up for now.
    RateLimited,
    /// X could not be asked.
    Unreachable,
    /// X answered 402: the app's developer account has no pay-per-use credits left.
    CreditsDepleted,
    /// X answered that the app's usage cap over its billing period is used up.
    UsageCapExceeded,
    /// X answered that the app (or the user) is not enrolled for this call.
    NotEnrolled,
}

impl CheckResult {
    pub const ALL: [CheckResult; 8] = [
        CheckResult::Working,
        CheckResult::NeedsReconnection,
        CheckResult::Forbidden,
        CheckResult::RateLimited,
        CheckResult::Unreachable,
        CheckResult::CreditsDepleted,
        CheckResult::UsageCapExceeded,
        CheckResult::NotEnrolled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckResult::Working => "working",
            CheckResult::NeedsReconnection => "needs_reconnection",
            CheckResult::Forbidden => "forbidden",
            CheckResult::RateLimited => "rate_limited",
            CheckResult::Unreachable => "unreachable",
            CheckResult::CreditsDepleted => "credits_depleted",
            CheckResult::UsageCapExceeded => "usage_cap_exceeded",
            CheckResult::NotEnrolled => "not_enrolled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn message(self, who: &str) -> String {
        match self {
            CheckResult::Working => format!("{who} is working: X answered with its profile, which is now up to date."),
            CheckResult::NeedsReconnection => format!("{who} needs to be reconnected; the card says why."),
            CheckResult::Forbidden => format!(
                "X refused to read {who}'s profile (403): the token lacks the users.read or tweet.read scope. Enable every scope listed on this page in the X app, then Reconnect."
            ),
            CheckResult::RateLimited => format!(
                "X's rate limit for {who} is used up for now (users/me allows 75 calls per 15 minutes). Try again later."
            ),
            CheckResult::Unreachable => {
                "Perch could not get an answer from X; nothing was changed. Try again in a minute.".to_owned()
            }
            CheckResult::CreditsDepleted => format!(
                "X refused to read {who}'s profile because the developer account that owns this X app has no pay-per-use credits left (402): every account of the app is stopped until credits are bought in X's developer console (console.x.com). Nothing needs reconnecting."
            ),
            CheckResult::UsageCapExceeded => format!(
                "X refused to read {who}'s profile: the X app's usage cap for its billing period is used up (not the 15-minute limit). It resets with the next period; X's developer console shows the app's usage."
            ),
            CheckResult::NotEnrolled => format!(
                "X refused to read {who}'s profile because the X app is not enrolled for this call (client-not-enrolled or user-not-enrolled): in X's developer console, make sure the app belongs to a Project or pay-per-use developer account with API access. Nothing needs reconnecting."
            ),
        }
    }
}

/// What **Disconnect** did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisconnectOutcome {
    pub username: String,
    /// Whether X confirmed the revocation of the tokens.
    pub revoked: bool,
}

impl DisconnectOutcome {
    pub fn message(&self) -> String {
        if self.revoked {
            format!("@{} is disconnected: X revoked its tokens and Perch deleted them.", self.username)
        } else {
            format!(
                "@{} is disconnected in Perch and its tokens are deleted, but X could not be asked to revoke them. To be sure, remove the app under Settings and privacy → Security and account access → Apps and sessions → Connected apps on x.com.",
                self.username
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slices(counts: &[u32], page: u32) -> (u32, Vec<(usize, u32, u32)>) {
        let (pages, s) = page_layout(counts, 3, page);
        (pages, s.into_iter().map(|c| (c.card, c.from, c.to)).collect())
    }

    #[test]
    fn the_accounts_page_cuts_cards_into_pages_and_keeps_every_card_on_one() {
        // Three per page: default with 4 accounts, an empty brand, a brand with 2, another empty.
        let counts = [4, 0, 2, 0];
        assert_eq!(slices(&counts, 1), (2, vec![(0, 0, 3)]));
        assert_eq!(slices(&counts, 2), (2, vec![(0, 3, 4), (1, 0, 0), (2, 0, 2), (3, 0, 0)]));
        assert_eq!(slices(&counts, 9), slices(&counts, 2), "past the end is the last page");
        assert_eq!(slices(&counts, 0), slices(&counts, 1));
        // No accounts at all: one page with every card.
        assert_eq!(slices(&[0, 0], 1), (1, vec![(0, 0, 0), (1, 0, 0)]));
        // An empty card right at a page boundary opens the next page, like the accounts after it.
        assert_eq!(slices(&[3, 0, 1], 1), (2, vec![(0, 0, 3)]));
        assert_eq!(slices(&[3, 0, 1], 2), (2, vec![(1, 0, 0), (2, 0, 1)]));
        // ... and when nothing follows it, it stays on the last page.
        assert_eq!(slices(&[3, 0], 1), (1, vec![(0, 0, 3), (1, 0, 0)]));
        // Every account is on exactly one page.
        let counts = [7, 0, 5, 1, 0, 11];
        let (pages, _) = page_layout(&counts, 3, 1);
        let shown: u32 = (1..=pages).flat_map(|p| page_layout(&counts, 3, p).1).map(|s| s.to - s.from).sum();
        assert_eq!(shown, 24);
        assert_eq!(page_of(&counts, 3, 0, 0), 1);
        assert_eq!(page_of(&counts, 3, 2, 1), 3, "place 8 of all");
        assert_eq!(page_of(&counts, 3, 5, 10), 8, "the last of 24");
    }

    #[test]
    fn names_round_trip() {
        for r in ReconnectReason::ALL {
            assert_eq!(ReconnectReason::parse(r.as_str()), Some(r));
        }
        for r in ConnectResult::ALL {
            assert_eq!(ConnectResult::parse(r.as_str()), Some(r));
        }
        for r in CheckResult::ALL {
            assert_eq!(CheckResult::parse(r.as_str()), Some(r));
        }
        assert_eq!(ConnectResult::parse("nope"), None);
    }

    #[test]
    fn missing_scopes_are_the_requested_ones_not_granted() {
        let granted: Vec<String> =
            ["tweet.read", "users.read", "offline.access", "users.email"].map(String::from).into();
        assert_eq!(
            missing_scopes(&granted),
            ["tweet.write", "tweet.moderate.write", "dm.read", "dm.write", "like.write"]
        );
        let all: Vec<String> = SCOPES.map(String::from).into();
        assert!(missing_scopes(&all).is_empty());
    }

    #[test]
    fn the_redirect_mismatch_message_says_how_to_copy_the_url() {
        let m = ConnectResult::RedirectMismatch.message(None);
        assert!(m.contains("no trailing slash, no environment suffix"));
        assert!(ConnectResult::InvalidClient.message(None).contains("invalid_client"));
    }
}
