//! Password hashing: argon2id, memory 19456 KiB, 2 iterations, parallelism 1 (OWASP's first
//! recommended setting; docs/security.md C.13), run on the blocking pool under a concurrency bound so
//! a flood of sign-ins cannot starve the async runtime (C.17). The queue in front of that bound
//! is bounded in time: a request that cannot get a slot within [`QUEUE_WAIT`] is turned away
//! (503 `busy` with `Retry-After`), so a flood degrades into quick refusals rather than minutes
//! of waiting for everyone.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::domain::Password;
use crate::server::infra::error::ServerError;

pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;
/// How long a sign-in or sign-up waits for a free hashing slot before it is turned away.
pub const QUEUE_WAIT: Duration = Duration::from_secs(3);

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes and verifies passwords off the async runtime.
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    /// A hash of a random password: verified against when the email is unknown, so that answer
    /// costs the same time as a wrong password (C.15).
    dummy: Arc<String>,
    /// Hashes computed (each verification is one), for the tests and benchmarks that count how
    /// many guesses reached the hash.
    computed: Arc<AtomicU64>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords").field("permits", &self.permits.available_permits()).finish()
    }
}

impl Passwords {
    /// `concurrency` hashes run at once at most; each takes ~19 MiB and one core for a moment.
    pub fn new(concurrency: usize) -> Self {
        let random: [u8; 24] = rand::random();
        let dummy = hash_blocking(&base64_of(&random)).expect("hashing a random password");
        Self { permits: Arc::new(Semaphore::new(concurrency.max(1))), dummy: Arc::new(dummy), computed: Arc::default() }
    }

    /// How many hashes were computed so far.
    /// Takes every hashing slot until the returned permit drops: what a flood that fills the queue
    /// does, made deterministic for the tests of the queue's bound (the flood itself is measured
    /// by `scripts/bench-login-flood.py`).
    pub async fn occupy_all(&self) -> tokio::sync::OwnedSemaphorePermit {
        let all = u32::try_from(self.permits.available_permits()).unwrap_or(u32::MAX);
        Arc::clone(&self.permits).acquire_many_owned(all).await.expect("the semaphore is never closed")
    }

    pub fn computed(&self) -> u64 {
        self.computed.load(Ordering::Relaxed)
    }

    /// A hashing slot, or [`ServerError::Busy`] after [`QUEUE_WAIT`].
    async fn slot(&self) -> Result<SemaphorePermit<'_>, ServerError> {
        match tokio::time::timeout(QUEUE_WAIT, self.permits.acquire()).await {
            Ok(permit) => {
                self.computed.fetch_add(1, Ordering::Relaxed);
                permit.map_err(|e| ServerError::Hashing(e.to_string()))
            }
            Err(_) => Err(ServerError::Busy),
        }
    }

    pub async fn hash(&self, password: Password) -> Result<String, ServerError> {
        let _permit = self.slot().await?;
        tokio::task::spawn_blocking(move || hash_blocking(password.expose()))
            .await
            .map_err(|e| ServerError::Hashing(e.to_string()))?
    }

    /// Verifies `password` against `stored`, or against the dummy hash when there is no user, so
    /// both paths take the same time. Returns true only for a real match.
    pub async fn verify(&self, password: Password, stored: Option<String>) -> Result<bool, ServerError> {
        let _permit = self.slot().await?;
        let real = stored.is_some();
        let phc = stored.unwrap_or_else(|| self.dummy.as_ref().clone());
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&phc)
                .map(|parsed| argon2().verify_password(password.expose().as_bytes(), &parsed).is_ok())
                .unwrap_or(false)
        })
        .await
        .map_err(|e| ServerError::Hashing(e.to_string()))?;
        Ok(real && ok)
    }
}

fn hash_blocking(password: &str) -> Result<String, ServerError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServerError::Hashing(e.to_string()))
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stored_hash_is_argon2id_with_the_promised_cost() {
        // docs/security.md C.13: memory is in KiB; 19 would be a bug.
        let p = Passwords::new(1);
        let phc = p.hash(Password::parse("correct horse battery staple".into()).unwrap()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    }

    #[tokio::test]
    async fn verifies_right_and_wrong_passwords_and_never_the_dummy() {
        let p = Passwords::new(2);
        let phc = p.hash(Password::parse("hunter2hunter2".into()).unwrap()).await.unwrap();
        assert!(p.verify(Password::for_login("hunter2hunter2".into()).unwrap(), Some(phc.clone())).await.unwrap());
        assert!(!p.verify(Password::for_login("hunter3hunter3".into()).unwrap(), Some(phc)).await.unwrap());
        // Unknown user: false even if someone guessed the dummy's password.
        assert!(!p.verify(Password::for_login("anything".into()).unwrap(), None).await.unwrap());
    }
}
