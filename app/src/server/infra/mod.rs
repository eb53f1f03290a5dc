//! What the stores and use cases stand on: the database, the vault, X's HTTP API, sessions,
//! passwords, throttling and limits, ids, settings, and the request context the doors read.

pub mod client_ip;
pub mod config;
pub mod db;
pub mod devices;
pub mod error;
pub mod ids;
pub mod master_keys;
pub mod passwords;
pub mod rate_limit;
pub mod sessions;
pub mod state;
pub mod throttle;
pub mod vault;
pub mod x_client;
