//! One transaction of the storage writer: the queued operations, run in order, then one commit.
//!
//! Each operation runs inside the transaction and leaves behind a way to answer its caller;
//! the answers go out only after the commit has returned, that is after SQLite has synced the
//! write-ahead log. If any operation or the commit fails, the transaction is rolled back and
//! every caller in it gets the same error: nothing is answered as stored that is not.

use std::time::Instant;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::StorageError;
use super::model::{Expiry, Inserted, NewPaste, Paste, Pragmas, TouchUpdate};
use super::schema::{META_COLUMNS, paste_from_row};
use super::writer::Reply;

/// How often a fresh id is drawn when the drawn one is taken, before the insert fails.
const ID_ATTEMPTS: usize = 16;

/// A queued write and the port its caller waits on.
pub(super) enum Op {
    Insert(NewPaste, Reply<Inserted>),
    Delete(String, Reply<bool>),
    Take(String, Reply<Option<Paste>>),
    Touch(Vec<(String, TouchUpdate)>),
    Purge(i64, Reply<u64>),
    Checkpoint(Reply<()>),
    Pragmas(Reply<Pragmas>),
}

/// Sends a caller its answer once the transaction's fate is known.
type Answer = Box<dyn FnOnce(Option<&StorageError>) + Send>;

impl Op {
    /// Bytes of paste content the operation carries, to bound a transaction's size.
    pub(super) fn content_len(&self) -> usize {
        match self {
            Op::Insert(paste, _) => paste.content.len(),
            _ => 0,
        }
    }

    /// Runs the operation inside `tx`; on success, what to answer after the commit.
    fn execute(self, tx: &Transaction<'_>, ctx: &mut BatchContext) -> Result<Answer, Failed> {
        match self {
            Op::Insert(paste, reply) => match insert(tx, &paste, ctx) {
                Ok(inserted) => {
                    ctx.inserts += 1;
                    Ok(answer(reply, inserted))
                }
                Err(err) => Err(Failed::new(err, reply)),
            },
            Op::Delete(id, reply) => match delete(tx, &id) {
                Ok(existed) => Ok(answer(reply, existed)),
                Err(err) => Err(Failed::new(err, reply)),
            },
            Op::Take(id, reply) => match take(tx, &id) {
                Ok(paste) => Ok(answer(reply, paste)),
                Err(err) => Err(Failed::new(err, reply)),
            },
            Op::Touch(updates) => match touch(tx, &updates) {
                Ok(()) => {
                    ctx.touched += updates.len();
                    Ok(Box::new(|_| {}))
                }
                Err(err) => Err(Failed {
                    error: err.into(),
                    answer: Box::new(|_| {}),
                }),
            },
            Op::Purge(now, reply) => match purge(tx, now) {
                Ok(purged) => {
                    ctx.purged += purged;
                    Ok(answer(reply, purged))
                }
                Err(err) => Err(Failed::new(err, reply)),
            },
            Op::Pragmas(reply) => match pragmas(tx) {
                Ok(found) => Ok(answer(reply, found)),
                Err(err) => Err(Failed::new(err, reply)),
            },
            Op::Checkpoint(reply) => {
                ctx.checkpoints.push(reply);
                Ok(Box::new(|_| {}))
            }
        }
    }

    /// The answer for an operation that never ran because an earlier one failed.
    fn abandon(self) -> Answer {
        match self {
            Op::Insert(_, reply) => failure(reply),
            Op::Delete(_, reply) => failure(reply),
            Op::Take(_, reply) => failure(reply),
            Op::Touch(_) => Box::new(|_| {}),
            Op::Purge(_, reply) => failure(reply),
            Op::Checkpoint(reply) => failure(reply),
            Op::Pragmas(reply) => failure(reply),
        }
    }
}

/// An operation that failed inside the transaction, with the port its caller waits on.
struct Failed {
    error: StorageError,
    answer: Answer,
}

impl Failed {
    fn new<T: Send + 'static>(error: rusqlite::Error, reply: Reply<T>) -> Self {
        Self {
            error: error.into(),
            answer: failure(reply),
        }
    }
}

/// What one transaction did, for its metrics and for work that must follow the commit.
struct BatchContext {
    seq: u64,
    id_length: usize,
    inserts: u64,
    touched: usize,
    purged: u64,
    /// Checkpoints cannot run inside a transaction; they run right after the commit.
    checkpoints: Vec<Reply<()>>,
}

fn answer<T: Send + 'static>(reply: Reply<T>, value: T) -> Answer {
    Box::new(move |failed: Option<&StorageError>| {
        // A caller that stopped waiting (a client that hung up) is no error of ours.
        let _ = reply.send(match failed {
            None => Ok(value),
            Some(err) => Err(err.clone()),
        });
    })
}

fn failure<T: Send + 'static>(reply: Reply<T>) -> Answer {
    Box::new(move |failed: Option<&StorageError>| {
        let err = failed.cloned().unwrap_or(StorageError::Closed);
        let _ = reply.send(Err(err));
    })
}

/// Runs `ops` as one transaction with sequence number `seq`, then answers every caller.
pub(super) fn run_batch(conn: &mut Connection, ops: Vec<Op>, seq: u64, id_length: usize) {
    let started = Instant::now();
    let size = ops.len();
    let mut ctx = BatchContext {
        seq,
        id_length,
        inserts: 0,
        touched: 0,
        purged: 0,
        checkpoints: Vec::new(),
    };

    let (answers, outcome) = execute_all(conn, ops, &mut ctx);
    let elapsed = started.elapsed().as_secs_f64();
    match &outcome {
        Ok(()) => {
            metrics::counter!("flaskpaste_storage_commits_total").increment(1);
            metrics::counter!("flaskpaste_storage_committed_inserts_total").increment(ctx.inserts);
            metrics::counter!("flaskpaste_storage_touched_rows_total")
                .increment(ctx.touched as u64);
            metrics::counter!("flaskpaste_storage_purged_rows_total").increment(ctx.purged);
            metrics::histogram!("flaskpaste_storage_batch_size").record(size as f64);
            metrics::histogram!("flaskpaste_storage_commit_duration_seconds").record(elapsed);
            tracing::debug!(seq, size, elapsed, "storage transaction committed");
        }
        Err(err) => {
            metrics::counter!("flaskpaste_storage_failed_transactions_total").increment(1);
            tracing::error!(seq, size, error = %err, "storage transaction rolled back");
        }
    }
    for answer in answers {
        answer(outcome.as_ref().err());
    }

    for reply in ctx.checkpoints {
        let result = if let Err(err) = &outcome {
            Err(err.clone())
        } else {
            checkpoint(conn).map_err(StorageError::from)
        };
        let _ = reply.send(result);
    }
}

fn execute_all(
    conn: &mut Connection,
    ops: Vec<Op>,
    ctx: &mut BatchContext,
) -> (Vec<Answer>, Result<(), StorageError>) {
    let mut answers = Vec::with_capacity(ops.len());
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(err) => {
            answers.extend(ops.into_iter().map(Op::abandon));
            return (answers, Err(err.into()));
        }
    };

    let mut ops = ops.into_iter();
    for op in ops.by_ref() {
        match op.execute(&tx, ctx) {
            Ok(answer) => answers.push(answer),
            Err(failed) => {
                answers.push(failed.answer);
                answers.extend(ops.map(Op::abandon));
                // Dropping the transaction rolls it back.
                drop(tx);
                return (answers, Err(failed.error));
            }
        }
    }
    let outcome = tx.commit().map_err(StorageError::from);
    (answers, outcome)
}

fn insert(
    tx: &Transaction<'_>,
    paste: &NewPaste,
    ctx: &BatchContext,
) -> rusqlite::Result<Inserted> {
    let (expires_at, ttl) = match paste.expiry {
        Expiry::Sliding { ttl } => (paste.created_at.saturating_add(ttl), Some(ttl)),
        Expiry::Fixed { at } => (at, None),
    };
    let (salt, hash) = match &paste.password {
        Some(password) => (Some(&password.salt), Some(&password.hash)),
        None => (None, None),
    };
    let mut stmt = tx.prepare_cached(
        r#"
        INSERT OR IGNORE INTO pastes
            (id, content, mime_type, size, created_at, last_access, expires_at, ttl,
             burn_after_read, owner, password_salt, password_hash)
        VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
        "#,
    )?;
    for _ in 0..ID_ATTEMPTS {
        let id = new_id(ctx.id_length);
        let inserted = stmt.execute(params![
            id,
            &paste.content[..],
            paste.mime_type,
            i64::try_from(paste.content.len()).unwrap_or(i64::MAX),
            paste.created_at,
            expires_at,
            ttl,
            paste.burn_after_read,
            paste.owner,
            salt,
            hash,
        ])?;
        if inserted == 1 {
            return Ok(Inserted {
                id,
                expires_at,
                commit_seq: ctx.seq,
            });
        }
    }
    Err(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
        Some("no free paste id left at this id length".into()),
    ))
}

/// A fresh random id of `length` lowercase hex characters.
fn new_id(length: usize) -> String {
    let mut bytes = vec![0u8; length.div_ceil(2)];
    rand::fill(&mut bytes[..]);
    let mut id = hex::encode(bytes);
    id.truncate(length);
    id
}

fn delete(tx: &Transaction<'_>, id: &str) -> rusqlite::Result<bool> {
    let deleted = tx
        .prepare_cached("DELETE FROM pastes WHERE id = ?1")?
        .execute([id])?;
    Ok(deleted == 1)
}

fn take(tx: &Transaction<'_>, id: &str) -> rusqlite::Result<Option<Paste>> {
    let sql = format!("DELETE FROM pastes WHERE id = ?1 RETURNING {META_COLUMNS}, content");
    tx.prepare_cached(&sql)?
        .query_row([id], paste_from_row)
        .optional()
}

fn touch(tx: &Transaction<'_>, updates: &[(String, TouchUpdate)]) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        r#"
        UPDATE pastes
        SET last_access = max(last_access, ?2),
            expires_at = CASE WHEN ttl IS NULL THEN expires_at ELSE max(expires_at, ?3) END
        WHERE id = ?1
        "#,
    )?;
    for (id, update) in updates {
        stmt.execute(params![id, update.last_access, update.expires_at])?;
    }
    Ok(())
}

fn purge(tx: &Transaction<'_>, now: i64) -> rusqlite::Result<u64> {
    let purged = tx
        .prepare_cached("DELETE FROM pastes WHERE expires_at < ?1")?
        .execute([now])?;
    Ok(purged as u64)
}

fn pragmas(tx: &Transaction<'_>) -> rusqlite::Result<Pragmas> {
    Ok(Pragmas {
        journal_mode: tx.pragma_query_value(None, "journal_mode", |row| row.get(0))?,
        synchronous: tx.pragma_query_value(None, "synchronous", |row| row.get(0))?,
    })
}

fn checkpoint(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
}
