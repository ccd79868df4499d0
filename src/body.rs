//! Reading a request body under a size limit, while it streams in.
//!
//! A declared `Content-Length` over the limit is refused before a byte is read (and before
//! hyper would send `100 Continue`); a chunked body is cut off as soon as it passes the limit, so
//! the memory a request holds stays bounded by the limit. A refused body is then drained in the
//! background for a bounded time and amount, so that a client that sent everything without
//! waiting can still read the 413 instead of a connection reset.
//!
//! A body must also keep a minimum pace (no silence longer than the gap limit, and after a grace
//! period an average rate), and all bodies in memory share one byte budget, so that slow or
//! numerous uploads cannot hold the server.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use axum::body::{Body, Bytes};
use axum::http::HeaderMap;
use axum::http::header::CONTENT_LENGTH;
use http_body_util::BodyExt;

/// The most memory set aside for a body before its bytes arrive.
const INITIAL_CAPACITY: u64 = 256 * 1024;
/// How much of a refused body is read and thrown away before the connection closes.
const DRAIN_BYTES: u64 = 8 * 1024 * 1024;
/// How long a refused body is drained at most.
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// Why a body was not read.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyError {
    /// Larger than the limit: the declared length, or the bytes read before it was cut off.
    TooLarge { size: u64 },
    /// The client went away or sent a malformed body.
    Unreadable,
    /// The body fell below the minimum pace.
    TooSlow,
    /// The upload budget is spent.
    BudgetSpent,
}

/// The pace a body must keep.
#[derive(Debug, Clone, Copy)]
pub struct BodyPace {
    /// Longest silence between two pieces of the body.
    pub gap: Duration,
    /// Time before the average rate is checked.
    pub grace: Duration,
    /// Average bytes per second required after the grace period (0: no rate check).
    pub min_rate: u64,
}

impl BodyPace {
    /// The pace the configuration asks for.
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            gap: Duration::from_secs(config.body_gap_timeout),
            grace: Duration::from_secs(config.body_grace),
            min_rate: config.body_min_rate,
        }
    }

    /// When the next piece must have arrived, having received `received` bytes so far.
    fn deadline(&self, started: Instant, last: Instant, received: u64) -> Instant {
        let by_gap = last + self.gap;
        if self.min_rate == 0 {
            return by_gap;
        }
        // `received` bytes keep the average up until `received / min_rate` seconds in.
        let earned = Duration::from_secs_f64(received as f64 / self.min_rate as f64);
        by_gap.min(started + self.grace.max(earned))
    }
}

/// Bytes of request bodies held in memory across all requests, and the most allowed.
#[derive(Debug)]
pub struct UploadBudget {
    used: AtomicU64,
    max: u64,
}

/// Bytes taken from the [`UploadBudget`]; given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<UploadBudget>,
    bytes: u64,
}

impl UploadBudget {
    pub fn new(max: u64) -> Arc<Self> {
        Arc::new(Self {
            used: AtomicU64::new(0),
            max,
        })
    }

    fn reserve(self: &Arc<Self>, reservation: &mut Reservation, bytes: u64) -> bool {
        let taken = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|total| *total <= self.max)
            })
            .is_ok();
        if taken {
            reservation.bytes += bytes;
            self.report();
        }
        taken
    }

    fn is_spent(&self) -> bool {
        self.used.load(Ordering::Acquire) >= self.max
    }

    fn report(&self) {
        metrics::gauge!("flaskpaste_upload_bytes_in_flight")
            .set(self.used.load(Ordering::Relaxed) as f64);
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
        self.budget.report();
    }
}

/// The declared `Content-Length`, if there is a valid one.
pub fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

/// Reads the whole body if it stays within `limit` bytes, keeps its pace and fits the budget.
/// The bytes stay counted against the budget for as long as the [`Reservation`] lives.
pub async fn read_limited(
    body: &mut Body,
    declared: Option<u64>,
    limit: u64,
    pace: &BodyPace,
    budget: &Arc<UploadBudget>,
) -> Result<(Bytes, Reservation), BodyError> {
    if let Some(size) = declared.filter(|size| *size > limit) {
        return Err(BodyError::TooLarge { size });
    }
    if budget.is_spent() {
        return Err(BodyError::BudgetSpent);
    }

    let mut reservation = Reservation {
        budget: budget.clone(),
        bytes: 0,
    };
    // The declared length only sizes the first allocation, and not beyond what a client must
    // send to make us hold it: the budget counts bytes received, not promised.
    let capacity =
        usize::try_from(declared.unwrap_or(0).min(limit).min(INITIAL_CAPACITY)).unwrap_or(0);
    let mut buffer = Vec::with_capacity(capacity);
    let started = Instant::now();
    let mut last = started;
    loop {
        let deadline = pace.deadline(started, last, buffer.len() as u64);
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err(BodyError::TooSlow),
            Ok(None) => break,
            Ok(Some(frame)) => frame.map_err(|_| BodyError::Unreadable)?,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        last = Instant::now();
        let size = (buffer.len() + data.len()) as u64;
        if size > limit {
            return Err(BodyError::TooLarge { size });
        }
        if !budget.reserve(&mut reservation, data.len() as u64) {
            return Err(BodyError::BudgetSpent);
        }
        if buffer.is_empty() && declared == Some(data.len() as u64) {
            // The whole body came in one frame: keep it without copying.
            return Ok((data, reservation));
        }
        buffer.extend_from_slice(&data);
    }
    Ok((Bytes::from(buffer), reservation))
}

/// Reads and discards what is left of a refused body, within bounds, off the request path.
pub fn drain_in_background(mut body: Body) {
    tokio::spawn(async move {
        let drain = async {
            let mut drained = 0u64;
            while let Some(Ok(frame)) = body.frame().await {
                if let Ok(data) = frame.into_data() {
                    drained += data.len() as u64;
                    if drained > DRAIN_BYTES {
                        break;
                    }
                }
            }
        };
        let _ = tokio::time::timeout(DRAIN_TIME, drain).await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pace_deadline_is_the_earlier_of_the_gap_and_the_average() {
        let pace = BodyPace {
            gap: Duration::from_secs(30),
            grace: Duration::from_secs(20),
            min_rate: 500,
        };
        let start = Instant::now();

        // Nothing yet: the grace period ends first.
        assert_eq!(
            pace.deadline(start, start, 0),
            start + Duration::from_secs(20)
        );
        // 50,000 bytes keep a 500 B/s average for 100 s, but silence still ends at the gap.
        let last = start + Duration::from_secs(10);
        assert_eq!(
            pace.deadline(start, last, 50_000),
            last + Duration::from_secs(30)
        );
        // 15,000 bytes: the average falls below 500 B/s at 30 s.
        assert_eq!(
            pace.deadline(start, last, 15_000),
            start + Duration::from_secs(30)
        );
    }

    #[test]
    fn reservations_give_their_bytes_back() {
        let budget = UploadBudget::new(100);
        let mut first = Reservation {
            budget: budget.clone(),
            bytes: 0,
        };
        let mut second = Reservation {
            budget: budget.clone(),
            bytes: 0,
        };

        assert!(budget.reserve(&mut first, 80));
        assert!(!budget.reserve(&mut second, 30));
        drop(first);

        assert!(budget.reserve(&mut second, 30));
    }
}
