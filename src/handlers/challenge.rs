//! Proof-of-work challenges: `GET /challenge` for pastes, `GET /register/challenge` for
//! certificates (only while the PKI is on).

use axum::Json;
use axum::extract::State;
use flaskpaste_actors::pow::Purpose;
use serde_json::Value;

use crate::error::ApiError;
use crate::pow;
use crate::state::AppState;

/// `GET /challenge`.
pub async fn paste(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    pow::challenge(&state, Purpose::Paste).await.map(Json)
}

/// `GET /register/challenge`: 404 unless the PKI is enabled.
pub async fn register(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    if !state.config.pki_enabled {
        return Err(ApiError::RouteNotFound);
    }
    pow::challenge(&state, Purpose::Register).await.map(Json)
}
