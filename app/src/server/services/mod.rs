//! The use cases, each written once behind every door (server functions, the dashboard's JSON
//! API, the public API, the CLI): each takes an [`actor::Actor`], authorizes it, and works through
//! the stores and the infrastructure.

pub mod account;
pub mod account_actions;
pub mod actor;
pub mod api_keys;
pub mod auth;
pub mod brands;
pub mod connect;
pub mod members;
pub mod posts;
pub mod sign_in;
pub mod twitter;
