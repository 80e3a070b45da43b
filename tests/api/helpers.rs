//! Test harness: a fresh database per test (a SQLite file in a temporary folder, or a fresh
//! schema on the PostgreSQL server named by ELICENCE_TEST_POSTGRES_URL) and a live server on a
//! random port, spoken to over real HTTP.

use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::Connection;
use elicence::auth;
use elicence::clock::FixedClock;
use elicence::config::{DatabaseUrl, PoolSettings, Settings};
use elicence::domain::licence::LicenceNumber;
use elicence::domain::record::RegistryRecord;
use elicence::domain::role::Role;
use elicence::http::startup::Application;
use elicence::http::state::AppState;
use elicence::storage::{licences, Database};
use serde_json::Value;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const PG_ENV: &str = "ELICENCE_TEST_POSTGRES_URL";

/// Terminals keep a served status list this long (the serve default), and it is good for a
/// day.
pub const STATUS_LIST_TTL: chrono::Duration = chrono::Duration::seconds(300);
pub const STATUS_LIST_LIFETIME: chrono::Duration = chrono::Duration::seconds(86_400);

/// Today, for tests: 2026-11-22 at noon in Beijing.
pub fn test_now() -> DateTime<Utc> {
    "2026-11-22T04:00:00Z".parse().unwrap()
}

/// A fresh, migrated database that is removed again when dropped.
pub struct TestDb {
    pub url: DatabaseUrl,
    pub db: Database,
    /// The pool settings, which a server over this database takes too.
    pub pool: PoolSettings,
    _dir: Option<tempfile::TempDir>,
    pg_cleanup: Option<(String, String)>,
}

pub fn random_suffix() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..12)
        .map(|_| char::from(b'a' + rng.gen_range(0..26)))
        .collect()
}

impl TestDb {
    pub fn new(backend: Backend) -> TestDb {
        TestDb::with_pool(backend, PoolSettings::default())
    }

    pub fn with_pool(backend: Backend, pool: PoolSettings) -> TestDb {
        let (url, dir, pg_cleanup) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                (
                    DatabaseUrl::Sqlite(dir.path().join("db").join("elicence.db")),
                    Some(dir),
                    None,
                )
            }
            Backend::Postgres => {
                let base = std::env::var(PG_ENV).unwrap_or_else(|_| {
                    panic!("{PG_ENV} is not set: the PostgreSQL tests need a server")
                });
                let schema = format!("t_{}", random_suffix());
                let mut admin = diesel::PgConnection::establish(&base)
                    .expect("connect to the PostgreSQL test server");
                admin
                    .batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .unwrap();
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
                (DatabaseUrl::Postgres(url), None, Some((base, schema)))
            }
        };
        let db = Database::connect(&url, &pool).expect("open and migrate the test database");
        TestDb {
            url,
            db,
            pool,
            _dir: dir,
            pg_cleanup,
        }
    }

    /// A migrated database over `url` that the test owns and cleans up itself (a private
    /// server, a database of its own).
    pub fn at(url: DatabaseUrl, pool: PoolSettings) -> TestDb {
        let db = Database::connect(&url, &pool).expect("open and migrate the test database");
        TestDb {
            url,
            db,
            pool,
            _dir: None,
            pg_cleanup: None,
        }
    }

    pub fn url_string(&self) -> String {
        match &self.url {
            DatabaseUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
            DatabaseUrl::Postgres(u) => u.clone(),
        }
    }

    pub fn seed(&self, record: &Value) {
        seed_into(&self.db, record);
    }

    pub fn token(&self, role: Role, licence: Option<&str>) -> String {
        let licence = licence.map(|n| LicenceNumber::parse(n).unwrap());
        auth::create_token(
            &mut self.db.get().unwrap(),
            role,
            licence,
            Some("test"),
            test_now(),
        )
        .unwrap()
        .secret
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, schema)) = self.pg_cleanup.take() {
            if let Ok(mut c) = diesel::PgConnection::establish(&base) {
                let _ = c.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
            }
        }
    }
}

pub struct TestApp {
    pub address: String,
    /// What the server's handlers share: its own pool (`state.db`), keys, status lists
    /// (`state.status_lists.publish_now()` signs what changed and serves it now)…
    pub state: AppState,
    pub keys_dir: std::path::PathBuf,
    _keys: Arc<tempfile::TempDir>,
    pub clock: FixedClock,
    pub client: reqwest::Client,
    pub test_db: TestDb,
    handle: actix_web::dev::ServerHandle,
}

/// The tests' HTTP client. It drops a pooled connection after 2 s idle, before the server's
/// keep-alive (actix's 5 s) closes it: reusing a connection at the instant the server closes
/// it fails the request with `IncompleteMessage` (hyper does not retry a POST), which the
/// counter tests met whenever a busy machine stretched a pause between two requests to 5 s.
/// Stores `record` (a registry record as JSON) through a connection of `db`, which may be a
/// pool of its own over a test database.
pub fn seed_into(db: &Database, record: &Value) {
    let rec: RegistryRecord = serde_json::from_value(record.clone()).unwrap();
    let valid = rec.validate().unwrap();
    licences::upsert(&mut db.get().unwrap(), &valid, test_now()).unwrap();
}

pub fn test_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_idle_timeout(std::time::Duration::from_secs(2))
        .build()
        .expect("a reqwest client")
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(TestDb::new(backend)).await
}

pub async fn spawn_app_with(test_db: TestDb) -> TestApp {
    spawn_app_with_keys(test_db, Arc::new(tempfile::tempdir().unwrap())).await
}

/// The settings of a test server over `test_db` with its keys in `keys`: serve's defaults,
/// on a free port, with a small render cache, two workers and two verifier threads (as
/// PostgreSQL runs them; on SQLite they take turns to write), and the keys folder looked at
/// often, as rotation tests wait for it.
pub fn test_settings(test_db: &TestDb, keys: &std::path::Path) -> Settings {
    let mut settings = Settings::new(test_db.url.clone());
    settings.pool = test_db.pool.clone();
    settings.bind = "127.0.0.1:0".into();
    settings.workers = 2;
    settings.blocking_threads = Some(4);
    settings.verifier_threads = Some(2);
    settings.keys_dir = keys.to_owned();
    // Each test starts on an empty keys folder, as `serve --demo` may.
    settings.generate_missing_key = true;
    settings.keys_reload_every = std::time::Duration::from_millis(50);
    settings.status_list_ttl = STATUS_LIST_TTL;
    settings.status_list_lifetime = STATUS_LIST_LIFETIME;
    // Short, so a list is published soon after a change; tests that need it at once call
    // `state.status_lists.publish_now()`.
    settings.status_list_interval = std::time::Duration::from_millis(100);
    settings.render_cache_entries = 64;
    // Tests upload many photos with one token on a clock that does not move, and in parallel:
    // the upload rate and the photo pool are tested where they are set (photo_limits).
    settings.limits.uploads_per_minute = 10_000;
    settings.limits.upload_burst = 10_000;
    settings.limits.photo_threads = Some(2);
    settings.limits.photo_queue = 64;
    settings
}

/// A server whose signing keys live in `keys` (shared to test rotation across restarts).
pub async fn spawn_app_with_keys(test_db: TestDb, keys: Arc<tempfile::TempDir>) -> TestApp {
    spawn_app_configured(test_db, keys, |_| {}).await
}

/// A server over `test_db` whose `test_settings` `configure` changes first.
pub async fn spawn_app_with_settings(
    test_db: TestDb,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    spawn_app_configured(test_db, Arc::new(tempfile::tempdir().unwrap()), configure).await
}

/// A server over `test_db` whose signing keys live in `keys` and whose `test_settings`
/// `configure` changes first.
pub async fn spawn_app_configured(
    test_db: TestDb,
    keys: Arc<tempfile::TempDir>,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    elicence::telemetry::init("error");
    let clock = FixedClock::at(test_now());
    let mut settings = test_settings(&test_db, keys.path());
    configure(&mut settings);
    let app = Application::build(settings, Arc::new(clock.clone())).unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    let handle = app.handle();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        address,
        state,
        keys_dir: keys.path().to_owned(),
        _keys: keys,
        clock,
        client: test_client(),
        test_db,
        handle,
    }
}

impl TestApp {
    /// The ring the key states in the database name, as a server loads it.
    pub fn key_ring(&self) -> elicence::signing::KeyRing {
        let states =
            elicence::service::signing_keys::load(&self.test_db.db, &self.keys_dir).unwrap();
        elicence::signing::KeyRing::from_states(&self.keys_dir, &states).unwrap()
    }

    /// `elicence keys rotate` at `now`, as the CLI does it; returns the new active kid.
    pub fn rotate_key(&self, now: chrono::DateTime<chrono::Utc>) -> String {
        elicence::service::signing_keys::change(&self.test_db.db, &self.keys_dir, |keys, new| {
            elicence::signing::states::rotate(keys, now, new)
        })
        .unwrap()
        .0
    }

    /// `elicence keys retire` at `now`, as the CLI does it.
    pub fn retire_key(
        &self,
        kid: &str,
        now: chrono::DateTime<chrono::Utc>,
        when: elicence::signing::keys::Retirement,
    ) -> Result<(), elicence::service::signing_keys::KeysError> {
        elicence::service::signing_keys::change(&self.test_db.db, &self.keys_dir, |keys, _| {
            elicence::signing::states::retire(keys, kid, now, when)
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    /// The published JWKS document, byte for byte, as a terminal fetches it.
    pub async fn jwks_bytes(&self) -> Vec<u8> {
        let res = self.get("/.well-known/jwks.json", None).await;
        assert_eq!(res.status(), 200);
        res.bytes().await.unwrap().to_vec()
    }

    /// The kids the server publishes, in the JWKS's order.
    pub async fn published_kids(&self) -> Vec<String> {
        let jwks: Value = serde_json::from_slice(&self.jwks_bytes().await).unwrap();
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    }

    pub async fn post_json(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// A multipart photo upload: the field `source` when given (app uploads), and `photo`.
    pub async fn upload_photo(
        &self,
        path: &str,
        token: &str,
        source: Option<&str>,
        bytes: Vec<u8>,
        file_name: &str,
    ) -> reqwest::Response {
        let mut form = reqwest::multipart::Form::new();
        if let Some(source) = source {
            form = form.text("source", source.to_owned());
        }
        let photo = reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned());
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .multipart(form.part("photo", photo))
            .send()
            .await
            .unwrap()
    }

    pub async fn put_json(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.client
            .put(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub fn seed(&self, record: &Value) {
        self.test_db.seed(record)
    }

    pub fn token(&self, role: Role, licence: Option<&str>) -> String {
        self.test_db.token(role, licence)
    }

    /// A holder token for a freshly seeded licence.
    pub fn holder(&self, record: &Value) -> String {
        self.seed(record);
        self.token(Role::Holder, Some(record["number"].as_str().unwrap()))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop the server and the status lists' thread before the database goes away.
        self.state.status_lists.stop();
        drop(self.handle.stop(false));
    }
}

/// An eligible holder with an e-licence; returns (holder token, code, barcode).
pub async fn issued(app: &TestApp) -> (String, String, String) {
    let holder = app.holder(&record_with_photo(NUMBER));
    let (code, barcode) = issue_e_licence(app, &holder).await;
    (holder, code, barcode)
}

/// The issue's contract example: a clean C1+D licence, valid until 2028-03-05.
pub fn record(number: &str) -> Value {
    serde_json::json!({
        "number": number, "name": "张伟", "sex": "M", "nationality": "CHN",
        "birth_date": "1990-01-01", "address": "北京市东城区东四十条12号",
        "issuing_authority": "北京市公安局公安交通管理局", "classes": ["C1", "D"],
        "first_issued": "2012-03-05", "valid_from": "2018-03-05", "valid_until": "2028-03-05",
        "statuses": [], "points": 0, "points_cycle_start": "2026-03-05",
        "medical_due": null, "review_due": null, "photo": null, "photo_taken": null
    })
}

pub const NUMBER: &str = "110101199001011234";
pub const OTHER_NUMBER: &str = "310104198505052345";

/// Applies for the holder's e-licence with the photo on file; returns the display code it
/// came with: (QR text, barcode digits).
pub async fn issue_e_licence(app: &TestApp, holder: &str) -> (String, String) {
    let body: Value = app
        .post_json(
            "/api/v1/me/e-licence",
            holder,
            &serde_json::json!({"photo": "on_file"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let text = |field: &str| body["display"][field].as_str().unwrap().to_owned();
    (text("code"), text("barcode"))
}

/// An officer's scan: `body` is `{"code": …}` or `{"barcode": …}`; the answer is 200.
pub async fn scan(app: &TestApp, officer: &str, body: Value) -> Value {
    let res = app.post_json("/api/v1/verify", officer, &body).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Asserts the one error shape and returns the code.
pub async fn error_code(res: reqwest::Response, status: u16) -> (String, String) {
    assert_eq!(res.status().as_u16(), status, "status");
    assert_eq!(res.headers()["content-type"], "application/json");
    let body: Value = res.json().await.expect("error body is JSON");
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.code in {body}"))
        .to_owned();
    let message = body["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.message in {body}"))
        .to_owned();
    assert!(!message.is_empty());
    (code, message)
}

/// Declares each scenario once and runs it on both backends: `sqlite::name` and
/// `postgres::name`. Without a PostgreSQL server the latter are listed as ignored.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[actix_web::test]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[cfg_attr(not(elicence_pg), ignore = "PostgreSQL tests did not run: set ELICENCE_TEST_POSTGRES_URL (see README)")]
                #[actix_web::test]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            )*
        }
    };
}

/// A real portrait PNG that passes the automatic photo checks, as the registry would send a
/// photo on file.
pub fn photo_png() -> Vec<u8> {
    elicence::registry::portrait::png(330, 480)
}

/// The contract record with a photo on file.
pub fn record_with_photo(number: &str) -> Value {
    use base64::Engine;
    let mut r = record(number);
    r["photo"] = serde_json::json!(base64::engine::general_purpose::STANDARD.encode(photo_png()));
    r["photo_taken"] = serde_json::json!("2026-05-01");
    r
}

/// A clerk token bound to the issuing `authority`: (token id, secret).
pub fn clerk_token(app: &TestApp, authority: &str) -> (String, String) {
    let created = auth::create_bound_token(
        &mut app.test_db.db.get().unwrap(),
        Role::Clerk,
        auth::TokenBinding {
            licence: None,
            scope: Some(authority),
            label: Some("test clerk"),
        },
        test_now(),
    )
    .unwrap();
    (created.id, created.secret)
}

/// A partner token bound to `purpose` (rental, insurance, employment).
pub fn partner_token(app: &TestApp, purpose: &str) -> String {
    auth::create_bound_token(
        &mut app.test_db.db.get().unwrap(),
        Role::Partner,
        auth::TokenBinding {
            licence: None,
            scope: Some(purpose),
            label: Some("partner desk"),
        },
        test_now(),
    )
    .unwrap()
    .secret
}
