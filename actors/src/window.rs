//! Fixed windows of counts per key: the bookkeeping shared by the rate limiter and the duplicate
//! tracker.
//!
//! A key's window opens with its first counted hit and lasts `window` seconds; a hit past its
//! end opens a new one. Ended windows are dropped by [`FixedWindows::sweep`], never before, so a
//! live count cannot be reset by pushing other keys in; past `max_keys` a new key is refused
//! instead.

use std::collections::HashMap;
use std::hash::Hash;

/// What a hit found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// The hit was within the limit and was counted.
    pub allowed: bool,
    /// Hits counted in the window, this one included when allowed.
    pub count: u32,
    /// Unix second at which the window ends.
    pub reset: i64,
}

struct Window {
    start: i64,
    count: u32,
}

/// Counts per key over fixed windows.
pub struct FixedWindows<K> {
    windows: HashMap<K, Window>,
    window_seconds: i64,
    max_keys: usize,
}

impl<K: Hash + Eq> FixedWindows<K> {
    pub fn new(window_seconds: i64, max_keys: usize) -> Self {
        Self {
            windows: HashMap::new(),
            window_seconds,
            max_keys,
        }
    }

    /// Counts a hit on `key` if fewer than `limit` were counted in its window.
    pub fn hit(&mut self, key: K, limit: u32, now: i64) -> Hit {
        let full = self.windows.len() >= self.max_keys;
        let window_seconds = self.window_seconds;
        let entry = match self.windows.get_mut(&key) {
            Some(entry) => entry,
            None if full => {
                return Hit {
                    allowed: false,
                    count: 0,
                    reset: now + window_seconds,
                };
            }
            None => self.windows.entry(key).or_insert(Window {
                start: now,
                count: 0,
            }),
        };
        if now >= entry.start + window_seconds {
            *entry = Window {
                start: now,
                count: 0,
            };
        }

        let allowed = entry.count < limit;
        if allowed {
            entry.count += 1;
        }
        Hit {
            allowed,
            count: entry.count,
            reset: entry.start + window_seconds,
        }
    }

    /// Drops every window that has ended by `now`; answers how many.
    pub fn sweep(&mut self, now: i64) -> usize {
        let before = self.windows.len();
        let window_seconds = self.window_seconds;
        self.windows.retain(|_, w| now < w.start + window_seconds);
        before - self.windows.len()
    }

    /// Keys with a window, ended or not.
    pub fn len(&self) -> usize {
        self.windows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }
}
