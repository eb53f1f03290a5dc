//! API keys of the public API (`/v1/...`): what the dashboard shows of them, and their names.

use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Settings → API keys.
pub const API_KEYS_PAGE: &str = "/settings/api-keys";

/// Every key starts with this, so that a key pasted somewhere it should not be is recognisable
/// (secret scanners look for such prefixes) and a key is never mistaken for an X credential.
pub const API_KEY_PREFIX: &str = "perch_";

/// A key's name, to tell keys apart ("Zapier", "CMS production"): 1 to 60 visible characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyName(String);

impl ApiKeyName {
    pub const MAX_LEN: usize = 60;

    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(AppError::invalid(
                "name",
                "Give the key a name that says where it is used, such as “CMS production”.",
            ));
        }
        if name.chars().count() > Self::MAX_LEN {
            return Err(AppError::invalid("name", format!("Keep the name to {} characters or fewer.", Self::MAX_LEN)));
        }
        if super::has_invisible_chars(name) {
            return Err(AppError::invalid("name", "The name contains invisible or control characters. Type it again."));
        }
        if super::has_unreadable_chars(name) {
            return Err(AppError::invalid(
                "name",
                "Part of the name could not be read (it was not sent as UTF-8). Type it again.",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A key as listed: never the key itself, which exists only in the answer that created it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    /// `perch_` and the key's next six characters.
    pub prefix: String,
    /// The email of who created it.
    pub created_by: String,
    pub created_at: i64,
    /// To the minute: Perch records a use at most once a minute.
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A key just created: the only time the key is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedKey {
    pub key: String,
    pub view: ApiKeyView,
}

/// Everything Settings → API keys shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeysOverview {
    /// Newest first; revoked keys stay listed with when they were revoked.
    pub keys: Vec<ApiKeyView>,
    /// A key created by a form post without JavaScript, shown once on the page it returns to.
    pub just_created: Option<CreatedKey>,
    /// The base URL of the public API, for the examples on the page.
    pub api_url: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_visible_and_short() {
        assert_eq!(ApiKeyName::parse("  CMS production ").unwrap().as_str(), "CMS production");
        for bad in ["", "   ", "a\u{0}b", "\u{0}", "x\u{200B}y", "Caf\u{FFFD}", &"k".repeat(61)] {
            assert!(ApiKeyName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(ApiKeyName::parse(&"k".repeat(60)).is_ok());
    }
}
