//! The built-in PKI, checked with the real `openssl` command.

use std::path::Path;
use std::process::Command;

use futures::future::join_all;
use serde_json::{Value, json};

use crate::support::{TestServer, eventually, metric};

const PASSWORD: &str = "ca-password-for-tests";

fn pki_env(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut env = vec![
        ("FLASKPASTE_PKI_ENABLED", "1"),
        ("FLASKPASTE_PKI_CA_PASSWORD", PASSWORD),
        ("FLASKPASTE_REGISTER_POW", "0"),
    ];
    env.extend_from_slice(extra);
    env
}

fn openssl(args: &[&str], dir: &Path) -> (bool, String) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers()[name].to_str().unwrap().to_owned()
}

/// Registers and answers the response headers and the PKCS#12 bytes.
async fn register(server: &TestServer) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let response = server
        .client
        .post(server.url("/register"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    (headers, response.bytes().await.unwrap().to_vec())
}

async fn post_csr(server: &TestServer, csr: Vec<u8>) -> reqwest::Response {
    server
        .client
        .post(server.url("/csr"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(csr)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn without_the_pki_only_its_status_answers() {
    let server = TestServer::start().await;

    let status: Value = server.get("/pki").await.json().await.unwrap();

    assert_eq!(status, json!({ "enabled": false }));
    for path in ["/pki/ca.crt", "/pki/certs", "/register/challenge"] {
        assert_eq!(server.get(path).await.status(), 404, "{path}");
    }
    for path in [
        "/pki/ca",
        "/pki/issue",
        "/register",
        "/csr",
        "/pki/revoke/00",
    ] {
        let response = server.client.post(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn without_a_ca_password_issuing_answers_503() {
    let server = TestServer::start_with(&[
        ("FLASKPASTE_PKI_ENABLED", "1"),
        ("FLASKPASTE_REGISTER_POW", "0"),
    ])
    .await;

    let create = server
        .client
        .post(server.url("/pki/ca"))
        .send()
        .await
        .unwrap();
    let register = server
        .client
        .post(server.url("/register"))
        .send()
        .await
        .unwrap();

    assert_eq!(create.status(), 503);
    assert_eq!(
        create.json::<Value>().await.unwrap()["error"],
        "PKI_CA_PASSWORD not configured"
    );
    assert_eq!(register.status(), 503);
}

#[tokio::test]
async fn the_ca_is_made_once_and_published() {
    let server = TestServer::start_with(&pki_env(&[])).await;
    let before: Value = server.get("/pki").await.json().await.unwrap();
    let missing = server.get("/pki/ca.crt").await.status();

    let first = server
        .client
        .post(server.url("/pki/ca"))
        .json(&json!({ "common_name": "Test Paste CA" }))
        .send()
        .await
        .unwrap();
    let second = server
        .client
        .post(server.url("/pki/ca"))
        .send()
        .await
        .unwrap();
    let status: Value = server.get("/pki").await.json().await.unwrap();
    let certificate = server.get("/pki/ca.crt").await;

    assert_eq!(before["ca_exists"], false);
    assert_eq!(missing, 404);
    assert_eq!(first.status(), 201);
    let created: Value = first.json().await.unwrap();
    assert_eq!(created["common_name"], "Test Paste CA");
    assert_eq!(created["download"], "/pki/ca.crt");
    assert_eq!(second.status(), 409);
    assert_eq!(status["ca_exists"], true);
    assert_eq!(status["key_algorithm"], "ec:secp384r1");
    assert_eq!(status["fingerprint_sha1"], created["fingerprint_sha1"]);
    assert_eq!(
        header(&certificate, "content-type"),
        "application/x-pem-file"
    );
    assert!(
        certificate
            .text()
            .await
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
}

#[tokio::test]
async fn a_registration_bundle_opens_and_verifies_with_openssl() {
    let server = TestServer::start_with(&pki_env(&[("FLASKPASTE_RATE_LIMIT", "1")])).await;
    let dir = tempfile::tempdir().unwrap();

    let (headers, bundle) = register(&server).await;
    let ca_pem = server.get("/pki/ca.crt").await.text().await.unwrap();
    std::fs::write(dir.path().join("client.p12"), bundle).unwrap();
    std::fs::write(dir.path().join("ca.crt"), ca_pem).unwrap();

    let (opened, text) = openssl(
        &["pkcs12", "-in", "client.p12", "-nodes", "-passin", "pass:"],
        dir.path(),
    );
    assert!(opened, "{text}");
    assert!(text.contains("BEGIN PRIVATE KEY"));
    let (extracted, _) = openssl(
        &[
            "pkcs12",
            "-in",
            "client.p12",
            "-clcerts",
            "-nokeys",
            "-passin",
            "pass:",
            "-out",
            "client.crt",
        ],
        dir.path(),
    );
    assert!(extracted);
    let (verified, text) = openssl(
        &[
            "verify",
            "-CAfile",
            "ca.crt",
            "-x509_strict",
            "-purpose",
            "sslclient",
            "client.crt",
        ],
        dir.path(),
    );
    assert!(verified, "{text}");
    let (_, printed) = openssl(
        &[
            "x509",
            "-in",
            "client.crt",
            "-noout",
            "-fingerprint",
            "-sha1",
        ],
        dir.path(),
    );
    let fingerprint = printed
        .trim()
        .rsplit('=')
        .next()
        .unwrap()
        .replace(':', "")
        .to_lowercase();
    assert_eq!(headers["x-fingerprint-sha1"].to_str().unwrap(), fingerprint);
    assert_eq!(headers["x-is-admin"], "1");
    assert_eq!(headers["content-type"], "application/x-pkcs12");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"client.p12\""
    );
    assert_eq!(headers["x-certificate-serial"].to_str().unwrap().len(), 32);
    assert!(headers.contains_key("x-ratelimit-remaining"));
    let text = server.metrics().await;
    let server_key = ["kind=\"server_key\""];
    assert_eq!(
        metric(
            &text,
            "flaskpaste_pki_certificates_issued_total",
            &server_key
        ),
        1.0
    );
    assert!(text.contains("flaskpaste_actor_mailbox_depth{actor=\"ca_signer\"}"));
}

#[tokio::test]
async fn csrs_for_ec_and_rsa_keys_are_signed_without_ca_rights() {
    let server = TestServer::start_with(&pki_env(&[])).await;
    let dir = tempfile::tempdir().unwrap();
    let keys: [&[&str]; 2] = [
        &[
            "ecparam",
            "-genkey",
            "-name",
            "secp384r1",
            "-out",
            "key.pem",
        ],
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "key.pem",
        ],
    ];

    for key_args in keys {
        assert!(openssl(key_args, dir.path()).0);
        let (made, text) = openssl(
            &[
                "req",
                "-new",
                "-key",
                "key.pem",
                "-subj",
                "/CN=dave",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-out",
                "req.csr",
            ],
            dir.path(),
        );
        assert!(made, "{text}");

        let response = post_csr(&server, std::fs::read(dir.path().join("req.csr")).unwrap()).await;
        assert_eq!(response.status(), 200, "{key_args:?}");
        assert_eq!(
            header(&response, "content-disposition"),
            "attachment; filename=\"dave.crt\""
        );
        assert_eq!(header(&response, "content-type"), "application/x-pem-file");
        std::fs::write(dir.path().join("dave.crt"), response.text().await.unwrap()).unwrap();
        std::fs::write(
            dir.path().join("ca.crt"),
            server.get("/pki/ca.crt").await.text().await.unwrap(),
        )
        .unwrap();

        let (verified, text) = openssl(
            &[
                "verify",
                "-CAfile",
                "ca.crt",
                "-x509_strict",
                "-purpose",
                "sslclient",
                "dave.crt",
            ],
            dir.path(),
        );
        let (_, shown) = openssl(&["x509", "-in", "dave.crt", "-noout", "-text"], dir.path());
        assert!(verified, "{key_args:?}: {text}");
        assert!(
            shown.contains("CA:FALSE") && !shown.contains("CA:TRUE"),
            "{shown}"
        );
    }
}

#[tokio::test]
async fn bad_csrs_get_their_documented_answers() {
    let server = TestServer::start_with(&pki_env(&[])).await;
    let dir = tempfile::tempdir().unwrap();
    assert!(
        openssl(
            &[
                "ecparam",
                "-genkey",
                "-name",
                "prime256v1",
                "-out",
                "ec.pem"
            ],
            dir.path()
        )
        .0
    );
    assert!(
        openssl(
            &[
                "req",
                "-new",
                "-key",
                "ec.pem",
                "-subj",
                "/O=Nobody",
                "-out",
                "nocn.csr"
            ],
            dir.path()
        )
        .0
    );
    assert!(
        openssl(
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:1024",
                "-out",
                "small.pem"
            ],
            dir.path()
        )
        .0
    );
    assert!(
        openssl(
            &[
                "req",
                "-new",
                "-key",
                "small.pem",
                "-subj",
                "/CN=weak",
                "-out",
                "small.csr"
            ],
            dir.path()
        )
        .0
    );
    assert!(
        openssl(
            &[
                "req",
                "-new",
                "-key",
                "ec.pem",
                "-subj",
                "/CN=tamper",
                "-out",
                "ok.csr"
            ],
            dir.path()
        )
        .0
    );
    let ok = std::fs::read_to_string(dir.path().join("ok.csr")).unwrap();
    let broken = {
        // Flip one bit of the signature, at the end of the DER, and re-wrap it.
        let body: String = ok.lines().filter(|l| !l.starts_with("-----")).collect();
        let mut der = base64_decode(&body);
        let last = der.len() - 1;
        der[last] ^= 1;
        format!(
            "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
            base64_encode(&der)
        )
    };
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (Vec::new(), 400, "CSR required"),
        (b"garbage".to_vec(), 400, "Invalid CSR format"),
        (
            std::fs::read(dir.path().join("nocn.csr")).unwrap(),
            400,
            "CSR must contain a Common Name (CN)",
        ),
        (
            std::fs::read(dir.path().join("small.csr")).unwrap(),
            400,
            "Unsupported key: use EC P-256 or P-384, Ed25519, or RSA of at least 2048 bits",
        ),
        (broken.into_bytes(), 400, "CSR signature is invalid"),
        (vec![b'A'; 1024 * 1024], 413, "Request too large"),
    ];

    for (body, status, error) in cases {
        let response = post_csr(&server, body).await;
        assert_eq!(response.status(), status, "{error}");
        assert_eq!(response.json::<Value>().await.unwrap()["error"], error);
    }
    let text = server.metrics().await;
    let bad = ["reason=\"bad_csr\""];
    assert_eq!(
        metric(&text, "flaskpaste_pki_certificates_refused_total", &bad),
        5.0
    );
}

const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_decode(text: &str) -> Vec<u8> {
    let values: Vec<u32> = text
        .bytes()
        .filter(|b| *b != b'=')
        .map(|b| u32::try_from(BASE64.iter().position(|c| *c == b).unwrap()).unwrap())
        .collect();
    let mut out = Vec::new();
    for chunk in values.chunks(4) {
        let mut acc = 0u32;
        for (i, v) in chunk.iter().enumerate() {
            acc |= v << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let mut acc = 0u32;
        for (i, b) in chunk.iter().enumerate() {
            acc |= u32::from(*b) << (16 - 8 * i);
        }
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(
                    BASE64[usize::try_from((acc >> (18 - 6 * i)) & 63).unwrap()],
                ));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[tokio::test]
async fn awkward_common_names_stay_out_of_the_disposition_header() {
    let server = TestServer::start_with(&pki_env(&[])).await;
    let dir = tempfile::tempdir().unwrap();
    assert!(
        openssl(
            &[
                "ecparam",
                "-genkey",
                "-name",
                "prime256v1",
                "-out",
                "ec.pem"
            ],
            dir.path()
        )
        .0
    );
    let names = [
        ("/CN=al\"ice", "alice"),
        ("/CN=Zoë Müller", "ZoMller"),
        ("/CN=..\\\"", "client"),
    ];

    for (subject, filename) in names {
        let (made, text) = openssl(
            &[
                "req", "-new", "-key", "ec.pem", "-utf8", "-subj", subject, "-out", "req.csr",
            ],
            dir.path(),
        );
        assert!(made, "{text}");
        let response = post_csr(&server, std::fs::read(dir.path().join("req.csr")).unwrap()).await;

        assert_eq!(response.status(), 200, "{subject}");
        assert_eq!(
            header(&response, "content-disposition"),
            format!("attachment; filename=\"{filename}.crt\"")
        );
    }
}

#[tokio::test]
async fn sixteen_racing_first_registrations_make_exactly_one_admin() {
    let server = TestServer::start_with(&pki_env(&[("FLASKPASTE_RATE_LIMIT", "0")])).await;

    let registrations = (0..16).map(|_| {
        let client = reqwest::Client::new();
        let url = server.url("/register");
        async move {
            let response = client.post(url).send().await.unwrap();
            assert_eq!(response.status(), 200);
            header(&response, "x-is-admin")
        }
    });
    let admins = join_all(registrations).await;

    assert_eq!(admins.iter().filter(|a| *a == "1").count(), 1, "{admins:?}");
}

#[tokio::test]
async fn revocation_takes_effect_on_the_very_next_request() {
    let server = TestServer::start_with(&pki_env(&[])).await;
    let (admin_headers, _) = register(&server).await;
    let (headers, _) = register(&server).await;
    let (stranger_headers, _) = register(&server).await;
    let holder = headers["x-fingerprint-sha1"].to_str().unwrap().to_owned();
    let stranger = stranger_headers["x-fingerprint-sha1"]
        .to_str()
        .unwrap()
        .to_owned();
    let admin = admin_headers["x-fingerprint-sha1"]
        .to_str()
        .unwrap()
        .to_owned();
    let serial = headers["x-certificate-serial"].to_str().unwrap().to_owned();
    let revoke = async |who: Option<&str>, serial: &str| {
        let mut request = server
            .client
            .post(server.url(&format!("/pki/revoke/{serial}")));
        if let Some(who) = who {
            request = request.header("X-SSL-Client-SHA1", who);
        }
        request.send().await.unwrap().status().as_u16()
    };
    let list_as = async |who: &str| {
        let response = server
            .client
            .get(server.url("/pastes"))
            .header("X-SSL-Client-SHA1", who);
        response.send().await.unwrap().status().as_u16()
    };

    let trusted_before = list_as(&holder).await;
    let (_, created) = server
        .post("trusted paste", &[("X-SSL-Client-SHA1", &holder)])
        .await;
    let anonymous = revoke(None, &serial).await;
    let unknown = revoke(Some(&holder), "0123456789abcdef0123456789abcdef").await;
    let by_stranger = revoke(Some(&stranger), &serial).await;
    let by_holder = revoke(Some(&holder), &serial).await;
    let again = revoke(Some(&admin), &serial).await;
    let after = list_as(&holder).await;
    let certs: Value = server
        .client
        .get(server.url("/pki/certs"))
        .header("X-SSL-Client-SHA1", &holder)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(trusted_before, 200);
    let lifetime =
        created["expires_at"].as_i64().unwrap() - created["created_at"].as_i64().unwrap();
    assert_eq!(
        lifetime, 2_592_000,
        "a trusted client gets the trusted expiry"
    );
    assert_eq!(anonymous, 401);
    assert_eq!(unknown, 404);
    assert_eq!(by_stranger, 403);
    assert_eq!(by_holder, 200);
    assert_eq!(again, 409);
    assert_eq!(after, 401, "a revoked certificate is anonymous at once");
    assert_eq!(
        certs["count"], 0,
        "a revoked certificate no longer identifies its holder"
    );
    let text = server.metrics().await;
    assert!(
        metric(
            &text,
            "flaskpaste_pki_trust_lookups_total",
            &["result=\"revoked\""]
        ) >= 1.0
    );
    assert_eq!(
        metric(&text, "flaskpaste_pki_certificates_revoked_total", &[]),
        1.0
    );
    let logged = eventually(std::time::Duration::from_secs(5), async || {
        let logs = server.logs();
        ["cert_issued", "cert_revoked", "auth_failure"]
            .iter()
            .all(|event| {
                logs.iter()
                    .any(|l| l.contains(&format!("\"event\":\"{event}\"")))
            })
    })
    .await;
    assert!(logged, "audit events missing");
}

#[tokio::test]
async fn the_ca_key_is_only_ever_at_rest_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("paste.db");
    let server = TestServer::start_on(&db, &pki_env(&[])).await;
    register(&server).await;
    let issued: Value = server
        .client
        .post(server.url("/pki/issue"))
        .json(&json!({ "common_name": "erin" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    drop(server);

    let conn = rusqlite::Connection::open(&db).unwrap();
    let sealed: String = conn
        .query_row("SELECT sealed_key FROM pki_ca", [], |r| r.get(0))
        .unwrap();
    std::fs::write(dir.path().join("ca.key"), &sealed).unwrap();
    let (opens, text) = openssl(
        &[
            "pkey",
            "-in",
            "ca.key",
            "-passin",
            &format!("pass:{PASSWORD}"),
            "-noout",
        ],
        dir.path(),
    );
    let (without, _) = openssl(
        &["pkey", "-in", "ca.key", "-passin", "pass:wrong", "-noout"],
        dir.path(),
    );

    assert!(sealed.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    assert!(opens, "{text}");
    assert!(!without);
    assert!(
        issued["private_key_pem"]
            .as_str()
            .unwrap()
            .contains("BEGIN PRIVATE KEY")
    );
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("BEGIN PRIVATE KEY") && !text.contains("BEGIN EC PRIVATE KEY"));
    }
}

#[tokio::test]
async fn issuing_needs_a_common_name_and_no_secret_reaches_the_logs() {
    let server = TestServer::start_with(&pki_env(&[])).await;
    server
        .client
        .post(server.url("/pki/ca"))
        .send()
        .await
        .unwrap();

    let missing = server
        .client
        .post(server.url("/pki/issue"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let issued = server
        .client
        .post(server.url("/pki/issue"))
        .json(&json!({ "common_name": "frank" }))
        .send()
        .await
        .unwrap();

    assert_eq!(missing.status(), 400);
    assert_eq!(
        missing.json::<Value>().await.unwrap()["error"],
        "common_name required"
    );
    assert_eq!(issued.status(), 201);
    let body: Value = issued.json().await.unwrap();
    assert_eq!(body["common_name"], "frank");
    let logs = server.logs().join("\n");
    assert!(!logs.contains(PASSWORD), "the CA password was logged");
    assert!(
        !logs.contains("PRIVATE KEY") && !logs.contains("BEGIN CERTIFICATE"),
        "PEM in the logs"
    );
}

#[tokio::test]
async fn registration_asks_for_its_own_proof_of_work() {
    let server = TestServer::start_with(&pki_env(&[
        ("FLASKPASTE_REGISTER_POW", "12"),
        ("FLASKPASTE_POW_DIFFICULTY", "12"),
    ]))
    .await;
    let paste_challenge: Value = server.get("/challenge").await.json().await.unwrap();
    let register_challenge: Value = server
        .get("/register/challenge")
        .await
        .json()
        .await
        .unwrap();
    let solve = |challenge: &Value| {
        flaskpaste_actors::pow::solve(challenge["nonce"].as_str().unwrap(), 12).to_string()
    };
    let register_with = async |challenge: &Value| {
        server
            .client
            .post(server.url("/register"))
            .header("X-PoW-Token", challenge["token"].as_str().unwrap())
            .header("X-PoW-Solution", solve(challenge))
            .send()
            .await
            .unwrap()
    };

    let without = server
        .client
        .post(server.url("/register"))
        .send()
        .await
        .unwrap();
    let with_paste_token = register_with(&paste_challenge).await;
    let with_register_token = register_with(&register_challenge).await;

    assert_eq!(without.status(), 400);
    assert_eq!(
        without.json::<Value>().await.unwrap()["hint"],
        "GET /register/challenge for a new challenge"
    );
    assert_eq!(with_paste_token.status(), 400);
    assert_eq!(
        with_paste_token.json::<Value>().await.unwrap()["error"],
        "Proof-of-work failed: Token was issued for another endpoint"
    );
    assert_eq!(with_register_token.status(), 200);
}
