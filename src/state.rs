//! What every handler can reach: the configuration, storage and the drain flag.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use flaskpaste_actors::Storage;

use crate::config::Config;

/// Shared application state; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub storage: Storage,
    /// Set once shutdown begins, so that `/health` turns 503 while requests still drain.
    draining: Arc<AtomicBool>,
}

impl AppState {
    pub fn new(config: Config, storage: Storage) -> Self {
        Self {
            config: Arc::new(config),
            storage,
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
