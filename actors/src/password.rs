//! Paste passwords: PBKDF2-HMAC-SHA256 on a bounded pool of blocking threads.
//!
//! A hash costs 600,000 HMAC rounds (about 0.1 s of one core), so a flood of wrong guesses could
//! take every core from the requests that need none. Hashing therefore runs on at most `workers`
//! blocking threads at once, and at most `max_queue` requests wait for one; past that a request
//! is refused as busy at once instead of piling up. The async runtime never hashes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use sha2::Sha256;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::storage::PasswordHash;

/// PBKDF2 rounds, as OWASP recommended in 2023 for HMAC-SHA256.
pub const ITERATIONS: u32 = 600_000;
/// Bytes of random salt per password.
pub const SALT_LEN: usize = 32;
/// Bytes of derived key stored.
const HASH_LEN: usize = 32;

/// Why a password could not be checked or hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Every worker is busy and the queue is full.
    #[error("password workers are busy")]
    Busy,
    /// A worker thread failed (it panicked or the runtime is shutting down).
    #[error("password worker failed")]
    Failed,
}

/// The bounded hashing pool; cheap to clone.
#[derive(Clone)]
pub struct PasswordPool {
    inner: Arc<Inner>,
}

struct Inner {
    workers: Arc<Semaphore>,
    /// Requests waiting for a worker or hashing right now.
    pending: AtomicUsize,
    /// At most this many requests may wait beyond the ones being hashed.
    max_queue: usize,
    worker_count: usize,
}

impl PasswordPool {
    /// A pool of `workers` hashing threads with room for `max_queue` waiting requests.
    pub fn new(workers: usize, max_queue: usize) -> Self {
        let workers = workers.max(1);
        Self {
            inner: Arc::new(Inner {
                workers: Arc::new(Semaphore::new(workers)),
                pending: AtomicUsize::new(0),
                max_queue,
                worker_count: workers,
            }),
        }
    }

    /// Hashes a new password with a fresh random salt.
    pub async fn hash(&self, password: String) -> Result<PasswordHash, PasswordError> {
        self.run(move || {
            let mut salt = vec![0u8; SALT_LEN];
            rand::fill(&mut salt[..]);
            let hash = derive(password.as_bytes(), &salt);
            PasswordHash { salt, hash }
        })
        .await
    }

    /// Whether `password` matches `stored`, compared in constant time.
    pub async fn verify(
        &self,
        password: String,
        stored: PasswordHash,
    ) -> Result<bool, PasswordError> {
        self.run(move || {
            let candidate = derive(password.as_bytes(), &stored.salt);
            bool::from(candidate.ct_eq(&stored.hash))
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let inner = &self.inner;
        let limit = inner.worker_count.saturating_add(inner.max_queue);
        let admitted = inner
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |pending| {
                (pending < limit).then_some(pending + 1)
            });
        if admitted.is_err() {
            metrics::counter!("flaskpaste_password_busy_total").increment(1);
            return Err(PasswordError::Busy);
        }
        let _pending = PendingGuard(inner.clone());
        report_queue(inner);

        let permit = inner
            .workers
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| PasswordError::Failed)?;
        let started = Instant::now();
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|_| PasswordError::Failed);
        metrics::histogram!("flaskpaste_password_hash_duration_seconds")
            .record(started.elapsed().as_secs_f64());
        result
    }
}

/// Counts a request out of the pool however it leaves (answered, refused, or abandoned).
struct PendingGuard(Arc<Inner>);

impl Drop for PendingGuard {
    fn drop(&mut self) {
        self.0.pending.fetch_sub(1, Ordering::AcqRel);
        report_queue(&self.0);
    }
}

fn report_queue(inner: &Inner) {
    let pending = inner.pending.load(Ordering::Acquire);
    let waiting = pending.saturating_sub(inner.worker_count);
    metrics::gauge!("flaskpaste_password_queue_depth").set(waiting as f64);
}

fn derive(password: &[u8], salt: &[u8]) -> Vec<u8> {
    let mut hash = vec![0u8; HASH_LEN];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, ITERATIONS, &mut hash);
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() {
        let pool = PasswordPool::new(2, 4);

        let stored = pool.hash("correct horse 🐎".into()).await.unwrap();

        assert_eq!(stored.salt.len(), SALT_LEN);
        assert!(
            pool.verify("correct horse 🐎".into(), stored.clone())
                .await
                .unwrap()
        );
        assert!(!pool.verify("correct horse".into(), stored).await.unwrap());
    }

    #[tokio::test]
    async fn the_same_password_gets_a_different_salt_each_time() {
        let pool = PasswordPool::new(2, 4);

        let first = pool.hash("same".into()).await.unwrap();
        let second = pool.hash("same".into()).await.unwrap();

        assert_ne!(first.salt, second.salt);
        assert_ne!(first.hash, second.hash);
    }

    #[tokio::test]
    async fn derivation_matches_the_pbkdf2_reference_construction() {
        // An independent rendering of PBKDF2's first block (RFC 8018, section 5.2) with HMAC
        // written out over SHA-256, at the round count we really use.
        use sha2::Digest;
        let (password, salt) = (b"passwd".as_slice(), b"salt".as_slice());

        let ours = derive(password, salt);

        let hmac = |key: &[u8], data: &[u8]| -> [u8; 32] {
            let mut k = [0u8; 64];
            k[..key.len()].copy_from_slice(key);
            let inner: Vec<u8> = k
                .iter()
                .map(|b| b ^ 0x36)
                .chain(data.iter().copied())
                .collect();
            let inner_hash = Sha256::digest(&inner);
            let outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).chain(inner_hash).collect();
            Sha256::digest(&outer).into()
        };
        let mut u = hmac(password, &[salt, &1u32.to_be_bytes()].concat());
        let mut block = u;
        for _ in 1..ITERATIONS {
            u = hmac(password, &u);
            block.iter_mut().zip(u).for_each(|(b, x)| *b ^= x);
        }
        assert_eq!(ours, block.to_vec());
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once() {
        let pool = PasswordPool::new(1, 1);
        let stored = pool.hash("x".into()).await.unwrap();

        let checks: Vec<_> = (0..6)
            .map(|_| {
                let (pool, stored) = (pool.clone(), stored.clone());
                tokio::spawn(async move { pool.verify("wrong".into(), stored).await })
            })
            .collect();
        let mut busy = 0;
        for check in checks {
            if check.await.unwrap() == Err(PasswordError::Busy) {
                busy += 1;
            }
        }

        assert!(busy >= 1, "six checks fit in one worker and a queue of one");
        assert!(
            pool.verify("x".into(), stored).await.unwrap(),
            "the pool recovers"
        );
    }
}
