//! Size limits, enforced while the body streams in, with memory bounded by the limit.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

use crate::support::{TestServer, peak_rss_kib};

const MIB: usize = 1024 * 1024;
/// The default anonymous limit.
const LIMIT: usize = 3 * MIB;

/// Sends a request by hand and reads whatever the server answers before closing.
fn raw_exchange(addr: &str, head: &str, body: Vec<u8>) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let head = head.to_owned();
    let sender = std::thread::spawn(move || {
        // The server may close once it has answered; a failed write is expected then.
        let _ = writer.write_all(head.as_bytes());
        let _ = writer.write_all(&body);
    });
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let _ = sender.join();
    String::from_utf8_lossy(&answer).into_owned()
}

fn json_body(answer: &str) -> Value {
    let body = answer.split("\r\n\r\n").nth(1).expect("a body");
    serde_json::from_str(body).expect("a JSON body")
}

#[tokio::test]
async fn a_declared_oversize_upload_is_refused_before_its_body() {
    let server = TestServer::start().await;
    let addr = server.base.trim_start_matches("http://").to_owned();

    let head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n";
    let answer = tokio::task::spawn_blocking(move || raw_exchange(&addr, head, Vec::new()))
        .await
        .unwrap();

    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let body = json_body(&answer);
    assert_eq!(body["error"], "Paste too large");
    assert_eq!(body["size"], 104_857_600);
    assert_eq!(body["max_size"], LIMIT);
    assert_eq!(body["authenticated"], false);
}

#[tokio::test]
async fn a_client_that_sends_4mib_without_waiting_reads_the_413() {
    let server = TestServer::start().await;
    let addr = server.base.trim_start_matches("http://").to_owned();

    let head = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        4 * MIB
    );
    let answer =
        tokio::task::spawn_blocking(move || raw_exchange(&addr, &head, vec![b'a'; 4 * MIB]))
            .await
            .unwrap();

    assert!(answer.starts_with("HTTP/1.1 413"), "got: {answer:.200}");
    assert_eq!(json_body(&answer)["size"], 4 * MIB);
}

#[tokio::test]
async fn a_chunked_upload_is_cut_off_at_the_limit() {
    let server = TestServer::start().await;
    let chunks = (0..8 * MIB / 65536).map(|_| Ok::<_, std::io::Error>(vec![b'z'; 65536]));
    let body = reqwest::Body::wrap_stream(futures::stream::iter(chunks));

    let (status, answer) = server.post(body, &[]).await;

    assert_eq!(status, 413);
    let size = usize::try_from(answer["size"].as_u64().unwrap()).unwrap();
    assert!(size > LIMIT && size <= LIMIT + 65536, "cut off at {size}");
}

#[tokio::test]
async fn refusing_100mib_uploads_keeps_memory_bounded_by_the_limit() {
    let server = TestServer::start().await;
    server.create("warm up").await;
    let before_kib = peak_rss_kib(server.pid());

    let declared = server
        .client
        .post(server.url("/"))
        .body(vec![0u8; 100 * MIB])
        .send()
        .await;
    let chunks = (0..100 * MIB / 65536).map(|_| Ok::<_, std::io::Error>(vec![0u8; 65536]));
    let chunked = server
        .client
        .post(server.url("/"))
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await;
    let after_kib = peak_rss_kib(server.pid());

    // The server may close before the client has sent everything; when an answer arrives it
    // is the 413.
    for response in [declared, chunked].into_iter().flatten() {
        assert_eq!(response.status(), 413);
    }
    let grown_kib = after_kib.saturating_sub(before_kib);
    let allowed_kib = (LIMIT + 4 * MIB) / 1024;
    assert!(grown_kib <= allowed_kib as u64, "peak grew {grown_kib} KiB");
}

#[tokio::test]
async fn a_full_database_refuses_writes_with_503_and_keeps_serving_reads() {
    let server = TestServer::start_with(&[("FLASKPASTE_DB_MAX_BYTES", "262144")]).await;
    let first = server.create("written before the disk filled").await;

    let mut refused = None;
    for i in 0..100u32 {
        let content: Vec<u8> = (0..16 * 1024u32)
            .map(|b| (b ^ i).to_le_bytes()[0])
            .collect();
        let response = server
            .client
            .post(server.url("/"))
            .body(content)
            .send()
            .await
            .unwrap();
        if response.status() != 201 {
            refused = Some(response);
            break;
        }
    }
    let refused = refused.expect("the capped database filled up");
    let retry_after = refused.headers().get("retry-after").cloned();
    let status = refused.status();
    let body: Value = refused.json().await.unwrap();
    let read = server.get(&format!("/{first}/raw")).await;
    let health: Value = server.get("/health").await.json().await.unwrap();

    assert_eq!(status, 503);
    assert!(retry_after.is_some(), "503 without Retry-After");
    assert_eq!(body["error"], "Storage temporarily unavailable");
    assert_eq!(read.status(), 200);
    assert_eq!(health["writes"], "error");
    assert_eq!(health["database"], "ok");
}

#[tokio::test]
async fn a_client_refused_before_its_body_is_read_still_reads_why() {
    let server = TestServer::start_with(&[("FLASKPASTE_POW_DIFFICULTY", "8")]).await;
    let addr = server.base.trim_start_matches("http://").to_owned();

    let head = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        3 * MIB
    );
    let answer =
        tokio::task::spawn_blocking(move || raw_exchange(&addr, &head, vec![b'a'; 3 * MIB]))
            .await
            .unwrap();

    assert!(answer.starts_with("HTTP/1.1 400"), "got: {answer:.200}");
    assert_eq!(json_body(&answer)["error"], "Proof-of-work required");
}
