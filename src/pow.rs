//! Proof-of-work as the HTTP layer sees it: the challenge endpoints' answers and the check of
//! `X-PoW-Token` and `X-PoW-Solution` on the endpoints that ask for work.

use axum::http::HeaderMap;
use flaskpaste_actors::clock::unix_now;
use flaskpaste_actors::pow::{PowFailure, Purpose};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// The base difficulty configured for `purpose`; 0 means no work is asked for.
fn base_difficulty(state: &AppState, purpose: Purpose) -> u32 {
    match purpose {
        Purpose::Paste => state.config.pow_difficulty,
        Purpose::Register => state.config.register_pow,
    }
}

/// The body of `GET /challenge` or `GET /register/challenge`.
pub async fn challenge(state: &AppState, purpose: Purpose) -> Result<Value, ApiError> {
    if base_difficulty(state, purpose) == 0 {
        return Ok(json!({ "enabled": false, "difficulty": 0 }));
    }
    let challenge = state
        .pow
        .issue(purpose, unix_now())
        .await
        .ok_or(ApiError::PowFailed(PowFailure::Unavailable))?;
    Ok(json!({
        "enabled": true,
        "nonce": challenge.nonce,
        "difficulty": challenge.difficulty,
        "base_difficulty": challenge.base_difficulty,
        "elevated": challenge.elevated,
        "expires": challenge.expires,
        "token": challenge.token,
    }))
}

/// Lets the request through if no work is asked for, or if it carries a valid solution; the
/// solution's nonce is then spent.
pub async fn require(
    state: &AppState,
    purpose: Purpose,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    if base_difficulty(state, purpose) == 0 {
        return Ok(());
    }
    let text = |name| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let (Some(token), Some(solution)) = (text("x-pow-token"), text("x-pow-solution")) else {
        return Err(ApiError::PowRequired(purpose));
    };
    state
        .pow
        .verify(purpose, token, solution, unix_now())
        .await
        .map_err(ApiError::PowFailed)
}
