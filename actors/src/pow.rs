//! The proof-of-work issuer actor: signed challenges, single-use nonces, and anti-flood.
//!
//! A challenge is a random nonce and a difficulty; the client finds a number `N` such that
//! `SHA256(nonce + ":" + N)` starts with `difficulty` zero bits. The token handed out is
//! `nonce:expires:difficulty:signature`, the signature an HMAC-SHA256 that also covers the
//! token's purpose, so nothing in it can be changed and a registration token is no paste token.
//! Each nonce is accepted once: the first valid solution spends it, and spent nonces are kept
//! only until their token expires.
//!
//! Anti-flood: challenges issued and pastes created are counted over a sliding window; each
//! full multiple of the threshold in it adds `step` bits to the difficulty, up to a ceiling, and
//! as the count falls so does the difficulty. A base of 0 (proof-of-work off) stays 0.
//!
//! A restart forgets spent nonces; with a random secret (none configured) it also invalidates
//! every outstanding token, so nothing can be replayed across it. With a shared secret, a token
//! spent just before a restart could be spent once more until it expires.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::mailbox::{MailboxDepth, ask};

/// What a challenge may be spent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    Paste,
    Register,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Purpose::Paste => "paste",
            Purpose::Register => "register",
        }
    }

    fn other(self) -> Self {
        match self {
            Purpose::Paste => Purpose::Register,
            Purpose::Register => Purpose::Paste,
        }
    }
}

/// A challenge as `GET /challenge` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub nonce: String,
    pub difficulty: u32,
    pub base_difficulty: u32,
    pub elevated: bool,
    pub expires: i64,
    pub token: String,
}

/// Why a solution was refused; each reason has its own message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PowFailure {
    #[error("Invalid token")]
    InvalidToken,
    #[error("Token was issued for another endpoint")]
    WrongPurpose,
    #[error("Challenge expired")]
    Expired,
    #[error("Challenge already used")]
    AlreadyUsed,
    #[error("Invalid solution")]
    InvalidSolution,
    #[error("Insufficient work")]
    InsufficientWork,
    #[error("Proof-of-work service unavailable")]
    Unavailable,
}

impl PowFailure {
    fn label(self) -> &'static str {
        match self {
            PowFailure::InvalidToken => "invalid_token",
            PowFailure::WrongPurpose => "wrong_purpose",
            PowFailure::Expired => "expired",
            PowFailure::AlreadyUsed => "already_used",
            PowFailure::InvalidSolution => "invalid_solution",
            PowFailure::InsufficientWork => "insufficient_work",
            PowFailure::Unavailable => "unavailable",
        }
    }
}

/// Settings of the issuer.
#[derive(Clone)]
pub struct PowArgs {
    /// The HMAC key tokens are signed with.
    pub secret: Vec<u8>,
    /// Base difficulty of paste challenges (0: proof-of-work off).
    pub paste_difficulty: u32,
    /// Base difficulty of registration challenges (0: off).
    pub register_difficulty: u32,
    pub ttl_seconds: i64,
    pub flood_window_seconds: i64,
    pub flood_threshold: u32,
    pub flood_step: u32,
    pub max_difficulty: u32,
    /// Sweep spent nonces on this period, by the wall clock.
    pub sweep_every: Option<Duration>,
}

/// Messages the issuer answers.
pub enum PowMessage {
    /// Issue a challenge (it counts toward the flood rate).
    Issue {
        purpose: Purpose,
        now: i64,
        reply: RpcReplyPort<Challenge>,
    },
    /// Check a solution and spend its nonce if it is valid.
    Verify {
        purpose: Purpose,
        token: String,
        solution: String,
        now: i64,
        reply: RpcReplyPort<Result<(), PowFailure>>,
    },
    /// A paste was created (it counts toward the flood rate).
    RecordCreation { now: i64 },
    /// The difficulty a challenge of this purpose would get now.
    GetDifficulty {
        purpose: Purpose,
        now: i64,
        reply: RpcReplyPort<u32>,
    },
    /// Forget spent nonces whose tokens have expired.
    Sweep { now: i64 },
    /// How many spent nonces are kept.
    GetSpentCount(RpcReplyPort<usize>),
}

/// The issuer actor.
pub struct PowIssuer;

pub struct PowState {
    mailbox: MailboxDepth,
    settings: PowArgs,
    /// Spent nonces and the second their token expires.
    spent: HashMap<String, i64>,
    /// Requests per second over the flood window, oldest first.
    recent: VecDeque<(i64, u32)>,
}

impl Actor for PowIssuer {
    type Msg = PowMessage;
    type State = PowState;
    type Arguments = (PowArgs, MailboxDepth);

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        (settings, mailbox): (PowArgs, MailboxDepth),
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(PowState {
            mailbox,
            settings,
            spent: HashMap::new(),
            recent: VecDeque::new(),
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
            PowMessage::Issue {
                purpose,
                now,
                reply,
            } => {
                state.count_request(now);
                let _ = reply.send(state.issue(purpose, now));
                metrics::counter!("flaskpaste_pow_challenges_total", "purpose" => purpose.label())
                    .increment(1);
            }
            PowMessage::Verify {
                purpose,
                token,
                solution,
                now,
                reply,
            } => {
                let verdict = state.verify(purpose, &token, &solution, now);
                let outcome = verdict.err().map_or("accepted", PowFailure::label);
                metrics::counter!("flaskpaste_pow_verifications_total", "outcome" => outcome)
                    .increment(1);
                let _ = reply.send(verdict);
            }
            PowMessage::RecordCreation { now } => state.count_request(now),
            PowMessage::GetDifficulty {
                purpose,
                now,
                reply,
            } => {
                let _ = reply.send(state.difficulty(purpose, now).0);
            }
            PowMessage::Sweep { now } => state.spent.retain(|_, expires| *expires >= now),
            PowMessage::GetSpentCount(reply) => {
                let _ = reply.send(state.spent.len());
            }
        }
        metrics::gauge!("flaskpaste_pow_spent_nonces").set(state.spent.len() as f64);
        Ok(())
    }
}

impl PowState {
    fn issue(&mut self, purpose: Purpose, now: i64) -> Challenge {
        let (difficulty, base_difficulty) = self.difficulty(purpose, now);
        let mut nonce = [0u8; 16];
        rand::fill(&mut nonce);
        let nonce = hex::encode(nonce);
        let expires = now + self.settings.ttl_seconds;
        let signature = self.sign(purpose, &nonce, expires, difficulty);
        metrics::gauge!("flaskpaste_pow_difficulty", "purpose" => purpose.label())
            .set(f64::from(difficulty));
        Challenge {
            token: format!("{nonce}:{expires}:{difficulty}:{signature}"),
            nonce,
            difficulty,
            base_difficulty,
            elevated: difficulty > base_difficulty,
            expires,
        }
    }

    fn verify(
        &mut self,
        purpose: Purpose,
        token: &str,
        solution: &str,
        now: i64,
    ) -> Result<(), PowFailure> {
        let parts: Vec<&str> = token.trim().split(':').collect();
        let [nonce, expires, difficulty, signature] = parts[..] else {
            return Err(PowFailure::InvalidToken);
        };
        let (Ok(expires), Ok(difficulty)) = (expires.parse::<i64>(), difficulty.parse::<u32>())
        else {
            return Err(PowFailure::InvalidToken);
        };
        let signed_for = |purpose| {
            let expected = self.sign(purpose, nonce, expires, difficulty);
            bool::from(expected.as_bytes().ct_eq(signature.as_bytes()))
        };
        if !signed_for(purpose) {
            return Err(if signed_for(purpose.other()) {
                PowFailure::WrongPurpose
            } else {
                PowFailure::InvalidToken
            });
        }

        if now > expires {
            return Err(PowFailure::Expired);
        }
        if self.spent.contains_key(nonce) {
            return Err(PowFailure::AlreadyUsed);
        }
        let solution: u64 = solution
            .trim()
            .parse()
            .map_err(|_| PowFailure::InvalidSolution)?;
        if leading_zero_bits(&work_hash(nonce, solution)) < difficulty {
            return Err(PowFailure::InsufficientWork);
        }
        self.spent.insert(nonce.to_owned(), expires);
        Ok(())
    }

    /// The current and the base difficulty for `purpose`.
    fn difficulty(&mut self, purpose: Purpose, now: i64) -> (u32, u32) {
        let base = match purpose {
            Purpose::Paste => self.settings.paste_difficulty,
            Purpose::Register => self.settings.register_difficulty,
        };
        if base == 0 {
            return (0, 0);
        }
        let steps = self.recent_requests(now) / self.settings.flood_threshold.max(1);
        let raised = base.saturating_add(steps.saturating_mul(self.settings.flood_step));
        (raised.min(self.settings.max_difficulty.max(base)), base)
    }

    fn count_request(&mut self, now: i64) {
        match self.recent.back_mut() {
            Some((second, count)) if *second == now => *count += 1,
            _ => self.recent.push_back((now, 1)),
        }
        self.forget_before(now);
    }

    fn recent_requests(&mut self, now: i64) -> u32 {
        self.forget_before(now);
        self.recent.iter().map(|(_, count)| count).sum()
    }

    fn forget_before(&mut self, now: i64) {
        let oldest = now - self.settings.flood_window_seconds;
        while self
            .recent
            .front()
            .is_some_and(|(second, _)| *second <= oldest)
        {
            self.recent.pop_front();
        }
    }

    fn sign(&self, purpose: Purpose, nonce: &str, expires: i64, difficulty: u32) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.settings.secret)
            .expect("HMAC takes a key of any length");
        mac.update(format!("{}:{nonce}:{expires}:{difficulty}", purpose.label()).as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// `SHA256(nonce + ":" + solution)`.
pub fn work_hash(nonce: &str, solution: u64) -> [u8; 32] {
    Sha256::digest(format!("{nonce}:{solution}").as_bytes()).into()
}

/// Leading zero bits of a hash.
pub fn leading_zero_bits(hash: &[u8]) -> u32 {
    let mut bits = 0;
    for byte in hash {
        bits += byte.leading_zeros();
        if *byte != 0 {
            break;
        }
    }
    bits
}

/// Finds the smallest solution for a challenge: what a client (and the tests) run.
pub fn solve(nonce: &str, difficulty: u32) -> u64 {
    (0..)
        .find(|n| leading_zero_bits(&work_hash(nonce, *n)) >= difficulty)
        .expect("some solution exists below u64::MAX")
}

/// A cheap, cloneable way to talk to the issuer.
#[derive(Clone)]
pub struct PowHandle {
    actor: ActorRef<PowMessage>,
    mailbox: MailboxDepth,
}

impl PowHandle {
    /// Spawns the issuer, and the timer that sweeps spent nonces if one is asked for.
    pub async fn spawn(args: PowArgs) -> Result<Self, ractor::SpawnErr> {
        let sweep_every = args.sweep_every;
        let mailbox = MailboxDepth::new("pow_issuer");
        let (actor, _) = Actor::spawn(None, PowIssuer, (args, mailbox.clone())).await?;
        let handle = Self { actor, mailbox };
        if let Some(period) = sweep_every {
            let sweeper = handle.clone();
            crate::clock::every(period, move |now| sweeper.sweep(now));
        }
        Ok(handle)
    }

    pub async fn issue(&self, purpose: Purpose, now: i64) -> Option<Challenge> {
        self.call(|reply| PowMessage::Issue {
            purpose,
            now,
            reply,
        })
        .await
    }

    pub async fn verify(
        &self,
        purpose: Purpose,
        token: String,
        solution: String,
        now: i64,
    ) -> Result<(), PowFailure> {
        self.call(|reply| PowMessage::Verify {
            purpose,
            token,
            solution,
            now,
            reply,
        })
        .await
        .unwrap_or(Err(PowFailure::Unavailable))
    }

    pub fn record_creation(&self, now: i64) {
        self.mailbox.sent();
        let _ = self.actor.cast(PowMessage::RecordCreation { now });
    }

    pub async fn difficulty(&self, purpose: Purpose, now: i64) -> Option<u32> {
        self.call(|reply| PowMessage::GetDifficulty {
            purpose,
            now,
            reply,
        })
        .await
    }

    /// Forgets spent nonces whose tokens expired by `now`; answers whether the issuer is there.
    pub fn sweep(&self, now: i64) -> bool {
        self.mailbox.sent();
        self.actor.cast(PowMessage::Sweep { now }).is_ok()
    }

    pub async fn spent_count(&self) -> Option<usize> {
        self.call(PowMessage::GetSpentCount).await
    }

    async fn call<T: Send + 'static>(
        &self,
        build: impl FnOnce(RpcReplyPort<T>) -> PowMessage,
    ) -> Option<T> {
        ask(&self.actor, &self.mailbox, Duration::from_secs(5), build).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> PowArgs {
        PowArgs {
            secret: b"test secret".to_vec(),
            paste_difficulty: 8,
            register_difficulty: 10,
            ttl_seconds: 300,
            flood_window_seconds: 60,
            flood_threshold: 10,
            flood_step: 2,
            max_difficulty: 14,
            sweep_every: None,
        }
    }

    async fn issuer() -> PowHandle {
        PowHandle::spawn(args()).await.unwrap()
    }

    async fn solved(issuer: &PowHandle, purpose: Purpose, now: i64) -> (String, String) {
        let challenge = issuer.issue(purpose, now).await.unwrap();
        let solution = solve(&challenge.nonce, challenge.difficulty);
        (challenge.token, solution.to_string())
    }

    #[tokio::test]
    async fn a_solution_is_accepted_once() {
        let issuer = issuer().await;
        let (token, solution) = solved(&issuer, Purpose::Paste, 1_000).await;

        let first = issuer
            .verify(Purpose::Paste, token.clone(), solution.clone(), 1_001)
            .await;
        let replay = issuer.verify(Purpose::Paste, token, solution, 1_002).await;

        assert_eq!(first, Ok(()));
        assert_eq!(replay, Err(PowFailure::AlreadyUsed));
    }

    #[tokio::test]
    async fn a_wrong_solution_is_refused_without_spending_the_nonce() {
        let issuer = issuer().await;
        let challenge = issuer.issue(Purpose::Paste, 1_000).await.unwrap();
        let wrong = (0..)
            .find(|n| leading_zero_bits(&work_hash(&challenge.nonce, *n)) < challenge.difficulty)
            .unwrap();
        let right = solve(&challenge.nonce, challenge.difficulty);

        let refused = issuer
            .verify(
                Purpose::Paste,
                challenge.token.clone(),
                wrong.to_string(),
                1_001,
            )
            .await;
        let garbage = issuer
            .verify(Purpose::Paste, challenge.token.clone(), "-1".into(), 1_001)
            .await;
        let accepted = issuer
            .verify(Purpose::Paste, challenge.token, right.to_string(), 1_001)
            .await;

        assert_eq!(refused, Err(PowFailure::InsufficientWork));
        assert_eq!(garbage, Err(PowFailure::InvalidSolution));
        assert_eq!(accepted, Ok(()));
    }

    #[tokio::test]
    async fn tampered_expired_and_misdirected_tokens_are_refused() {
        let issuer = issuer().await;
        let (token, solution) = solved(&issuer, Purpose::Paste, 1_000).await;
        let parts: Vec<&str> = token.split(':').collect();
        let easier = format!("{}:{}:1:{}", parts[0], parts[1], parts[3]);
        let later = format!("{}:99999:{}:{}", parts[0], parts[2], parts[3]);
        let (register_token, register_solution) = solved(&issuer, Purpose::Register, 1_000).await;

        let verify = |token: String, solution: String, now| {
            let issuer = issuer.clone();
            async move { issuer.verify(Purpose::Paste, token, solution, now).await }
        };
        assert_eq!(
            verify(easier, solution.clone(), 1_001).await,
            Err(PowFailure::InvalidToken)
        );
        assert_eq!(
            verify(later, solution.clone(), 1_001).await,
            Err(PowFailure::InvalidToken)
        );
        assert_eq!(
            verify("nonsense".into(), solution.clone(), 1_001).await,
            Err(PowFailure::InvalidToken)
        );
        assert_eq!(
            verify(token.clone(), solution.clone(), 1_301).await,
            Err(PowFailure::Expired)
        );
        assert_eq!(
            verify(register_token, register_solution, 1_001).await,
            Err(PowFailure::WrongPurpose)
        );
        assert_eq!(
            verify(token, solution, 1_300).await,
            Ok(()),
            "valid until its last second"
        );
    }

    #[tokio::test]
    async fn a_flood_raises_the_difficulty_in_steps_and_it_falls_back() {
        let issuer = issuer().await;

        let calm = issuer.issue(Purpose::Paste, 1_000).await.unwrap();
        for _ in 0..19 {
            issuer.record_creation(1_001);
        }
        let busy = issuer.issue(Purpose::Paste, 1_002).await.unwrap();
        for _ in 0..100 {
            issuer.record_creation(1_003);
        }
        let capped = issuer.issue(Purpose::Paste, 1_004).await.unwrap();
        let register = issuer.difficulty(Purpose::Register, 1_004).await.unwrap();
        let after = issuer.issue(Purpose::Paste, 1_100).await.unwrap();

        assert_eq!((calm.difficulty, calm.elevated), (8, false));
        assert_eq!(
            (busy.difficulty, busy.base_difficulty, busy.elevated),
            (12, 8, true)
        );
        assert_eq!(capped.difficulty, 14, "never past the ceiling");
        assert_eq!(register, 14, "registration is raised by the same steps");
        assert_eq!((after.difficulty, after.elevated), (8, false));
    }

    #[tokio::test]
    async fn spent_nonces_are_swept_once_their_tokens_expire() {
        let issuer = issuer().await;
        let (token, solution) = solved(&issuer, Purpose::Paste, 1_000).await;
        issuer
            .verify(Purpose::Paste, token, solution, 1_001)
            .await
            .unwrap();

        issuer.sweep(1_300);
        let kept = issuer.spent_count().await.unwrap();
        issuer.sweep(1_301);
        let swept = issuer.spent_count().await.unwrap();

        assert_eq!((kept, swept), (1, 0));
    }

    #[test]
    fn leading_zero_bits_count_across_bytes() {
        assert_eq!(leading_zero_bits(&[0, 0, 0x0f, 0xff]), 20);
        assert_eq!(leading_zero_bits(&[0x80]), 0);
        assert_eq!(leading_zero_bits(&[0, 0]), 16);
    }
}
