//! What every handler can reach: the configuration, storage and the drain flag.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use flaskpaste_actors::Storage;
use flaskpaste_actors::ca::CaHandle;
use flaskpaste_actors::dedup::DedupHandle;
use flaskpaste_actors::password::PasswordPool;
use flaskpaste_actors::pow::PowHandle;
use flaskpaste_actors::rate_limit::RateLimiterHandle;

use crate::body::UploadBudget;
use crate::config::Config;
use crate::identity::{CertificateTrust, IdentityPolicy};

/// Shared application state; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub storage: Storage,
    pub identity: IdentityPolicy,
    pub passwords: PasswordPool,
    /// `None` when rate limiting is off.
    pub rate_limiter: Option<RateLimiterHandle>,
    /// `None` when duplicate throttling is off.
    pub dedup: Option<DedupHandle>,
    pub pow: PowHandle,
    pub uploads: Arc<UploadBudget>,
    /// The certificate authority; `None` unless the PKI is enabled.
    pub ca: Option<CaHandle>,
    /// Set once shutdown begins, so that `/health` turns 503 while requests still drain.
    draining: Arc<AtomicBool>,
}

impl AppState {
    pub fn new(
        config: Config,
        storage: Storage,
        certificates: Arc<dyn CertificateTrust>,
        rate_limiter: Option<RateLimiterHandle>,
        dedup: Option<DedupHandle>,
        pow: PowHandle,
        ca: Option<CaHandle>,
    ) -> Self {
        let identity = IdentityPolicy::new(
            config.proxy_secret.clone(),
            config.admin_fingerprints.0.iter().cloned(),
            certificates,
        );
        let passwords = PasswordPool::new(
            config.password_workers(),
            usize::try_from(config.password_queue).unwrap_or(usize::MAX),
        );
        let uploads = UploadBudget::new(config.upload_budget);
        Self {
            config: Arc::new(config),
            storage,
            identity,
            passwords,
            rate_limiter,
            dedup,
            pow,
            uploads,
            ca,
            draining: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}
