//! The offline status list as served: built from the database in one pass over the
//! e-licences, signed, kept in memory, and rebuilt when it is older than its `ttl`.
//!
//! One rebuild runs at a time, on a thread of its own. While it runs, other requests get the
//! list in memory (unless it has passed its `exp`); only the request that found the list too
//! old waits for the new one.

use crate::clock::{china_date, Clock};
use crate::domain::eligibility::{evaluate_inputs, Inputs};
use crate::domain::registry_state::states_from_codes;
use crate::signing::{KeyRing, LiveKeys};
use crate::status_list::standing::{status_of, Standing};
use crate::status_list::token::{self, StatusListClaims};
use crate::status_list::{Bits, Status, StatusList};
use crate::storage::e_licences::{self, StatusRow};
use crate::storage::{Database, DbConn, Fault, StorageError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

/// Where the list is served, below the public URL.
pub const PATH: &str = "/api/v1/status-list";

/// Two bits an entry: a terminal tells SUSPENDED from INVALID. Measured for 1 M e-licences
/// with 1 % revoked at random: the signed token is 28.0 KB at two bits against 26.3 KB at
/// one (30.5 KB when half the marks are suspensions), inside the 32 KB budget either way
/// (`cargo bench --bench status_list`).
pub const BITS: Bits = Bits::TWO;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The list's `sub`: the URL it is served at.
    pub uri: String,
    /// Rebuilt when older than this; also the token's `ttl` for terminals.
    pub ttl: Duration,
    /// `exp` − `iat`: how long an offline terminal may rely on one list.
    pub lifetime: Duration,
    pub bits: Bits,
}

impl Settings {
    /// `public_url` is where the service is reached from outside (`https://host`).
    pub fn new(public_url: &str, ttl: Duration, lifetime: Duration) -> Settings {
        Settings {
            uri: format!("{}{PATH}", public_url.trim_end_matches('/')),
            ttl,
            lifetime,
            bits: BITS,
        }
    }
}

/// How many e-licences got each status (the index 0 and padding entries not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub valid: u64,
    pub invalid: u64,
    pub suspended: u64,
    /// Of the suspended: current e-licences whose registry row is missing or unreadable.
    pub unreadable: u64,
}

/// A built and signed list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The compact JWS, as served.
    pub token: String,
    /// A strong entity tag of the token.
    pub etag: String,
    /// The key that signed it.
    pub kid: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ttl: Duration,
    /// Entries in the list (the last serial, rounded up to a whole byte).
    pub entries: u64,
    pub compressed_bytes: usize,
    pub counts: Counts,
}

impl Published {
    pub fn age(&self, now: DateTime<Utc>) -> Duration {
        now - self.issued_at
    }

    /// Young enough to serve without a rebuild. A list from the future (the clock went back)
    /// is not.
    pub fn is_fresh(&self, now: DateTime<Utc>) -> bool {
        let age = self.age(now);
        age >= Duration::zero() && age < self.ttl
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }

    /// Seconds a cache may keep it from `now`: what is left of its `ttl`.
    pub fn max_age(&self, now: DateTime<Utc>) -> i64 {
        (self.ttl - self.age(now))
            .num_seconds()
            .clamp(0, self.ttl.num_seconds())
    }
}

/// The status of one row, with the registry rules applied today as `evaluate` applies them;
/// `true` when its registry row is missing or unreadable.
fn row_status(row: &StatusRow, today: NaiveDate) -> (Status, bool) {
    if row.state != "current" {
        return (status_of(Standing::Superseded), false);
    }
    // The stored codes parsed as `storage::licences` parses them.
    let parsed = row
        .licence
        .as_ref()
        .map(|r| (r, states_from_codes(&r.statuses), u8::try_from(r.points)));
    let Some((r, Ok(states), Ok(points))) = parsed else {
        return (status_of(Standing::Unreadable), true);
    };
    let inputs = Inputs {
        valid_from: r.valid_from,
        valid_until: r.valid_until,
        states: &states,
        points,
        medical_due: r.medical_due,
        review_due: r.review_due,
    };
    let eligibility = evaluate_inputs(inputs, today);
    (status_of(Standing::Current(eligibility.reasons())), false)
}

/// Builds and signs the list at `now` from every e-licence in the database.
pub fn build(
    conn: &mut DbConn,
    ring: &KeyRing,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<Published, StorageError> {
    let started = Instant::now();
    let today = china_date(now);
    let mut list = StatusList::new(settings.bits);
    let mut counts = Counts::default();
    e_licences::for_each_status_row(conn, |row| {
        let index = u64::try_from(row.serial)
            .map_err(|_| StorageError::Corrupt(format!("e-licence serial {}", row.serial)))?;
        let (status, unreadable) = row_status(&row, today);
        match status {
            Status::Valid => counts.valid += 1,
            Status::Invalid => counts.invalid += 1,
            Status::Suspended => counts.suspended += 1,
        }
        counts.unreadable += u64::from(unreadable);
        list.set_status(index, status)
            .map_err(|e| StorageError::Corrupt(format!("e-licence serial {}: {e}", row.serial)))
    })?;
    let status_list = list.encode();
    let compressed_bytes = status_list.lst.len() * 3 / 4;
    let claims = StatusListClaims {
        sub: settings.uri.clone(),
        iat: now.timestamp(),
        exp: (now + settings.lifetime).timestamp(),
        ttl: settings.ttl.num_seconds().max(1) as u64,
        status_list,
    };
    let token = token::sign(ring, &claims);
    let etag = format!(
        "\"{}\"",
        URL_SAFE_NO_PAD.encode(&Sha256::digest(token.as_bytes())[..16])
    );
    if counts.unreadable > 0 {
        tracing::warn!(
            count = counts.unreadable,
            "status list: e-licences whose registry row is missing or unreadable are listed suspended"
        );
    }
    tracing::info!(
        entries = list.len(),
        valid = counts.valid,
        invalid = counts.invalid,
        suspended = counts.suspended,
        compressed_bytes,
        token_bytes = token.len(),
        ms = started.elapsed().as_millis() as u64,
        "status list built"
    );
    Ok(Published {
        token,
        etag,
        kid: ring.active_kid().to_owned(),
        issued_at: DateTime::from_timestamp(claims.iat, 0).unwrap_or(now),
        expires_at: DateTime::from_timestamp(claims.exp, 0).unwrap_or(now),
        ttl: settings.ttl,
        entries: list.len(),
        compressed_bytes,
        counts,
    })
}

/// The list kept in memory for the HTTP route. Cheap to clone.
#[derive(Clone)]
pub struct StatusLists {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    keys: Arc<LiveKeys>,
    clock: Arc<dyn Clock>,
    settings: Settings,
    current: RwLock<Option<Arc<Published>>>,
    /// Held while a rebuild runs: one at a time, and the requests that wait for it hold no
    /// thread.
    rebuild: tokio::sync::Mutex<()>,
    building: AtomicBool,
}

/// Clears the "building" flag however the rebuild ends (the request may be dropped).
struct Building<'a>(&'a AtomicBool);

impl Drop for Building<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
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
                current: RwLock::new(None),
                rebuild: tokio::sync::Mutex::new(()),
                building: AtomicBool::new(false),
            }),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Young enough, and signed by the key that signs now: after a rotation or a retirement
    /// the list is signed again at once rather than when its ttl runs out.
    fn servable(&self, list: &Published, now: DateTime<Utc>) -> bool {
        list.is_fresh(now) && list.kid == self.inner.keys.current().active_kid()
    }

    fn in_memory(&self) -> Option<Arc<Published>> {
        self.inner
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The list to serve now: the one in memory while it is younger than its `ttl`, or while
    /// another request is rebuilding it; otherwise a new one. When the rebuild fails (the
    /// database is unreachable), the one in memory is still served until its `exp`: it is
    /// signed and dated, and terminals see its age.
    pub async fn current(&self) -> Result<Arc<Published>, StorageError> {
        let now = self.inner.clock.now();
        let kept = self.in_memory().filter(|l| !l.is_expired(now));
        if let Some(list) = &kept {
            let rebuilding = self.inner.building.load(Ordering::Acquire);
            if self.servable(list, now) || rebuilding {
                return Ok(list.clone());
            }
        }
        match (self.refresh(false).await, kept) {
            (Err(e), Some(list)) => {
                tracing::warn!(error = %e, age_secs = list.age(now).num_seconds(),
                    "status list rebuild failed: serving the previous list");
                Ok(list)
            }
            (result, _) => result,
        }
    }

    /// Builds a new list now, however young the one in memory is (tests; after a bulk change).
    pub async fn rebuild(&self) -> Result<Arc<Published>, StorageError> {
        self.refresh(true).await
    }

    /// Rebuilds on a thread of its own, off the async executor and off the blocking pools
    /// that serve requests' database work (one thread per worker on SQLite), then keeps it.
    async fn refresh(&self, force: bool) -> Result<Arc<Published>, StorageError> {
        let _one_at_a_time = self.inner.rebuild.lock().await;
        let now = self.inner.clock.now();
        // Another request may have rebuilt it while this one waited for its turn.
        if let Some(list) = self.in_memory().filter(|l| !force && self.servable(l, now)) {
            return Ok(list);
        }
        self.inner.building.store(true, Ordering::Release);
        let _building = Building(&self.inner.building);
        let (done, built) = tokio::sync::oneshot::channel();
        let this = self.clone();
        std::thread::Builder::new()
            .name("status-list".into())
            .spawn(move || {
                // Kept even if the request that asked for it is gone.
                let _ = done.send(this.build_and_keep(now));
            })
            .map_err(|e| StorageError::Thread(format!("status list rebuild: {e}")))?;
        built.await.map_err(|_| {
            StorageError::unavailable(Fault::Stopping, "the status list rebuild stopped")
        })?
    }

    fn build_and_keep(&self, now: DateTime<Utc>) -> Result<Arc<Published>, StorageError> {
        let inner = &self.inner;
        let mut conn = inner.db.get()?;
        let list = Arc::new(build(
            &mut conn,
            &inner.keys.current(),
            &inner.settings,
            now,
        )?);
        *inner
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(list.clone());
        Ok(list)
    }
}
