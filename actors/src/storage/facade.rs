//! [`Storage`]: the one handle the HTTP layer holds for pastes.
//!
//! It routes writes to the writer actor and reads to the cache or the read pool, and it owns the
//! two pieces of hot state between them: the moka cache of recently read pastes, and the map of
//! last-access updates not yet written. The effective deadline of a sliding paste is the later of
//! the stored one and the pending update, so an expired paste answers as gone at once and a
//! recently read one does not, whatever the writer has flushed so far.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use moka::future::Cache;

use super::StorageError;
use super::model::{Inserted, ListQuery, NewPaste, Paste, PasteMeta, TouchUpdate};
use super::reader::ReadPool;
use super::writer::WriterHandle;

/// Pastes larger than this are served from the read pool and never cached, so one huge paste
/// cannot flush the cache.
const MAX_CACHED_PASTE: usize = 1024 * 1024;

/// How long a deleted id is kept from the cache: far longer than any read takes.
const DELETED_MEMORY: Duration = Duration::from_secs(60);

/// How storage is set up.
#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// The SQLite file; created with its schema when missing.
    pub path: PathBuf,
    /// Length of new paste ids, in hex characters.
    pub id_length: usize,
    /// Read-only connections in the pool.
    pub read_connections: usize,
    /// Content bytes the hot-paste cache may hold.
    pub cache_bytes: u64,
    /// How often coalesced last-access updates are written.
    pub touch_flush_interval: Duration,
    /// The largest the database file may grow; past it, writes fail as on a full disk.
    pub max_db_bytes: Option<u64>,
}

/// What a readiness check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Health {
    /// A read-pool connection answered a query.
    pub reader: bool,
    /// The writer actor answered a ping.
    pub writer: bool,
    /// The last write the writer attempted succeeded (false on a full disk, say).
    pub writes: bool,
}

/// A cached paste; its deadline moves when it is read.
struct CachedPaste {
    paste: Paste,
    expires_at: AtomicI64,
}

/// The handle to paste storage; cheap to clone.
#[derive(Clone)]
pub struct Storage {
    inner: Arc<Inner>,
}

struct Inner {
    writer: WriterHandle,
    readers: ReadPool,
    cache: Cache<String, Arc<CachedPaste>>,
    /// Last-access updates not yet sent to the writer, one per paste.
    touches: DashMap<String, TouchUpdate>,
    /// Ids deleted in the last minute. A read that loaded a paste just before its deletion
    /// committed must not put it back into the cache, so these are never cached nor served
    /// from the cache.
    deleted: DashMap<String, Instant>,
    flush_interval: Duration,
    /// Whether the last insert failed in the database, for readiness reports.
    writes_failing: AtomicBool,
}

impl Storage {
    /// Opens (or creates) the database, spawns the writer and starts the touch flusher.
    pub async fn open(config: StorageConfig) -> Result<Self, StorageError> {
        let writer =
            WriterHandle::spawn(config.path.clone(), config.id_length, config.max_db_bytes).await?;
        // The writer has created the file and schema, so read-only connections can open it.
        let readers = ReadPool::open(&config.path, config.read_connections).await?;
        let cache = Cache::builder()
            .weigher(|_: &String, cached: &Arc<CachedPaste>| {
                u32::try_from(cached.paste.content.len() + 256).unwrap_or(u32::MAX)
            })
            .max_capacity(config.cache_bytes)
            .build();
        let storage = Self {
            inner: Arc::new(Inner {
                writer,
                readers,
                cache,
                touches: DashMap::new(),
                deleted: DashMap::new(),
                flush_interval: config.touch_flush_interval,
                writes_failing: AtomicBool::new(false),
            }),
        };
        storage.spawn_touch_flusher();
        Ok(storage)
    }

    /// The writer's handle, for its statistics and settings.
    pub fn writer(&self) -> &WriterHandle {
        &self.inner.writer
    }

    /// Stores a paste; answers once it is synced to disk.
    pub async fn insert(&self, paste: NewPaste) -> Result<Inserted, StorageError> {
        let inserted = self.inner.writer.insert(paste).await;
        let failing = matches!(inserted, Err(StorageError::Database(_)));
        self.inner.writes_failing.store(failing, Ordering::Relaxed);
        inserted
    }

    /// A live paste's metadata, with its current deadline.
    pub async fn metadata(&self, id: &str, now: i64) -> Result<Option<PasteMeta>, StorageError> {
        if let Some(cached) = self.cached(id).await {
            return Ok(self.live(cached.paste.meta.clone(), &cached, now));
        }
        let Some(mut meta) = self.inner.readers.metadata(id).await? else {
            return Ok(None);
        };
        meta.expires_at = self.pending_deadline(&meta);
        Ok((!meta.is_expired(now)).then_some(meta))
    }

    /// A live paste with its bytes. A burn-after-read paste is returned without being burned;
    /// [`Self::take_for_burn`] is what consumes it.
    pub async fn paste(&self, id: &str, now: i64) -> Result<Option<Paste>, StorageError> {
        if let Some(cached) = self.cached(id).await {
            metrics::counter!("flaskpaste_cache_hits_total").increment(1);
            let content = cached.paste.content.clone();
            return Ok(self
                .live(cached.paste.meta.clone(), &cached, now)
                .map(|meta| Paste { meta, content }));
        }
        metrics::counter!("flaskpaste_cache_misses_total").increment(1);

        let Some(mut paste) = self.inner.readers.paste(id).await? else {
            return Ok(None);
        };
        paste.meta.expires_at = self.pending_deadline(&paste.meta);
        if paste.meta.is_expired(now) {
            return Ok(None);
        }
        let cacheable = !paste.meta.burn_after_read
            && paste.content.len() <= MAX_CACHED_PASTE
            && !self.inner.deleted.contains_key(id);
        if cacheable {
            let cached = Arc::new(CachedPaste {
                expires_at: AtomicI64::new(paste.meta.expires_at),
                paste: paste.clone(),
            });
            self.inner.cache.insert(id.to_owned(), cached).await;
        }
        Ok(Some(paste))
    }

    /// The live pastes `query` selects, newest first, and how many match in all.
    ///
    /// Pending last-access updates are written first, so that a paste kept alive by recent
    /// reads is listed as alive; a listing waits for one commit for that.
    pub async fn list(
        &self,
        query: ListQuery,
        now: i64,
    ) -> Result<(Vec<PasteMeta>, u64), StorageError> {
        self.flush_touches();
        self.inner.writer.flush().await?;
        self.inner.readers.list(query, now).await
    }

    /// Deletes a burn-after-read paste and returns it, if it was still live: of any number of
    /// concurrent calls for one id, at most one gets the paste.
    pub async fn take_for_burn(&self, id: &str, now: i64) -> Result<Option<Paste>, StorageError> {
        self.inner.cache.invalidate(id).await;
        let Some(mut paste) = self.inner.writer.take_for_burn(id.to_owned()).await? else {
            return Ok(None);
        };
        paste.meta.expires_at = self.pending_deadline(&paste.meta);
        self.inner.touches.remove(id);
        Ok((!paste.meta.is_expired(now)).then_some(paste))
    }

    /// Deletes a paste; answers whether it existed.
    pub async fn delete(&self, id: &str) -> Result<bool, StorageError> {
        self.inner.deleted.insert(id.to_owned(), Instant::now());
        let existed = self.inner.writer.delete(id.to_owned()).await;
        self.inner.cache.invalidate(id).await;
        self.inner.touches.remove(id);
        if existed.is_err() {
            self.inner.deleted.remove(id);
        }
        existed
    }

    /// The cached copy of a paste, unless it was deleted lately.
    async fn cached(&self, id: &str) -> Option<Arc<CachedPaste>> {
        if self.inner.deleted.contains_key(id) {
            return None;
        }
        self.inner.cache.get(id).await
    }

    /// Records a read of the paste at `now`: its last access moves, and so does the deadline of
    /// a sliding paste. The update reaches the database with the next flush. Answers the
    /// paste's deadline after the read.
    pub async fn touch(&self, meta: &PasteMeta, now: i64) -> i64 {
        let expires_at = match meta.ttl {
            Some(ttl) => now.saturating_add(ttl),
            None => meta.expires_at,
        };
        let update = TouchUpdate {
            last_access: now,
            expires_at,
        };
        self.inner
            .touches
            .entry(meta.id.clone())
            .and_modify(|pending| {
                pending.last_access = pending.last_access.max(now);
                pending.expires_at = pending.expires_at.max(expires_at);
            })
            .or_insert(update);
        if let Some(cached) = self.inner.cache.get(&meta.id).await {
            cached.expires_at.fetch_max(expires_at, Ordering::Relaxed);
        }
        expires_at.max(meta.expires_at)
    }

    /// Sends the pending last-access updates to the writer as one batch.
    pub fn flush_touches(&self) {
        self.inner
            .deleted
            .retain(|_, at| at.elapsed() < DELETED_MEMORY);
        let keys: Vec<String> = self.inner.touches.iter().map(|e| e.key().clone()).collect();
        let updates: Vec<(String, TouchUpdate)> = keys
            .into_iter()
            .filter_map(|id| self.inner.touches.remove(&id))
            .collect();
        if updates.is_empty() {
            return;
        }
        metrics::counter!("flaskpaste_storage_touch_batches_total").increment(1);
        if let Err(err) = self.inner.writer.touch(updates) {
            tracing::warn!(error = %err, "last-access updates dropped");
        }
    }

    /// Deletes every paste past its deadline; answers how many.
    pub async fn purge_expired(&self, now: i64) -> Result<u64, StorageError> {
        // Pending reads may have moved deadlines: write them first (the mailbox keeps order).
        self.flush_touches();
        let purged = self.inner.writer.purge_expired(now).await?;
        self.inner.cache.run_pending_tasks().await;
        Ok(purged)
    }

    /// Checks that a read connection and the writer both answer.
    pub async fn health(&self) -> Health {
        let (reader, writer) = tokio::join!(self.inner.readers.ping(), self.inner.writer.ping());
        Health {
            reader: reader.is_ok(),
            writer: writer.is_ok(),
            writes: !self.inner.writes_failing.load(Ordering::Relaxed),
        }
    }

    /// Writes what is pending, checkpoints the log and stops the writer.
    pub async fn shutdown(&self) -> Result<(), StorageError> {
        self.flush_touches();
        self.inner.writer.flush().await?;
        self.inner.writer.checkpoint().await?;
        self.inner.writer.stop().await;
        Ok(())
    }

    /// The cached metadata with its current deadline, or `None` once it has passed.
    fn live(&self, mut meta: PasteMeta, cached: &CachedPaste, now: i64) -> Option<PasteMeta> {
        meta.expires_at = cached.expires_at.load(Ordering::Relaxed);
        (!meta.is_expired(now)).then_some(meta)
    }

    /// The stored deadline, or a later one from a read not yet flushed.
    fn pending_deadline(&self, meta: &PasteMeta) -> i64 {
        match (meta.ttl, self.inner.touches.get(&meta.id)) {
            (Some(_), Some(pending)) => meta.expires_at.max(pending.expires_at),
            _ => meta.expires_at,
        }
    }

    fn spawn_touch_flusher(&self) {
        // A weak reference, so that the timer ends once the last handle is dropped.
        let weak = Arc::downgrade(&self.inner);
        crate::clock::every(self.inner.flush_interval, move |_| {
            let Some(inner) = weak.upgrade() else {
                return false;
            };
            Storage { inner }.flush_touches();
            true
        });
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::storage::model::Expiry;

    async fn storage() -> (Storage, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(StorageConfig {
            path: dir.path().join("paste.db"),
            id_length: 12,
            read_connections: 2,
            cache_bytes: 1024 * 1024,
            // Flushes happen only when a test asks for them.
            touch_flush_interval: Duration::from_secs(3600),
            max_db_bytes: None,
        })
        .await
        .unwrap();
        (storage, dir)
    }

    fn sliding(content: &str, created_at: i64, ttl: i64) -> NewPaste {
        NewPaste {
            content: Bytes::from(content.to_owned()),
            mime_type: "text/plain".into(),
            created_at,
            expiry: Expiry::Sliding { ttl },
            burn_after_read: false,
            owner: None,
            password: None,
        }
    }

    #[tokio::test]
    async fn a_thousand_reads_reach_the_writer_as_one_touch_batch() {
        let (storage, dir) = storage().await;
        let mut ids = Vec::new();
        for i in 0..3 {
            ids.push(
                storage
                    .insert(sliding(&format!("hot {i}"), 1_000, 100))
                    .await
                    .unwrap()
                    .id,
            );
        }

        for read in 0..1000 {
            let id = &ids[read % ids.len()];
            let paste = storage.paste(id, 1_050).await.unwrap().expect("live paste");
            storage.touch(&paste.meta, 1_050).await;
        }
        let before_flush = storage.writer().stats().await.unwrap().touch_batches;
        storage.flush_touches();
        storage.writer().flush().await.unwrap();
        let stats = storage.writer().stats().await.unwrap();

        assert_eq!(before_flush, 0, "no read wrote on its own");
        assert_eq!(stats.touch_batches, 1);
        let conn = rusqlite::Connection::open(dir.path().join("paste.db")).unwrap();
        let (last_access, expires_at): (i64, i64) = conn
            .query_row(
                "SELECT last_access, expires_at FROM pastes WHERE id = ?1",
                [&ids[0]],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((last_access, expires_at), (1_050, 1_150));
    }

    #[tokio::test]
    async fn an_expired_paste_is_gone_before_any_cleanup() {
        let (storage, _dir) = storage().await;
        let mut fixed = sliding("fixed", 1_000, 0);
        fixed.expiry = Expiry::Fixed { at: 1_010 };
        let id = storage.insert(fixed).await.unwrap().id;

        let at_deadline = storage.paste(&id, 1_010).await.unwrap();
        let past = storage.paste(&id, 1_011).await.unwrap();
        let meta_past = storage.metadata(&id, 1_011).await.unwrap();

        assert!(at_deadline.is_some(), "served through its last second");
        assert!(past.is_none(), "served from the cache past its deadline");
        assert!(meta_past.is_none());
    }

    #[tokio::test]
    async fn a_read_not_yet_flushed_keeps_a_sliding_paste_alive() {
        let (storage, _dir) = storage().await;
        let id = storage
            .insert(sliding("slides", 1_000, 100))
            .await
            .unwrap()
            .id;
        let meta = storage.metadata(&id, 1_090).await.unwrap().unwrap();

        let deadline = storage.touch(&meta, 1_090).await;
        storage.inner.cache.invalidate(&id).await;

        assert_eq!(deadline, 1_190);
        assert!(storage.metadata(&id, 1_150).await.unwrap().is_some());
        assert!(storage.paste(&id, 1_150).await.unwrap().is_some());
        assert!(storage.paste(&id, 1_191).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_read_racing_a_delete_cannot_bring_the_paste_back_from_the_cache() {
        let (storage, _dir) = storage().await;
        let id = storage
            .insert(sliding("doomed", 1_000, 100))
            .await
            .unwrap()
            .id;
        let loaded = storage.paste(&id, 1_001).await.unwrap().unwrap();

        storage.delete(&id).await.unwrap();
        // What a read that loaded the row just before the commit would put back.
        let stale = Arc::new(CachedPaste {
            expires_at: AtomicI64::new(loaded.meta.expires_at),
            paste: loaded,
        });
        storage.inner.cache.insert(id.clone(), stale).await;

        assert!(storage.paste(&id, 1_002).await.unwrap().is_none());
        assert!(storage.metadata(&id, 1_002).await.unwrap().is_none());
    }
}
