//! The service's own endpoints, routing, and what every response carries.

use serde_json::Value;

use crate::support::{TestServer, metric};

const SECURITY_HEADERS: [(&str, &str); 9] = [
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
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

fn assert_security_headers(response: &reqwest::Response) {
    for (name, value) in SECURITY_HEADERS {
        let found = response.headers().get(name).map(|v| v.to_str().unwrap());
        // Raw paste responses add `sandbox` to the policy.
        let found = found.map(|v| v.trim_end_matches("; sandbox"));
        assert_eq!(
            found,
            Some(value),
            "{name} on {} {}",
            response.status(),
            response.url()
        );
    }
    assert!(response.headers().contains_key("x-request-id"));
}

#[tokio::test]
async fn index_describes_the_api() {
    let server = TestServer::start().await;

    let response = server.get("/").await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["name"], "FlaskPaste");
    assert_eq!(body["version"], "1.5.0");
    assert_eq!(body["endpoints"]["POST /"], "Create paste");
    assert!(
        body["usage"]["raw"]
            .as_str()
            .unwrap()
            .contains("--data-binary")
    );
}

#[tokio::test]
async fn health_and_liveness_answer_ok() {
    let server = TestServer::start().await;

    let health = server.get("/health").await;
    let livez = server.get("/livez").await;

    assert_eq!(health.status(), 200);
    let body: Value = health.json().await.unwrap();
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["database"], "ok");
    assert_eq!(livez.status(), 200);
}

#[tokio::test]
async fn health_is_503_when_the_database_is_unusable() {
    let server = TestServer::start().await;

    // The database file is replaced by garbage under the running server.
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", server.db.display());
        let _ = std::fs::remove_file(&path);
    }
    std::fs::write(&server.db, vec![0x55u8; 8192]).unwrap();
    let health = server.get("/health").await;
    let livez = server.get("/livez").await;

    assert_eq!(health.status(), 503);
    let body: Value = health.json().await.unwrap();
    assert_eq!(body["status"], "unhealthy");
    assert_eq!(body["database"], "error");
    assert_eq!(livez.status(), 200, "liveness does not touch the database");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let server = TestServer::start().await;
    let id = server.create("hello").await;

    for path in [
        "/",
        "/health",
        "/nope/deeper",
        "/zzz",
        &format!("/{id}"),
        &format!("/{id}/raw"),
    ] {
        let response = server.get(path).await;
        assert_security_headers(&response);
    }
    let (status, _) = server.post("", &[]).await;
    assert_eq!(status, 400);
    let response = server.client.put(server.url("/")).send().await.unwrap();
    assert_security_headers(&response);
}

#[tokio::test]
async fn a_safe_request_id_is_echoed_and_an_unsafe_one_replaced() {
    let server = TestServer::start().await;

    let kept = server
        .client
        .get(server.url("/health"))
        .header("X-Request-ID", "my-trace-123")
        .send()
        .await
        .unwrap();
    let replaced = server
        .client
        .get(server.url("/health"))
        .header("X-Request-ID", "bad id with spaces")
        .send()
        .await
        .unwrap();

    assert_eq!(kept.headers()["x-request-id"], "my-trace-123");
    let generated = replaced.headers()["x-request-id"].to_str().unwrap();
    assert_ne!(generated, "bad id with spaces");
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405_as_json() {
    let server = TestServer::start().await;

    let deep = server.get("/a/b/c").await;
    let put = server.client.put(server.url("/zzz")).send().await.unwrap();
    let delete_root = server.client.delete(server.url("/")).send().await.unwrap();
    let favicon = server.get("/favicon.ico").await;

    assert_eq!(deep.status(), 404);
    assert_eq!(deep.json::<Value>().await.unwrap()["error"], "Not found");
    assert_eq!(put.status(), 405);
    assert_eq!(put.headers()["allow"], "GET,HEAD,DELETE");
    assert_eq!(
        put.json::<Value>().await.unwrap()["error"],
        "Method not allowed"
    );
    assert_eq!(delete_root.status(), 405);
    assert_eq!(favicon.status(), 404);
}

#[tokio::test]
async fn robots_are_told_to_stay_out() {
    let server = TestServer::start().await;

    let response = server.get("/robots.txt").await;

    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(text.contains("User-agent: *") && text.contains("Disallow: /"));
}

#[tokio::test]
async fn metrics_are_served_only_on_their_own_listener() {
    let server = TestServer::start().await;

    let public = server.get("/metrics").await;
    let id = server.create("count me").await;
    server.get(&format!("/{id}/raw")).await;
    server.get(&format!("/{id}/raw")).await;
    server.get("/ffff0000ffff").await;
    let text = server.metrics().await;

    assert_eq!(public.status(), 404);
    assert_eq!(metric(&text, "flaskpaste_pastes_created_total", &[]), 1.0);
    assert_eq!(metric(&text, "flaskpaste_pastes_read_total", &[]), 2.0);
    let raw_ok = [
        "http_route=\"/{id}/raw\"",
        "http_request_method=\"GET\"",
        "http_response_status_code=\"200\"",
    ];
    assert_eq!(
        metric(&text, "http_server_request_duration_seconds_count", &raw_ok),
        2.0
    );
    let missing = ["http_route=\"/{id}\"", "http_response_status_code=\"404\""];
    assert_eq!(
        metric(
            &text,
            "http_server_request_duration_seconds_count",
            &missing
        ),
        1.0
    );
    assert!(metric(&text, "flaskpaste_storage_commits_total", &[]) >= 1.0);
    assert!(
        text.contains("http_server_request_duration_seconds_bucket{"),
        "explicit buckets"
    );
    assert_prometheus_text(&text);
}

/// Every sample line is `name{labels} value` with a numeric value, every family typed.
fn assert_prometheus_text(text: &str) {
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(comment) = line.strip_prefix('#') {
            assert!(
                comment.starts_with(" TYPE ") || comment.starts_with(" HELP "),
                "bad comment: {line}"
            );
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample has a value");
        assert!(
            value.parse::<f64>().is_ok() || value == "+Inf",
            "bad value: {line}"
        );
        let name = series.split('{').next().unwrap();
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad name: {line}"
        );
    }
}

#[tokio::test]
async fn logs_are_json_events_with_the_request_id_and_never_the_content() {
    let server = TestServer::start().await;
    let secret = "do-not-log-this-paste-body-7f3a";

    let response = server
        .client
        .post(server.url("/"))
        .header("X-Request-ID", "trace-log-check")
        .body(secret)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let found = crate::support::eventually(std::time::Duration::from_secs(5), async || {
        server
            .logs()
            .iter()
            .any(|line| line.contains("paste created"))
    })
    .await;

    assert!(found, "no creation event logged");
    let logs = server.logs();
    let created: Value = logs
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|event| event["message"] == "paste created")
        .unwrap();
    assert_eq!(created["span"]["rid"], "trace-log-check");
    assert!(created["id"].is_string());
    assert!(
        logs.iter().all(|line| !line.contains(secret)),
        "paste content in the logs"
    );
}

#[test]
fn an_invalid_setting_stops_start_up_naming_the_variable() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;

    let cases: Vec<(&str, OsString)> = vec![
        ("FLASKPASTE_ID_LENGTH", "abc".into()),
        ("FLASKPASTE_RATE_LIMIT", "2".into()),
        ("FLASKPASTE_MAX_CONNECTIONS", "18446744073709551615".into()),
        ("FLASKPASTE_SHUTDOWN_DELAY", "18446744073709551615".into()),
        (
            "FLASKPASTE_KEEPALIVE_TIMEOUT",
            "18446744073709551615".into(),
        ),
        ("FLASKPASTE_DEDUP_WINDOW", "9223372036854775807".into()),
        ("FLASKPASTE_TRUSTED_PROXIES", "10.0.0.0/8,nonsense".into()),
        ("FLASKPASTE_RATE_MAX", OsString::from_vec(b"x\xff".to_vec())),
    ];
    for (variable, value) in cases {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_flaskpaste"))
            .env(variable, value)
            .env("FLASKPASTE_BIND", "127.0.0.1:0")
            .env("FLASKPASTE_METRICS_ADDR", "")
            .output()
            .unwrap();

        assert!(!output.status.success(), "{variable} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(variable), "{variable}: {stderr}");
    }
}

#[test]
fn an_empty_secret_file_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret");
    std::fs::write(&file, "\n").unwrap();

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_flaskpaste"))
        .env("FLASKPASTE_PROXY_SECRET_FILE", &file)
        .env("FLASKPASTE_BIND", "127.0.0.1:0")
        .env("FLASKPASTE_METRICS_ADDR", "")
        .output()
        .unwrap();

    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("FLASKPASTE_PROXY_SECRET_FILE"));
}

#[tokio::test]
async fn an_empty_metrics_address_turns_the_metrics_listener_off() {
    let server = TestServer::start_with(&[("FLASKPASTE_METRICS_ADDR", "")]).await;

    let health = server.get("/health").await;

    assert_eq!(health.status(), 200);
    assert_eq!(
        server.metrics_base, "http://",
        "the listening event names no metrics address"
    );
}
