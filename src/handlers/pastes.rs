//! Pastes: `POST /`, `GET`/`HEAD /{id}` and `GET`/`HEAD /{id}/raw`.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use flaskpaste_actors::StorageError;
use flaskpaste_actors::clock::unix_now;
use flaskpaste_actors::dedup::content_hash;
use flaskpaste_actors::pow::Purpose;
use flaskpaste_actors::rate_limit::Budget;
use flaskpaste_actors::storage::{Expiry, NewPaste, PasteMeta};
use serde::Serialize;

use crate::body::{self, BodyError, BodyPace, Reservation};
use crate::client_ip::ClientIp;
use crate::error::ApiError;
use crate::identity::{Identity, TrustLevel};
use crate::middleware::CONTENT_SECURITY_POLICY;
use crate::paste_id::PasteId;
use crate::state::AppState;
use crate::{mime, password, policy, pow, rate};

/// Content larger than this is hashed off the async runtime.
const HASH_INLINE_MAX: usize = 256 * 1024;

/// The answer to a created paste.
#[derive(Debug, Serialize)]
pub struct Created {
    pub id: String,
    pub url: String,
    pub raw: String,
    pub mime_type: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// The creator's full fingerprint, when the creator was authenticated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub burn_after_read: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub password_protected: bool,
}

/// A paste's metadata, as `GET /{id}` shows it.
#[derive(Debug, Serialize)]
pub struct Metadata {
    pub id: String,
    pub mime_type: String,
    pub size: u64,
    pub created_at: i64,
    pub expires_at: i64,
    pub url: String,
    pub raw: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub burn_after_read: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub password_protected: bool,
}

impl From<&PasteMeta> for Metadata {
    fn from(meta: &PasteMeta) -> Self {
        Self {
            id: meta.id.clone(),
            mime_type: meta.mime_type.clone(),
            size: meta.size,
            created_at: meta.created_at,
            expires_at: meta.expires_at,
            url: format!("/{}", meta.id),
            raw: format!("/{}/raw", meta.id),
            burn_after_read: meta.burn_after_read,
            password_protected: meta.password.is_some(),
        }
    }
}

/// `POST /`: stores the body (or a JSON body's `content`) as a new paste. Every answer carries
/// the rate-limit headers.
pub async fn create(
    State(state): State<AppState>,
    client_ip: ClientIp,
    identity: Identity,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let decision = match rate::check(&state, Budget::Paste, client_ip, &identity).await {
        Ok(decision) => decision,
        Err((error, decision)) => {
            body::drain_in_background(body);
            let mut response = error.into_response();
            rate::stamp(&mut response, &decision);
            return response;
        }
    };

    let mut response = create_paste(&state, identity, &headers, body)
        .await
        .into_response();
    if let Some(decision) = decision {
        rate::stamp(&mut response, &decision);
    }
    response
}

/// Everything `POST /` checks after the rate limit, then the write.
async fn create_paste(
    state: &AppState,
    identity: Identity,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let checked = async {
        pow::require(state, Purpose::Paste, headers).await?;
        password::from_headers(headers)
    };
    let password = match checked.await {
        Ok(password) => password,
        Err(error) => {
            // Refused before its body was read: let a client that is still sending read why.
            body::drain_in_background(body);
            return Err(error);
        }
    };
    let config = &state.config;
    let limit = if identity.is_authenticated() {
        config.max_auth
    } else {
        config.max_anon
    };
    // The reservation keeps the body's bytes counted against the upload budget until the
    // paste is stored.
    let (content, declared, _reservation) =
        read_content(state, headers, body, limit, &identity).await?;
    check_size(&content, config.min_size)?;
    policy::check(&content, config)?;
    let mime_type = mime::detect(&content, declared.as_deref());

    let now = unix_now();
    let default_ttl = match identity.trust {
        TrustLevel::Anonymous => config.expiry_anon,
        TrustLevel::Untrusted => config.expiry_untrusted,
        TrustLevel::Trusted => config.expiry_trusted,
    };
    let expiry = requested_expiry(headers, now, config.max_expiry)
        .unwrap_or(Expiry::Sliding { ttl: default_ttl });
    let burn_after_read = header_flag(headers, "x-burn-after-read");
    let password = match password {
        Some(password) => Some(password::hash(state, password).await?),
        None => None,
    };
    let password_protected = password.is_some();
    check_duplicates(state, &content, now).await?;
    let size = content.len();
    let inserted = state
        .storage
        .insert(NewPaste {
            content,
            mime_type: mime_type.clone(),
            created_at: now,
            expiry,
            burn_after_read,
            owner: identity.fingerprint.clone(),
            password,
        })
        .await?;

    metrics::counter!("flaskpaste_pastes_created_total").increment(1);
    state.pow.record_creation(now);
    tracing::info!(id = %inserted.id, size, mime_type, burn_after_read, "paste created");
    let created = Created {
        url: format!("/{}", inserted.id),
        raw: format!("/{}/raw", inserted.id),
        id: inserted.id,
        mime_type,
        created_at: now,
        expires_at: inserted.expires_at,
        owner: identity.fingerprint,
        burn_after_read,
        password_protected,
    };
    let location = HeaderValue::from_str(&created.url).expect("a hex id is a valid header value");
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(created),
    )
        .into_response())
}

/// `GET /{id}` and `HEAD /{id}`: the paste's metadata. Only `GET` counts as an access.
pub async fn metadata(
    State(state): State<AppState>,
    method: Method,
    id: PasteId,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let provided = password::from_headers(&headers)?;
    let now = unix_now();
    let mut meta = state
        .storage
        .metadata(id.as_str(), now)
        .await?
        .ok_or(ApiError::PasteNotFound)?;

    password::check(&state, &meta, provided).await?;
    if method == Method::GET {
        meta.expires_at = state.storage.touch(&meta, now).await;
    }
    Ok(Json(Metadata::from(&meta)).into_response())
}

/// `GET /{id}/raw` and `HEAD /{id}/raw`: the paste's bytes with their type. A `GET` of a
/// burn-after-read paste deletes it; `HEAD` never does.
pub async fn raw(
    State(state): State<AppState>,
    method: Method,
    id: PasteId,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let provided = password::from_headers(&headers)?;
    let now = unix_now();
    if method == Method::HEAD {
        let meta = state
            .storage
            .metadata(id.as_str(), now)
            .await?
            .ok_or(ApiError::PasteNotFound)?;
        password::check(&state, &meta, provided).await?;
        return Ok(raw_response(&meta, Body::empty(), false));
    }

    let paste = state
        .storage
        .paste(id.as_str(), now)
        .await?
        .ok_or(ApiError::PasteNotFound)?;
    // A missing or wrong password neither burns the paste nor moves its deadline.
    password::check(&state, &paste.meta, provided).await?;
    if !paste.meta.burn_after_read {
        state.storage.touch(&paste.meta, now).await;
        metrics::counter!("flaskpaste_pastes_read_total").increment(1);
        return Ok(raw_response(&paste.meta, Body::from(paste.content), false));
    }

    // Whoever takes it from the writer is the one reader; the others find it gone.
    let burned = state
        .storage
        .take_for_burn(id.as_str(), now)
        .await?
        .ok_or(ApiError::PasteNotFound)?;
    metrics::counter!("flaskpaste_pastes_read_total").increment(1);
    metrics::counter!("flaskpaste_pastes_burned_total").increment(1);
    tracing::info!(id = %burned.meta.id, "paste burned after read");
    Ok(raw_response(&burned.meta, Body::from(burned.content), true))
}

/// The headers of a raw paste; `body` is empty for `HEAD`, with the real length declared.
fn raw_response(meta: &PasteMeta, body: Body, burned: bool) -> Response {
    let content_type = mime::content_type_header(&meta.mime_type);
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type).expect("stored types are sanitised"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(meta.size));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static(mime::disposition(&meta.mime_type)),
    );
    let policy = format!("{CONTENT_SECURITY_POLICY}; sandbox");
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&policy).expect("a constant policy"),
    );
    if burned {
        headers.insert("x-burn-after-read", HeaderValue::from_static("true"));
    }
    response
}

/// The paste's content and, when it may be used for the type, the declared `Content-Type`.
///
/// A JSON request carries the content in `{"content": "..."}`; its own type describes the
/// envelope, not the paste, so the type then comes from the content alone.
async fn read_content(
    state: &AppState,
    headers: &HeaderMap,
    mut body: Body,
    limit: u64,
    identity: &Identity,
) -> Result<(Bytes, Option<String>, Reservation), ApiError> {
    let declared_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let pace = BodyPace::from_config(&state.config);
    let declared = body::declared_length(headers);
    let read = body::read_limited(&mut body, declared, limit, &pace, &state.uploads).await;
    let (raw, reservation) = match read {
        Ok(read) => read,
        Err(BodyError::TooLarge { size }) => {
            body::drain_in_background(body);
            return Err(ApiError::TooLarge {
                size,
                max_size: limit,
                authenticated: identity.is_authenticated(),
            });
        }
        Err(BodyError::Unreadable) => return Err(ApiError::BodyUnreadable),
        Err(BodyError::TooSlow) => {
            tracing::info!("request body too slow; cut off");
            return Err(ApiError::BodyTooSlow);
        }
        Err(BodyError::BudgetSpent) => {
            body::drain_in_background(body);
            tracing::warn!("upload budget spent; upload refused");
            return Err(ApiError::UploadsBusy);
        }
    };

    let is_json = declared_type
        .as_deref()
        .and_then(mime::sanitize)
        .is_some_and(|essence| essence == "application/json");
    if !is_json {
        if raw.is_empty() {
            return Err(ApiError::NoContent);
        }
        return Ok((raw, declared_type, reservation));
    }

    let value: serde_json::Value =
        serde_json::from_slice(&raw).map_err(|_| ApiError::InvalidJson)?;
    let content = value
        .get("content")
        .and_then(serde_json::Value::as_str)
        .ok_or(ApiError::JsonContentMissing)?;
    if content.is_empty() {
        return Err(ApiError::NoContent);
    }
    Ok((Bytes::from(content.to_owned()), None, reservation))
}

/// Counts the content with the duplicate tracker; the last check before the write.
async fn check_duplicates(state: &AppState, content: &Bytes, now: i64) -> Result<(), ApiError> {
    let Some(dedup) = &state.dedup else {
        return Ok(());
    };
    let hash = if content.len() > HASH_INLINE_MAX {
        let content = content.clone();
        tokio::task::spawn_blocking(move || content_hash(&content))
            .await
            .map_err(|_| ApiError::Storage(StorageError::Closed))?
    } else {
        content_hash(content)
    };

    let decision = dedup.check(hash, now).await;
    if decision.allowed {
        return Ok(());
    }
    tracing::info!(count = decision.count, "duplicate content refused");
    Err(ApiError::Duplicate {
        count: decision.count,
        window_seconds: state.config.dedup_window,
    })
}

fn check_size(content: &Bytes, min_size: u64) -> Result<(), ApiError> {
    let size = content.len() as u64;
    if size < min_size {
        return Err(ApiError::TooSmall { size, min_size });
    }
    Ok(())
}

/// A positive `X-Expiry` in seconds, capped at `max_expiry`; anything else means the default.
fn requested_expiry(headers: &HeaderMap, now: i64, max_expiry: i64) -> Option<Expiry> {
    let seconds: i64 = headers
        .get("x-expiry")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (seconds > 0).then(|| Expiry::Fixed {
        at: now.saturating_add(seconds.min(max_expiry)),
    })
}

/// `true`, `1` or `yes` in any case; anything else is false.
fn header_flag(headers: &HeaderMap, name: &str) -> bool {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            let value = value.trim();
            ["true", "1", "yes"]
                .iter()
                .any(|yes| value.eq_ignore_ascii_case(yes))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn expiry_is_capped_and_bad_values_fall_back() {
        let now = 1_000;

        assert_eq!(
            requested_expiry(&headers("x-expiry", "3600"), now, 7200),
            Some(Expiry::Fixed { at: 4_600 })
        );
        assert_eq!(
            requested_expiry(&headers("x-expiry", "99999"), now, 7200),
            Some(Expiry::Fixed { at: 8_200 })
        );
        for bad in ["-5", "0", "abc", "99999999999999999999", ""] {
            assert_eq!(
                requested_expiry(&headers("x-expiry", bad), now, 7200),
                None,
                "{bad}"
            );
        }
    }

    #[test]
    fn burn_flag_accepts_true_1_yes_in_any_case() {
        for yes in ["true", "TRUE", "1", "Yes"] {
            assert!(header_flag(
                &headers("x-burn-after-read", yes),
                "x-burn-after-read"
            ));
        }
        for no in ["false", "0", "no", "y", ""] {
            assert!(!header_flag(
                &headers("x-burn-after-read", no),
                "x-burn-after-read"
            ));
        }
    }
}
