//! Domain types: input becomes one of these at the edge, or it is refused with a message that
//! says what to fix. Everything past the edge can rely on the invariants documented on each type.

mod accounts;
mod api_keys;
mod email;
mod ids;
mod names;
mod password;
mod posts;
mod query;
mod role;
mod twitter;
mod views;
mod x_app;
mod x_refusals;

pub use accounts::*;
pub use api_keys::*;
pub use email::Email;
pub use ids::{AccountId, ApiKeyId, BrandId, OrgId, Target, UserId};
pub use names::{BrandName, OrgName};
pub use password::Password;
pub use posts::*;
pub use query::encode_query_value;
pub use role::{Action, OPERATOR, Role};
pub use twitter::*;
pub use views::*;
pub use x_app::{ClientId, ClientSecret};
pub use x_refusals::*;

/// Characters a user cannot see or mean in a name: control characters and the like.
pub(crate) fn has_invisible_chars(s: &str) -> bool {
    s.chars().any(|c| c.is_control() || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{FEFF}'))
}

/// Whether `s` holds U+FFFD, what form decoding puts where a field's bytes were not UTF-8
/// (`name=%FF`): text that arrived damaged, never what someone meant to type.
pub(crate) fn has_unreadable_chars(s: &str) -> bool {
    s.contains('\u{FFFD}')
}
