//! What the fake hands out and reports: the apps and users it knows, the tokens and grants it
//! issued, the posts it holds, its tallies. The rules that change them live in `state`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Every scope X defines (docs/x-api.md "Scopes"); the authorize page refuses others.
pub const KNOWN_SCOPES: &[&str] = &[
    "tweet.read",
    "tweet.write",
    "tweet.moderate.write",
    "users.email",
    "users.read",
    "follows.read",
    "follows.write",
    "offline.access",
    "space.read",
    "mute.read",
    "mute.write",
    "like.read",
    "like.write",
    "list.read",
    "list.write",
    "block.read",
    "block.write",
    "bookmark.read",
    "bookmark.write",
    "dm.read",
    "dm.write",
    "media.write",
];

/// The user who authorizes unless a test picks another: X's own developer account.
pub const DEFAULT_USER_ID: &str = "2244994945";

/// A developer app registered with the fake.
///
/// The secret is a plain `String` on purpose: these are throwaway credentials that tests read and
/// hand to Perch; nothing real ever passes through the fake.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FakeApp {
    pub client_id: String,
    pub client_secret: String,
    pub name: String,
    /// Compared with `redirect_uri` byte for byte, as X does.
    pub callback_urls: Vec<String>,
}

/// What registering an app takes; ids and the name are generated when absent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewApp {
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub callback_urls: Vec<String>,
}

impl NewApp {
    /// An app with realistic generated credentials and the given callback URLs.
    pub fn new<S: Into<String>>(callback_urls: impl IntoIterator<Item = S>) -> Self {
        NewApp { callback_urls: callback_urls.into_iter().map(Into::into).collect(), ..NewApp::default() }
    }

    /// Uses these credentials instead of generated ones.
    pub fn with_credentials(mut self, client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self.client_secret = Some(client_secret.into());
        self
    }

    /// The name the authorize page shows (default "Perch test app").
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

/// An X account that can authorize apps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FakeUser {
    pub id: String,
    pub name: String,
    pub username: String,
    /// Generated from the id when left empty.
    #[serde(default)]
    pub profile_image_url: String,
}

impl FakeUser {
    pub fn new(id: impl Into<String>, name: impl Into<String>, username: impl Into<String>) -> Self {
        let id = id.into();
        let profile_image_url = format!("https://pbs.twimg.com/profile_images/{id}/avatar_normal.jpg");
        FakeUser { id, name: name.into(), username: username.into(), profile_image_url }
    }

    /// `@XDevelopers`, the user who authorizes by default.
    pub fn x_developers() -> Self {
        FakeUser {
            id: DEFAULT_USER_ID.into(),
            name: "X Developers".into(),
            username: "XDevelopers".into(),
            profile_image_url: "https://pbs.twimg.com/profile_images/1683325380441128960/yRsRRjGO_normal.jpg".into(),
        }
    }

    pub(crate) fn completed(mut self) -> Self {
        if self.profile_image_url.is_empty() {
            self.profile_image_url = FakeUser::new(self.id.clone(), "", "").profile_image_url;
        }
        self
    }
}

/// Tokens issued by the token endpoint or by [`FakeState::issue_tokens`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPair {
    pub access_token: String,
    /// Only when `offline.access` was granted.
    pub refresh_token: Option<String>,
    /// The granted scopes, space separated, as the token response reports them.
    pub scope: String,
    pub expires_in: u64,
    /// The grant (one user's authorization of one app) the tokens belong to.
    pub grant_id: String,
}

/// One user's authorization of one app and what became of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantInfo {
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    /// Successful refreshes of this grant's refresh-token family.
    pub refreshes: u64,
    /// Killed as a whole (secret rotation, refresh-token revocation, control plane).
    pub revoked: bool,
    pub created_at_ms: u64,
}

/// A post created through `POST /2/tweets`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FakeTweet {
    pub id: String,
    pub text: String,
    pub author_id: String,
    /// The app whose token posted it.
    pub client_id: String,
    pub in_reply_to_tweet_id: Option<String>,
    pub quote_tweet_id: Option<String>,
    pub created_at_ms: u64,
}

/// Tallies for tests that check how often Perch did something.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Authorize pages shown for a valid request.
    pub authorize_pages: u64,
    pub codes_issued: u64,
    /// Successful `authorization_code` exchanges.
    pub code_exchanges: u64,
    /// Successful `refresh_token` grants.
    pub refreshes: u64,
    /// Token-endpoint answers other than 200 (faults excepted).
    pub token_errors: u64,
    /// Successful calls of the revoke endpoint.
    pub revocations: u64,
    pub tweets_created: u64,
    /// Successful refreshes per grant id (one grant is one refresh-token family).
    pub refreshes_by_grant: BTreeMap<String, u64>,
}

/// Why a control operation could not be done.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("no app with client id {0}")]
    UnknownApp(String),
    #[error("no user with id {0}")]
    UnknownUser(String),
    #[error("no such token")]
    UnknownToken,
    #[error("no grant with id {0}")]
    UnknownGrant(String),
    #[error("invalid switches: {0}")]
    InvalidSwitches(String),
}
