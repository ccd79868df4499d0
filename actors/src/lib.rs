//! The long-lived actors behind the FlaskPaste HTTP face, with no knowledge of HTTP.
//!
//! Each actor owns one kind of state and is the only thing that mutates it; the HTTP layer talks
//! to them through cheap, cloneable handles. The storage actor is the only writer of the SQLite
//! database; reads go to a pool of read-only connections behind a cache (see [`storage`]).

pub mod ca;
pub mod clock;
pub mod dedup;
pub mod mailbox;
pub mod password;
pub mod pow;
pub mod rate_limit;
pub mod storage;
pub mod window;

pub use storage::{Storage, StorageConfig, StorageError};
