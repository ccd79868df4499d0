//! The HTTP layer's one error type, and its mapping to status codes and JSON bodies.
//!
//! Every error answer is `{"error": "..."}` plus, for some, the fields `api.md` documents. The
//! mapping is one exhaustive `match`, so a new variant forces a decision about its answer.
//! Internal causes are logged here, once, inside the request's span; clients see only the
//! documented message.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use flaskpaste_actors::StorageError;
use flaskpaste_actors::ca::CaError;
use flaskpaste_actors::ca::authority::CsrError;
use flaskpaste_actors::pow::{PowFailure, Purpose};
use serde_json::{Value, json};

/// What the content-policy refusals suggest.
const ENCRYPT_HINT: &str = "Encrypt content before uploading (fpaste encrypts by default)";

/// Seconds a client is told to wait when storage cannot take a write.
const RETRY_AFTER_UNAVAILABLE: &str = "5";

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid paste id")]
    InvalidId,
    #[error("paste not found")]
    PasteNotFound,
    #[error("no route")]
    RouteNotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("no content")]
    NoContent,
    #[error("malformed JSON body")]
    InvalidJson,
    #[error("JSON body without a string content")]
    JsonContentMissing,
    #[error("request body could not be read")]
    BodyUnreadable,
    #[error("paste too large")]
    TooLarge {
        size: u64,
        max_size: u64,
        authenticated: bool,
    },
    #[error("request too large")]
    RequestTooLarge { size: u64, max_size: u64 },
    #[error("paste too small")]
    TooSmall { size: u64, min_size: u64 },
    #[error("authentication required")]
    AuthRequired,
    #[error("admin access required")]
    AdminRequired,
    #[error("not the owner")]
    PermissionDenied,
    #[error("password required")]
    PasswordRequired,
    #[error("invalid password")]
    InvalidPassword,
    #[error("password too long")]
    PasswordTooLong,
    #[error("password not UTF-8")]
    PasswordNotUtf8,
    #[error("empty password")]
    PasswordEmpty,
    #[error("password workers busy")]
    PasswordBusy,
    #[error("rate limit exceeded")]
    RateLimited,
    #[error("request body too slow")]
    BodyTooSlow,
    #[error("upload budget spent")]
    UploadsBusy,
    #[error("proof-of-work required")]
    PowRequired(Purpose),
    #[error("proof-of-work failed: {0}")]
    PowFailed(PowFailure),
    #[error("duplicate content")]
    Duplicate { count: u32, window_seconds: i64 },
    #[error("content entropy too low")]
    EntropyTooLow { entropy: f64, min_entropy: f64 },
    #[error("recognisable format")]
    RecognisableFormat { detected: String },
    #[error("PKI not enabled")]
    PkiDisabled,
    #[error("certificate authority: {0}")]
    Pki(#[from] CaError),
    #[error("bad CSR: {0}")]
    Csr(#[from] CsrError),
    #[error("common_name required")]
    CommonNameRequired,
    #[error("invalid query parameter {0}")]
    InvalidQuery(&'static str),
    #[error("storage unavailable: {0}")]
    Storage(#[from] StorageError),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidId
            | ApiError::NoContent
            | ApiError::InvalidJson
            | ApiError::JsonContentMissing
            | ApiError::BodyUnreadable
            | ApiError::TooSmall { .. }
            | ApiError::PasswordTooLong
            | ApiError::PasswordNotUtf8
            | ApiError::PasswordEmpty
            | ApiError::InvalidQuery(_)
            | ApiError::EntropyTooLow { .. }
            | ApiError::RecognisableFormat { .. }
            | ApiError::PowRequired(_)
            | ApiError::Csr(_)
            | ApiError::CommonNameRequired => StatusCode::BAD_REQUEST,
            ApiError::PkiDisabled => StatusCode::NOT_FOUND,
            ApiError::Pki(err) => match err {
                CaError::NoPassword | CaError::Failed(_) => StatusCode::SERVICE_UNAVAILABLE,
                CaError::NoCa | CaError::NotFound => StatusCode::NOT_FOUND,
                CaError::AlreadyExists | CaError::AlreadyRevoked => StatusCode::CONFLICT,
                CaError::Forbidden => StatusCode::FORBIDDEN,
            },
            ApiError::PowFailed(PowFailure::Unavailable) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::PowFailed(_) => StatusCode::BAD_REQUEST,
            ApiError::AuthRequired | ApiError::PasswordRequired => StatusCode::UNAUTHORIZED,
            ApiError::AdminRequired | ApiError::PermissionDenied | ApiError::InvalidPassword => {
                StatusCode::FORBIDDEN
            }
            ApiError::PasteNotFound | ApiError::RouteNotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooLarge { .. } | ApiError::RequestTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ApiError::Storage(_) | ApiError::PasswordBusy | ApiError::UploadsBusy => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::BodyTooSlow => StatusCode::REQUEST_TIMEOUT,
            ApiError::RateLimited | ApiError::Duplicate { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    fn body(&self) -> Value {
        match self {
            ApiError::InvalidId => json!({ "error": "Invalid paste ID format" }),
            ApiError::PasteNotFound => json!({ "error": "Paste not found" }),
            ApiError::RouteNotFound => json!({ "error": "Not found" }),
            ApiError::MethodNotAllowed => json!({ "error": "Method not allowed" }),
            ApiError::NoContent => json!({ "error": "No content provided" }),
            ApiError::InvalidJson => json!({ "error": "Invalid JSON body" }),
            ApiError::JsonContentMissing => {
                json!({ "error": "JSON body must be an object with a string \"content\"" })
            }
            ApiError::BodyUnreadable => json!({ "error": "Request body could not be read" }),
            ApiError::TooLarge {
                size,
                max_size,
                authenticated,
            } => json!({
                "error": "Paste too large",
                "size": size,
                "max_size": max_size,
                "authenticated": authenticated,
            }),
            ApiError::RequestTooLarge { size, max_size } => json!({
                "error": "Request too large",
                "size": size,
                "max_size": max_size,
            }),
            ApiError::TooSmall { size, min_size } => json!({
                "error": "Paste too small",
                "size": size,
                "min_size": min_size,
            }),
            ApiError::AuthRequired => json!({ "error": "Authentication required" }),
            ApiError::AdminRequired => json!({ "error": "Admin access required" }),
            ApiError::PermissionDenied => json!({ "error": "Permission denied" }),
            ApiError::PasswordRequired => {
                json!({ "error": "Password required", "password_protected": true })
            }
            ApiError::InvalidPassword => json!({ "error": "Invalid password" }),
            ApiError::PasswordTooLong => json!({ "error": "Password too long (max 1024 chars)" }),
            ApiError::PasswordNotUtf8 => json!({ "error": "Password must be valid UTF-8" }),
            ApiError::PasswordEmpty => json!({ "error": "Password must not be empty" }),
            ApiError::PasswordBusy => {
                json!({ "error": "Too many password checks in progress, retry shortly" })
            }
            ApiError::RateLimited => json!({ "error": "Rate limit exceeded" }),
            ApiError::BodyTooSlow => json!({ "error": "Request body too slow" }),
            ApiError::UploadsBusy => {
                json!({ "error": "Too many uploads in progress, retry shortly" })
            }
            ApiError::PowRequired(purpose) => json!({
                "error": "Proof-of-work required",
                "hint": match purpose {
                    Purpose::Paste => "GET /challenge for a new challenge",
                    Purpose::Register => "GET /register/challenge for a new challenge",
                },
            }),
            ApiError::PowFailed(failure) => {
                json!({ "error": format!("Proof-of-work failed: {failure}") })
            }
            ApiError::Duplicate {
                count,
                window_seconds,
            } => json!({
                "error": "Duplicate content rate limit exceeded",
                "count": count,
                "window_seconds": window_seconds,
            }),
            ApiError::EntropyTooLow {
                entropy,
                min_entropy,
            } => json!({
                "error": "Content entropy too low",
                "entropy": (entropy * 100.0).round() / 100.0,
                "min_entropy": min_entropy,
                "hint": ENCRYPT_HINT,
            }),
            ApiError::RecognisableFormat { detected } => json!({
                "error": "Recognizable format not allowed",
                "detected": detected,
                "hint": ENCRYPT_HINT,
            }),
            ApiError::PkiDisabled => json!({ "error": "PKI not enabled" }),
            ApiError::Pki(CaError::Failed(_)) => {
                json!({ "error": "Certificate authority temporarily unavailable" })
            }
            ApiError::Pki(err) => json!({ "error": err.to_string() }),
            ApiError::Csr(err) => json!({ "error": err.to_string() }),
            ApiError::CommonNameRequired => json!({ "error": "common_name required" }),
            ApiError::InvalidQuery(parameter) => {
                json!({ "error": format!("Invalid query parameter: {parameter}") })
            }
            ApiError::Storage(_) => json!({ "error": "Storage temporarily unavailable" }),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Storage(cause) => tracing::error!(error = %cause, "storage failed a request"),
            ApiError::Pki(CaError::Failed(cause)) => {
                tracing::error!(error = %cause, "certificate authority failed a request");
            }
            _ => {}
        }
        let mut response = (self.status(), Json(self.body())).into_response();
        let headers = response.headers_mut();
        match self {
            ApiError::Storage(_)
            | ApiError::PasswordBusy
            | ApiError::UploadsBusy
            | ApiError::Pki(CaError::Failed(_)) => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(RETRY_AFTER_UNAVAILABLE),
                );
            }
            // The rest of the body is drained and thrown away; the connection is not reused.
            ApiError::TooLarge { .. }
            | ApiError::RequestTooLarge { .. }
            | ApiError::BodyTooSlow => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        response
    }
}
