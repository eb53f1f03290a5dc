use serde::{Deserialize, Serialize};

/// A member's role in an organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Created the organization; can do everything.
    Owner,
    /// Manages brands and settings.
    Admin,
    /// Sees the organization and works with its X accounts; changes nothing in its settings.
    Member,
}

/// What someone signed in to the dashboard may ask Perch to do. Which roles may do each is
/// [`Role::may`], the one table (README, "Who may do what"); every door, a server function, the
/// dashboard's JSON API or the Connect form, names its action to `server::auth::require` or
/// `server::auth::permit`, which refuse with [`Role::refusal`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Read anything of the organization: brands, X accounts, the integration's settings
    /// (previews, never a secret), the audit trail, members.
    View,
    /// **Connect** on a card: start a flow through the card's X app.
    ConnectAccount,
    /// **Reconnect**: the same account again, through the current credentials.
    ReconnectAccount,
    /// **Check**: ask X for the profile through the account's token.
    CheckAccount,
    /// **Disconnect**: revoke the account's tokens at X and delete them.
    DisconnectAccount,
    /// Add, rename and delete brands (deleting one disconnects its accounts).
    ManageBrands,
    /// List, create and revoke API keys (a key acts for the whole organization).
    ManageApiKeys,
    /// Test, save, replace and remove X app credentials.
    ManageCredentials,
    /// Rename the organization.
    RenameOrganization,
}

impl Action {
    pub const ALL: [Action; 9] = [
        Action::View,
        Action::ConnectAccount,
        Action::ReconnectAccount,
        Action::CheckAccount,
        Action::DisconnectAccount,
        Action::ManageBrands,
        Action::ManageApiKeys,
        Action::ManageCredentials,
        Action::RenameOrganization,
    ];

    /// The action as the README's table and a refusal name it ("Members cannot …").
    pub fn describe(self) -> &'static str {
        match self {
            Action::View => "see the organization's brands, X accounts, settings and audit trail",
            Action::ConnectAccount => "connect X accounts",
            Action::ReconnectAccount => "reconnect X accounts",
            Action::CheckAccount => "check X accounts",
            Action::DisconnectAccount => "disconnect X accounts",
            Action::ManageBrands => "add, rename or delete brands",
            Action::ManageApiKeys => "see, create or revoke API keys",
            Action::ManageCredentials => "test, save or remove X app credentials",
            Action::RenameOrganization => "rename the organization",
        }
    }
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Owner, Role::Admin, Role::Member];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }

    /// Whether this role may do `action`: the role matrix. Members work with the X accounts
    /// (connect, reconnect, check); everything that removes, spends or exposes something of
    /// the organization's (disconnecting revokes a grant at X, keys act for the organization,
    /// credentials are its X app) is for managers. Owners and admins differ in nothing yet.
    pub fn may(self, action: Action) -> bool {
        match action {
            Action::View | Action::ConnectAccount | Action::ReconnectAccount | Action::CheckAccount => true,
            Action::DisconnectAccount
            | Action::ManageBrands
            | Action::ManageApiKeys
            | Action::ManageCredentials
            | Action::RenameOrganization => self.can_manage(),
        }
    }

    /// Owners and admins: the managers of the organization, who may do everything in
    /// [`Role::may`]. Pages use it to offer management forms.
    pub fn can_manage(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    /// The one wording of a refusal: what this role may not do, and who can.
    pub fn refusal(self, action: Action) -> String {
        let who: Vec<Role> = Role::ALL.into_iter().filter(|r| r.may(action)).collect();
        let who = match who.as_slice() {
            [Role::Owner] => "the organization's owner",
            [Role::Owner, Role::Admin] => "the organization's owner or an admin",
            _ => "other members",
        };
        format!(
            "{}s cannot {}: only {who} can. Ask one of them to do it, or to make you an admin.",
            self.label(),
            action.describe()
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::Admin => "Admin",
            Role::Member => "Member",
        }
    }
}

/// How the audit trail and "updated by" name changes made at the command line: there is no
/// signed-in user, only whoever can run the server's binary.
pub const OPERATOR: &str = "perch CLI";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_its_database_form() {
        for r in [Role::Owner, Role::Admin, Role::Member] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }

    /// The README's table "Who may do what" is the matrix: every action has its row, every row
    /// is an action, and each cell (`yes` or `no`) is what [`Role::may`] answers.
    #[test]
    fn the_role_matrix_is_the_readme_table() {
        let readme = include_str!("../../../README.md");
        let table = readme.split("### Who may do what").nth(1).expect("README has the role matrix");
        let rows: Vec<Vec<&str>> = table
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .map(|l| l.trim_matches('|').split('|').map(str::trim).collect())
            .collect();
        assert_eq!(rows[0][..4], ["action", "owner", "admin", "member"]);
        let rows = &rows[2..];
        assert_eq!(rows.len(), Action::ALL.len(), "one row per action");
        for action in Action::ALL {
            let row =
                rows.iter().find(|r| r[0] == action.describe()).unwrap_or_else(|| panic!("no row for {action:?}"));
            for (i, role) in Role::ALL.into_iter().enumerate() {
                let cell = row[i + 1];
                assert!(cell == "yes" || cell == "no", "{action:?}/{role:?}: `{cell}`");
                assert_eq!(role.may(action), cell == "yes", "{action:?} for {role:?}");
            }
        }
    }

    #[test]
    fn members_may_work_with_accounts_but_not_disconnect_them() {
        for a in [Action::View, Action::ConnectAccount, Action::ReconnectAccount, Action::CheckAccount] {
            assert!(Role::Member.may(a), "{a:?}");
        }
        assert!(!Role::Member.may(Action::DisconnectAccount));
        assert!(Role::Admin.may(Action::DisconnectAccount) && Role::Owner.may(Action::DisconnectAccount));
    }

    #[test]
    fn a_refusal_says_what_the_role_may_not_do_and_who_can() {
        assert_eq!(
            Role::Member.refusal(Action::DisconnectAccount),
            "Members cannot disconnect X accounts: only the organization's owner or an admin can. Ask one of them to do it, or to make you an admin."
        );
    }
}
