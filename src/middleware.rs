//! Layers every response passes through: request id, tracing span and security headers.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::client_ip::ClientIp;
use crate::state::AppState;

/// The request id header, taken from the client when it is safe to echo, else generated.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The policy of every response; raw paste responses add `sandbox` to it.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS: [(&str, &str); 8] = [
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    (
        "permissions-policy",
        "geolocation=(), microphone=(), camera=()",
    ),
    (
        "strict-transport-security",
        "max-age=31536000; includeSubDomains",
    ),
    (
        "cache-control",
        "no-store, no-cache, must-revalidate, private",
    ),
    ("pragma", "no-cache"),
    ("x-robots-tag", "noindex, nofollow"),
];

/// Gives the request an id, a client address and a span, and stamps the security headers on
/// its response.
pub async fn request_context(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .filter(|value| is_acceptable_request_id(value.as_bytes()))
        .cloned()
        .unwrap_or_else(new_request_id);
    request
        .headers_mut()
        .insert(&REQUEST_ID, request_id.clone());
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0);
    let client_ip = ClientIp::resolve(peer, request.headers(), &state.config.trusted_proxies.0);
    request.extensions_mut().insert(client_ip);

    let span = tracing::info_span!(
        "request",
        rid = %String::from_utf8_lossy(request_id.as_bytes()),
        client_ip = %client_ip,
        method = %request.method(),
        path = %request.uri().path(),
    );
    let mut response = next.run(request).instrument(span).await;

    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(&REQUEST_ID, request_id);
    response
}

/// 1 to 128 characters of `[A-Za-z0-9._:-]`: safe to log and to echo.
fn is_acceptable_request_id(value: &[u8]) -> bool {
    (1..=128).contains(&value.len())
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(b))
}

fn new_request_id() -> HeaderValue {
    let id = uuid::Uuid::new_v4().to_string();
    HeaderValue::from_str(&id).expect("a UUID is a valid header value")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_kept_only_when_safe() {
        assert!(is_acceptable_request_id(b"my-trace-123"));
        assert!(is_acceptable_request_id(b"a.b:c_d"));
        assert!(!is_acceptable_request_id(b""));
        assert!(!is_acceptable_request_id(b"with space"));
        assert!(!is_acceptable_request_id(&[b'a'; 129]));
        assert!(!is_acceptable_request_id("é".as_bytes()));
    }
}
