//! The server's life: open storage, bind, serve, and drain on SIGTERM or SIGINT.
//!
//! On a signal `/health` turns 503 at once; the listener keeps accepting for the configured
//! delay (so a load balancer can notice), then stops; requests already read are answered within
//! the shutdown timeout; pending writes are flushed, the log checkpointed, and `run` returns.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use flaskpaste_actors::ca::{CaArgs, CaHandle};
use flaskpaste_actors::clock::unix_now;
use flaskpaste_actors::dedup::{DedupArgs, DedupHandle};
use flaskpaste_actors::pow::{PowArgs, PowHandle};
use flaskpaste_actors::rate_limit::{RateLimiterArgs, RateLimiterHandle};
use flaskpaste_actors::{Storage, StorageConfig, StorageError};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::config::Config;
use crate::identity::{CertificateTrust, NoCertificateAuthority};
use crate::listener::{self, ConnectionLimits};
use crate::routes;
use crate::state::AppState;

/// Why the server could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot open the database: {0}")]
    Storage(#[from] StorageError),
    #[error("cannot install the metrics recorder: {0}")]
    Metrics(#[from] metrics_exporter_prometheus::BuildError),
    #[error("cannot start an actor: {0}")]
    Actor(String),
    #[error("server failed: {0}")]
    Serve(#[from] std::io::Error),
}

/// Runs the server until a shutdown signal has been handled.
pub async fn run(config: Config) -> Result<(), ServerError> {
    let metrics_handle = crate::metrics::install()?;
    let storage = Storage::open(StorageConfig {
        path: config.db.clone(),
        id_length: usize::from(config.id_length),
        read_connections: usize::from(config.read_connections),
        cache_bytes: config.cache_bytes,
        touch_flush_interval: config.touch_flush_interval(),
        max_db_bytes: (config.db_max_bytes > 0).then_some(config.db_max_bytes),
    })
    .await?;
    log_storage_settings(&storage).await;

    let signals = ShutdownSignals::install()?;
    let listener = bind(config.bind).await?;
    let public_addr = listener.local_addr()?;
    let metrics_addr = match config.metrics_addr.0 {
        Some(addr) => {
            let metrics_listener = bind(addr).await?;
            let bound = metrics_listener.local_addr()?;
            let app = crate::metrics::router(metrics_handle);
            tokio::spawn(async move { axum::serve(metrics_listener, app).await });
            Some(bound)
        }
        None => None,
    };
    tracing::info!(
        addr = %public_addr,
        metrics_addr = metrics_addr.map(|a| a.to_string()),
        db = %config.db.display(),
        "listening"
    );

    if !public_addr.ip().is_loopback() && config.proxy_secret.is_none() {
        tracing::warn!(
            addr = %public_addr,
            "listening beyond loopback without FLASKPASTE_PROXY_SECRET: any client can claim a \
             certificate fingerprint with X-SSL-Client-SHA1; deploy behind a proxy that sets it \
             and set the secret"
        );
    }
    let rate_limiter = if config.rate_limit {
        let window = Duration::from_secs(config.rate_window.unsigned_abs());
        let limiter = RateLimiterHandle::spawn(RateLimiterArgs {
            window_seconds: config.rate_window,
            max_keys: usize::try_from(config.rate_max_keys).unwrap_or(usize::MAX),
            sweep_every: Some(window),
        })
        .await
        .map_err(|err| ServerError::Actor(err.to_string()))?;
        Some(limiter)
    } else {
        None
    };
    let dedup = if config.dedup_max > 0 {
        let tracker = DedupHandle::spawn(DedupArgs {
            window_seconds: config.dedup_window,
            max: config.dedup_max,
            sweep_every: Some(Duration::from_secs(
                config.dedup_window.unsigned_abs().min(300),
            )),
        })
        .await
        .map_err(|err| ServerError::Actor(err.to_string()))?;
        Some(tracker)
    } else {
        None
    };
    let pow = spawn_pow_issuer(&config).await?;
    let ca = if config.pki_enabled {
        let ca = CaHandle::spawn(CaArgs {
            db: config.db.clone(),
            password: config
                .pki_ca_password
                .as_ref()
                .map(|p| p.expose().to_owned()),
            cert_days: config.pki_cert_days,
            ca_days: config.pki_ca_days,
        })
        .await
        .map_err(|err| ServerError::Actor(err.to_string()))?;
        if config.pki_ca_password.is_none() {
            tracing::warn!(
                "PKI enabled without FLASKPASTE_PKI_CA_PASSWORD: certificates cannot be issued"
            );
        }
        Some(ca)
    } else {
        None
    };
    let certificates: Arc<dyn CertificateTrust> = match &ca {
        Some(ca) => Arc::new(ca.clone()),
        None => Arc::new(NoCertificateAuthority),
    };
    let state = AppState::new(
        config,
        storage.clone(),
        certificates,
        rate_limiter,
        dedup,
        pow,
        ca,
    );
    spawn_cleanup(storage.clone(), state.config.cleanup_interval());
    serve(listener, state, signals).await?;

    storage.shutdown().await?;
    tracing::info!("stopped");
    Ok(())
}

async fn spawn_pow_issuer(config: &Config) -> Result<PowHandle, ServerError> {
    let secret = match &config.pow_secret {
        Some(secret) => secret.expose().as_bytes().to_vec(),
        None => {
            let mut secret = vec![0u8; 32];
            rand::fill(&mut secret[..]);
            if config.pow_difficulty > 0 {
                tracing::info!("no FLASKPASTE_POW_SECRET: challenges are signed with a random key");
            }
            secret
        }
    };
    let ttl = Duration::from_secs(config.pow_ttl.unsigned_abs());
    PowHandle::spawn(PowArgs {
        secret,
        paste_difficulty: config.pow_difficulty,
        register_difficulty: if config.pki_enabled {
            config.register_pow
        } else {
            0
        },
        ttl_seconds: config.pow_ttl,
        flood_window_seconds: config.pow_flood_window,
        flood_threshold: config.pow_flood_threshold,
        flood_step: config.pow_flood_step,
        max_difficulty: config.pow_max_difficulty,
        sweep_every: Some(ttl),
    })
    .await
    .map_err(|err| ServerError::Actor(err.to_string()))
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })
}

async fn log_storage_settings(storage: &Storage) {
    match storage.writer().pragmas().await {
        Ok(pragmas) => tracing::info!(
            journal_mode = %pragmas.journal_mode,
            synchronous = pragmas.synchronous,
            "storage opened"
        ),
        Err(err) => tracing::warn!(error = %err, "storage settings unreadable"),
    }
}

/// Serves until a signal, then drains within the shutdown timeout.
async fn serve(
    listener: TcpListener,
    state: AppState,
    signals: ShutdownSignals,
) -> Result<(), ServerError> {
    let signalled = Arc::new(Notify::new());
    let stop_accepting = {
        let state = state.clone();
        let signalled = signalled.clone();
        async move {
            signals.recv().await;
            state.start_draining();
            signalled.notify_one();
            tracing::info!(
                delay_seconds = state.config.shutdown_delay,
                "shutdown requested; draining"
            );
            tokio::time::sleep(state.config.shutdown_delay()).await;
        }
    };
    let deadline = state.config.shutdown_delay() + state.config.shutdown_timeout();

    let limits = ConnectionLimits {
        header_timeout: Duration::from_secs(state.config.header_timeout),
        keepalive_timeout: Duration::from_secs(state.config.keepalive_timeout),
        max_connections: usize::try_from(state.config.max_connections).unwrap_or(usize::MAX),
    };
    let server = listener::serve(listener, routes::router(state), limits, stop_accepting);
    let give_up = async move {
        signalled.notified().await;
        tokio::time::sleep(deadline).await;
    };
    tokio::select! {
        () = server => {}
        () = give_up => tracing::warn!("shutdown timeout passed with requests still open"),
    }
    Ok(())
}

/// SIGTERM and SIGINT, listened for from start-up on: a signal that arrives before the server
/// serves must drain it, not kill the process.
struct ShutdownSignals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    async fn recv(mut self) {
        tokio::select! {
            _ = self.terminate.recv() => {}
            _ = self.interrupt.recv() => {}
        }
    }
}

/// Deletes expired pastes every `period`. Expired pastes already answer 404; this frees space.
fn spawn_cleanup(storage: Storage, period: Duration) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            match storage.purge_expired(unix_now()).await {
                Ok(purged) => tracing::info!(purged, "expired pastes deleted"),
                Err(err) => tracing::error!(error = %err, "cleanup of expired pastes failed"),
            }
        }
    });
}
