//! Mailbox depth of an actor, as a gauge.
//!
//! ractor does not expose how many messages wait in a mailbox, so each handle counts what it
//! sends and each actor what it takes; the difference is the depth, reported as
//! `flaskpaste_actor_mailbox_depth{actor="..."}`.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// The shared counter between an actor's handles and the actor itself.
#[derive(Clone)]
pub struct MailboxDepth {
    actor: &'static str,
    depth: Arc<AtomicI64>,
}

impl MailboxDepth {
    pub fn new(actor: &'static str) -> Self {
        Self {
            actor,
            depth: Arc::new(AtomicI64::new(0)),
        }
    }

    /// A message was put in the mailbox.
    pub fn sent(&self) {
        let depth = self.depth.fetch_add(1, Ordering::Relaxed) + 1;
        self.report(depth);
    }

    /// The actor took a message out.
    pub fn received(&self) {
        let depth = self.depth.fetch_sub(1, Ordering::Relaxed) - 1;
        self.report(depth);
    }

    fn report(&self, depth: i64) {
        metrics::gauge!("flaskpaste_actor_mailbox_depth", "actor" => self.actor)
            .set(depth.max(0) as f64);
    }
}

/// Sends a request to an actor, counting it in `mailbox`, and waits at most `timeout` for the
/// answer; `None` when the actor is gone or late.
pub async fn ask<M: ractor::Message, T: Send + 'static>(
    actor: &ractor::ActorRef<M>,
    mailbox: &MailboxDepth,
    timeout: std::time::Duration,
    build: impl FnOnce(ractor::RpcReplyPort<T>) -> M,
) -> Option<T> {
    mailbox.sent();
    match actor.call(build, Some(timeout)).await {
        Ok(ractor::rpc::CallResult::Success(value)) => Some(value),
        _ => None,
    }
}
