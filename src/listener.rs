//! The public listener: accepting connections under a cap, and closing the ones that stall.
//!
//! Slow and idle clients must not hold the server. A new connection has `header_timeout` to send
//! its first request's headers, and so does every later request once its first byte arrives;
//! a keep-alive connection with no request under way closes after `keepalive_timeout` of
//! silence. A connection with a request in progress is left to the request's own limits (the
//! body's minimum pace, in [`crate::body`]). At most `max_connections` are served at once; past
//! that, new ones wait in the kernel's backlog until a slot frees.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// How often a connection's watchdog looks at it.
const WATCH_PERIOD: Duration = Duration::from_millis(500);

/// Connection-level limits.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub header_timeout: Duration,
    pub keepalive_timeout: Duration,
    pub max_connections: usize,
}

/// Serves `router` on `listener` until `shutdown` completes, then waits for open connections
/// to finish their requests (the caller bounds that wait).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let (draining, drain_signal) = tokio::sync::watch::channel(false);
    let mut shutdown = pin!(shutdown);

    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the slot semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors, say: back off instead of spinning.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        metrics::gauge!("flaskpaste_open_connections")
            .set((limits.max_connections - slots.available_permits()) as f64);

        let connection = serve_connection(stream, peer, router.clone(), limits);
        let watched = graceful.watch(connection.conn);
        let activity = connection.activity;
        let slots_for_gauge = slots.clone();
        let drain_signal = drain_signal.clone();
        tokio::spawn(async move {
            let _slot = slot;
            watch(watched, &activity, limits, drain_signal).await;
            drop(_slot);
            metrics::gauge!("flaskpaste_open_connections")
                .set((limits.max_connections - slots_for_gauge.available_permits()) as f64);
        });
    }

    drop(listener);
    // Connections between requests close now; those with a request under way finish it.
    let _ = draining.send(true);
    graceful.shutdown().await;
}

struct Connection<C> {
    conn: C,
    activity: Arc<Activity>,
}

fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
) -> Connection<impl hyper_util::server::graceful::GracefulConnection> {
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(TrackedIo {
        inner: stream,
        activity: activity.clone(),
    });
    let service = TrackedService {
        router,
        peer,
        activity: activity.clone(),
    };
    // hyper's own header timeout also runs while a keep-alive connection waits for its next
    // request, so it is set to the longer keep-alive limit; the watchdog enforces the rest.
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.keepalive_timeout)
        .keep_alive(true)
        // A client that shuts its sending side after the request (`nc -N`, socat) still gets
        // its answer.
        .half_close(true)
        .serve_connection(io, service);
    Connection { conn, activity }
}

/// Drives a connection until it ends or its watchdog finds it stalled, or idle while the server
/// drains (and drops it).
async fn watch<F: Future>(
    conn: F,
    activity: &Activity,
    limits: ConnectionLimits,
    mut draining: tokio::sync::watch::Receiver<bool>,
) {
    let mut conn = pin!(conn);
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = draining.changed(), if !*draining.borrow() => {}
            () = tokio::time::sleep(WATCH_PERIOD) => {}
        }
        if *draining.borrow() && activity.is_between_requests() {
            return;
        }
        if let Some(reason) = activity.stalled(limits, Instant::now()) {
            tracing::debug!(reason, "closing a stalled connection");
            metrics::counter!("flaskpaste_connections_closed_total", "reason" => reason)
                .increment(1);
            return;
        }
    }
}

/// What a connection has been doing, as its socket and its requests report it.
struct Activity {
    state: Mutex<ActivityState>,
}

struct ActivityState {
    /// Requests whose response is not yet produced.
    in_flight: u32,
    served: u64,
    /// When the connection was opened or its last request answered.
    idle_since: Instant,
    /// When the first byte of a request's headers arrived, while none is in flight.
    head_started: Option<Instant>,
    last_io: Instant,
}

impl Activity {
    fn new() -> Self {
        let now = Instant::now();
        Self {
            state: Mutex::new(ActivityState {
                in_flight: 0,
                served: 0,
                idle_since: now,
                head_started: None,
                last_io: now,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ActivityState> {
        // A panic while holding this lock leaves plain counters behind; they stay usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn on_read(&self) {
        let mut state = self.lock();
        let now = Instant::now();
        state.last_io = now;
        if state.in_flight == 0 && state.head_started.is_none() {
            state.head_started = Some(now);
        }
    }

    fn on_write(&self) {
        self.lock().last_io = Instant::now();
    }

    fn begin_request(&self) {
        let mut state = self.lock();
        state.in_flight += 1;
        state.served += 1;
        state.head_started = None;
    }

    fn end_request(&self) {
        let mut state = self.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        state.idle_since = Instant::now();
        state.head_started = None;
    }

    /// No request is being answered (one may be arriving).
    fn is_between_requests(&self) -> bool {
        self.lock().in_flight == 0
    }

    /// Why the connection should be closed now, if it should.
    fn stalled(&self, limits: ConnectionLimits, now: Instant) -> Option<&'static str> {
        let state = self.lock();
        if state.in_flight > 0 {
            return None;
        }
        if let Some(started) = state.head_started {
            return (now - started > limits.header_timeout).then_some("header_timeout");
        }
        let quiet = now - state.idle_since.max(state.last_io);
        if state.served == 0 {
            (quiet > limits.header_timeout).then_some("header_timeout")
        } else {
            (quiet > limits.keepalive_timeout).then_some("keepalive_timeout")
        }
    }
}

/// The socket, reporting reads and writes to the connection's [`Activity`].
struct TrackedIo {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for TrackedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.on_read();
        }
        polled
    }
}

impl AsyncWrite for TrackedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.on_write();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The router, seen by hyper: adds the peer address and reports each request's span.
#[derive(Clone)]
struct TrackedService {
    router: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

/// Ends a request's span in the connection's activity however the request ends.
struct RequestGuard(Arc<Activity>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.end_request();
    }
}

impl hyper::service::Service<Request<Incoming>> for TrackedService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        self.activity.begin_request();
        let guard = RequestGuard(self.activity.clone());
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let router = self.router.clone();
        Box::pin(async move {
            let response = router.oneshot(request).await;
            drop(guard);
            response
        })
    }
}
