//! Who a request is from: proxy-passed fingerprints, the proxy secret, trust levels, client IP.

use serde_json::Value;

use crate::support::{TestServer, eventually};

pub const ALICE: &str = "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2";
pub const BOB: &str = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0";

#[tokio::test]
async fn a_fingerprint_makes_the_creator_the_owner() {
    let server = TestServer::start().await;

    let (status, created) = server
        .post(
            "mine",
            &[("X-SSL-Client-SHA1", &ALICE.to_ascii_uppercase())],
        )
        .await;

    assert_eq!(status, 201);
    assert_eq!(created["owner"], ALICE, "the full fingerprint, lowercase");
    let lifetime =
        created["expires_at"].as_i64().unwrap() - created["created_at"].as_i64().unwrap();
    assert_eq!(
        lifetime, 604_800,
        "untrusted clients get the untrusted expiry"
    );
}

#[tokio::test]
async fn malformed_fingerprints_are_anonymous() {
    let server = TestServer::start().await;
    let colons = ALICE
        .as_bytes()
        .chunks(2)
        .map(|pair| std::str::from_utf8(pair).unwrap())
        .collect::<Vec<_>>()
        .join(":");

    for bad in [&ALICE[..39], &format!("{ALICE}0"), colons.as_str()] {
        let (status, created) = server
            .post(format!("x{bad}"), &[("X-SSL-Client-SHA1", bad)])
            .await;
        let listing = server
            .client
            .get(server.url("/pastes"))
            .header("X-SSL-Client-SHA1", bad)
            .send()
            .await
            .unwrap();

        assert_eq!(status, 201, "{bad}");
        assert!(created.get("owner").is_none(), "{bad} was accepted");
        assert_eq!(listing.status(), 401, "{bad}");
    }
}

#[tokio::test]
async fn a_forged_fingerprint_without_the_proxy_secret_is_anonymous() {
    let server = TestServer::start_with(&[("FLASKPASTE_PROXY_SECRET", "proxy-s3cret")]).await;
    let list = async |secret: Option<&str>| {
        let mut request = server
            .client
            .get(server.url("/pastes"))
            .header("X-SSL-Client-SHA1", ALICE);
        if let Some(secret) = secret {
            request = request.header("X-Proxy-Secret", secret);
        }
        request.send().await.unwrap().status().as_u16()
    };

    let missing = list(None).await;
    let wrong = list(Some("proxy-s3creT")).await;
    let right = list(Some("proxy-s3cret")).await;
    let (_, created) = server.post("forged", &[("X-SSL-Client-SHA1", ALICE)]).await;

    assert_eq!(missing, 401);
    assert_eq!(wrong, 401);
    assert_eq!(right, 200);
    assert!(created.get("owner").is_none());
}

#[tokio::test]
async fn the_proxy_secret_can_come_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("proxy-secret");
    std::fs::write(&secret_file, "from-a-file\n").unwrap();
    let server = TestServer::start_with(&[(
        "FLASKPASTE_PROXY_SECRET_FILE",
        secret_file.to_str().unwrap(),
    )])
    .await;

    let (_, with_secret) = server
        .post(
            "a",
            &[
                ("X-SSL-Client-SHA1", ALICE),
                ("X-Proxy-Secret", "from-a-file"),
            ],
        )
        .await;
    let (_, without) = server.post("b", &[("X-SSL-Client-SHA1", ALICE)]).await;

    assert_eq!(with_secret["owner"], ALICE);
    assert!(without.get("owner").is_none());
}

#[tokio::test]
async fn authenticated_clients_get_the_larger_upload_limit() {
    let server = TestServer::start_with(&[
        ("FLASKPASTE_MAX_ANON", "1024"),
        ("FLASKPASTE_MAX_AUTH", "4096"),
    ])
    .await;
    let auth = [("X-SSL-Client-SHA1", ALICE)];

    let (anonymous, refused) = server.post(vec![b'a'; 2000], &[]).await;
    let (authenticated, _) = server.post(vec![b'a'; 2000], &auth).await;
    let (too_big, refused_auth) = server.post(vec![b'a'; 5000], &auth).await;

    assert_eq!(anonymous, 413);
    assert_eq!(refused["max_size"], 1024);
    assert_eq!(refused["authenticated"], false);
    assert_eq!(authenticated, 201);
    assert_eq!(too_big, 413);
    assert_eq!(refused_auth["max_size"], 4096);
    assert_eq!(refused_auth["authenticated"], true);
}

/// The `client_ip` of the request span of the creation that carried `marker`.
async fn logged_client_ip(server: &TestServer, marker: &str) -> String {
    let found = eventually(std::time::Duration::from_secs(5), async || {
        server.logs().iter().any(|line| line.contains(marker))
    })
    .await;
    assert!(found, "no log line for {marker}");
    let line = server
        .logs()
        .into_iter()
        .find(|line| line.contains(marker))
        .unwrap();
    let event: Value = serde_json::from_str(&line).unwrap();
    event["span"]["client_ip"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let server = TestServer::start().await;

    let response = server
        .client
        .post(server.url("/"))
        .header("X-Forwarded-For", "198.51.100.7")
        .header("X-Request-ID", "spoof-check")
        .body("spoof")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 201);
    assert_eq!(logged_client_ip(&server, "spoof-check").await, "127.0.0.1");
}

#[tokio::test]
async fn a_trusted_proxy_names_the_client() {
    let server = TestServer::start_with(&[("FLASKPASTE_TRUSTED_PROXIES", "127.0.0.0/8")]).await;

    let response = server
        .client
        .post(server.url("/"))
        .header("X-Forwarded-For", "6.6.6.6, 198.51.100.7")
        .header("X-Request-ID", "proxied-check")
        .body("proxied")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 201);
    assert_eq!(
        logged_client_ip(&server, "proxied-check").await,
        "198.51.100.7"
    );
}

#[tokio::test]
async fn listening_beyond_loopback_without_a_proxy_secret_warns() {
    let server = TestServer::start_with(&[("FLASKPASTE_BIND", "0.0.0.0:0")]).await;

    let warned = eventually(std::time::Duration::from_secs(5), async || {
        server
            .logs()
            .iter()
            .any(|line| line.contains("WARN") && line.contains("FLASKPASTE_PROXY_SECRET"))
    })
    .await;

    assert!(warned, "no forgery warning at start-up");
}
