//! Rate limiting as the HTTP layer sees it: which budget, which limit, and the headers.
//!
//! Every answer of a limited endpoint carries `X-RateLimit-Limit`, `-Remaining` and `-Reset`,
//! whatever else happens to the request; a refusal adds `Retry-After`.

use axum::http::HeaderValue;
use axum::response::Response;
use flaskpaste_actors::clock::unix_now;
use flaskpaste_actors::rate_limit::{Budget, RateDecision, RateKey};

use crate::client_ip::ClientIp;
use crate::error::ApiError;
use crate::identity::Identity;
use crate::state::AppState;

/// Counts the request against the client's budget. `Ok(None)` when rate limiting is off.
pub async fn check(
    state: &AppState,
    budget: Budget,
    client_ip: ClientIp,
    identity: &Identity,
) -> Result<Option<RateDecision>, (ApiError, RateDecision)> {
    let Some(limiter) = &state.rate_limiter else {
        return Ok(None);
    };
    let config = &state.config;
    let limit = if identity.is_authenticated() {
        config.rate_max.saturating_mul(config.rate_auth_mult)
    } else {
        config.rate_max
    };

    let decision = limiter
        .check(RateKey::new(budget, client_ip.addr()), limit, unix_now())
        .await;
    if decision.allowed {
        Ok(Some(decision))
    } else {
        tracing::info!(client_ip = %client_ip, limit, "rate limit exceeded");
        Err((ApiError::RateLimited, decision))
    }
}

/// Stamps the `X-RateLimit-*` headers (and `Retry-After` on a refusal) on a response.
pub fn stamp(response: &mut Response, decision: &RateDecision) {
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(decision.limit));
    headers.insert(
        "x-ratelimit-remaining",
        HeaderValue::from(decision.remaining),
    );
    headers.insert("x-ratelimit-reset", HeaderValue::from(decision.reset));
    if !decision.allowed {
        headers.insert("retry-after", HeaderValue::from(decision.retry_after));
    }
}
