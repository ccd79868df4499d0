//! The rate limiter actor: per-client fixed windows for the endpoints that create something.
//!
//! A window opens with a key's first counted request and lasts `window` seconds; inside it at
//! most `limit` requests pass. The actor is the only owner of the windows, so a check and its
//! count are one step: of N parallel requests exactly `limit` pass and `remaining` never repeats.
//! Keys are the client's IPv4 address or the /64 of its IPv6 address (one host holds a whole
//! /64), per budget. Memory stays bounded by sweeping windows that have ended, never by
//! evicting live ones (an attacker spraying addresses must not reset its own window): past
//! `max_keys` tracked keys a new key is refused until a sweep frees room.
//!
//! A restart forgets every window; clients then start afresh.

use std::net::IpAddr;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use crate::mailbox::{MailboxDepth, ask};

/// How long a caller waits for the limiter.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
use crate::window::FixedWindows;

/// Which budget a request draws on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Budget {
    /// `POST /`.
    Paste,
    /// Certificate requests: `/register`, `/csr`, `/pki/issue`.
    Certificate,
}

/// Where the requests of one client are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateKey {
    budget: Budget,
    network: Network,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Network {
    V4(u32),
    /// The upper 64 bits of the address.
    V6(u64),
    Unknown,
}

impl RateKey {
    pub fn new(budget: Budget, ip: Option<IpAddr>) -> Self {
        let network = match ip {
            Some(IpAddr::V4(v4)) => Network::V4(u32::from(v4)),
            Some(IpAddr::V6(v6)) => Network::V6((u128::from(v6) >> 64) as u64),
            None => Network::Unknown,
        };
        Self { budget, network }
    }
}

/// The verdict on one request, with what the `X-RateLimit-*` headers show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Unix second at which the window ends.
    pub reset: i64,
    /// Seconds until trying again makes sense (for `Retry-After`), at least 1.
    pub retry_after: i64,
}

/// Messages the rate limiter answers.
pub enum RateLimiterMessage {
    /// Count a request against `key`'s window, if `limit` allows it.
    Check {
        key: RateKey,
        limit: u32,
        now: i64,
        reply: RpcReplyPort<RateDecision>,
    },
    /// Forget every window that has ended by `now`.
    Sweep { now: i64 },
    /// How many keys are tracked.
    GetTrackedKeys(RpcReplyPort<usize>),
}

/// Settings of the rate limiter.
#[derive(Debug, Clone, Copy)]
pub struct RateLimiterArgs {
    pub window_seconds: i64,
    pub max_keys: usize,
    /// Sweep ended windows on this period, by the wall clock; `None` leaves sweeping to
    /// [`RateLimiterHandle::sweep`].
    pub sweep_every: Option<Duration>,
}

/// The rate limiter actor.
pub struct RateLimiter;

pub struct RateLimiterState {
    mailbox: MailboxDepth,
    windows: FixedWindows<RateKey>,
}

impl Actor for RateLimiter {
    type Msg = RateLimiterMessage;
    type State = RateLimiterState;
    type Arguments = (RateLimiterArgs, MailboxDepth);

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        (settings, mailbox): (RateLimiterArgs, MailboxDepth),
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(RateLimiterState {
            mailbox,
            windows: FixedWindows::new(settings.window_seconds, settings.max_keys),
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
            RateLimiterMessage::Check {
                key,
                limit,
                now,
                reply,
            } => {
                let decision = state.check(key, limit, now);
                let outcome = if decision.allowed {
                    "allowed"
                } else {
                    "refused"
                };
                metrics::counter!("flaskpaste_rate_limit_decisions_total", "outcome" => outcome)
                    .increment(1);
                let _ = reply.send(decision);
            }
            RateLimiterMessage::Sweep { now } => state.sweep(now),
            RateLimiterMessage::GetTrackedKeys(reply) => {
                let _ = reply.send(state.windows.len());
            }
        }
        metrics::gauge!("flaskpaste_rate_limit_tracked_keys").set(state.windows.len() as f64);
        Ok(())
    }
}

impl RateLimiterState {
    fn check(&mut self, key: RateKey, limit: u32, now: i64) -> RateDecision {
        let hit = self.windows.hit(key, limit, now);
        RateDecision {
            allowed: hit.allowed,
            limit,
            remaining: if hit.allowed {
                limit.saturating_sub(hit.count)
            } else {
                0
            },
            reset: hit.reset,
            retry_after: (hit.reset - now).max(1),
        }
    }

    fn sweep(&mut self, now: i64) {
        let swept = self.windows.sweep(now);
        if swept > 0 {
            tracing::debug!(swept, tracked = self.windows.len(), "rate windows swept");
        }
    }
}

/// A cheap, cloneable way to talk to the rate limiter.
#[derive(Clone)]
pub struct RateLimiterHandle {
    actor: ActorRef<RateLimiterMessage>,
    mailbox: MailboxDepth,
}

impl RateLimiterHandle {
    /// Spawns the limiter, and the timer that sweeps ended windows if one is asked for.
    pub async fn spawn(settings: RateLimiterArgs) -> Result<Self, ractor::SpawnErr> {
        let mailbox = MailboxDepth::new("rate_limiter");
        let (actor, _) = Actor::spawn(None, RateLimiter, (settings, mailbox.clone())).await?;
        let handle = Self { actor, mailbox };
        if let Some(period) = settings.sweep_every {
            let sweeper = handle.clone();
            crate::clock::every(period, move |now| sweeper.sweep(now));
        }
        Ok(handle)
    }

    /// Counts a request; a limiter that cannot answer lets the request through, since refusing
    /// every client is worse than not limiting for a moment.
    pub async fn check(&self, key: RateKey, limit: u32, now: i64) -> RateDecision {
        let build = |reply| RateLimiterMessage::Check {
            key,
            limit,
            now,
            reply,
        };
        match ask(&self.actor, &self.mailbox, ANSWER_TIMEOUT, build).await {
            Some(decision) => decision,
            None => {
                tracing::error!("rate limiter did not answer; request let through");
                RateDecision {
                    allowed: true,
                    limit,
                    remaining: limit,
                    reset: now,
                    retry_after: 1,
                }
            }
        }
    }

    /// Forgets the windows that ended by `now`; answers whether the limiter is still there.
    pub fn sweep(&self, now: i64) -> bool {
        self.mailbox.sent();
        self.actor.cast(RateLimiterMessage::Sweep { now }).is_ok()
    }

    /// How many keys are tracked.
    pub async fn tracked_keys(&self) -> usize {
        let build = RateLimiterMessage::GetTrackedKeys;
        ask(&self.actor, &self.mailbox, ANSWER_TIMEOUT, build)
            .await
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    async fn limiter(window_seconds: i64, max_keys: usize) -> RateLimiterHandle {
        RateLimiterHandle::spawn(RateLimiterArgs {
            window_seconds,
            max_keys,
            sweep_every: None,
        })
        .await
        .unwrap()
    }

    fn key(ip: &str) -> RateKey {
        RateKey::new(Budget::Paste, Some(ip.parse().unwrap()))
    }

    #[tokio::test]
    async fn a_window_lets_limit_requests_through_counting_down() {
        let limiter = limiter(60, 100).await;

        let mut decisions = Vec::new();
        for _ in 0..4 {
            decisions.push(limiter.check(key("192.0.2.1"), 3, 1_000).await);
        }

        let remaining: Vec<u32> = decisions.iter().map(|d| d.remaining).collect();
        assert_eq!(remaining, vec![2, 1, 0, 0]);
        assert!(decisions[..3].iter().all(|d| d.allowed));
        assert!(!decisions[3].allowed);
        assert!(decisions.iter().all(|d| d.reset == 1_060));
    }

    #[tokio::test]
    async fn the_window_opens_with_the_first_request_and_resets_after_it() {
        let limiter = limiter(60, 100).await;

        limiter.check(key("192.0.2.1"), 1, 1_030).await;
        let inside = limiter.check(key("192.0.2.1"), 1, 1_089).await;
        let after = limiter.check(key("192.0.2.1"), 1, 1_090).await;

        assert!(!inside.allowed);
        assert_eq!(inside.retry_after, 1);
        assert!(after.allowed);
        assert_eq!(after.reset, 1_150);
    }

    #[tokio::test]
    async fn parallel_checks_let_exactly_the_limit_through() {
        let limiter = limiter(60, 100).await;

        let checks: Vec<_> = (0..50)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move { limiter.check(key("192.0.2.1"), 10, 1_000).await })
            })
            .collect();
        let mut remaining = Vec::new();
        for check in checks {
            let decision = check.await.unwrap();
            if decision.allowed {
                remaining.push(decision.remaining);
            }
        }

        remaining.sort_unstable();
        assert_eq!(remaining, (0..10).collect::<Vec<u32>>());
    }

    #[tokio::test]
    async fn an_ipv6_host_is_counted_per_64() {
        let a: IpAddr = Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 0, 0, 0, 1).into();
        let b: IpAddr = Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 0xffff, 1, 2, 3).into();
        let other: IpAddr = Ipv6Addr::new(0x2001, 0xdb8, 1, 3, 0, 0, 0, 1).into();
        let limiter = limiter(60, 100).await;

        limiter
            .check(RateKey::new(Budget::Paste, Some(a)), 1, 1_000)
            .await;
        let same_64 = limiter
            .check(RateKey::new(Budget::Paste, Some(b)), 1, 1_000)
            .await;
        let next_64 = limiter
            .check(RateKey::new(Budget::Paste, Some(other)), 1, 1_000)
            .await;

        assert!(!same_64.allowed);
        assert!(next_64.allowed);
    }

    #[tokio::test]
    async fn budgets_are_counted_apart() {
        let limiter = limiter(60, 100).await;
        let ip = Some("192.0.2.1".parse().unwrap());

        limiter
            .check(RateKey::new(Budget::Paste, ip), 1, 1_000)
            .await;
        let certificate = limiter
            .check(RateKey::new(Budget::Certificate, ip), 1, 1_000)
            .await;

        assert!(certificate.allowed);
    }

    #[tokio::test]
    async fn a_million_addresses_stay_bounded_and_are_swept() {
        let max_keys = 1_000_000;
        let limiter = limiter(60, max_keys).await;

        for n in 0..1_000_000u32 {
            let ip = IpAddr::V4(Ipv4Addr::from(n));
            let decision = limiter
                .check(RateKey::new(Budget::Paste, Some(ip)), 10, 1_000)
                .await;
            assert!(decision.allowed);
        }
        let sprayed = limiter.check(key("255.255.255.255"), 10, 1_001).await;
        let full = limiter.tracked_keys().await;
        limiter.sweep(1_060);
        let swept = limiter.tracked_keys().await;
        let after_sweep = limiter.check(key("255.255.255.255"), 10, 1_061).await;

        assert_eq!(full, max_keys);
        assert!(
            !sprayed.allowed,
            "a new key past the cap is refused, no live window evicted"
        );
        assert_eq!(swept, 0);
        assert!(after_sweep.allowed);
    }

    #[tokio::test]
    async fn a_sweep_keeps_live_windows() {
        let limiter = limiter(60, 100).await;
        limiter.check(key("192.0.2.1"), 1, 1_000).await;
        limiter.check(key("192.0.2.2"), 1, 1_050).await;

        limiter.sweep(1_060);

        assert_eq!(limiter.tracked_keys().await, 1);
        assert!(!limiter.check(key("192.0.2.2"), 1, 1_061).await.allowed);
    }
}
