//! A paste's life: create, read, expire, burn.

use std::time::Duration;

use futures::future::join_all;
use serde_json::{Value, json};

use crate::support::{TestServer, eventually, metric};

/// Every byte value, CRLF line ends and a trailing NUL.
fn awkward_bytes() -> Vec<u8> {
    let mut content: Vec<u8> = (0..=255u8).collect();
    content.extend_from_slice(b"line one\r\nline two\r\n\0");
    content
}

#[tokio::test]
async fn raw_body_comes_back_byte_identical() {
    let server = TestServer::start().await;
    let content = awkward_bytes();

    let (status, created) = server.post(content.clone(), &[]).await;
    let raw = server.get(created["raw"].as_str().unwrap()).await;

    assert_eq!(status, 201);
    assert_eq!(raw.status(), 200);
    assert_eq!(raw.headers()["content-type"], "application/octet-stream");
    assert_eq!(raw.bytes().await.unwrap().as_ref(), &content[..]);
}

#[tokio::test]
async fn created_paste_answers_with_its_documented_fields() {
    let server = TestServer::start().await;

    let (status, created) = server.post("hello\n", &[]).await;

    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap();
    assert_eq!(id.len(), 12);
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_eq!(created["url"], format!("/{id}"));
    assert_eq!(created["raw"], format!("/{id}/raw"));
    assert_eq!(created["mime_type"], "text/plain");
    let created_at = created["created_at"].as_i64().unwrap();
    assert_eq!(created["expires_at"].as_i64().unwrap() - created_at, 86_400);
    assert!(created.get("burn_after_read").is_none());
    assert!(created.get("owner").is_none());
}

#[tokio::test]
async fn text_is_served_as_utf8_inline() {
    let server = TestServer::start().await;
    let id = server.create("plain words\n").await;

    let raw = server.get(&format!("/{id}/raw")).await;

    assert_eq!(raw.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(raw.headers()["content-disposition"], "inline");
    let policy = raw.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("sandbox"), "{policy}");
    assert_eq!(raw.text().await.unwrap(), "plain words\n");
}

#[tokio::test]
async fn declared_html_is_an_attachment_and_undeclared_html_is_text() {
    let server = TestServer::start().await;
    let snippet = "<html><script>alert(1)</script></html>";

    let (_, undeclared) = server.post(snippet, &[]).await;
    let (_, declared) = server.post(snippet, &[("Content-Type", "text/html")]).await;
    let declared_raw = server.get(declared["raw"].as_str().unwrap()).await;

    assert_eq!(undeclared["mime_type"], "text/plain");
    assert_eq!(declared["mime_type"], "text/html");
    assert_eq!(declared_raw.headers()["content-disposition"], "attachment");
}

#[tokio::test]
async fn a_piped_body_without_length_is_stored() {
    let server = TestServer::start().await;
    let chunks: Vec<Result<&'static [u8], std::io::Error>> =
        vec![Ok(b"first chunk, "), Ok(b"second chunk")];
    let body = reqwest::Body::wrap_stream(futures::stream::iter(chunks));

    let (status, created) = server.post(body, &[]).await;
    let raw = server.get(created["raw"].as_str().unwrap()).await;

    assert_eq!(status, 201);
    assert_eq!(raw.text().await.unwrap(), "first chunk, second chunk");
}

#[tokio::test]
async fn json_body_stores_its_content_as_text() {
    let server = TestServer::start().await;
    let body = json!({ "content": "from json\nline 2" }).to_string();

    let (status, created) = server
        .post(body, &[("Content-Type", "Application/JSON; charset=utf-8")])
        .await;
    let raw = server.get(created["raw"].as_str().unwrap()).await;

    assert_eq!(status, 201);
    assert_eq!(created["mime_type"], "text/plain");
    assert_eq!(raw.text().await.unwrap(), "from json\nline 2");
}

#[tokio::test]
async fn bad_json_bodies_are_400_with_a_json_error() {
    let server = TestServer::start().await;
    let cases = [
        ("{not json", "Invalid JSON body"),
        (
            r#"{"content": 5}"#,
            "JSON body must be an object with a string \"content\"",
        ),
        (
            r#"{"content": null}"#,
            "JSON body must be an object with a string \"content\"",
        ),
        (
            r#"{"other": "x"}"#,
            "JSON body must be an object with a string \"content\"",
        ),
        (
            r#"["content"]"#,
            "JSON body must be an object with a string \"content\"",
        ),
        (r#"{"content": ""}"#, "No content provided"),
        ("", "Invalid JSON body"),
    ];

    for (body, error) in cases {
        let (status, answer) = server
            .post(body, &[("Content-Type", "application/json")])
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(answer["error"], error, "{body}");
    }
}

#[tokio::test]
async fn an_empty_body_is_400() {
    let server = TestServer::start().await;

    let (status, answer) = server.post("", &[]).await;

    assert_eq!(status, 400);
    assert_eq!(answer, json!({ "error": "No content provided" }));
}

#[tokio::test]
async fn content_below_the_minimum_size_is_refused() {
    let server = TestServer::start_with(&[("FLASKPASTE_MIN_SIZE", "64")]).await;

    let (small, answer) = server.post("short", &[]).await;
    let (enough, _) = server.post(vec![b'x'; 64], &[]).await;

    assert_eq!(small, 400);
    assert_eq!(
        answer,
        json!({ "error": "Paste too small", "size": 5, "min_size": 64 })
    );
    assert_eq!(enough, 201);
}

#[tokio::test]
async fn malformed_ids_are_400_before_any_lookup() {
    let server = TestServer::start().await;
    let too_long = "a".repeat(65);
    let paths = [
        format!("/{too_long}"),
        format!("/{too_long}/raw"),
        "/xyz123".to_owned(),
        "/ABCDEF12".to_owned(),
        "/abc".to_owned(),
        "/ab..cd".to_owned(),
        "/..%2Fetc%2Fpasswd".to_owned(),
        "/abcd%2F1234".to_owned(),
        "/abcd%2F1234/raw".to_owned(),
        "/%ff%fe".to_owned(),
    ];

    for path in paths {
        let response = server.get(&path).await;
        assert_eq!(response.status(), 400, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "Invalid paste ID format", "{path}");
    }
}

#[tokio::test]
async fn an_unknown_id_is_404() {
    let server = TestServer::start().await;

    let meta = server.get("/0123456789ab").await;
    let raw = server.get("/0123456789ab/raw").await;

    assert_eq!(meta.status(), 404);
    assert_eq!(
        meta.json::<Value>().await.unwrap()["error"],
        "Paste not found"
    );
    assert_eq!(raw.status(), 404);
}

#[tokio::test]
async fn metadata_and_head_describe_without_the_bytes() {
    let server = TestServer::start().await;
    let id = server.create("twelve bytes").await;

    let meta: Value = server.get(&format!("/{id}")).await.json().await.unwrap();
    let head_meta = server
        .client
        .head(server.url(&format!("/{id}")))
        .send()
        .await
        .unwrap();
    let head_raw = server
        .client
        .head(server.url(&format!("/{id}/raw")))
        .send()
        .await
        .unwrap();

    assert_eq!(meta["id"], id);
    assert_eq!(meta["size"], 12);
    assert_eq!(meta["mime_type"], "text/plain");
    assert_eq!(meta["raw"], format!("/{id}/raw"));
    assert!(meta["expires_at"].as_i64().is_some());
    assert_eq!(head_meta.status(), 200);
    assert_eq!(head_raw.status(), 200);
    assert_eq!(head_raw.headers()["content-length"], "12");
    assert_eq!(
        head_raw.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert!(head_raw.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn burn_after_read_serves_once_and_head_and_metadata_never_burn() {
    let server = TestServer::start().await;
    let (status, created) = server.post("secret", &[("X-Burn-After-Read", "YES")]).await;
    let id = created["id"].as_str().unwrap();

    let head = server
        .client
        .head(server.url(&format!("/{id}/raw")))
        .send()
        .await
        .unwrap();
    let meta = server.get(&format!("/{id}")).await;
    let first = server.get(&format!("/{id}/raw")).await;
    let first_burn_header = first.headers().get("x-burn-after-read").cloned();
    let first_body = first.text().await.unwrap();
    let second = server.get(&format!("/{id}/raw")).await;
    let meta_after = server.get(&format!("/{id}")).await;

    assert_eq!(status, 201);
    assert_eq!(created["burn_after_read"], true);
    assert_eq!(head.status(), 200);
    assert!(head.headers().get("x-burn-after-read").is_none());
    assert_eq!(meta.status(), 200);
    assert_eq!(first_burn_header.unwrap(), "true");
    assert_eq!(first_body, "secret");
    assert_eq!(second.status(), 404);
    assert_eq!(meta_after.status(), 404);
    assert_eq!(
        metric(
            &server.metrics().await,
            "flaskpaste_pastes_burned_total",
            &[]
        ),
        1.0
    );
}

#[tokio::test]
async fn concurrent_reads_burn_exactly_once() {
    let server = TestServer::start().await;
    let (_, created) = server
        .post("only once", &[("X-Burn-After-Read", "true")])
        .await;
    let raw = created["raw"].as_str().unwrap().to_owned();

    let reads = (0..32).map(|_| {
        // Separate clients: separate connections, truly concurrent.
        let client = reqwest::Client::new();
        let url = server.url(&raw);
        async move { client.get(url).send().await.unwrap().status().as_u16() }
    });
    let statuses = join_all(reads).await;

    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 404).count(),
        31,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_custom_expiry_is_capped_and_bad_values_mean_the_default() {
    let server = TestServer::start_with(&[("FLASKPASTE_MAX_EXPIRY", "7200")]).await;

    let (_, custom) = server.post("a", &[("X-Expiry", "3600")]).await;
    let (_, capped) = server.post("b", &[("X-Expiry", "999999")]).await;
    let lifetime = |created: &Value| {
        created["expires_at"].as_i64().unwrap() - created["created_at"].as_i64().unwrap()
    };

    assert_eq!(lifetime(&custom), 3600);
    assert_eq!(lifetime(&capped), 7200);
    for bad in ["-5", "0", "abc", "99999999999999999999"] {
        let (status, created) = server.post(format!("c{bad}"), &[("X-Expiry", bad)]).await;
        assert_eq!(status, 201, "{bad}");
        assert_eq!(lifetime(&created), 86_400, "{bad}");
    }
}

#[tokio::test]
async fn an_expired_paste_is_404_at_once_and_cleanup_deletes_it() {
    let server = TestServer::start_with(&[("FLASKPASTE_CLEANUP_INTERVAL", "1")]).await;
    let (_, created) = server.post("short lived", &[("X-Expiry", "1")]).await;
    let id = created["id"].as_str().unwrap().to_owned();

    let gone = eventually(Duration::from_secs(5), async || {
        server.get(&format!("/{id}/raw")).await.status() == 404
    })
    .await;
    let purged = eventually(Duration::from_secs(10), async || {
        metric(
            &server.metrics().await,
            "flaskpaste_storage_purged_rows_total",
            &[],
        ) >= 1.0
    })
    .await;

    assert!(gone, "expired paste still served");
    assert!(purged, "cleanup never deleted the expired row");
    let conn = rusqlite::Connection::open(&server.db).unwrap();
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM pastes WHERE id = ?1", [&id], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(rows, 0);
}

#[tokio::test]
async fn reading_slides_the_default_expiry_and_head_does_not() {
    let server = TestServer::start_with(&[("FLASKPASTE_EXPIRY_ANON", "3")]).await;
    let (_, created) = server.post("sliding", &[]).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let first_deadline = created["expires_at"].as_i64().unwrap();

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let head = server
        .client
        .head(server.url(&format!("/{id}")))
        .send()
        .await
        .unwrap();
    let head_deadline: i64 = server
        .get(&format!("/{id}"))
        .await
        .json::<Value>()
        .await
        .unwrap()["expires_at"]
        .as_i64()
        .unwrap();

    assert_eq!(head.status(), 200);
    // The GET above moved the deadline; the HEAD before it did not.
    assert!(
        head_deadline > first_deadline,
        "{head_deadline} <= {first_deadline}"
    );
    // Polled with HEAD, which does not count as a read.
    let expired = eventually(Duration::from_secs(8), async || {
        let url = server.url(&format!("/{id}/raw"));
        server.client.head(url).send().await.unwrap().status() == 404
    })
    .await;
    assert!(
        expired,
        "an unread paste expires after its sliding lifetime"
    );
}

#[tokio::test]
async fn hot_reads_reach_the_writer_only_as_coalesced_batches() {
    let server = TestServer::start_with(&[("FLASKPASTE_TOUCH_FLUSH_INTERVAL", "1")]).await;
    let mut raws = Vec::new();
    for i in 0..4 {
        raws.push(format!(
            "/{}/raw",
            server.create(format!("hot paste {i}")).await
        ));
    }
    let commits_before = metric(
        &server.metrics().await,
        "flaskpaste_storage_commits_total",
        &[],
    );
    let started = std::time::Instant::now();

    for read in 0..1000 {
        let response = server.get(&raws[read % raws.len()]).await;
        assert_eq!(response.status(), 200);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let text = server.metrics().await;

    let batches = metric(&text, "flaskpaste_storage_touch_batches_total", &[]);
    let touched = metric(&text, "flaskpaste_storage_touched_rows_total", &[]);
    let commits = metric(&text, "flaskpaste_storage_commits_total", &[]) - commits_before;
    let allowed = elapsed.ceil() + 1.0;
    assert!(
        batches <= allowed,
        "{batches} touch batches in {elapsed:.2}s"
    );
    assert!(
        touched <= batches * 4.0,
        "{touched} rows touched in {batches} batches"
    );
    assert!(commits <= allowed, "{commits} commits for 1000 reads");
    assert_eq!(metric(&text, "flaskpaste_pastes_read_total", &[]), 1000.0);
}
