//! Prometheus metrics: the recorder, the HTTP request histogram and the metrics listener.
//!
//! Every part of the service records through the `metrics` facade; this module installs the
//! Prometheus recorder with explicit histogram buckets and serves its text on a listener of its
//! own, never on the public one. The HTTP histogram follows OpenTelemetry's semantic conventions:
//! `http_server_request_duration_seconds` with `http_route` (the route template, never the raw
//! path), `http_request_method` and `http_response_status_code`.

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

/// OpenTelemetry's recommended buckets for HTTP server durations, in seconds.
const HTTP_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
/// Powers of two up to the writer's largest transaction.
const BATCH_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];
const COMMIT_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Installs the global recorder and keeps its histograms trimmed.
pub fn install() -> Result<PrometheusHandle, BuildError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("http_server_request_duration_seconds".into()),
            HTTP_BUCKETS,
        )?
        .set_buckets_for_metric(
            Matcher::Full("flaskpaste_storage_batch_size".into()),
            BATCH_BUCKETS,
        )?
        .set_buckets_for_metric(
            Matcher::Full("flaskpaste_storage_commit_duration_seconds".into()),
            COMMIT_BUCKETS,
        )?
        .install_recorder()?;

    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_secs(5));
        loop {
            ticks.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

/// The router of the metrics listener: `GET /metrics` in the Prometheus text format.
pub fn router(handle: PrometheusHandle) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move { handle.render() }
        }),
    )
}

/// The route template a request matched, carried on its response to the outer middleware.
#[derive(Clone)]
struct RouteTemplate(String);

/// Inner layer (on matched routes only): tags the response with the route template.
pub async fn tag_route(matched: MatchedPath, request: Request, next: Next) -> Response {
    let template = RouteTemplate(matched.as_str().to_owned());
    let mut response = next.run(request).await;
    response.extensions_mut().insert(template);
    response
}

/// Outer layer: records every request's duration, unmatched ones included.
pub async fn record_request(request: Request, next: Next) -> Response {
    let method = method_label(request.method());
    let started = Instant::now();

    let response = next.run(request).await;

    let route = response
        .extensions()
        .get::<RouteTemplate>()
        .map_or_else(|| "unmatched".to_owned(), |route| route.0.clone());
    metrics::histogram!(
        "http_server_request_duration_seconds",
        "http_route" => route,
        "http_request_method" => method,
        "http_response_status_code" => response.status().as_u16().to_string(),
    )
    .record(started.elapsed().as_secs_f64());
    response
}

/// Known methods by name, anything else as `_OTHER`, so that clients cannot add label values.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "_OTHER",
    }
}
