//! The SQL of each concept, one module per table family, every query scoped by `org_id`. Stores
//! check nothing about who asks: that is the use cases' job ([`super::services`]).

pub mod accounts;
pub mod api_keys;
pub mod audit;
pub mod brands;
pub mod credentials;
pub mod oauth_flows;
pub mod orgs;
pub mod users;
