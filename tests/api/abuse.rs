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
