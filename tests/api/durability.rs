//! What a 201 promises: the paste is on disk, whatever happens to the process next.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::future::join_all;
use tokio::sync::Mutex;

use crate::support::{TestServer, metric};

/// Pastes answered 201, by id, with the bytes that were sent.
type Answered = Arc<Mutex<HashMap<String, Vec<u8>>>>;

/// `creators` clients each creating pastes until `stop` is set; every 201 lands in `answered`.
/// Answers, per request, whether it ended in something other than a 201 or a refused connect.
async fn create_until(
    base: String,
    creators: usize,
    stop: Arc<AtomicBool>,
    answered: Answered,
) -> Vec<String> {
    let tasks = (0..creators).map(|creator| {
        let (base, stop, answered) = (base.clone(), stop.clone(), answered.clone());
        tokio::spawn(async move {
            // A fresh connection per request: no request rides on a connection being closed.
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap();
            let mut failures = Vec::new();
            let mut n = 0u32;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let content = format!(
                    "creator {creator} paste {n} {}",
                    "x".repeat(n as usize % 300)
                );
                match client
                    .post(format!("{base}/"))
                    .body(content.clone())
                    .send()
                    .await
                {
                    Ok(response) if response.status() == 201 => {
                        let json: serde_json::Value = response.json().await.unwrap();
                        let id = json["id"].as_str().unwrap().to_owned();
                        answered.lock().await.insert(id, content.into_bytes());
                    }
                    Ok(response) => failures.push(format!("status {}", response.status())),
                    Err(err) if err.is_connect() => break,
                    Err(err) => failures.push(format!("{err:?}")),
                }
            }
            failures
        })
    });
    join_all(tasks)
        .await
        .into_iter()
        .flat_map(Result::unwrap)
        .collect()
}

async fn assert_all_readable(server: &TestServer, answered: &HashMap<String, Vec<u8>>) {
    for (id, content) in answered {
        let raw = server.get(&format!("/{id}/raw")).await;
        assert_eq!(raw.status(), 200, "paste {id} answered 201 but lost");
        assert_eq!(
            raw.bytes().await.unwrap().as_ref(),
            &content[..],
            "paste {id} changed"
        );
    }
}

fn integrity_check(db: &std::path::Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap()
}

#[tokio::test]
async fn every_answered_paste_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("paste.db");
    let mut server = TestServer::start_on(&db, &[]).await;
    let answered: Answered = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));

    let burst = tokio::spawn(create_until(
        server.base.clone(),
        16,
        stop.clone(),
        answered.clone(),
    ));
    let mut scrapes = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while answered.lock().await.len() < 300 {
        assert!(
            std::time::Instant::now() < deadline,
            "the burst never reached 300 pastes"
        );
        let text = server.metrics().await;
        scrapes.push((
            metric(&text, "flaskpaste_pastes_created_total", &[]),
            metric(&text, "flaskpaste_storage_committed_inserts_total", &[]),
        ));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill();
    stop.store(true, Ordering::SeqCst);
    let _ = burst.await.unwrap();
    let answered = answered.lock().await.clone();

    for (created, synced) in &scrapes {
        assert!(
            created <= synced,
            "{created} answered 201 but only {synced} synced"
        );
    }
    let restarted = TestServer::start_on(&db, &[]).await;
    assert_all_readable(&restarted, &answered).await;
    assert_eq!(integrity_check(&db), "ok");
}

#[tokio::test]
async fn sigterm_answers_every_request_accepted_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("paste.db");
    // The listener keeps accepting for a second after the signal, so every request the
    // creators started before it was accepted.
    let mut server = TestServer::start_on(&db, &[("FLASKPASTE_SHUTDOWN_DELAY", "1")]).await;
    let answered: Answered = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));

    let burst = tokio::spawn(create_until(
        server.base.clone(),
        16,
        stop.clone(),
        answered.clone(),
    ));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while answered.lock().await.len() < 100 {
        assert!(
            std::time::Instant::now() < deadline,
            "the burst never reached 100 pastes"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::SeqCst);
    let status = tokio::task::spawn_blocking(move || {
        let status = server.terminate();
        (status, server)
    });
    let failures = burst.await.unwrap();
    let (status, server) = status.await.unwrap();
    drop(server);
    let answered = answered.lock().await.clone();

    assert!(
        failures.is_empty(),
        "requests lost in the drain: {failures:?}"
    );
    assert!(status.success(), "exit status {status:?}");
    let restarted = TestServer::start_on(&db, &[]).await;
    assert_all_readable(&restarted, &answered).await;
    assert_eq!(integrity_check(&db), "ok");
}

#[tokio::test]
async fn health_turns_503_as_soon_as_shutdown_begins() {
    let mut server = TestServer::start_with(&[("FLASKPASTE_SHUTDOWN_DELAY", "3")]).await;
    let pid = server.pid().to_string();

    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let draining = crate::support::eventually(Duration::from_secs(2), async || {
        server.get("/health").await.status() == 503
    })
    .await;
    let livez = server.get("/livez").await.status();
    let status = server.wait();

    assert!(draining, "health still 200 while draining");
    assert_eq!(livez, 200);
    assert!(status.success());
}
