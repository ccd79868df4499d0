//! The harness: starts the real `flaskpaste` binary on free ports with its own database, and
//! offers a client and small helpers to speak HTTP to it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// How long a server gets to print its `listening` event.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running server process and what a test needs to talk to it.
pub struct TestServer {
    child: Child,
    /// `http://127.0.0.1:<port>` of the public listener.
    pub base: String,
    /// `http://127.0.0.1:<port>` of the metrics listener.
    pub metrics_base: String,
    pub client: reqwest::Client,
    pub db: PathBuf,
    logs: Arc<Mutex<Vec<String>>>,
    /// Kept so the database outlives the process; `None` when the caller owns the directory.
    _dir: Option<TempDir>,
}

impl TestServer {
    /// A server with default settings and a fresh database.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// A server with extra `FLASKPASTE_*` settings and a fresh database.
    pub async fn start_with(env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let db = dir.path().join("paste.db");
        let mut server = Self::start_on(&db, env).await;
        server._dir = Some(dir);
        server
    }

    /// A server on the database file `db` (which may already hold pastes).
    pub async fn start_on(db: &Path, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_flaskpaste"));
        command
            .env("FLASKPASTE_BIND", "127.0.0.1:0")
            .env("FLASKPASTE_METRICS_ADDR", "127.0.0.1:0")
            .env("FLASKPASTE_DB", db)
            .env("FLASKPASTE_LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            // Most tests create more pastes than one rate window allows; the tests of rate
            // limiting turn it back on.
            .env("FLASKPASTE_RATE_LIMIT", "0")
            // The server must not depend on its working directory.
            .current_dir(db.parent().expect("db has a directory"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("flaskpaste starts");

        let stdout = child.stdout.take().expect("piped stdout");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (found, listening) = mpsc::channel();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(event) = serde_json::from_str::<Value>(&line)
                    && event["message"] == "listening"
                {
                    let _ = found.send(event);
                }
                sink.lock().expect("log lock").push(line);
            }
        });
        let event = listening
            .recv_timeout(START_TIMEOUT)
            .expect("server printed its listening event");

        let addr = event["addr"].as_str().expect("addr field").to_owned();
        let metrics_addr = event["metrics_addr"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        Self {
            child,
            base: format!("http://{addr}"),
            metrics_base: format!("http://{metrics_addr}"),
            client: reqwest::Client::new(),
            db: db.to_owned(),
            logs,
            _dir: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `POST /` with `body` and extra headers; answers status and JSON body.
    pub async fn post(
        &self,
        body: impl Into<reqwest::Body>,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut request = self.client.post(self.url("/")).body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("POST / answered");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Creates a paste that must succeed; answers its id.
    pub async fn create(&self, body: impl Into<reqwest::Body>) -> String {
        let (status, json) = self.post(body, &[]).await;
        assert_eq!(status, 201, "create failed: {json}");
        json["id"].as_str().expect("id").to_owned()
    }

    /// `GET` a path; answers the whole response.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("GET answered")
    }

    /// The metrics listener's text.
    pub async fn metrics(&self) -> String {
        self.client
            .get(format!("{}/metrics", self.metrics_base))
            .send()
            .await
            .expect("metrics answered")
            .text()
            .await
            .expect("metrics text")
    }

    /// Every log line printed so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().expect("log lock").clone()
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM failed");
        self.wait()
    }

    /// Sends SIGKILL and waits for the process to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits (at most a minute) for the process to exit.
    pub fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sum of every sample of `name` whose labels contain all of `labels` (`key="value"`).
pub fn metric(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric_name, label_text) = match series.split_once('{') {
                Some((metric_name, rest)) => (metric_name, rest),
                None => (series, ""),
            };
            (metric_name == name && labels.iter().all(|l| label_text.contains(l)))
                .then(|| value.parse::<f64>().ok())
                .flatten()
        })
        .sum()
}

/// Polls `check` until it holds or `timeout` passes; answers whether it held.
pub async fn eventually(timeout: Duration, mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Peak resident memory of a process, in KiB (`VmHWM`).
pub fn peak_rss_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "VmHWM:")
}

fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .expect("memory field")
}
