//! Abuse prevention seen from outside: rate limits, duplicate throttling, proof-of-work and
//! content policy.

use futures::future::join_all;
use serde_json::Value;

use crate::identity::ALICE;
use crate::support::TestServer;

fn rate_limited(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    // A long window, so that a burst cannot straddle two.
    let mut env = vec![
        ("FLASKPASTE_RATE_LIMIT", "1"),
        ("FLASKPASTE_RATE_WINDOW", "3600"),
    ];
    env.extend_from_slice(extra);
    env
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn the_eleventh_paste_in_a_window_is_429_with_the_headers() {
    let server = TestServer::start_with(&rate_limited(&[])).await;

    let mut answers = Vec::new();
    for i in 0..11 {
        answers.push(
            server
                .client
                .post(server.url("/"))
                .body(format!("paste {i}"))
                .send()
                .await
                .unwrap(),
        );
    }

    let remaining: Vec<String> = answers
        .iter()
        .map(|r| header(r, "x-ratelimit-remaining").unwrap())
        .collect();
    assert_eq!(
        remaining,
        ["9", "8", "7", "6", "5", "4", "3", "2", "1", "0", "0"]
    );
    assert!(answers[..10].iter().all(|r| r.status() == 201));
    let refused = &answers[10];
    assert_eq!(refused.status(), 429);
    assert_eq!(header(refused, "x-ratelimit-limit").as_deref(), Some("10"));
    let reset: i64 = header(refused, "x-ratelimit-reset")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        answers
            .iter()
            .all(|r| header(r, "x-ratelimit-reset").unwrap() == reset.to_string())
    );
    let retry_after: i64 = header(refused, "retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    let body: Value = answers.pop().unwrap().json().await.unwrap();
    assert_eq!(body["error"], "Rate limit exceeded");
}

#[tokio::test]
async fn of_50_parallel_requests_exactly_10_pass() {
    let server = TestServer::start_with(&rate_limited(&[])).await;

    let requests = (0..50).map(|i| {
        let client = reqwest::Client::new();
        let url = server.url("/");
        async move {
            let response = client
                .post(url)
                .body(format!("parallel {i}"))
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                header(&response, "x-ratelimit-remaining").unwrap(),
            )
        }
    });
    let answers = join_all(requests).await;

    let passed: Vec<&(u16, String)> = answers.iter().filter(|(s, _)| *s == 201).collect();
    assert_eq!(passed.len(), 10, "{answers:?}");
    assert_eq!(answers.iter().filter(|(s, _)| *s == 429).count(), 40);
    let mut remaining: Vec<u32> = passed.iter().map(|(_, r)| r.parse().unwrap()).collect();
    remaining.sort_unstable();
    assert_eq!(
        remaining,
        (0..10).collect::<Vec<u32>>(),
        "remaining never repeats"
    );
}

#[tokio::test]
async fn an_authenticated_client_gets_five_times_the_budget() {
    let server = TestServer::start_with(&rate_limited(&[("FLASKPASTE_RATE_MAX", "2")])).await;

    let mut statuses = Vec::new();
    for i in 0..11 {
        let (status, _) = server
            .post(format!("auth {i}"), &[("X-SSL-Client-SHA1", ALICE)])
            .await;
        statuses.push(status);
    }

    assert!(statuses[..10].iter().all(|s| *s == 201), "{statuses:?}");
    assert_eq!(statuses[10], 429);
}

#[tokio::test]
async fn reads_are_not_rate_limited_and_carry_no_rate_headers() {
    let server = TestServer::start_with(&rate_limited(&[("FLASKPASTE_RATE_MAX", "1")])).await;
    let id = server.create("read me often").await;

    for _ in 0..5 {
        let response = server.get(&format!("/{id}/raw")).await;
        assert_eq!(response.status(), 200);
        assert!(response.headers().get("x-ratelimit-limit").is_none());
    }
}

/// Bytes that look random: a xorshift stream, different for each seed.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

#[tokio::test]
async fn the_fourth_identical_paste_is_429_and_other_content_passes() {
    let server = TestServer::start().await;
    let too_long = "p".repeat(1025);

    let (refused_early, _) = server
        .post("spam spam spam", &[("X-Paste-Password", too_long.as_str())])
        .await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(server.post("spam spam spam", &[]).await);
    }
    let (other, _) = server.post("something else", &[]).await;

    assert_eq!(refused_early, 400);
    let codes: Vec<u16> = statuses.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        codes,
        [201, 201, 201, 429],
        "a refused paste is not a duplicate"
    );
    assert_eq!(
        statuses[3].1,
        serde_json::json!({
            "error": "Duplicate content rate limit exceeded",
            "count": 3,
            "window_seconds": 3600,
        })
    );
    assert_eq!(other, 201);
}

#[tokio::test]
async fn low_entropy_content_is_refused_above_the_size_threshold() {
    let server = TestServer::start_with(&[("FLASKPASTE_MIN_ENTROPY", "6.0")]).await;
    let english = "The quick brown fox jumps over the lazy dog, again and again. ".repeat(10);

    let (plain, refused) = server.post(english.clone(), &[]).await;
    let (random, _) = server.post(noise(1, 1024), &[]).await;
    let (small, _) = server.post(english[..200].to_owned(), &[]).await;

    assert_eq!(plain, 400);
    assert_eq!(refused["error"], "Content entropy too low");
    let entropy = refused["entropy"].as_f64().unwrap();
    assert!((3.0..5.0).contains(&entropy), "{entropy}");
    assert_eq!(refused["min_entropy"], 6.0);
    assert!(refused["hint"].as_str().unwrap().contains("Encrypt"));
    assert_eq!(random, 201);
    assert_eq!(small, 201, "content under the size threshold is exempt");
}

#[tokio::test]
async fn required_binary_refuses_text_and_known_formats() {
    let server = TestServer::start_with(&[("FLASKPASTE_REQUIRE_BINARY", "1")]).await;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec();

    let (text, text_body) = server.post("plain words", &[]).await;
    let (image, image_body) = server.post(png, &[]).await;
    let (random, _) = server.post(noise(2, 512), &[]).await;

    assert_eq!(text, 400);
    assert_eq!(text_body["error"], "Recognizable format not allowed");
    assert_eq!(text_body["detected"], "text/plain");
    assert_eq!(image, 400);
    assert_eq!(image_body["detected"], "image/png");
    assert_eq!(random, 201);
}
