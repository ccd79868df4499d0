//! Wall-clock time as the actors see it: whole Unix seconds, and periodic timers.
//!
//! Every timestamp the service stores or shows is an integer of Unix seconds, so the actors take
//! `now` as an argument wherever it decides an outcome; tests pass the time they want.

use std::time::{SystemTime, UNIX_EPOCH};

/// The current time in whole seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
}

/// Runs `tick` with the wall-clock second every `period`, from one period after now, until it
/// answers `false` (what it serves is gone).
pub fn every(period: std::time::Duration, tick: impl Fn(i64) -> bool + Send + 'static) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            if !tick(unix_now()) {
                break;
            }
        }
    });
}
