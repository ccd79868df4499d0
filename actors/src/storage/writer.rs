//! The storage writer actor: the only owner of the SQLite write connection.
//!
//! Every write (insert, delete, take-for-burn, last-access updates, cleanup) is a message. The
//! actor queues what arrives and runs the queue as one transaction on a blocking thread; whatever
//! arrives while that transaction commits waits in the queue and goes into the next one (group
//! commit), so a burst of creators shares one fsync instead of paying one each. A caller is
//! answered only after the transaction holding its operation is committed and synced. A caller
//! that has gone away (a client that hung up) simply drops its reply port: the operation still
//! commits and the unanswered reply is discarded.
//!
//! A restart loses nothing that was answered: the queue holds only unanswered operations.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use rusqlite::Connection;

use super::StorageError;
use super::batch::{Op, run_batch};
use super::model::{Inserted, NewPaste, Paste, Pragmas, TouchUpdate};
use super::schema;
use crate::mailbox::MailboxDepth;

/// At most this many operations go into one transaction.
const MAX_BATCH_OPS: usize = 1024;
/// At most this many content bytes go into one transaction (a batch always takes one operation).
const MAX_BATCH_BYTES: usize = 64 * 1024 * 1024;
/// How long a caller waits for its transaction before giving up on the answer.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

pub(super) type Reply<T> = RpcReplyPort<Result<T, StorageError>>;

/// Messages the storage writer answers.
pub enum StorageWriterMessage {
    /// Store a new paste under a fresh id.
    Insert(NewPaste, Reply<Inserted>),
    /// Delete a paste; answers whether it existed.
    Delete(String, Reply<bool>),
    /// Delete a paste and hand back what it held, atomically: of concurrent takes of one id,
    /// exactly one gets the paste.
    TakeForBurn(String, Reply<Option<Paste>>),
    /// Apply coalesced last-access updates; nobody waits for them.
    Touch(Vec<(String, TouchUpdate)>),
    /// Delete every paste whose deadline is before the given second; answers how many.
    PurgeExpired(i64, Reply<u64>),
    /// Copy the write-ahead log into the database file and truncate it.
    Checkpoint(Reply<()>),
    /// Report the connection's durability settings.
    GetPragmas(Reply<Pragmas>),
    /// Report the queue and commit counters.
    GetStats(RpcReplyPort<WriterStats>),
    /// Answer once everything queued before this message is committed.
    Flush(RpcReplyPort<()>),
    /// Answer at once: the actor is alive and reading its mailbox.
    Ping(RpcReplyPort<()>),
    /// A transaction has finished and hands the connection back.
    BatchFinished(BatchFinished),
}

/// The connection coming back from the blocking thread that ran a transaction.
pub struct BatchFinished {
    conn: Option<Connection>,
}

/// A snapshot of the writer's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterStats {
    /// A transaction is running on the blocking thread.
    pub in_flight: bool,
    /// Operations waiting for the next transaction.
    pub queued: usize,
    /// Transactions committed since start.
    pub commits: u64,
    /// Batches of last-access updates received since start.
    pub touch_batches: u64,
}

/// Start-up arguments of the writer: the connection, opened by [`WriterHandle::spawn`] so that
/// a bad path is reported as such.
pub struct WriterArgs {
    conn: Connection,
    id_length: usize,
    mailbox: MailboxDepth,
}

/// The storage writer actor; it holds no settings, its state holds the connection.
pub struct StorageWriter;

/// The writer's state: the connection when no transaction holds it, and the queue.
pub struct StorageWriterState {
    conn: Option<Connection>,
    queue: VecDeque<Op>,
    flush_waiters: Vec<(u64, RpcReplyPort<()>)>,
    id_length: usize,
    /// Sequence number the next transaction will carry.
    next_seq: u64,
    /// Operations ever queued, and how many of them were handed to a transaction; a flush waits
    /// until the second reaches what the first was when it arrived.
    enqueued: u64,
    dispatched: u64,
    /// Operations in the transaction now running (0 when none runs).
    in_flight_ops: u64,
    commits: u64,
    touch_batches: u64,
    mailbox: MailboxDepth,
}

/// A cheap, cloneable way to talk to the storage writer.
#[derive(Clone)]
pub struct WriterHandle {
    actor: ActorRef<StorageWriterMessage>,
    mailbox: MailboxDepth,
}

impl WriterHandle {
    /// Spawns the writer on the database at `path`, creating it if needed. New ids have
    /// `id_length` hex characters; `max_db_bytes` caps the file's size (writes past it fail as
    /// on a full disk).
    pub async fn spawn(
        path: PathBuf,
        id_length: usize,
        max_db_bytes: Option<u64>,
    ) -> Result<Self, StorageError> {
        let shown = path.display().to_string();
        let conn = tokio::task::spawn_blocking(move || schema::open_writer(&path, max_db_bytes))
            .await
            .map_err(|_| StorageError::Closed)?
            .map_err(|err| StorageError::Database(format!("{shown}: {err}")))?;
        let mailbox = MailboxDepth::new("storage_writer");
        let args = WriterArgs {
            conn,
            id_length,
            mailbox: mailbox.clone(),
        };
        let (actor, _) = Actor::spawn(None, StorageWriter, args)
            .await
            .map_err(|err| {
                StorageError::Database(format!("storage writer did not start: {err}"))
            })?;
        Ok(Self { actor, mailbox })
    }

    pub async fn insert(&self, paste: NewPaste) -> Result<Inserted, StorageError> {
        self.call(|reply| StorageWriterMessage::Insert(paste, reply))
            .await?
    }

    pub async fn delete(&self, id: String) -> Result<bool, StorageError> {
        self.call(|reply| StorageWriterMessage::Delete(id, reply))
            .await?
    }

    pub async fn take_for_burn(&self, id: String) -> Result<Option<Paste>, StorageError> {
        self.call(|reply| StorageWriterMessage::TakeForBurn(id, reply))
            .await?
    }

    pub async fn purge_expired(&self, now: i64) -> Result<u64, StorageError> {
        self.call(|reply| StorageWriterMessage::PurgeExpired(now, reply))
            .await?
    }

    pub async fn checkpoint(&self) -> Result<(), StorageError> {
        self.call(StorageWriterMessage::Checkpoint).await?
    }

    pub async fn pragmas(&self) -> Result<Pragmas, StorageError> {
        self.call(StorageWriterMessage::GetPragmas).await?
    }

    pub async fn stats(&self) -> Result<WriterStats, StorageError> {
        self.call(StorageWriterMessage::GetStats).await
    }

    pub async fn flush(&self) -> Result<(), StorageError> {
        self.call(StorageWriterMessage::Flush).await
    }

    pub async fn ping(&self) -> Result<(), StorageError> {
        self.call(StorageWriterMessage::Ping).await
    }

    /// Queues last-access updates without waiting for them.
    pub fn touch(&self, updates: Vec<(String, TouchUpdate)>) -> Result<(), StorageError> {
        self.mailbox_sent();
        self.actor
            .cast(StorageWriterMessage::Touch(updates))
            .map_err(|_| StorageError::Closed)
    }

    /// Stops the actor once its mailbox is read; call [`Self::flush`] first to commit the queue.
    pub async fn stop(&self) {
        let _ = self.actor.stop_and_wait(None, Some(CALL_TIMEOUT)).await;
    }

    async fn call<T: Send + 'static>(
        &self,
        build: impl FnOnce(RpcReplyPort<T>) -> StorageWriterMessage,
    ) -> Result<T, StorageError> {
        self.mailbox_sent();
        match self.actor.call(build, Some(CALL_TIMEOUT)).await {
            Ok(ractor::rpc::CallResult::Success(value)) => Ok(value),
            Ok(ractor::rpc::CallResult::Timeout) => Err(StorageError::Timeout),
            Ok(ractor::rpc::CallResult::SenderError) | Err(_) => Err(StorageError::Closed),
        }
    }

    fn mailbox_sent(&self) {
        self.mailbox.sent();
    }
}

impl Actor for StorageWriter {
    type Msg = StorageWriterMessage;
    type State = StorageWriterState;
    type Arguments = WriterArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: WriterArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(StorageWriterState {
            conn: Some(args.conn),
            queue: VecDeque::new(),
            flush_waiters: Vec::new(),
            id_length: args.id_length,
            next_seq: 1,
            enqueued: 0,
            dispatched: 0,
            in_flight_ops: 0,
            commits: 0,
            touch_batches: 0,
            mailbox: args.mailbox,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        if !matches!(message, StorageWriterMessage::BatchFinished(_)) {
            state.mailbox.received();
        }
        match message {
            StorageWriterMessage::Insert(paste, reply) => state.enqueue(Op::Insert(paste, reply)),
            StorageWriterMessage::Delete(id, reply) => state.enqueue(Op::Delete(id, reply)),
            StorageWriterMessage::TakeForBurn(id, reply) => state.enqueue(Op::Take(id, reply)),
            StorageWriterMessage::Touch(updates) => {
                state.touch_batches += 1;
                state.enqueue(Op::Touch(updates));
            }
            StorageWriterMessage::PurgeExpired(now, reply) => state.enqueue(Op::Purge(now, reply)),
            StorageWriterMessage::Checkpoint(reply) => state.enqueue(Op::Checkpoint(reply)),
            StorageWriterMessage::GetPragmas(reply) => state.enqueue(Op::Pragmas(reply)),
            StorageWriterMessage::GetStats(reply) => {
                let _ = reply.send(state.stats());
            }
            StorageWriterMessage::Flush(reply) => state.wait_for_flush(reply),
            StorageWriterMessage::Ping(reply) => {
                let _ = reply.send(());
            }
            StorageWriterMessage::BatchFinished(finished) => {
                let Some(conn) = finished.conn else {
                    return Err("a storage transaction panicked and took the connection".into());
                };
                state.conn = Some(conn);
                state.in_flight_ops = 0;
                state.commits += 1;
                state.release_flush_waiters();
            }
        }
        state.start_batch(&myself);
        Ok(())
    }
}

impl StorageWriterState {
    fn enqueue(&mut self, op: Op) {
        self.queue.push_back(op);
        self.enqueued += 1;
        metrics::gauge!("flaskpaste_storage_queued_ops").set(self.queue.len() as f64);
    }

    fn stats(&self) -> WriterStats {
        WriterStats {
            in_flight: self.conn.is_none(),
            queued: self.queue.len(),
            commits: self.commits,
            touch_batches: self.touch_batches,
        }
    }

    fn wait_for_flush(&mut self, reply: RpcReplyPort<()>) {
        self.flush_waiters.push((self.enqueued, reply));
        self.release_flush_waiters();
    }

    /// Answers the flushes whose operations have all been committed.
    fn release_flush_waiters(&mut self) {
        let committed = self.dispatched - self.in_flight_ops;
        let (ready, waiting) = std::mem::take(&mut self.flush_waiters)
            .into_iter()
            .partition(|(needed, _)| *needed <= committed);
        self.flush_waiters = waiting;
        for (_, reply) in ready {
            let _ = reply.send(());
        }
    }

    /// Hands the queue to a blocking thread as one transaction, if the connection is free.
    fn start_batch(&mut self, myself: &ActorRef<StorageWriterMessage>) {
        if self.queue.is_empty() {
            return;
        }
        let Some(mut conn) = self.conn.take() else {
            return;
        };

        let ops = self.take_batch();
        let seq = self.next_seq;
        self.next_seq += 1;
        self.dispatched += ops.len() as u64;
        self.in_flight_ops = ops.len() as u64;
        metrics::gauge!("flaskpaste_storage_queued_ops").set(self.queue.len() as f64);

        let id_length = self.id_length;
        let task = tokio::task::spawn_blocking(move || {
            run_batch(&mut conn, ops, seq, id_length);
            conn
        });
        let myself = myself.clone();
        tokio::spawn(async move {
            let conn = task.await.ok();
            let _ = myself.cast(StorageWriterMessage::BatchFinished(BatchFinished { conn }));
        });
    }

    fn take_batch(&mut self) -> Vec<Op> {
        let mut ops = Vec::new();
        let mut bytes = 0;
        while let Some(op) = self.queue.front() {
            let size = op.content_len();
            if !ops.is_empty() && (ops.len() >= MAX_BATCH_OPS || bytes + size > MAX_BATCH_BYTES) {
                break;
            }
            bytes += size;
            ops.extend(self.queue.pop_front());
        }
        ops
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use rusqlite::Connection;

    use super::*;
    use crate::storage::model::Expiry;

    fn paste(content: &str) -> NewPaste {
        NewPaste {
            content: Bytes::from(content.to_owned()),
            mime_type: "text/plain".into(),
            created_at: 1_000,
            expiry: Expiry::Sliding { ttl: 100 },
            burn_after_read: false,
            owner: None,
            password: None,
        }
    }

    async fn writer() -> (WriterHandle, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let writer = WriterHandle::spawn(dir.path().join("paste.db"), 12, None)
            .await
            .unwrap();
        (writer, dir)
    }

    async fn wait_for(writer: &WriterHandle, check: impl Fn(WriterStats) -> bool) {
        for _ in 0..1000 {
            if check(writer.stats().await.unwrap()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("writer never reached the expected state");
    }

    #[tokio::test]
    async fn the_write_connection_syncs_every_commit() {
        let (writer, _dir) = writer().await;

        let pragmas = writer.pragmas().await.unwrap();

        assert_eq!(pragmas.journal_mode, "wal");
        assert_eq!(pragmas.synchronous, 2, "synchronous=FULL");
    }

    #[tokio::test]
    async fn inserts_that_arrive_during_a_commit_share_the_next_transaction() {
        let (writer, dir) = writer().await;
        // Another connection holds the write lock, so the first transaction cannot finish.
        let blocker = Connection::open(dir.path().join("paste.db")).unwrap();
        blocker.execute_batch("BEGIN IMMEDIATE").unwrap();

        let first = tokio::spawn({
            let writer = writer.clone();
            async move { writer.insert(paste("first")).await }
        });
        wait_for(&writer, |stats| stats.in_flight).await;
        let later: Vec<_> = (0..10)
            .map(|i| {
                let writer = writer.clone();
                tokio::spawn(async move { writer.insert(paste(&format!("later {i}"))).await })
            })
            .collect();
        wait_for(&writer, |stats| stats.queued == 10).await;
        blocker.execute_batch("COMMIT").unwrap();

        let first = first.await.unwrap().unwrap();
        let mut later_seqs = Vec::new();
        for insert in later {
            later_seqs.push(insert.await.unwrap().unwrap().commit_seq);
        }
        assert!(
            later_seqs.iter().all(|seq| *seq == first.commit_seq + 1),
            "{later_seqs:?}"
        );
        // Callers are answered from the commit itself; the counter moves when the connection
        // is handed back, which a flush waits for.
        writer.flush().await.unwrap();
        assert_eq!(writer.stats().await.unwrap().commits, 2);
    }

    fn count_rows(dir: &tempfile::TempDir) -> i64 {
        let conn = Connection::open(dir.path().join("paste.db")).unwrap();
        conn.query_row("SELECT count(*) FROM pastes", [], |r| r.get(0))
            .unwrap()
    }

    #[tokio::test]
    async fn a_caller_that_hangs_up_does_not_hurt_the_writer() {
        let (writer, dir) = writer().await;
        let blocker = Connection::open(dir.path().join("paste.db")).unwrap();
        blocker.execute_batch("BEGIN IMMEDIATE").unwrap();

        let abandoned = tokio::spawn({
            let writer = writer.clone();
            async move { writer.insert(paste("nobody waits")).await }
        });
        wait_for(&writer, |stats| stats.in_flight).await;
        abandoned.abort();
        blocker.execute_batch("COMMIT").unwrap();
        let kept = writer.insert(paste("still works")).await;

        assert!(kept.is_ok());
        assert_eq!(
            count_rows(&dir),
            2,
            "the abandoned paste was committed all the same"
        );
    }

    #[tokio::test]
    async fn of_concurrent_takes_exactly_one_gets_the_paste() {
        let (writer, _dir) = writer().await;
        let id = writer.insert(paste("burn me")).await.unwrap().id;

        let takes: Vec<_> = (0..32)
            .map(|_| {
                let writer = writer.clone();
                let id = id.clone();
                tokio::spawn(async move { writer.take_for_burn(id).await })
            })
            .collect();
        let mut taken = 0;
        for take in takes {
            if take.await.unwrap().unwrap().is_some() {
                taken += 1;
            }
        }

        assert_eq!(taken, 1);
    }

    #[tokio::test]
    async fn purge_deletes_only_what_has_expired() {
        let (writer, _dir) = writer().await;
        let old = writer.insert(paste("old")).await.unwrap();
        let mut fresh = paste("fresh");
        fresh.expiry = Expiry::Fixed { at: 5_000 };
        writer.insert(fresh).await.unwrap();

        let still_live = writer.purge_expired(old.expires_at).await.unwrap();
        let purged = writer.purge_expired(old.expires_at + 1).await.unwrap();

        assert_eq!(still_live, 0, "a paste lives through its last second");
        assert_eq!(purged, 1);
        assert!(writer.take_for_burn(old.id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn flush_answers_only_once_everything_before_it_is_committed() {
        let (writer, dir) = writer().await;
        let blocker = Connection::open(dir.path().join("paste.db")).unwrap();
        blocker.execute_batch("BEGIN IMMEDIATE").unwrap();

        let inserts: Vec<_> = (0..6)
            .map(|i| {
                let writer = writer.clone();
                tokio::spawn(async move { writer.insert(paste(&format!("p{i}"))).await })
            })
            .collect();
        wait_for(&writer, |stats| stats.in_flight && stats.queued >= 1).await;
        wait_for(&writer, |stats| {
            stats.queued + usize::from(stats.in_flight) >= 2
        })
        .await;
        let flush = tokio::spawn({
            let writer = writer.clone();
            async move { writer.flush().await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let finished_while_blocked = flush.is_finished();
        blocker.execute_batch("COMMIT").unwrap();
        flush.await.unwrap().unwrap();
        let committed = count_rows(&dir);

        assert!(!finished_while_blocked, "flush answered before the commit");
        for insert in inserts {
            insert.await.unwrap().unwrap();
        }
        assert!(
            committed >= 2,
            "flush returned with {committed} rows committed"
        );
    }
}
