use std::sync::Arc;

use super::vault::KeyRing;
use super::x_client::XClient;
use super::{AppConfig, Db, passwords::Passwords};

/// Everything a request needs, built once in `main` (and by the tests through the same function).
#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<AppConfig>,
    pub passwords: Passwords,
    /// The master keys that seal every secret at rest.
    pub vault: Arc<KeyRing>,
    /// How Perch talks to X.
    pub x: XClient,
}
