//! Listing one's own pastes, and deleting them.

use serde_json::{Value, json};

use crate::identity::{ALICE, BOB};
use crate::support::TestServer;

const ADMIN: &str = "adadadadadadadadadadadadadadadadadadadad";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";

async fn create_as(server: &TestServer, who: &str, body: impl Into<reqwest::Body>) -> String {
    let (status, created) = server.post(body, &[("X-SSL-Client-SHA1", who)]).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

async fn list_as(server: &TestServer, who: Option<&str>, query: &str) -> (u16, Value) {
    let mut request = server.client.get(server.url(&format!("/pastes{query}")));
    if let Some(who) = who {
        request = request.header("X-SSL-Client-SHA1", who);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn delete_as(server: &TestServer, who: Option<&str>, id: &str) -> (u16, Value) {
    let mut request = server.client.delete(server.url(&format!("/{id}")));
    if let Some(who) = who {
        request = request.header("X-SSL-Client-SHA1", who);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn ids(listing: &Value) -> Vec<&str> {
    listing["pastes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn listing_needs_a_fingerprint() {
    let server = TestServer::start().await;

    let (status, body) = list_as(&server, None, "").await;

    assert_eq!(status, 401);
    assert_eq!(body, json!({ "error": "Authentication required" }));
}

#[tokio::test]
async fn a_client_lists_only_its_own_pastes_newest_first() {
    let server = TestServer::start().await;
    let first = create_as(&server, ALICE, "alice one").await;
    let second = create_as(&server, ALICE, "alice two").await;
    create_as(&server, BOB, "bob's").await;
    server.create("anonymous").await;

    let (status, listing) = list_as(&server, Some(ALICE), "").await;

    assert_eq!(status, 200);
    assert_eq!(listing["total"], 2);
    assert_eq!(listing["limit"], 100);
    assert_eq!(listing["offset"], 0);
    assert_eq!(ids(&listing), vec![second.as_str(), first.as_str()]);
    let paste = &listing["pastes"][0];
    assert_eq!(paste["owner"], format!("{}...", &ALICE[..12]));
    assert!(paste["created_at"].is_i64() && paste["expires_at"].is_i64());
    assert_eq!(paste["mime_type"], "text/plain");
    assert_eq!(paste["burn_after_read"], false);
    assert_eq!(paste["password_protected"], false);
}

#[tokio::test]
async fn listing_filters_combine() {
    let server = TestServer::start().await;
    let image = create_as(&server, ALICE, PNG).await;
    create_as(&server, ALICE, "some text").await;
    create_as(&server, BOB, PNG.to_vec()).await;
    let now = flaskpaste_now();

    let (_, images) = list_as(&server, Some(ALICE), "?type=image/*").await;
    let (_, recent_images) = list_as(
        &server,
        Some(ALICE),
        &format!("?type=image/*&after={}", now - 600),
    )
    .await;
    let (_, future) = list_as(&server, Some(ALICE), &format!("?after={}", now + 600)).await;
    let (_, before) = list_as(&server, Some(ALICE), &format!("?before={}", now + 600)).await;
    let (_, paged) = list_as(&server, Some(ALICE), "?limit=1&offset=1").await;

    assert_eq!(ids(&images), vec![image.as_str()]);
    assert_eq!(ids(&recent_images), vec![image.as_str()]);
    assert_eq!(future["total"], 0);
    assert_eq!(before["total"], 2);
    assert_eq!(ids(&paged).len(), 1);
    assert_eq!(paged["total"], 2);
    assert_eq!(
        (paged["limit"].clone(), paged["offset"].clone()),
        (json!(1), json!(1))
    );
}

fn flaskpaste_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

#[tokio::test]
async fn bad_listing_parameters_are_400_and_limits_are_clamped() {
    let server = TestServer::start().await;

    let (offset, offset_body) = list_as(&server, Some(ALICE), "?offset=abc").await;
    let (glob, glob_body) = list_as(&server, Some(ALICE), "?type=[").await;
    let (_, low) = list_as(&server, Some(ALICE), "?limit=-1").await;
    let (_, high) = list_as(&server, Some(ALICE), "?limit=100000").await;

    assert_eq!(offset, 400);
    assert_eq!(offset_body["error"], "Invalid query parameter: offset");
    assert_eq!(glob, 400);
    assert_eq!(glob_body["error"], "Invalid query parameter: type");
    assert_eq!(low["limit"], 1);
    assert_eq!(high["limit"], 1000);
}

#[tokio::test]
async fn only_admins_list_everything() {
    let server = TestServer::start_with(&[("FLASKPASTE_ADMIN_FINGERPRINTS", ADMIN)]).await;
    create_as(&server, ALICE, "alice").await;
    create_as(&server, BOB, "bob").await;
    server.create("anonymous").await;

    let (refused, refused_body) = list_as(&server, Some(ALICE), "?all=1").await;
    let (status, everything) = list_as(&server, Some(ADMIN), "?all=1").await;
    let (_, own) = list_as(&server, Some(ADMIN), "").await;

    assert_eq!(refused, 403);
    assert_eq!(refused_body, json!({ "error": "Admin access required" }));
    assert_eq!(status, 200);
    assert_eq!(everything["total"], 3);
    assert_eq!(
        own["total"], 0,
        "without all=1 an admin sees their own pastes"
    );
}

#[tokio::test]
async fn owners_delete_their_own_pastes_and_nobody_else_s() {
    let server = TestServer::start().await;
    let alices = create_as(&server, ALICE, "alice's").await;
    let anonymous = server.create("nobody's").await;

    let (anon, anon_body) = delete_as(&server, None, &alices).await;
    let (bob, bob_body) = delete_as(&server, Some(BOB), &alices).await;
    let (bob_anon, _) = delete_as(&server, Some(BOB), &anonymous).await;
    let (alice, alice_body) = delete_as(&server, Some(ALICE), &alices).await;
    let after = server.get(&format!("/{alices}")).await.status();
    let (again, _) = delete_as(&server, Some(ALICE), &alices).await;
    let (bad_id, _) = delete_as(&server, Some(ALICE), "zzz").await;

    assert_eq!(
        (anon, anon_body),
        (401, json!({ "error": "Authentication required" }))
    );
    assert_eq!(
        (bob, bob_body),
        (403, json!({ "error": "Permission denied" }))
    );
    assert_eq!(bob_anon, 403);
    assert_eq!(
        (alice, alice_body),
        (200, json!({ "message": "Paste deleted" }))
    );
    assert_eq!(after, 404);
    assert_eq!(again, 404);
    assert_eq!(bad_id, 400);
}

#[tokio::test]
async fn an_admin_deletes_any_paste() {
    let server = TestServer::start_with(&[("FLASKPASTE_ADMIN_FINGERPRINTS", ADMIN)]).await;
    let alices = create_as(&server, ALICE, "alice's").await;
    let anonymous = server.create("nobody's").await;

    let (first, _) = delete_as(&server, Some(ADMIN), &alices).await;
    let (second, _) = delete_as(&server, Some(ADMIN), &anonymous).await;

    assert_eq!((first, second), (200, 200));
    assert_eq!(server.get(&format!("/{alices}/raw")).await.status(), 404);
}
