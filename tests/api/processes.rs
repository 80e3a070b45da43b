//! Real `elicence serve` processes on one database, for the tests that race processes (not
//! two apps in one test process): each process its own port, all of them one keys folder.
//!
//! ```ignore
//! let db = TestDb::new(Backend::Postgres);
//! let cluster = Cluster::start(&db, 3, &["--status-list-interval-ms", "200"]).await;
//! let res = cluster.client.get(cluster.url(1, "/readyz")).send().await?;
//! ```
//!
//! The processes are stopped with SIGTERM when the cluster is dropped (and killed if they
//! have not stopped within a few seconds); what each logged is kept for assertions and shown
//! when a test fails.

use crate::helpers::{test_now, TestDb};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a process may take to say it serves and then answer `/readyz` 200.
const READY_WITHIN: Duration = Duration::from_secs(60);
/// How long a process may take to stop after SIGTERM before it is killed.
const STOP_WITHIN: Duration = Duration::from_secs(10);

/// One `elicence serve` process.
pub struct ServerProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`, as bound (the process is started with port 0).
    pub address: String,
    log: Arc<Mutex<String>>,
    /// The thread reading the log; joined once the process has exited, so that [`log`]
    /// then holds every line (the last ones may still be in the pipe when it exits).
    ///
    /// [`log`]: ServerProcess::log
    reader: Option<std::thread::JoinHandle<()>>,
}

impl ServerProcess {
    /// Starts `elicence serve` on `database_url` with `keys_dir`, on a free port, and returns
    /// once its log names the address it serves at.
    pub fn spawn(database_url: &str, keys_dir: &std::path::Path, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_elicence"))
            .args(["serve", "--bind", "127.0.0.1:0", "--workers", "1"])
            .arg("--keys-dir")
            .arg(keys_dir)
            .args(extra)
            .env("DATABASE_URL", database_url)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start elicence serve");
        // The log is read to its end on a thread of its own, so the process never blocks on
        // a full pipe; the address comes over a channel from the line that names it.
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let kept = log.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if line.contains("serving HTTP") {
                    if let Some(address) = address_in(&line) {
                        let _ = tx.send(address);
                    }
                }
                let mut log = kept.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let address = match rx.recv_timeout(READY_WITHIN) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "elicence serve did not start; its log:\n{}",
                    log.lock().unwrap()
                );
            }
        };
        ServerProcess {
            child,
            address: format!("http://{address}"),
            log,
            reader: Some(reader),
        }
    }

    /// `http://127.0.0.1:PORT` of the `/metrics` listener, for a process started with
    /// `--metrics-bind 127.0.0.1:0` (it names it before the public address).
    pub fn metrics_address(&self) -> Option<String> {
        let log = self.log();
        let line = log.lines().find(|l| l.contains("serving metrics"))?;
        Some(format!("http://{}", address_in(line)?))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the process logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Sends `signal` (`libc::SIGTERM`, `libc::SIGINT`…) to the process.
    #[allow(unsafe_code)]
    pub fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.pid()).unwrap();
        // SAFETY: kill(2) takes plain integers; the pid is our own child's.
        assert_eq!(
            unsafe { libc::kill(pid, signal) },
            0,
            "kill({pid}, {signal})"
        );
    }

    /// How the process ended, if it ended within `timeout`.
    pub fn wait_for_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Exited: its end of the pipe is closed, so the reader reaches the end.
                if let Some(reader) = self.reader.take() {
                    let _ = reader.join();
                }
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends SIGTERM and waits for the process to stop (kills it after [`STOP_WITHIN`]).
    pub fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let deadline = Instant::now() + STOP_WITHIN;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `127.0.0.1:PORT` from the `address=…` field of the `serving HTTP` log line, or its
/// `"address":"…"` with `--log-format json`.
fn address_in(line: &str) -> Option<String> {
    if let Some(start) = line.find("\"address\":\"") {
        let rest = &line[start + "\"address\":\"".len()..];
        return Some(rest[..rest.find('"')?].to_owned());
    }
    let start = line.find("address=")? + "address=".len();
    let rest = &line[start..];
    Some(rest.split_whitespace().next()?.to_owned())
}

/// Several `elicence serve` processes on one database and one keys folder.
pub struct Cluster {
    /// Dropped (stopped) before the keys folder they use.
    pub servers: Vec<ServerProcess>,
    keys: tempfile::TempDir,
    database_url: String,
    pub client: reqwest::Client,
}

impl Cluster {
    /// Starts `n` processes on `db` with a keys folder made for them (one key generated
    /// first, so the processes do not race to make one), and waits until each answers
    /// `/readyz` 200. `extra` is passed to every `serve`.
    pub async fn start(db: &TestDb, n: usize, extra: &[&str]) -> Cluster {
        let keys = tempfile::tempdir().unwrap();
        elicence::signing::KeyRing::open_or_generate(keys.path(), test_now()).unwrap();
        let url = db.url_string();
        let servers: Vec<ServerProcess> = (0..n)
            .map(|_| ServerProcess::spawn(&url, keys.path(), extra))
            .collect();
        let cluster = Cluster {
            servers,
            keys,
            database_url: url,
            client: crate::helpers::test_client(),
        };
        for i in 0..n {
            cluster.wait_ready(i).await;
        }
        cluster
    }

    /// The keys folder every process signs from.
    pub fn keys_dir(&self) -> &std::path::Path {
        self.keys.path()
    }

    /// `elicence keys ARGS` on the cluster's database and keys folder, started (not waited
    /// for), as an operator runs it on any host.
    pub fn keys_command(&self, args: &[&str]) -> Child {
        Command::new(env!("CARGO_BIN_EXE_elicence"))
            .arg("keys")
            .args(args)
            .arg("--keys-dir")
            .arg(self.keys.path())
            .env("DATABASE_URL", &self.database_url)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start elicence keys")
    }

    /// The URL of `path` at process `i`.
    /// Applies for the holder's e-licence with the photo on file, at process `i`.
    pub async fn apply_on_file(&self, i: usize, holder: &str) -> reqwest::Response {
        self.client
            .post(self.url(i, "/api/v1/me/e-licence"))
            .bearer_auth(holder)
            .json(&serde_json::json!({"photo": "on_file"}))
            .send()
            .await
            .unwrap()
    }

    pub fn url(&self, i: usize, path: &str) -> String {
        format!("{}{path}", self.servers[i].address)
    }

    async fn wait_ready(&self, i: usize) {
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            let ready = self.client.get(self.url(i, "/readyz")).send().await;
            if ready.is_ok_and(|r| r.status() == 200) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "process {i} is not ready; its log:\n{}",
                self.servers[i].log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every process's log, headed by its number: for failure messages.
    pub fn logs(&self) -> String {
        self.servers
            .iter()
            .enumerate()
            .map(|(i, s)| format!("--- process {i} ({})\n{}", s.address, s.log()))
            .collect()
    }
}

#[test]
fn the_address_is_read_from_the_serving_line() {
    let line = "2026-12-02T10:00:00Z  INFO serving HTTP address=127.0.0.1:43121 workers=1 \
                blocking_threads=8";
    assert_eq!(address_in(line).as_deref(), Some("127.0.0.1:43121"));
    assert_eq!(address_in("INFO serving HTTP"), None);
    let json =
        r#"{"level":"INFO","message":"serving HTTP","address":"127.0.0.1:43121","workers":1}"#;
    assert_eq!(address_in(json).as_deref(), Some("127.0.0.1:43121"));
}
