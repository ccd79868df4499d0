//! Reading a request body under a size limit, while it streams in.
//!
//! A declared `Content-Length` over the limit is refused before a byte is read (and before
//! hyper would send `100 Continue`); a chunked body is cut off as soon as it passes the limit, so
//! the memory a request holds stays bounded by the limit. A refused body is then drained in the
//! background for a bounded time and amount, so that a client that sent everything without
//! waiting can still read the 413 instead of a connection reset.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::HeaderMap;
use axum::http::header::CONTENT_LENGTH;
use http_body_util::BodyExt;

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
}

/// The declared `Content-Length`, if there is a valid one.
pub fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

/// Reads the whole body if it stays within `limit` bytes.
pub async fn read_limited(
    body: &mut Body,
    declared: Option<u64>,
    limit: u64,
) -> Result<Bytes, BodyError> {
    if let Some(size) = declared.filter(|size| *size > limit) {
        return Err(BodyError::TooLarge { size });
    }

    let capacity = usize::try_from(declared.unwrap_or(0).min(limit)).unwrap_or(0);
    let mut buffer = Vec::with_capacity(capacity);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Unreadable)?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let size = (buffer.len() + data.len()) as u64;
        if size > limit {
            return Err(BodyError::TooLarge { size });
        }
        if buffer.is_empty() && declared == Some(data.len() as u64) {
            // The whole body came in one frame: keep it without copying.
            return Ok(data);
        }
        buffer.extend_from_slice(&data);
    }
    Ok(Bytes::from(buffer))
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
