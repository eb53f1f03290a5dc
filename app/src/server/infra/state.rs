use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::server::infra::vault::KeyRing;
use crate::server::infra::x_client::XClient;
use crate::server::{AppConfig, Db, infra::passwords::Passwords};

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
    /// This instance's clock.
    pub clock: Clock,
}

/// This instance's idea of the time, in Unix seconds. Instances' clocks disagree in real
/// deployments; whatever must agree across instances (the refresh lease) reads the database's
/// clock instead, and the tests skew this one to prove it.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    skew_secs: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> i64 {
        crate::server::now() + self.skew_secs.load(Ordering::Relaxed)
    }

    /// Moves this instance's clock by `secs` from the system's (a test of clock skew).
    pub fn set_skew(&self, secs: i64) {
        self.skew_secs.store(secs, Ordering::Relaxed);
    }
}
