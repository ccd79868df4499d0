//! The database file: opening connections, durability pragmas, the table and row mapping.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use rusqlite::{Connection, OpenFlags, Row};

use super::model::{PasswordHash, Paste, PasteMeta};

/// How long a connection waits on a lock held by another process before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const CREATE: &str = r#"
CREATE TABLE IF NOT EXISTS pastes (
    id              TEXT PRIMARY KEY,
    content         BLOB NOT NULL,
    mime_type       TEXT NOT NULL,
    size            INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    last_access     INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    ttl             INTEGER,
    burn_after_read INTEGER NOT NULL DEFAULT 0,
    owner           TEXT,
    password_salt   BLOB,
    password_hash   BLOB
);
CREATE INDEX IF NOT EXISTS pastes_expires_at ON pastes (expires_at);
CREATE INDEX IF NOT EXISTS pastes_owner_created ON pastes (owner, created_at);
"#;

/// The columns of [`PasteMeta`], in the order [`meta_from_row`] reads them.
pub(super) const META_COLUMNS: &str = "id, mime_type, size, created_at, last_access, expires_at, \
     ttl, burn_after_read, owner, password_salt, password_hash";

/// Opens the single write connection: WAL, `synchronous=FULL`, schema in place.
///
/// `synchronous=FULL` in WAL mode syncs the log on every commit, so a committed paste survives a
/// power cut; group commit in the writer is what keeps that affordable.
pub(super) fn open_writer(path: &Path, max_bytes: Option<u64>) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.execute_batch(CREATE)?;
    if let Some(max_bytes) = max_bytes {
        let page_size: i64 = conn.pragma_query_value(None, "page_size", |row| row.get(0))?;
        let max_bytes = i64::try_from(max_bytes).unwrap_or(i64::MAX);
        let pages = (max_bytes / page_size.max(1)).max(1);
        conn.pragma_update(None, "max_page_count", pages)?;
    }
    Ok(conn)
}

/// How read connections open a database the writer has already created.
pub(super) const READER_FLAGS: OpenFlags =
    OpenFlags::SQLITE_OPEN_READ_ONLY.union(OpenFlags::SQLITE_OPEN_NO_MUTEX);

/// Settings of a read-only connection.
pub(super) fn configure_reader(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "query_only", "ON")
}

/// Reads the [`META_COLUMNS`] of a row.
pub(super) fn meta_from_row(row: &Row<'_>) -> rusqlite::Result<PasteMeta> {
    let salt: Option<Vec<u8>> = row.get(9)?;
    let hash: Option<Vec<u8>> = row.get(10)?;
    let size: i64 = row.get(2)?;
    Ok(PasteMeta {
        id: row.get(0)?,
        mime_type: row.get(1)?,
        size: u64::try_from(size).unwrap_or(0),
        created_at: row.get(3)?,
        last_access: row.get(4)?,
        expires_at: row.get(5)?,
        ttl: row.get(6)?,
        burn_after_read: row.get(7)?,
        owner: row.get(8)?,
        password: salt
            .zip(hash)
            .map(|(salt, hash)| PasswordHash { salt, hash }),
    })
}

/// Reads the [`META_COLUMNS`] followed by `content`.
pub(super) fn paste_from_row(row: &Row<'_>) -> rusqlite::Result<Paste> {
    let content: Vec<u8> = row.get(11)?;
    Ok(Paste {
        meta: meta_from_row(row)?,
        content: Bytes::from(content),
    })
}
