//! The `X-Paste-Password` header and the check a protected paste asks for.
//!
//! The header's bytes are read as UTF-8, as curl sends them: at most 1,024 characters, never
//! empty; anything else answers 400 before any hashing. The hashing itself runs on the bounded
//! pool of [`flaskpaste_actors::password`]. Every refusal is counted by reason.

use axum::http::HeaderMap;
use flaskpaste_actors::password::PasswordError;
use flaskpaste_actors::storage::{PasswordHash, PasteMeta};

use crate::error::ApiError;
use crate::state::AppState;

/// The longest password accepted, in characters.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// The password the request carries, if any, once it is known to be acceptable.
pub fn from_headers(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("x-paste-password") else {
        return Ok(None);
    };
    let Ok(password) = std::str::from_utf8(value.as_bytes()) else {
        return Err(refuse("not_utf8", ApiError::PasswordNotUtf8));
    };
    if password.is_empty() {
        return Err(refuse("empty", ApiError::PasswordEmpty));
    }
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(refuse("too_long", ApiError::PasswordTooLong));
    }
    Ok(Some(password.to_owned()))
}

/// Lets the request through to a protected paste only with the right password. A paste without
/// a password lets everyone through.
pub async fn check(
    state: &AppState,
    meta: &PasteMeta,
    provided: Option<String>,
) -> Result<(), ApiError> {
    let Some(stored) = meta.password.clone() else {
        return Ok(());
    };
    let Some(password) = provided else {
        return Err(refuse("missing", ApiError::PasswordRequired));
    };
    match state.passwords.verify(password, stored).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(refuse("wrong", ApiError::InvalidPassword)),
        Err(PasswordError::Busy | PasswordError::Failed) => {
            Err(refuse("busy", ApiError::PasswordBusy))
        }
    }
}

/// Hashes the password of a new paste on the bounded pool.
pub async fn hash(state: &AppState, password: String) -> Result<PasswordHash, ApiError> {
    state
        .passwords
        .hash(password)
        .await
        .map_err(|_| refuse("busy", ApiError::PasswordBusy))
}

fn refuse(reason: &'static str, error: ApiError) -> ApiError {
    metrics::counter!("flaskpaste_password_refusals_total", "reason" => reason).increment(1);
    error
}
