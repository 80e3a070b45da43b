//! The status lists as served (docs/status-lists.md): fixed-size lists whose entries are kept
//! up to date in the transactions that change them (`entries`), signed again by one process
//! at a time when their content changed (`maintain`), stored in `status_lists`, and served by
//! every process from memory.
//!
//! Every process runs one background thread: each interval it tries a maintenance pass (the
//! one that gets the lock sweeps and signs), then reloads from the table the tokens that were
//! signed since it last looked. An event is therefore published everywhere within two
//! intervals (one second each by default).

pub mod entries;
pub mod maintain;

use crate::clock::Clock;
use crate::signing::LiveKeys;
use crate::status_list::Bits;
use crate::storage::status_lists::{self, SignedRow};
use crate::storage::{Database, DbConn, Fault, StorageError};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock, Weak};

pub use entries::{allocate, update_for_licences};
pub use maintain::Pass;

/// Where the lists are served, below the public URL: `{LISTS_PATH}/{n}` each, the
/// aggregation at `LISTS_PATH`.
pub const LISTS_PATH: &str = "/api/v1/status-lists";
/// The single list of terminals made before the lists were sharded: list 0 (the same token
/// as `{LISTS_PATH}/0`), whose entries keep the `e` those terminals read as an index.
pub const LEGACY_PATH: &str = "/api/v1/status-list";

/// Two bits an entry: a terminal tells SUSPENDED from INVALID. Measured for a list of 2^20
/// entries with 1 % of them revoked at random: the signed token is 29.4 KB at two bits against
/// 27.7 KB at one, inside the 32 KB budget either way (`cargo bench --bench status_list`).
pub const BITS: Bits = Bits::TWO;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `{public_url}/api/v1/status-lists`: the aggregation, and the prefix of every list's URI.
    pub aggregation_uri: String,
    /// The token's `ttl` and `Cache-Control: max-age`: how long a terminal keeps a list
    /// before it asks again.
    pub ttl: Duration,
    /// `exp` − `iat`: how long an offline terminal may rely on one list. A list is signed
    /// again once half of it has passed, so a terminal that syncs always holds one with at
    /// least half its lifetime left.
    pub lifetime: Duration,
    /// How often each process tries a maintenance pass and reloads what was signed.
    pub interval: std::time::Duration,
    pub bits: Bits,
}

impl Settings {
    /// `public_url` is where the service is reached from outside (`https://host`).
    pub fn new(
        public_url: &str,
        ttl: Duration,
        lifetime: Duration,
        interval: std::time::Duration,
    ) -> Settings {
        Settings {
            aggregation_uri: format!("{}{LISTS_PATH}", public_url.trim_end_matches('/')),
            ttl,
            lifetime,
            interval,
            bits: BITS,
        }
    }

    /// The URI of list `n`: its token's `sub`.
    pub fn uri_of(&self, list: u32) -> String {
        format!("{}/{list}", self.aggregation_uri)
    }
}

/// A signed list as served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub list: u32,
    /// The compact JWS, as served.
    pub token: String,
    /// A strong entity tag of the token (the same in every process).
    pub etag: String,
    pub kid: String,
    /// The content version it was signed from, and how many times the list was signed.
    pub signed_version: i64,
    pub signings: i64,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl Published {
    fn from_row(row: SignedRow) -> Option<Published> {
        Some(Published {
            list: u32::try_from(row.list_id).ok()?,
            token: row.token?,
            etag: row.etag?,
            kid: row.kid?,
            signed_version: row.signed_version,
            signings: row.signings,
            issued_at: row.signed_at?.and_utc(),
            expires_at: row.expires_at?.and_utc(),
        })
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }

    /// Seconds a cache may keep it from `now`: the ttl, or what is left of its lifetime.
    pub fn max_age(&self, ttl: Duration, now: DateTime<Utc>) -> i64 {
        ttl.num_seconds()
            .min((self.expires_at - now).num_seconds())
            .max(0)
    }
}

/// The lists this process serves, and its maintenance thread. Cheap to clone.
#[derive(Clone)]
pub struct StatusLists {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    keys: Arc<LiveKeys>,
    clock: Arc<dyn Clock>,
    settings: Settings,
    /// The signed lists by number, as last read from the table.
    lists: RwLock<BTreeMap<u32, Arc<Published>>>,
    /// One pass at a time in this process (the thread, and `publish_now`).
    pass: Mutex<()>,
    /// Set when the service stops; the thread waits on it between passes.
    stopped: Mutex<bool>,
    wake: Condvar,
    /// The maintenance thread, for [`StatusLists::stop_and_wait`].
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl StatusLists {
    pub fn new(
        db: Database,
        keys: Arc<LiveKeys>,
        clock: Arc<dyn Clock>,
        settings: Settings,
    ) -> StatusLists {
        StatusLists {
            inner: Arc::new(Inner {
                db,
                keys,
                clock,
                settings,
                lists: RwLock::new(BTreeMap::new()),
                pass: Mutex::new(()),
                stopped: Mutex::new(false),
                wake: Condvar::new(),
                thread: Mutex::new(None),
            }),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Starts the thread that maintains and reloads the lists every interval, until
    /// [`StatusLists::stop`] (or until every handle is dropped).
    pub fn start(&self) -> std::io::Result<()> {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let interval = self.inner.settings.interval;
        let thread = std::thread::Builder::new()
            .name("status-lists".into())
            .spawn(move || loop {
                let Some(inner) = weak.upgrade() else { return };
                let this = StatusLists { inner };
                if let Err(e) = this.sync() {
                    tracing::warn!(error = %e, "status lists: maintenance pass failed");
                }
                let stopped = this
                    .inner
                    .stopped
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if *stopped {
                    return;
                }
                let (stopped, _) = this
                    .inner
                    .wake
                    .wait_timeout(stopped, interval)
                    .unwrap_or_else(PoisonError::into_inner);
                if *stopped {
                    return;
                }
            })?;
        *self
            .inner
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(thread);
        Ok(())
    }

    /// [`StatusLists::stop`], then waits until `deadline` for the thread to end, so that no
    /// pass is cut off by the process's exit. True when it ended (or never ran). Blocking.
    pub fn stop_and_wait(&self, deadline: std::time::Instant) -> bool {
        self.stop();
        let thread = self
            .inner
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(thread) = thread else { return true };
        while !thread.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        thread.is_finished()
    }

    /// Stops the thread after the pass it may be running.
    pub fn stop(&self) {
        *self
            .inner
            .stopped
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = true;
        self.inner.wake.notify_all();
    }

    /// A maintenance pass (if no other process runs one) and a reload of what was signed,
    /// now. Blocking.
    fn sync(&self) -> Result<Pass, StorageError> {
        // Taken before the connection, so passes waiting their turn hold none.
        let _one = self
            .inner
            .pass
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut conn = self.inner.db.get()?;
        let ring = self.inner.keys.current();
        let pass = maintain::run(
            &mut conn,
            &ring,
            &self.inner.settings,
            self.inner.clock.now(),
        )?;
        self.reload(&mut conn)?;
        Ok(pass)
    }

    /// Reads the tokens signed since this process last looked.
    fn reload(&self, conn: &mut DbConn) -> Result<(), StorageError> {
        let tags = status_lists::etags(conn)?;
        let held: BTreeMap<u32, String> = self
            .read()
            .iter()
            .map(|(n, p)| (*n, p.etag.clone()))
            .collect();
        let mut fresh = Vec::new();
        for (list, etag) in tags {
            let known = u32::try_from(list).ok().and_then(|n| held.get(&n));
            if etag.is_some() && known != etag.as_ref() {
                if let Some(p) = status_lists::signed(conn, list)?.and_then(Published::from_row) {
                    fresh.push(p);
                }
            }
        }
        if !fresh.is_empty() {
            let mut lists = self
                .inner
                .lists
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            for p in fresh {
                lists.insert(p.list, Arc::new(p));
            }
        }
        Ok(())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<u32, Arc<Published>>> {
        self.inner
            .lists
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs a pass and reloads now, off the async executor (tests; after a bulk change; the
    /// first request before the thread's first pass).
    pub async fn publish_now(&self) -> Result<Pass, StorageError> {
        let this = self.clone();
        let (done, result) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("status-lists-now".into())
            .spawn(move || {
                let _ = done.send(this.sync());
            })
            .map_err(|e| StorageError::Thread(format!("status-list pass: {e}")))?;
        result.await.map_err(|_| {
            StorageError::unavailable(Fault::Stopping, "the status-list pass stopped")
        })?
    }

    /// List `n` as served now: the token in memory while it has not expired. A pass and a
    /// reload come first only when this process holds no list yet (before its thread's
    /// first pass) or the list it holds has expired (the signer has stopped): a request for
    /// a list that does not exist costs nothing more than a lookup. `None` when there is no
    /// such list.
    pub async fn get(&self, list: u32) -> Result<Option<Arc<Published>>, StorageError> {
        let now = self.inner.clock.now();
        let held = self.read().get(&list).cloned();
        match held {
            Some(p) if !p.is_expired(now) => return Ok(Some(p)),
            None if !self.read().is_empty() => return Ok(None),
            _ => {}
        }
        self.publish_now().await?;
        let now = self.inner.clock.now();
        if self.read().is_empty() {
            // Another process holds the lock and has not signed yet (its first sweep after
            // the migration can take a while).
            return Err(StorageError::unavailable(
                Fault::Locked,
                "no status list is signed yet",
            ));
        }
        match self.read().get(&list) {
            Some(p) if p.is_expired(now) => Err(StorageError::unavailable(
                Fault::Locked,
                format!("status list {list} is past its exp and no new one was signed"),
            )),
            other => Ok(other.cloned()),
        }
    }

    /// The URIs of every list (the aggregation document's `status_lists`).
    pub async fn uris(&self) -> Result<Vec<String>, StorageError> {
        if self.read().is_empty() {
            self.publish_now().await?;
        }
        if self.read().is_empty() {
            return Err(StorageError::unavailable(
                Fault::Locked,
                "no status list is signed yet",
            ));
        }
        Ok(self
            .read()
            .keys()
            .map(|n| self.inner.settings.uri_of(*n))
            .collect())
    }
}
