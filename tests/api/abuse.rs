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

mod proof_of_work {
    use std::time::Duration;

    use flaskpaste_actors::pow::{leading_zero_bits, solve, work_hash};
    use serde_json::{Value, json};

    use crate::support::{TestServer, eventually};

    async fn challenge(server: &TestServer, path: &str) -> Value {
        server.get(path).await.json().await.unwrap()
    }

    async fn post_with(
        server: &TestServer,
        body: &str,
        token: &str,
        solution: &str,
    ) -> (u16, Value) {
        server
            .post(
                body.to_owned(),
                &[("X-PoW-Token", token), ("X-PoW-Solution", solution)],
            )
            .await
    }

    #[tokio::test]
    async fn without_difficulty_the_challenge_says_disabled_and_curl_just_works() {
        let server = TestServer::start().await;

        let body = challenge(&server, "/challenge").await;
        let (status, _) = server.post("no work needed", &[]).await;

        assert_eq!(body, json!({ "enabled": false, "difficulty": 0 }));
        assert_eq!(status, 201);
    }

    #[tokio::test]
    async fn a_correct_solution_creates_the_paste_once() {
        let server = TestServer::start_with(&[("FLASKPASTE_POW_DIFFICULTY", "14")]).await;

        let body = challenge(&server, "/challenge").await;
        let nonce = body["nonce"].as_str().unwrap();
        let token = body["token"].as_str().unwrap();
        let solution = solve(nonce, 14).to_string();
        let (created, _) = post_with(&server, "worked for it", token, &solution).await;
        let (replayed, replay_body) = post_with(&server, "again", token, &solution).await;

        assert_eq!(body["enabled"], true);
        assert_eq!(body["difficulty"], 14);
        assert_eq!(body["base_difficulty"], 14);
        assert_eq!(body["elevated"], false);
        assert_eq!(nonce.len(), 32);
        assert!(token.starts_with(&format!("{nonce}:{}:14:", body["expires"])));
        assert_eq!(created, 201);
        assert_eq!(replayed, 400);
        assert_eq!(
            replay_body["error"],
            "Proof-of-work failed: Challenge already used"
        );
    }

    #[tokio::test]
    async fn each_bad_solution_is_refused_with_its_own_message() {
        let server = TestServer::start_with(&[
            ("FLASKPASTE_POW_DIFFICULTY", "12"),
            ("FLASKPASTE_PKI_ENABLED", "1"),
            ("FLASKPASTE_REGISTER_POW", "12"),
        ])
        .await;
        let body = challenge(&server, "/challenge").await;
        let (nonce, token) = (
            body["nonce"].as_str().unwrap(),
            body["token"].as_str().unwrap(),
        );
        let right = solve(nonce, 12);
        let wrong = (0..)
            .find(|n| leading_zero_bits(&work_hash(nonce, *n)) < 12)
            .unwrap();
        let parts: Vec<&str> = token.split(':').collect();
        let easier = format!("{}:{}:1:{}", parts[0], parts[1], parts[3]);
        let forged = format!("{}:{}:{}:{}", parts[0], parts[1], parts[2], "0".repeat(64));
        let register = challenge(&server, "/register/challenge").await;
        let register_solution = solve(register["nonce"].as_str().unwrap(), 12).to_string();

        let (missing, missing_body) = server.post("no headers", &[]).await;
        let cases = [
            (token, wrong.to_string(), "Insufficient work"),
            (token, "not-a-number".to_owned(), "Invalid solution"),
            (easier.as_str(), right.to_string(), "Invalid token"),
            (forged.as_str(), right.to_string(), "Invalid token"),
            (
                register["token"].as_str().unwrap(),
                register_solution,
                "Token was issued for another endpoint",
            ),
        ];
        for (token, solution, reason) in cases {
            let (status, answer) = post_with(&server, "attempt", token, &solution).await;
            assert_eq!(status, 400, "{reason}");
            assert_eq!(answer["error"], format!("Proof-of-work failed: {reason}"));
        }
        let (accepted, _) = post_with(&server, "finally", token, &right.to_string()).await;

        assert_eq!(missing, 400);
        assert_eq!(
            missing_body,
            json!({ "error": "Proof-of-work required", "hint": "GET /challenge for a new challenge" })
        );
        assert_eq!(accepted, 201, "wrong solutions did not spend the nonce");
    }

    #[tokio::test]
    async fn an_expired_challenge_is_refused() {
        let server = TestServer::start_with(&[
            ("FLASKPASTE_POW_DIFFICULTY", "12"),
            ("FLASKPASTE_POW_TTL", "1"),
        ])
        .await;
        let body = challenge(&server, "/challenge").await;
        let token = body["token"].as_str().unwrap().to_owned();
        let solution = solve(body["nonce"].as_str().unwrap(), 12).to_string();
        let expires = body["expires"].as_i64().unwrap();

        let expired = eventually(Duration::from_secs(5), async || {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            i64::try_from(now).unwrap() > expires
        })
        .await;
        let (status, answer) = post_with(&server, "too late", &token, &solution).await;

        assert!(expired);
        assert_eq!(status, 400);
        assert_eq!(answer["error"], "Proof-of-work failed: Challenge expired");
    }

    #[tokio::test]
    async fn the_registration_challenge_exists_only_with_the_pki() {
        let off = TestServer::start_with(&[("FLASKPASTE_POW_DIFFICULTY", "12")]).await;
        let on = TestServer::start_with(&[("FLASKPASTE_PKI_ENABLED", "1")]).await;

        let missing = off.get("/register/challenge").await.status();
        let body = challenge(&on, "/register/challenge").await;

        assert_eq!(missing, 404);
        assert_eq!(body["enabled"], true);
        assert_eq!(body["difficulty"], 24, "registration defaults to 24 bits");
    }

    #[tokio::test]
    async fn a_burst_raises_the_difficulty_and_it_returns_to_the_base() {
        let server = TestServer::start_with(&[
            ("FLASKPASTE_POW_DIFFICULTY", "12"),
            ("FLASKPASTE_POW_FLOOD_THRESHOLD", "20"),
            ("FLASKPASTE_POW_FLOOD_WINDOW", "2"),
        ])
        .await;

        let mut last = Value::Null;
        for _ in 0..45 {
            last = challenge(&server, "/challenge").await;
        }
        let calmed = eventually(Duration::from_secs(10), async || {
            tokio::time::sleep(Duration::from_millis(500)).await;
            // Each probe counts too, but two a second stay far under the threshold.
            challenge(&server, "/challenge").await["elevated"] == false
        })
        .await;
        let after = challenge(&server, "/challenge").await;

        assert_eq!(last["elevated"], true, "{last}");
        assert!(last["difficulty"].as_u64().unwrap() >= 14, "{last}");
        assert_eq!(last["base_difficulty"], 12);
        assert!(calmed, "difficulty never came back down");
        assert_eq!(after["difficulty"], 12);
    }
}

#[tokio::test]
async fn every_actor_reports_its_mailbox_and_its_work() {
    let server = TestServer::start_with(&rate_limited(&[("FLASKPASTE_POW_DIFFICULTY", "8")])).await;
    let challenge: Value = server.get("/challenge").await.json().await.unwrap();
    let solution = flaskpaste_actors::pow::solve(challenge["nonce"].as_str().unwrap(), 8);

    let (status, _) = server
        .post(
            "watched",
            &[
                ("X-PoW-Token", challenge["token"].as_str().unwrap()),
                ("X-PoW-Solution", &solution.to_string()),
            ],
        )
        .await;
    let text = server.metrics().await;

    assert_eq!(status, 201);
    for actor in [
        "storage_writer",
        "rate_limiter",
        "dedup_tracker",
        "pow_issuer",
    ] {
        let series = format!("flaskpaste_actor_mailbox_depth{{actor=\"{actor}\"}}");
        assert!(text.contains(&series), "no mailbox depth for {actor}");
    }
    let allowed = ["outcome=\"allowed\""];
    assert_eq!(
        crate::support::metric(&text, "flaskpaste_rate_limit_decisions_total", &allowed),
        1.0
    );
    assert_eq!(
        crate::support::metric(&text, "flaskpaste_dedup_decisions_total", &allowed),
        1.0
    );
    let accepted = ["outcome=\"accepted\""];
    assert_eq!(
        crate::support::metric(&text, "flaskpaste_pow_verifications_total", &accepted),
        1.0
    );
    assert!(crate::support::metric(&text, "flaskpaste_storage_batch_size_count", &[]) >= 1.0);
}
