//! Password-protected pastes: who may read them, and what a wrong guess costs.

use reqwest::header::HeaderValue;
use serde_json::{Value, json};

use crate::support::{TestServer, metric};

async fn create_protected(
    server: &TestServer,
    content: &str,
    password: &str,
    burn: bool,
) -> String {
    let mut headers = vec![("X-Paste-Password", password)];
    if burn {
        headers.push(("X-Burn-After-Read", "true"));
    }
    let (status, created) = server.post(content.to_owned(), &headers).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["password_protected"], true);
    created["id"].as_str().unwrap().to_owned()
}

async fn request(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    password: Option<&[u8]>,
) -> reqwest::Response {
    let mut request = server.client.request(method, server.url(path));
    if let Some(password) = password {
        request = request.header(
            "X-Paste-Password",
            HeaderValue::from_bytes(password).unwrap(),
        );
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_protected_paste_answers_401_without_and_403_with_a_wrong_password() {
    let server = TestServer::start().await;
    let id = create_protected(&server, "hidden words", "s3cret", false).await;
    let (get, head) = (reqwest::Method::GET, reqwest::Method::HEAD);

    for path in [format!("/{id}"), format!("/{id}/raw")] {
        let missing = request(&server, get.clone(), &path, None).await;
        assert_eq!(missing.status(), 401, "{path}");
        let body: Value = missing.json().await.unwrap();
        assert_eq!(
            body,
            json!({ "error": "Password required", "password_protected": true })
        );

        let wrong = request(&server, get.clone(), &path, Some(b"guess")).await;
        assert_eq!(wrong.status(), 403, "{path}");
        assert_eq!(
            wrong.json::<Value>().await.unwrap(),
            json!({ "error": "Invalid password" })
        );

        assert_eq!(
            request(&server, head.clone(), &path, None).await.status(),
            401,
            "HEAD {path}"
        );
        let head_wrong = request(&server, head.clone(), &path, Some(b"guess")).await;
        assert_eq!(head_wrong.status(), 403, "HEAD {path}");
        assert!(
            head_wrong.headers().get("content-disposition").is_none(),
            "type leaked"
        );
    }
    let meta: Value = request(&server, get.clone(), &format!("/{id}"), Some(b"s3cret"))
        .await
        .json()
        .await
        .unwrap();
    let raw = request(&server, get, &format!("/{id}/raw"), Some(b"s3cret")).await;
    assert_eq!(meta["password_protected"], true);
    assert_eq!(meta["size"], 12);
    assert_eq!(raw.text().await.unwrap(), "hidden words");
}

#[tokio::test]
async fn unicode_passwords_work_as_curl_sends_them() {
    let server = TestServer::start().await;
    let password = "pässwörd 🔑 パスワード";
    let (status, created) = server
        .client
        .post(server.url("/"))
        .header(
            "X-Paste-Password",
            HeaderValue::from_bytes(password.as_bytes()).unwrap(),
        )
        .body("unicode protected")
        .send()
        .await
        .map(|r| (r.status(), r))
        .unwrap();
    let created: Value = created.json().await.unwrap();
    let id = created["id"].as_str().unwrap();

    let right = request(
        &server,
        reqwest::Method::GET,
        &format!("/{id}/raw"),
        Some(password.as_bytes()),
    )
    .await;
    let close = request(
        &server,
        reqwest::Method::GET,
        &format!("/{id}/raw"),
        Some("pässwörd".as_bytes()),
    )
    .await;

    assert_eq!(status, 201);
    assert_eq!(right.status(), 200);
    assert_eq!(close.status(), 403);
}

#[tokio::test]
async fn a_wrong_password_never_burns_a_paste() {
    let server = TestServer::start().await;
    let id = create_protected(&server, "burn with care", "right", true).await;
    let path = format!("/{id}/raw");

    let missing = request(&server, reqwest::Method::GET, &path, None).await;
    let wrong = request(&server, reqwest::Method::GET, &path, Some(b"wrong")).await;
    let right = request(&server, reqwest::Method::GET, &path, Some(b"right")).await;
    let burned = right.headers().get("x-burn-after-read").cloned();
    let body = right.text().await.unwrap();
    let again = request(&server, reqwest::Method::GET, &path, Some(b"right")).await;

    assert_eq!(missing.status(), 401);
    assert_eq!(wrong.status(), 403);
    assert_eq!(body, "burn with care");
    assert_eq!(burned.unwrap(), "true");
    assert_eq!(again.status(), 404);
}

#[tokio::test]
async fn bad_password_headers_are_400_before_any_hashing() {
    let server = TestServer::start().await;
    let id = create_protected(&server, "guarded", "ok", false).await;
    let too_long = "p".repeat(1025);
    let longest = "é".repeat(1024);

    let cases: [(&[u8], &str); 3] = [
        (too_long.as_bytes(), "Password too long (max 1024 chars)"),
        (b"", "Password must not be empty"),
        (b"\xff\xfe bytes", "Password must be valid UTF-8"),
    ];
    for (password, error) in cases {
        let created = server
            .client
            .post(server.url("/"))
            .header(
                "X-Paste-Password",
                HeaderValue::from_bytes(password).unwrap(),
            )
            .body("x")
            .send()
            .await
            .unwrap();
        let read = request(
            &server,
            reqwest::Method::GET,
            &format!("/{id}"),
            Some(password),
        )
        .await;
        assert_eq!(created.status(), 400, "{error}");
        assert_eq!(created.json::<Value>().await.unwrap()["error"], error);
        assert_eq!(read.status(), 400, "{error}");
    }
    let (status, _) = server
        .post("longest", &[("X-Paste-Password", longest.as_str())])
        .await;
    assert_eq!(status, 201, "1,024 characters (2,048 bytes) is allowed");
}

#[tokio::test]
async fn refusals_are_counted_by_reason() {
    let server = TestServer::start().await;
    let id = create_protected(&server, "count", "right", false).await;

    request(&server, reqwest::Method::GET, &format!("/{id}"), None).await;
    request(
        &server,
        reqwest::Method::GET,
        &format!("/{id}"),
        Some(b"wrong"),
    )
    .await;
    request(&server, reqwest::Method::GET, &format!("/{id}"), Some(b"")).await;
    let text = server.metrics().await;

    for reason in ["missing", "wrong", "empty"] {
        let label = format!("reason=\"{reason}\"");
        assert_eq!(
            metric(&text, "flaskpaste_password_refusals_total", &[&label]),
            1.0,
            "{reason}"
        );
    }
    assert!(text.contains("flaskpaste_password_queue_depth"));
}
