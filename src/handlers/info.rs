//! The service's own endpoints: API information, health, liveness, robots, and the fallbacks.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// `GET /`: what the API offers and how to use it with curl.
pub async fn index() -> Json<Value> {
    Json(json!({
        "name": "FlaskPaste",
        "version": "1.5.0",
        "endpoints": {
            "GET /": "API information",
            "GET /health": "Health check",
            "POST /": "Create paste",
            "GET /<id>": "Retrieve paste metadata",
            "GET /<id>/raw": "Retrieve raw paste content",
            "DELETE /<id>": "Delete paste",
        },
        "usage": {
            "raw": "curl --data-binary @file.txt http://host/",
            "pipe": "cat file.txt | curl --data-binary @- http://host/",
            "json": "curl -H 'Content-Type: application/json' -d '{\"content\":\"...\"}' http://host/",
        },
        "note": "Use --data-binary (not -d) to preserve newlines",
    }))
}

/// `GET /health`: readiness. 503 when a read or the writer fails, and as soon as shutdown begins.
pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let health = state.storage.health().await;
    let draining = state.is_draining();
    let healthy = health.reader && health.writer && !draining;
    if !healthy {
        tracing::warn!(
            reader = health.reader,
            writer = health.writer,
            draining,
            "health check failed"
        );
    }

    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let ok = |up: bool| if up { "ok" } else { "error" };
    // A failing write (a full disk) does not make the instance unready: reads still work.
    let mut body = json!({
        "status": if healthy { "healthy" } else { "unhealthy" },
        "database": ok(health.reader),
        "storage_writer": ok(health.writer),
        "writes": ok(health.writes),
    });
    if draining {
        body["shutting_down"] = json!(true);
    }
    (status, Json(body))
}

/// `GET /livez`: the process answers; touches no database.
pub async fn livez() -> Json<Value> {
    Json(json!({ "status": "alive" }))
}

/// `GET /robots.txt`: pastes are not for search engines.
pub async fn robots() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "User-agent: *\nDisallow: /\n",
    )
}

/// Paths nothing is served at, well-known ones (`/favicon.ico`, `/metrics`) included.
pub async fn not_found() -> ApiError {
    ApiError::RouteNotFound
}

/// A route that exists, asked with a method it does not answer.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
