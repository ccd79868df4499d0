//! The whole flow behind a real TLS-terminating proxy: nginx verifies client certificates
//! against our CA and passes their fingerprint on; curl presents a registered certificate.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::{TestServer, eventually};

const PROXY_SECRET: &str = "nginx-to-flaskpaste";

fn run(program: &str, args: &[&str], dir: &Path) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|err| panic!("{program} runs: {err}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// nginx in the foreground with its own prefix; stopped when dropped.
struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_nginx(dir: &Path, port: u16, upstream: &str) -> Nginx {
    let conf = format!(
        r#"
worker_processes 1;
error_log {dir}/error.log;
pid {dir}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {dir}/server.crt;
        ssl_certificate_key {dir}/server.key;
        ssl_client_certificate {dir}/ca.crt;
        ssl_verify_client on;
        location / {{
            proxy_pass {upstream};
            proxy_set_header X-SSL-Client-SHA1 $ssl_client_fingerprint;
            proxy_set_header X-Proxy-Secret "{PROXY_SECRET}";
        }}
    }}
}}
"#,
        dir = dir.display()
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    // As root (as in CI) the workers would drop to `nobody`, who cannot use the private
    // temporary directory; they keep root here instead.
    let uid = run("id", &["-u"], dir);
    let user = if uid.trim() == "0" {
        "user root; daemon off;"
    } else {
        "daemon off;"
    };
    let child = Command::new("nginx")
        .args([
            "-p",
            &dir.display().to_string(),
            "-c",
            "nginx.conf",
            "-g",
            user,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("nginx starts (Debian package nginx-light)");
    Nginx(child)
}

fn curl(dir: &Path, port: u16, args: &[&str]) -> (u16, String) {
    let url_base = format!("https://127.0.0.1:{port}");
    let mut full: Vec<String> = vec![
        "-s".into(),
        "--cacert".into(),
        "server.crt".into(),
        "--cert".into(),
        "client.crt".into(),
        "--key".into(),
        "client.key".into(),
        "-w".into(),
        "\n%{http_code}".into(),
    ];
    for arg in args {
        full.push(arg.replace("BASE", &url_base));
    }
    let refs: Vec<&str> = full.iter().map(String::as_str).collect();
    let output = run("curl", &refs, dir);
    let (body, status) = output.rsplit_once('\n').unwrap();
    (status.trim().parse().unwrap(), body.to_owned())
}

#[tokio::test]
async fn a_registered_certificate_works_through_nginx_until_revoked() {
    let server = TestServer::start_with(&[
        ("FLASKPASTE_PKI_ENABLED", "1"),
        ("FLASKPASTE_PKI_CA_PASSWORD", "proxy-test-ca"),
        ("FLASKPASTE_REGISTER_POW", "0"),
        ("FLASKPASTE_PROXY_SECRET", PROXY_SECRET),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    for sub in ["body", "proxy"] {
        std::fs::create_dir_all(path.join(sub)).unwrap();
    }

    let registration = server
        .client
        .post(server.url("/register"))
        .send()
        .await
        .unwrap();
    let serial = registration.headers()["x-certificate-serial"]
        .to_str()
        .unwrap()
        .to_owned();
    std::fs::write(path.join("client.p12"), registration.bytes().await.unwrap()).unwrap();
    std::fs::write(
        path.join("ca.crt"),
        server.get("/pki/ca.crt").await.text().await.unwrap(),
    )
    .unwrap();
    run(
        "openssl",
        &[
            "pkcs12",
            "-in",
            "client.p12",
            "-passin",
            "pass:",
            "-clcerts",
            "-nokeys",
            "-out",
            "client.crt",
        ],
        path,
    );
    run(
        "openssl",
        &[
            "pkcs12",
            "-in",
            "client.p12",
            "-passin",
            "pass:",
            "-nocerts",
            "-nodes",
            "-out",
            "client.key",
        ],
        path,
    );
    run(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.crt",
        ],
        path,
    );
    let port = free_port();
    let _nginx = start_nginx(path, port, &server.base);
    let ready = eventually(Duration::from_secs(10), async || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    })
    .await;
    assert!(
        ready,
        "nginx did not start: {}",
        std::fs::read_to_string(path.join("error.log")).unwrap_or_default()
    );

    let (created, paste) = curl(path, port, &["--data-binary", "through the proxy", "BASE/"]);
    let (listed, listing) = curl(path, port, &["BASE/pastes"]);
    let (revoked, _) = curl(
        path,
        port,
        &["-X", "POST", &format!("BASE/pki/revoke/{serial}")],
    );
    let (after, _) = curl(path, port, &["BASE/pastes"]);

    assert_eq!(created, 201, "{paste}");
    let paste: Value = serde_json::from_str(&paste).unwrap();
    let listing: Value = serde_json::from_str(&listing).unwrap();
    assert_eq!(listed, 200);
    assert_eq!(listing["pastes"][0]["id"], paste["id"]);
    assert_eq!(listing["total"], 1);
    assert_eq!(revoked, 200);
    assert_eq!(after, 401, "a revoked certificate is anonymous");
}
