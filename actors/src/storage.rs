//! Paste storage: one writer actor, a pool of read-only connections and a cache of hot pastes.
//!
//! [`Storage`] is the facade the HTTP layer holds. Writes (insert, delete, take-for-burn,
//! last-access updates, cleanup) go to the storage writer actor, the only owner of the SQLite
//! write connection, which groups whatever arrives while a commit runs into the next transaction
//! and answers only once that transaction is synced to disk. Reads never queue behind the writer:
//! they are served from a moka cache of hot pastes or from a small pool of read-only connections.
//! Last-access updates are coalesced in memory and sent to the writer in batches, at most once per
//! flush interval; a crash may lose up to one interval of them, never a paste.

mod batch;
mod facade;
mod model;
mod reader;
mod schema;
mod writer;

pub use facade::{Health, Storage, StorageConfig};
pub use model::{
    Expiry, Inserted, ListQuery, NewPaste, PasswordHash, Paste, PasteMeta, Pragmas, TouchUpdate,
};
pub use writer::{WriterHandle, WriterStats};

/// Why a storage operation could not be done.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StorageError {
    /// SQLite refused the operation (full disk, I/O error, corrupt file, ...).
    #[error("database error: {0}")]
    Database(String),
    /// The writer actor has stopped, or a read connection has closed.
    #[error("storage is shut down")]
    Closed,
    /// The writer did not answer within its deadline.
    #[error("storage writer did not answer in time")]
    Timeout,
}

impl From<rusqlite::Error> for StorageError {
    fn from(err: rusqlite::Error) -> Self {
        StorageError::Database(err.to_string())
    }
}
