//! The values that cross the storage boundary.

use bytes::Bytes;

/// When a paste stops being served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// The paste lives `ttl` seconds after its last read (the deadline slides on every `GET`).
    Sliding { ttl: i64 },
    /// The paste expires at this Unix second, however often it is read.
    Fixed { at: i64 },
}

/// A PBKDF2 hash of a paste's password with its salt.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash {
    pub salt: Vec<u8>,
    pub hash: Vec<u8>,
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

/// A paste to be stored; the writer gives it its id.
#[derive(Debug, Clone)]
pub struct NewPaste {
    pub content: Bytes,
    pub mime_type: String,
    pub created_at: i64,
    pub expiry: Expiry,
    pub burn_after_read: bool,
    pub owner: Option<String>,
    pub password: Option<PasswordHash>,
}

/// What the writer answers once a paste is committed and synced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inserted {
    pub id: String,
    pub expires_at: i64,
    /// Sequence number of the transaction that held the insert; inserts that share it were
    /// committed together.
    pub commit_seq: u64,
}

/// Everything about a paste but its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasteMeta {
    pub id: String,
    pub mime_type: String,
    pub size: u64,
    pub created_at: i64,
    pub last_access: i64,
    /// The deadline as last written; a sliding paste's may have moved since (see
    /// [`crate::Storage`]).
    pub expires_at: i64,
    /// `Some(ttl)` for a sliding deadline.
    pub ttl: Option<i64>,
    pub burn_after_read: bool,
    pub owner: Option<String>,
    pub password: Option<PasswordHash>,
}

impl PasteMeta {
    /// Whether the paste is past its deadline at `now`: it is still served during the second
    /// its deadline names, so `X-Expiry: 1` means at least one whole second.
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at < now
    }
}

/// A paste with its bytes.
#[derive(Debug, Clone)]
pub struct Paste {
    pub meta: PasteMeta,
    pub content: Bytes,
}

/// A coalesced last-access update for one paste.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TouchUpdate {
    pub last_access: i64,
    /// The new deadline of a sliding paste; ignored for a fixed one.
    pub expires_at: i64,
}

/// The durability settings of the writer's connection, as SQLite reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pragmas {
    pub journal_mode: String,
    /// 0 off, 1 normal, 2 full, 3 extra.
    pub synchronous: i64,
}

/// Which pastes a listing shows, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// Only this owner's pastes; `None` lists everyone's.
    pub owner: Option<String>,
    /// A SQLite `GLOB` over the MIME type (`image/*`); the caller has checked its characters.
    pub mime_glob: Option<String>,
    /// Created strictly after this Unix second.
    pub after: Option<i64>,
    /// Created strictly before this Unix second.
    pub before: Option<i64>,
    pub limit: u32,
    pub offset: u64,
}
