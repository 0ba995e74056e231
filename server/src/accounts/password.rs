//! Passwords: what is accepted (at least 10 characters, not a common password, not the
//! handle), and hashing with argon2id on a bounded pool of threads, so that a flood of
//! sign-ins waits its turn instead of taking the cores the chat runs on. Parameters:
//! 19 MiB of memory, 2 passes, 1 lane (SECURITY.md).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};
use tokio::sync::Semaphore;

pub const MIN_CHARS: usize = 10;
/// The longest password taken, in bytes: hashing costs the same whatever the length,
/// but reading one does not need to.
pub const MAX_BYTES: usize = 1024;
/// Argon2id's memory in KiB, passes and lanes.
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const PASSES: u32 = 2;
pub const LANES: u32 = 1;
/// Hashes waiting for a thread beyond which a sign-in is told to come back later.
const MAX_WAITING: usize = 64;

/// Common passwords of 10 characters or more, lower-cased, one a line.
const COMMON: &str = include_str!("common-passwords.txt");

/// Why a new password was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weak {
    Short,
    Long,
    Common,
    IsTheHandle,
}

/// Whether `password` may be someone's (with this handle).
pub fn acceptable(password: &str, handle: &str) -> Result<(), Weak> {
    if password.chars().count() < MIN_CHARS {
        return Err(Weak::Short);
    }
    if password.len() > MAX_BYTES {
        return Err(Weak::Long);
    }
    let lower = password.to_lowercase();
    if lower.contains(handle) && lower.chars().count() <= handle.chars().count() + 4 {
        return Err(Weak::IsTheHandle);
    }
    if COMMON.lines().any(|common| common == lower) {
        return Err(Weak::Common);
    }
    Ok(())
}

/// The pool is full: try again in a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// Hashes and checks passwords, a few at a time.
#[derive(Clone)]
pub struct Hasher {
    argon: Argon2<'static>,
    threads: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    /// A hash of no one's password, checked when there is no account, so that an
    /// unknown handle takes as long to refuse as a wrong password.
    decoy: Arc<str>,
}

impl Hasher {
    /// A pool of `threads` hashing threads (at least one).
    pub fn new(threads: usize) -> Hasher {
        let params = Params::new(MEMORY_KIB, PASSES, LANES, None).expect("the parameters are within argon2's bounds");
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let decoy = hash_with(&argon, "no one's password, for timing").unwrap_or_default();
        Hasher {
            argon,
            threads: Arc::new(Semaphore::new(threads.max(1))),
            waiting: Arc::new(AtomicUsize::new(0)),
            decoy: decoy.into(),
        }
    }

    /// Runs `f` on a hashing thread, once one is free.
    async fn on_pool<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Argon2<'static>) -> T + Send + 'static,
    ) -> Result<T, Busy> {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= MAX_WAITING {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(Busy);
        }
        let permit = self.threads.clone().acquire_owned().await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        let permit = permit.map_err(|_| Busy)?;
        let argon = self.argon.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f(&argon)
        })
        .await
        .map_err(|_| Busy)
    }

    /// The PHC string of `password` with a fresh salt.
    pub async fn hash(&self, password: String) -> Result<String, Busy> {
        self.on_pool(move |argon| hash_with(argon, &password)).await?.ok_or(Busy)
    }

    /// Whether `password` matches `hash`; with no hash, checks the decoy (and says no),
    /// taking the same time.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, Busy> {
        let real = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.decoy.to_string());
        self.on_pool(move |argon| {
            let matches =
                PasswordHash::new(&hash).is_ok_and(|h| argon.verify_password(password.as_bytes(), &h).is_ok());
            real && matches
        })
        .await
    }
}

fn hash_with(argon: &Argon2<'static>, password: &str) -> Option<String> {
    let salt = crate::identity::random_bytes::<16>().ok()?;
    let salt = SaltString::encode_b64(&salt).ok()?;
    argon.hash_password(password.as_bytes(), &salt).ok().map(|h| h.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_passwords_are_refused() {
        assert_eq!(acceptable("short", "ann"), Err(Weak::Short));
        assert_eq!(acceptable("ninechars", "ann"), Err(Weak::Short));
        assert_eq!(acceptable("한글비밀번호열글자요", "ann"), Ok(()), "characters, not bytes");
        assert_eq!(acceptable("Password123", "ann"), Err(Weak::Common), "compared lower-cased");
        assert_eq!(acceptable("qwertyuiop", "ann"), Err(Weak::Common));
        assert_eq!(acceptable("annlee1234", "annlee"), Err(Weak::IsTheHandle));
        assert_eq!(acceptable(&"x".repeat(MAX_BYTES + 1), "ann"), Err(Weak::Long));
        assert_eq!(acceptable("correct horse battery", "ann"), Ok(()));
        assert!(COMMON.lines().all(|l| l.chars().count() >= MIN_CHARS && l == l.to_lowercase()));
    }

    #[tokio::test]
    async fn argon2id_hashes_verify_and_differ_by_salt() {
        let hasher = Hasher::new(1);
        let hash = hasher.hash("correct horse battery".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(hasher.verify("correct horse battery".into(), Some(hash.clone())).await.unwrap());
        assert!(!hasher.verify("correct horse battery!".into(), Some(hash.clone())).await.unwrap());
        assert_ne!(hasher.hash("correct horse battery".into()).await.unwrap(), hash, "a fresh salt each time");
        assert!(!hasher.verify("no one's password, for timing".into(), None).await.unwrap(), "the decoy never matches");
        assert!(!hasher.verify("x".into(), Some("not a hash".into())).await.unwrap());
    }

    #[tokio::test]
    async fn a_full_pool_says_busy_rather_than_queue_forever() {
        let hasher = Hasher::new(1);
        let waiting: Vec<_> = (0..MAX_WAITING + 8)
            .map(|_| {
                tokio::spawn({
                    let h = hasher.clone();
                    async move { h.hash("correct horse battery".into()).await }
                })
            })
            .collect();
        let mut busy = 0;
        for w in waiting {
            if w.await.unwrap().is_err() {
                busy += 1;
            }
        }
        assert!(busy >= 1, "past {MAX_WAITING} waiting, some are told to come back");
    }
}
