//! The Twitter (X) integration as the dashboard and the JSON API show it: the setup facts a user
//! copies into X's portal, and views of saved credentials that never carry a secret.

use serde::{Deserialize, Serialize};

/// Where X sends the browser back after authorization, appended to `PERCH_PUBLIC_URL`.
pub const CALLBACK_PATH: &str = "/oauth/callback/twitter";

/// The scopes Perch asks for, exactly the product documentation's set, in its order.
pub const SCOPES: [&str; 8] = [
    "tweet.read",
    "tweet.write",
    "tweet.moderate.write",
    "users.read",
    "dm.read",
    "dm.write",
    "like.write",
    "offline.access",
];

/// The callback URL to register in X's portal: `<public url>/oauth/callback/twitter`, no
/// trailing slash (X compares it exactly).
pub fn callback_url(public_url: &str) -> String {
    format!("{}{CALLBACK_PATH}", public_url.trim_end_matches('/'))
}

/// What "Test credentials" found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestResult {
    /// X's token endpoint accepted the pair.
    Valid,
    /// X refused the pair (`unauthorized_client` / `invalid_client`).
    InvalidClient,
    /// X could not be asked, or answered something that is neither yes nor no.
    Unreachable,
}

impl TestResult {
    pub fn as_str(self) -> &'static str {
        match self {
            TestResult::Valid => "valid",
            TestResult::InvalidClient => "invalid_client",
            TestResult::Unreachable => "unreachable",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "valid" => Some(TestResult::Valid),
            "invalid_client" => Some(TestResult::InvalidClient),
            "unreachable" => Some(TestResult::Unreachable),
            _ => None,
        }
    }

    /// A short label for a badge.
    pub fn label(self) -> &'static str {
        match self {
            TestResult::Valid => "Valid",
            TestResult::InvalidClient => "Rejected by X (invalid_client)",
            TestResult::Unreachable => "X not reachable",
        }
    }

    /// What the result means and what to do, in the product documentation's words where it has
    /// them.
    pub fn explanation(self) -> &'static str {
        match self {
            TestResult::Valid => "X accepted this Client ID and Client Secret.",
            TestResult::InvalidClient => {
                "X answered invalid_client: the Client ID or Client Secret is incorrect, or the secret was rotated in X's developer portal without updating Perch. Copy the current pair from developer.x.com (Keys and tokens → OAuth 2.0 Client ID and Client Secret), and check that OAuth 2.0 is turned on in the app's User authentication settings."
            }
            TestResult::Unreachable => {
                "Perch could not get an answer from X, so it cannot say whether these credentials are right; this is not the same as invalid. Try again in a minute; if it persists, check that this server can reach api.x.com."
            }
        }
    }
}

/// A test's outcome, as "Test credentials" and `POST .../credentials/test` report it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestOutcome {
    pub valid: bool,
    pub reason: TestResult,
    pub message: String,
    /// What X answered, when it was neither yes nor no.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub tested_at: i64,
}

impl TestOutcome {
    pub fn new(reason: TestResult, detail: Option<String>, tested_at: i64) -> Self {
        Self { valid: reason == TestResult::Valid, reason, message: reason.explanation().to_owned(), detail, tested_at }
    }
}

/// The last test of saved credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastTest {
    pub result: TestResult,
    pub at: i64,
}

/// Saved credentials, as anyone may see them: the Client ID's first six characters and facts.
/// There is deliberately no field from which the secret, or any part or length of it, could be
/// learned (docs/security.md B.8).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialView {
    pub id: String,
    /// `None` for the organization default.
    pub brand_id: Option<String>,
    pub client_id_preview: String,
    /// Always true for saved credentials; the secret itself is never returned.
    pub has_secret: bool,
    /// 1 when saved, one more each time the secret of the same Client ID is replaced.
    pub generation: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// The email of who saved or last replaced them.
    pub updated_by: String,
    pub last_test: Option<LastTest>,
    /// The id of the master key these were sealed with, when this server does not have it: they
    /// cannot be used until an operator gives it back (issue 11). Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_with_missing_key: Option<u32>,
    /// When X answered a call through this app with 402: its developer account's pay-per-use
    /// credits are spent, which stops every account connected through it. Absent once a call
    /// through the app succeeds again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits_depleted_at: Option<i64>,
}

impl CredentialView {
    /// `M1M5R3…`
    pub fn preview_label(&self) -> String {
        format!("{}…", self.client_id_preview)
    }
}

/// What saving did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SaveChange {
    /// There were no credentials here before.
    Created,
    /// Same Client ID, new secret: a rotation (the generation went up).
    SecretRotated,
    /// Another Client ID: a different X app replaced the previous one.
    AppReplaced,
    /// The same pair as saved already.
    Unchanged,
}

impl SaveChange {
    pub fn as_str(self) -> &'static str {
        match self {
            SaveChange::Created => "created",
            SaveChange::SecretRotated => "secret_rotated",
            SaveChange::AppReplaced => "app_replaced",
            SaveChange::Unchanged => "unchanged",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [SaveChange::Created, SaveChange::SecretRotated, SaveChange::AppReplaced, SaveChange::Unchanged]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveOutcome {
    pub change: SaveChange,
    pub credential: CredentialView,
    /// After a rotation or a new app: the connected accounts whose tokens no longer match the
    /// saved credentials, which will be marked as needing reconnection on their next API call.
    #[serde(default)]
    pub accounts_to_reconnect: Vec<super::AccountToReconnect>,
}

/// One brand and the credentials its accounts will connect with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrandCredentials {
    pub brand_id: String,
    pub brand_name: String,
    /// The brand's own override, if it has one; otherwise the default applies.
    pub own: Option<CredentialView>,
}

/// One line of the audit trail. Never holds a secret: only previews, names and results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: i64,
    pub actor: String,
    pub action: String,
    /// "Organization default" or "Brand “Acme”".
    pub target: String,
    pub detail: String,
}

/// A test run in this browser session that has not been saved yet: lets the page show its result
/// (and keep the Client ID typed) after a form post without JavaScript.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingTest {
    pub brand_id: Option<String>,
    pub client_id: String,
    pub outcome: TestOutcome,
}

/// Everything the Settings → Twitter integration page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwitterSettings {
    pub callback_url: String,
    pub scopes: Vec<String>,
    pub default: Option<CredentialView>,
    pub brands: Vec<BrandCredentials>,
    pub audit: Vec<AuditEntry>,
    pub pending_tests: Vec<PendingTest>,
    pub can_manage: bool,
    /// Connected accounts that need reconnecting, or will on their next API call, because the
    /// credentials they connected through changed.
    pub to_reconnect: Vec<super::AccountToReconnect>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_callback_url_has_no_trailing_slash() {
        assert_eq!(callback_url("https://perch.example.com"), "https://perch.example.com/oauth/callback/twitter");
        assert_eq!(callback_url("https://perch.example.com/"), "https://perch.example.com/oauth/callback/twitter");
    }

    #[test]
    fn results_and_changes_round_trip_their_names() {
        for r in [TestResult::Valid, TestResult::InvalidClient, TestResult::Unreachable] {
            assert_eq!(TestResult::parse(r.as_str()), Some(r));
        }
        for c in [SaveChange::Created, SaveChange::SecretRotated, SaveChange::AppReplaced, SaveChange::Unchanged] {
            assert_eq!(SaveChange::parse(c.as_str()), Some(c));
        }
        assert!(TestOutcome::new(TestResult::InvalidClient, None, 0).message.contains("rotated"));
        assert!(!TestOutcome::new(TestResult::Unreachable, None, 0).valid);
    }
}
