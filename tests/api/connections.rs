//! Slow and idle clients do not hold the server.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use crate::support::TestServer;

fn addr(server: &TestServer) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection or `limit` passes; answers what was read and
/// how long it took.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let started = Instant::now();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    (
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test]
async fn a_body_trickled_one_byte_a_second_is_cut_off_with_408() {
    let server = TestServer::start_with(&[("FLASKPASTE_BODY_GRACE", "2")]).await;
    let addr = addr(&server);

    let (answer, elapsed) = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
            .unwrap();
        let started = Instant::now();
        let mut reader = stream.try_clone().unwrap();
        let trickle = std::thread::spawn(move || {
            for _ in 0..10 {
                if stream.write_all(b"a").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        });
        let (answer, _) = read_until_closed(&mut reader, Duration::from_secs(15));
        let elapsed = started.elapsed();
        let _ = trickle.join();
        (answer, elapsed)
    })
    .await
    .unwrap();

    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:.300}");
    assert!(answer.contains("Request body too slow"));
    assert!(
        elapsed < Duration::from_secs(6),
        "cut off after {elapsed:?}"
    );
}

#[tokio::test]
async fn a_silent_gap_in_a_body_is_cut_off_with_408() {
    let server = TestServer::start_with(&[("FLASKPASTE_BODY_GAP_TIMEOUT", "1")]).await;
    let addr = addr(&server);

    let (answer, _) = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
            .unwrap();
        read_until_closed(&mut stream, Duration::from_secs(10))
    })
    .await
    .unwrap();

    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:.300}");
}

#[tokio::test]
async fn headers_that_never_finish_are_dropped() {
    let server = TestServer::start_with(&[("FLASKPASTE_HEADER_TIMEOUT", "1")]).await;
    let addr = addr(&server);

    let (answer, elapsed) = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(b"GET /livez HTTP/1.1\r\n").unwrap();
        read_until_closed(&mut stream, Duration::from_secs(15))
    })
    .await
    .unwrap();

    assert!(answer.is_empty(), "{answer}");
    assert!(elapsed < Duration::from_secs(5), "held for {elapsed:?}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let server = TestServer::start_with(&[("FLASKPASTE_KEEPALIVE_TIMEOUT", "2")]).await;
    let addr = addr(&server);

    let (answer, elapsed) = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        read_until_closed(&mut stream, Duration::from_secs(20))
    })
    .await
    .unwrap();

    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(6),
        "closed after {elapsed:?}"
    );
}

#[tokio::test]
async fn a_thousand_idle_connections_do_not_keep_other_clients_out() {
    let server = TestServer::start_with(&[
        ("FLASKPASTE_MAX_CONNECTIONS", "200"),
        ("FLASKPASTE_HEADER_TIMEOUT", "1"),
    ])
    .await;
    let addr = addr(&server);

    let idle: Vec<TcpStream> = (0..1000)
        .map(|_| TcpStream::connect(&addr).unwrap())
        .collect();
    let started = Instant::now();
    let response = server.get("/health").await;
    let waited = started.elapsed();

    assert_eq!(response.status(), 200);
    assert!(waited < Duration::from_secs(10), "waited {waited:?}");
    drop(idle);
}

#[tokio::test]
async fn a_client_that_half_closes_still_gets_its_answer() {
    let server = TestServer::start().await;
    let addr = addr(&server);

    let (answer, _) = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
            .unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
        read_until_closed(&mut stream, Duration::from_secs(10))
    })
    .await
    .unwrap();

    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
}

#[tokio::test]
async fn uploads_past_the_budget_answer_503() {
    let server = TestServer::start_with(&[("FLASKPASTE_UPLOAD_BUDGET", "3000")]).await;
    let addr = addr(&server);
    let mut slow = TcpStream::connect(&addr).unwrap();
    slow.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2500\r\n\r\n")
        .unwrap();
    slow.write_all(&[b'a'; 2400]).unwrap();
    let held = crate::support::eventually(Duration::from_secs(5), async || {
        let text = server.metrics().await;
        crate::support::metric(&text, "flaskpaste_upload_bytes_in_flight", &[]) >= 2400.0
    })
    .await;
    assert!(held, "the slow upload's bytes never showed in flight");

    let (status, body) = server.post(vec![b'b'; 700], &[]).await;
    slow.write_all(&[b'a'; 100]).unwrap();
    let (answer, _) =
        tokio::task::spawn_blocking(move || read_until_closed(&mut slow, Duration::from_secs(1)))
            .await
            .unwrap();
    let (after, _) = server.post(vec![b'c'; 700], &[]).await;

    assert_eq!(status, 503);
    assert_eq!(body["error"], "Too many uploads in progress, retry shortly");
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer:.200}");
    assert_eq!(after, 201, "the budget comes back once uploads finish");
}

#[tokio::test]
async fn sigterm_does_not_wait_for_a_half_sent_request() {
    let mut server = TestServer::start().await;
    let mut stream = TcpStream::connect(addr(&server)).unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\n").unwrap();

    let started = Instant::now();
    let status = tokio::task::spawn_blocking(move || server.terminate())
        .await
        .unwrap();

    assert!(status.success());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}
