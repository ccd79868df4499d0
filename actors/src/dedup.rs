//! The duplicate tracker actor: how often the same content was pasted lately, by SHA-256.
//!
//! Counts are kept per content hash over a fixed window that opens with the first paste of that
//! content, across all clients; past `max` pastes inside the window the same content is refused.
//! A refused paste is not counted. Ended windows are swept on a timer, so memory holds only
//! hashes seen within the last window. A restart forgets every count.

use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use sha2::{Digest, Sha256};

use crate::mailbox::{MailboxDepth, ask};

/// How long a caller waits for the tracker.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
use crate::window::FixedWindows;

/// A content hash.
pub type ContentHash = [u8; 32];

/// The SHA-256 of a paste's content.
pub fn content_hash(content: &[u8]) -> ContentHash {
    Sha256::digest(content).into()
}

/// The verdict on one paste.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DedupDecision {
    pub allowed: bool,
    /// Pastes of this content counted in the window.
    pub count: u32,
}

/// Messages the duplicate tracker answers.
pub enum DedupMessage {
    /// Count a paste of this content, unless the window already holds `max` of them.
    Check {
        hash: ContentHash,
        now: i64,
        reply: RpcReplyPort<DedupDecision>,
    },
    /// Forget every window that has ended by `now`.
    Sweep { now: i64 },
    /// How many hashes are tracked.
    GetTracked(RpcReplyPort<usize>),
}

/// Settings of the duplicate tracker.
#[derive(Debug, Clone, Copy)]
pub struct DedupArgs {
    pub window_seconds: i64,
    pub max: u32,
    /// Sweep ended windows on this period, by the wall clock; `None` leaves it to
    /// [`DedupHandle::sweep`].
    pub sweep_every: Option<Duration>,
}

/// The duplicate tracker actor.
pub struct DedupTracker;

pub struct DedupState {
    mailbox: MailboxDepth,
    windows: FixedWindows<ContentHash>,
    max: u32,
}

impl Actor for DedupTracker {
    type Msg = DedupMessage;
    type State = DedupState;
    type Arguments = (DedupArgs, MailboxDepth);

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        (args, mailbox): (DedupArgs, MailboxDepth),
    ) -> Result<Self::State, ActorProcessingErr> {
        // Every distinct paste inside a window is one entry; the sweep, not a cap, bounds them.
        Ok(DedupState {
            mailbox,
            windows: FixedWindows::new(args.window_seconds, usize::MAX),
            max: args.max,
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state.mailbox.received();
        match message {
            DedupMessage::Check { hash, now, reply } => {
                let hit = state.windows.hit(hash, state.max, now);
                let outcome = if hit.allowed { "allowed" } else { "refused" };
                metrics::counter!("flaskpaste_dedup_decisions_total", "outcome" => outcome)
                    .increment(1);
                let _ = reply.send(DedupDecision {
                    allowed: hit.allowed,
                    count: hit.count,
                });
            }
            DedupMessage::Sweep { now } => {
                state.windows.sweep(now);
            }
            DedupMessage::GetTracked(reply) => {
                let _ = reply.send(state.windows.len());
            }
        }
        metrics::gauge!("flaskpaste_dedup_tracked_hashes").set(state.windows.len() as f64);
        Ok(())
    }
}

/// A cheap, cloneable way to talk to the duplicate tracker.
#[derive(Clone)]
pub struct DedupHandle {
    actor: ActorRef<DedupMessage>,
    mailbox: MailboxDepth,
}

impl DedupHandle {
    /// Spawns the tracker, and the timer that sweeps ended windows if one is asked for.
    pub async fn spawn(args: DedupArgs) -> Result<Self, ractor::SpawnErr> {
        let mailbox = MailboxDepth::new("dedup_tracker");
        let (actor, _) = Actor::spawn(None, DedupTracker, (args, mailbox.clone())).await?;
        let handle = Self { actor, mailbox };
        if let Some(period) = args.sweep_every {
            let sweeper = handle.clone();
            crate::clock::every(period, move |now| sweeper.sweep(now));
        }
        Ok(handle)
    }

    /// Counts a paste of this content; a tracker that cannot answer lets the paste through.
    pub async fn check(&self, hash: ContentHash, now: i64) -> DedupDecision {
        let build = |reply| DedupMessage::Check { hash, now, reply };
        match ask(&self.actor, &self.mailbox, ANSWER_TIMEOUT, build).await {
            Some(decision) => decision,
            None => {
                tracing::error!("duplicate tracker did not answer; paste let through");
                DedupDecision {
                    allowed: true,
                    count: 0,
                }
            }
        }
    }

    /// Forgets the counts whose window ended by `now`; answers whether the tracker is there.
    pub fn sweep(&self, now: i64) -> bool {
        self.mailbox.sent();
        self.actor.cast(DedupMessage::Sweep { now }).is_ok()
    }

    pub async fn tracked(&self) -> usize {
        ask(
            &self.actor,
            &self.mailbox,
            ANSWER_TIMEOUT,
            DedupMessage::GetTracked,
        )
        .await
        .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn tracker() -> DedupHandle {
        DedupHandle::spawn(DedupArgs {
            window_seconds: 3600,
            max: 3,
            sweep_every: None,
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn the_fourth_identical_paste_is_refused_and_other_content_passes() {
        let tracker = tracker().await;
        let spam = content_hash(b"buy now");

        let mut decisions = Vec::new();
        for _ in 0..5 {
            decisions.push(tracker.check(spam, 1_000).await);
        }
        let other = tracker.check(content_hash(b"hello"), 1_000).await;

        let allowed: Vec<bool> = decisions.iter().map(|d| d.allowed).collect();
        assert_eq!(allowed, vec![true, true, true, false, false]);
        assert_eq!(decisions[3].count, 3, "refusals are not counted");
        assert!(other.allowed);
    }

    #[tokio::test]
    async fn counts_end_with_their_window_and_are_swept() {
        let tracker = tracker().await;
        let spam = content_hash(b"buy now");
        for _ in 0..3 {
            tracker.check(spam, 1_000).await;
        }

        let inside = tracker.check(spam, 4_599).await;
        tracker.sweep(4_600);
        let tracked = tracker.tracked().await;
        let after = tracker.check(spam, 4_600).await;

        assert!(!inside.allowed);
        assert_eq!(tracked, 0);
        assert!(after.allowed);
    }
}
