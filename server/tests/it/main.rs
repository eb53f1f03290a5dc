//! Perch's integration tests: one test binary (the server is linked once instead of once per
//! file), one module per area. Each test starts the real router on a loopback port over a fresh
//! database; `on_both_databases!` runs a test on SQLite and on PostgreSQL (`area::sqlite::name`,
//! `area::postgres::name`). Run one area with `cargo test -p server --test it -- area::`.

#[macro_use]
mod common;

mod auth;
mod brands;
mod cli;
mod error_shapes;
mod hostile_input;
mod key_custody;
mod public_api;
mod races;
mod refresh_races;
mod roles_and_limits;
mod security;
mod sessions;
mod sign_in;
mod twitter_accounts;
mod twitter_credentials;
