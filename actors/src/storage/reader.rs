//! A small pool of read-only connections, so that reads never queue behind the writer.
//!
//! Each connection lives on its own thread (tokio-rusqlite); requests take them round-robin. In
//! WAL mode readers see the last committed state and never block the writer or each other.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use rusqlite::OptionalExtension;
use tokio_rusqlite::Connection;

use super::StorageError;
use super::model::{ListQuery, Paste, PasteMeta};
use super::schema::{self, META_COLUMNS, meta_from_row, paste_from_row};

/// Read-only connections, taken in turn.
pub(super) struct ReadPool {
    connections: Vec<Connection>,
    next: AtomicUsize,
}

impl ReadPool {
    pub(super) async fn open(path: &Path, size: usize) -> Result<Self, StorageError> {
        let mut connections = Vec::with_capacity(size.max(1));
        for _ in 0..size.max(1) {
            let conn = Connection::open_with_flags(path, schema::READER_FLAGS).await?;
            conn.call(|c| schema::configure_reader(c))
                .await
                .map_err(map_err)?;
            connections.push(conn);
        }
        Ok(Self {
            connections,
            next: AtomicUsize::new(0),
        })
    }

    fn pick(&self) -> &Connection {
        let at = self.next.fetch_add(1, Ordering::Relaxed) % self.connections.len();
        &self.connections[at]
    }

    /// The paste's metadata, whether or not it has expired.
    pub(super) async fn metadata(&self, id: &str) -> Result<Option<PasteMeta>, StorageError> {
        let id = id.to_owned();
        self.pick()
            .call(move |c| {
                let sql = format!("SELECT {META_COLUMNS} FROM pastes WHERE id = ?1");
                c.prepare_cached(&sql)?
                    .query_row([id], meta_from_row)
                    .optional()
            })
            .await
            .map_err(map_err)
    }

    /// The paste with its bytes, whether or not it has expired.
    pub(super) async fn paste(&self, id: &str) -> Result<Option<Paste>, StorageError> {
        let id = id.to_owned();
        self.pick()
            .call(move |c| {
                let sql = format!("SELECT {META_COLUMNS}, content FROM pastes WHERE id = ?1");
                c.prepare_cached(&sql)?
                    .query_row([id], paste_from_row)
                    .optional()
            })
            .await
            .map_err(map_err)
    }

    /// The live pastes `query` selects, newest first, and how many there are in all.
    pub(super) async fn list(
        &self,
        query: ListQuery,
        now: i64,
    ) -> Result<(Vec<PasteMeta>, u64), StorageError> {
        self.pick()
            .call(move |c| {
                const FILTER: &str = r#"
                    WHERE expires_at >= ?1
                      AND (?2 IS NULL OR owner = ?2)
                      AND (?3 IS NULL OR mime_type GLOB ?3)
                      AND (?4 IS NULL OR created_at > ?4)
                      AND (?5 IS NULL OR created_at < ?5)
                "#;
                let filter =
                    rusqlite::params![now, query.owner, query.mime_glob, query.after, query.before];
                let total: i64 = c
                    .prepare_cached(&format!("SELECT count(*) FROM pastes {FILTER}"))?
                    .query_row(filter, |row| row.get(0))?;

                let sql = format!(
                    "SELECT {META_COLUMNS} FROM pastes {FILTER} \
                     ORDER BY created_at DESC, rowid DESC LIMIT ?6 OFFSET ?7"
                );
                let offset = i64::try_from(query.offset).unwrap_or(i64::MAX);
                let page = c
                    .prepare_cached(&sql)?
                    .query_map(
                        rusqlite::params![
                            now,
                            query.owner,
                            query.mime_glob,
                            query.after,
                            query.before,
                            query.limit,
                            offset
                        ],
                        meta_from_row,
                    )?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok((page, u64::try_from(total).unwrap_or(0)))
            })
            .await
            .map_err(map_err)
    }

    /// A trivial query on one connection, for readiness checks.
    pub(super) async fn ping(&self) -> Result<(), StorageError> {
        self.pick()
            .call(|c| c.query_row("SELECT count(*) FROM pastes LIMIT 1", [], |_| Ok(())))
            .await
            .map_err(map_err)
    }
}

fn map_err(err: tokio_rusqlite::Error<rusqlite::Error>) -> StorageError {
    match err {
        tokio_rusqlite::Error::Error(err) => err.into(),
        _ => StorageError::Closed,
    }
}
