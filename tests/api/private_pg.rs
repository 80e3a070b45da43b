//! PostgreSQL databases a test may break: a database of its own on the test server (to make
//! it read-only), and a private server in a temporary folder (to stop and start it). The
//! shared test server's own settings are never touched.

use crate::helpers::{random_suffix, PG_ENV};
use diesel::connection::SimpleConnection;
use diesel::Connection;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A database of its own on the test server, dropped with it.
pub struct OwnDatabase {
    /// The test server's URL, on whose database the admin statements run.
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl OwnDatabase {
    /// `<test database>_<suffix>`, created empty.
    pub fn create(suffix: &str) -> OwnDatabase {
        let admin_url = std::env::var(PG_ENV).expect("ELICENCE_TEST_POSTGRES_URL");
        let (prefix, rest) = admin_url.rsplit_once('/').expect("a URL with a database");
        let (base, query) = match rest.split_once('?') {
            Some((db, q)) => (db, format!("?{q}")),
            None => (rest, String::new()),
        };
        let mut name = format!("{base}_{suffix}_{}", random_suffix());
        name.truncate(63);
        let own = OwnDatabase {
            url: format!("{prefix}/{name}{query}"),
            admin_url,
            name,
        };
        own.admin(&format!("CREATE DATABASE {}", own.name));
        own
    }

    fn admin(&self, sql: &str) {
        diesel::PgConnection::establish(&self.admin_url)
            .expect("connect to the PostgreSQL test server")
            .batch_execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Sets `default_transaction_read_only` on this database (as on a standby, or for
    /// maintenance) and cuts every connection to it, as a failover does: the connections the
    /// service opens again are read-only. `false` puts it back the same way.
    pub fn set_read_only(&self, read_only: bool) {
        let setting = if read_only {
            "SET default_transaction_read_only = on"
        } else {
            "RESET default_transaction_read_only"
        };
        self.admin(&format!(
            "ALTER DATABASE {name} {setting};
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE datname = '{name}' AND pid <> pg_backend_pid();",
            name = self.name
        ));
    }
}

impl Drop for OwnDatabase {
    fn drop(&mut self) {
        if let Ok(mut c) = diesel::PgConnection::establish(&self.admin_url) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// A PostgreSQL server of its own: initdb into a temporary folder, listening on a free port
/// of 127.0.0.1 only. Stopped and removed when dropped.
pub struct PrivateServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
    /// This process runs as root (it owns the folder it made).
    root: bool,
}

/// The newest of Debian's PostgreSQL server programs (`/usr/lib/postgresql/<version>/bin`).
fn server_binaries() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("/usr/lib/postgresql")
        .flatten()
        .map(|v| v.path().join("bin"))
        .filter(|b| b.join("pg_ctl").is_file() && b.join("initdb").is_file())
        .collect();
    found.sort_by_key(|b| {
        b.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
    });
    found.pop().expect("initdb and pg_ctl")
}

/// initdb and the server refuse to run as root: as root, they run as `postgres`.
fn as_server_user(program: &Path, root: bool) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run(mut command: Command) {
    let out = command.output().expect("run a PostgreSQL program");
    assert!(
        out.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl PrivateServer {
    /// A new cluster, started (about a second).
    pub fn start() -> PrivateServer {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        use std::os::unix::fs::MetadataExt;
        let root = std::fs::metadata(dir.path()).unwrap().uid() == 0;
        let server = PrivateServer {
            bin: server_binaries(),
            dir,
            port,
            root,
        };
        let mut initdb = as_server_user(&server.bin.join("initdb"), root);
        // As root the programs run as `postgres`, who must own the folder.
        let _ = Command::new("chown")
            .arg("postgres")
            .arg(server.dir.path())
            .status();
        initdb.arg("-D").arg(server.data()).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        ]);
        run(initdb);
        server.start_again();
        server
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn pg_ctl(&self, args: &[&str]) -> Command {
        let mut c = as_server_user(&self.bin.join("pg_ctl"), self.root);
        c.arg("-D").arg(self.data()).args(args);
        c
    }

    /// Starts the stopped server again, on the same port, and waits until it accepts
    /// connections.
    pub fn start_again(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        run(self.pg_ctl(&["-w", "-o", &options, "-l", &log.to_string_lossy(), "start"]));
    }

    /// Stops the server (fast shutdown: connections are cut) and waits until it is down.
    pub fn stop(&self) {
        run(self.pg_ctl(&["-w", "-m", "fast", "stop"]));
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    pub fn create_database(&self, name: &str) {
        diesel::PgConnection::establish(&self.url("postgres"))
            .expect("connect to the private server")
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-w", "-m", "immediate", "stop"]).output();
    }
}
