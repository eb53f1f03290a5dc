//! Who asks for a use case. Every operation in `app::server` that changes or reveals an
//! organization's data takes an [`Actor`], checks what it may do ([`Actor::permit`]) and names it
//! in the audit trail ([`Actor::name`]); the doors (server functions, the dashboard's JSON API, the
//! public API, the CLI) only say who is asking.

use crate::domain::{Action, OrgId, Viewer};
use crate::error::{AppError, ErrorCode};
use crate::server::store::api_keys::KeyHolder;

pub use crate::domain::OPERATOR;

#[derive(Clone, Debug)]
pub enum Actor {
    /// Someone signed in to the dashboard, whose role decides ([`crate::domain::Role::may`]).
    User(Viewer),
    /// A program holding one of the organization's API keys (the public API).
    ApiKey(KeyHolder),
    /// Whoever runs `perch` on the server, acting on one organization: the operator of the
    /// instance, who holds the database and the master key anyway.
    Operator { org_id: OrgId },
}

impl Actor {
    pub fn org_id(&self) -> &OrgId {
        match self {
            Actor::User(v) => &v.org_id,
            Actor::ApiKey(k) => &k.org_id,
            Actor::Operator { org_id } => org_id,
        }
    }

    /// How the audit trail names this actor: a user's email, `API key “CMS”`, `perch CLI`.
    pub fn name(&self) -> String {
        match self {
            Actor::User(v) => v.email.clone(),
            Actor::ApiKey(k) => k.actor(),
            Actor::Operator { .. } => OPERATOR.to_owned(),
        }
    }

    /// Refuses with 403 when this actor may not do `action`: a user by their role, in the one
    /// wording; an API key for anything the public API does not offer (credentials, keys,
    /// members: the dashboard-only wall refuses those routes first, this holds behind every door).
    pub fn permit(&self, action: Action) -> Result<(), AppError> {
        match self {
            Actor::User(v) => crate::server::services::auth::permit(v, action),
            Actor::ApiKey(k) => {
                let offered = matches!(
                    action,
                    Action::View | Action::ConnectAccount | Action::DisconnectAccount | Action::ManageBrands
                );
                if offered {
                    return Ok(());
                }
                tracing::warn!(org_id = %k.org_id, key_id = %k.key_id, ?action, "API key refused an action");
                Err(dashboard_only())
            }
            Actor::Operator { .. } => Ok(()),
        }
    }
}

/// The refusal of an API key asking for what only people and the operator do.
pub fn dashboard_only() -> AppError {
    AppError::new(
        ErrorCode::DashboardOnly,
        "API keys cannot do this: only a person signed in to the dashboard, or `perch` on the server, can.",
    )
}
