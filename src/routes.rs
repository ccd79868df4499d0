//! The route table: an index of the public API.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, post};

use crate::handlers::{challenge, info, listing, pastes, pki};
use crate::state::AppState;
use crate::{metrics, middleware};

/// The public router. Metrics are not served here but on their own listener.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(info::index).post(pastes::create))
        .route("/health", get(info::health))
        .route("/challenge", get(challenge::paste))
        .route("/register/challenge", get(challenge::register))
        .route("/register", post(pki::register))
        .route("/csr", post(pki::sign_csr))
        .route("/pki", get(pki::status))
        .route("/pki/ca", post(pki::create_ca))
        .route("/pki/ca.crt", get(pki::ca_certificate))
        .route("/pki/issue", post(pki::issue))
        .route("/pki/certs", get(pki::list_certificates))
        .route("/pki/revoke/{serial}", post(pki::revoke))
        .route("/livez", get(info::livez))
        .route("/robots.txt", get(info::robots))
        .route("/favicon.ico", any(info::not_found))
        .route("/metrics", any(info::not_found))
        .route("/pastes", get(listing::list))
        .route("/{id}", get(pastes::metadata).delete(listing::delete))
        .route("/{id}/raw", get(pastes::raw))
        .fallback(info::not_found)
        .method_not_allowed_fallback(info::method_not_allowed)
        .route_layer(axum::middleware::from_fn(metrics::tag_route))
        // Bodies are read under each handler's own limit, while they stream.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn(metrics::record_request))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::request_context,
        ))
        .with_state(state)
}
