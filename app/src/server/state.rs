use std::sync::Arc;

use super::{AppConfig, Db, passwords::Passwords};

/// Everything a request needs, built once in `main` (and by the tests through the same function).
#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<AppConfig>,
    pub passwords: Passwords,
}
