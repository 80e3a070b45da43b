//! The key ring of a running server, following the key states (in the database), so that
//! `elicence keys rotate` and `keys retire`, run anywhere, take effect in every running
//! `serve` within one reload interval, with no restart and no dropped request.
//!
//! The keys CLI writes a new key's file first and its state last, so states name only
//! complete files on the host that made them; other hosts need the file copied (the
//! deployment rule in docs/storage-and-keys.md). A reload that fails (a key file missing on
//! this host or with loose permissions, a folder writable by others, the states unreadable)
//! keeps the ring in use, says why in the log once (not at every look), and makes the service
//! not ready (`/readyz`) until it is put right: signing never stops, but the operator learns
//! that the ring the states name is not the one in use.

use super::keys::{check_folder, manifest_states, KeyError, KeyRing, KeySummary};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::Duration;

/// How often `serve` reads the key states by default (`--keys-reload-ms`): the bound within
/// which every process signs with a newly rotated key.
pub const RELOAD_EVERY: Duration = Duration::from_millis(2000);

/// Where the key states are read: the database for a server, a manifest for tests.
pub type StatesSource = Box<dyn Fn() -> Result<Vec<KeySummary>, KeyError> + Send + Sync>;

/// The ring in use, swapped whole when the key states change. Readers take an `Arc` of the
/// ring and keep it for the request: one request signs and verifies with one ring, even if a
/// reload lands in the middle of it.
pub struct LiveKeys {
    dir: PathBuf,
    source: StatesSource,
    ring: RwLock<Arc<KeyRing>>,
    /// The states the ring in use was loaded from.
    loaded_from: Mutex<Vec<KeySummary>>,
    /// Why the ring the states name cannot be loaded, as of the last look (`KeyError::code`).
    load_error: Mutex<Option<&'static str>>,
}

/// What a look at the key states found.
#[derive(Debug, PartialEq, Eq)]
pub enum Reload {
    Unchanged,
    Reloaded {
        active_kid: String,
        published: usize,
    },
}

impl LiveKeys {
    /// Loads the ring that `source` names from the key files in `dir`; refused without an
    /// active key or a file it names.
    pub fn open(dir: &Path, source: StatesSource) -> Result<LiveKeys, KeyError> {
        let states = source()?;
        let ring = KeyRing::from_states(dir, &states)?;
        Ok(LiveKeys {
            dir: dir.to_owned(),
            source,
            ring: RwLock::new(Arc::new(ring)),
            loaded_from: Mutex::new(states),
            load_error: Mutex::new(None),
        })
    }

    /// Follows the manifest in `dir` (the offline tools' key states).
    pub fn of_manifest(dir: &Path) -> Result<LiveKeys, KeyError> {
        let folder = dir.to_owned();
        LiveKeys::open(dir, Box::new(move || manifest_states(&folder)))
    }

    /// Why the ring the states name could not be loaded at the last look (`KeyError::code`);
    /// `None` while it is the ring in use or loads.
    pub fn load_error(&self) -> Option<&'static str> {
        *self
            .load_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The ring to sign and verify with now.
    pub fn current(&self) -> Arc<KeyRing> {
        self.ring
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Loads the ring again when the states changed since the ring in use was loaded, and
    /// refuses a folder that became writable by others even if they did not. On an error the
    /// ring in use stays, and [`LiveKeys::load_error`] says why until it is fixed.
    ///
    /// States that cannot be read (the database is down) change nothing here: readiness
    /// reports the storage itself, and the verdict on the ring stands until the next read.
    pub fn reload_if_changed(&self) -> Result<Reload, KeyError> {
        let outcome = self.look();
        if !matches!(outcome, Err(KeyError::States(_))) {
            *self
                .load_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner) =
                outcome.as_ref().err().map(KeyError::code);
        }
        outcome
    }

    fn look(&self) -> Result<Reload, KeyError> {
        let mut loaded_from = self
            .loaded_from
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        check_folder(&self.dir)?;
        let states = (self.source)()?;
        if states == *loaded_from {
            return Ok(Reload::Unchanged);
        }
        let ring = KeyRing::from_states(&self.dir, &states)?;
        let change = Reload::Reloaded {
            active_kid: ring.active_kid().to_owned(),
            published: ring.jwks().keys.len(),
        };
        *self.ring.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(ring);
        *loaded_from = states;
        Ok(change)
    }

    /// Reads the states every `every` on a thread of its own, which stops once the
    /// last handle to these keys is gone. Reloads are logged (kids only: they are public);
    /// a failure is logged when it first happens or changes, and its end when it ends, never
    /// again at every look while it lasts.
    pub fn watch(self: &Arc<Self>, every: Duration) -> std::io::Result<()> {
        let keys: Weak<LiveKeys> = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("keys-watch".into())
            .spawn(move || {
                let mut failing: Option<String> = None;
                loop {
                    std::thread::sleep(every);
                    let Some(keys) = keys.upgrade() else { break };
                    let outcome = keys.reload_if_changed();
                    crate::telemetry::metrics::keys_looked(match &outcome {
                        Ok(Reload::Reloaded { .. }) => "reloaded",
                        Ok(_) => "unchanged",
                        Err(_) => "failed",
                    });
                    if let Some(report) = LookReport::of(&outcome, &mut failing) {
                        report.log();
                    }
                }
            })
            .map(|_| ())
    }
}

/// What one look of the watcher is worth a log line for.
#[derive(Debug, PartialEq, Eq)]
enum LookReport<'a> {
    Reloaded {
        kid: &'a str,
        published: usize,
    },
    /// A failure that is new, or not the one logged last.
    Failing(String),
    /// The failure logged last is over, and the ring in use is the one the states name.
    Recovered,
}

impl<'a> LookReport<'a> {
    /// The line to log for `outcome`, given the failure logged last (updated).
    fn of(
        outcome: &'a Result<Reload, KeyError>,
        failing: &mut Option<String>,
    ) -> Option<LookReport<'a>> {
        match outcome {
            Err(error) => {
                let message = error.to_string();
                if failing.as_deref() == Some(message.as_str()) {
                    return None;
                }
                *failing = Some(message.clone());
                Some(LookReport::Failing(message))
            }
            Ok(reload) => {
                let was_failing = failing.take().is_some();
                match reload {
                    Reload::Reloaded {
                        active_kid,
                        published,
                    } => Some(LookReport::Reloaded {
                        kid: active_kid,
                        published: *published,
                    }),
                    Reload::Unchanged if was_failing => Some(LookReport::Recovered),
                    Reload::Unchanged => None,
                }
            }
        }
    }

    fn log(&self) {
        match self {
            LookReport::Reloaded { kid, published } => {
                tracing::info!(kid, published, "signing key states changed: reloaded")
            }
            LookReport::Failing(error) => tracing::warn!(
                %error,
                "the signing keys the key states name cannot be loaded: keeping the keys in use, \
                 not ready until this is fixed (logged again only if it changes)"
            ),
            LookReport::Recovered => {
                tracing::info!("the signing keys are usable again: ready")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    use chrono::{DateTime, Utc};

    fn now() -> DateTime<Utc> {
        "2026-11-22T04:00:00Z".parse().unwrap()
    }

    /// A first key generated in `dir`, and the server's view of its manifest.
    fn live(dir: &Path) -> (LiveKeys, Option<String>) {
        let first = KeyRing::generate(dir, now()).unwrap();
        (LiveKeys::of_manifest(dir).unwrap(), Some(first))
    }

    #[test]
    fn an_unchanged_directory_keeps_the_same_ring() {
        let dir = tempfile::tempdir().unwrap();
        let (keys, generated) = live(dir.path());
        assert!(generated.is_some());
        let before = keys.current();
        assert_eq!(keys.reload_if_changed().unwrap(), Reload::Unchanged);
        assert!(Arc::ptr_eq(&before, &keys.current()));
    }

    #[test]
    fn a_rotation_on_disk_becomes_the_signing_key_and_the_old_key_stays_published() {
        let dir = tempfile::tempdir().unwrap();
        let (keys, first) = live(dir.path());
        let first = first.unwrap();
        let held = keys.current();
        let second = KeyRing::rotate(dir.path(), now()).unwrap();
        assert_eq!(
            keys.reload_if_changed().unwrap(),
            Reload::Reloaded {
                active_kid: second.clone(),
                published: 2
            }
        );
        let ring = keys.current();
        assert_eq!(ring.active_kid(), second);
        assert!(ring.verifying_key(&first).is_some());
        // A request that took the ring before the reload keeps signing with it.
        assert_eq!(held.active_kid(), first);
    }

    #[test]
    fn a_prepared_key_on_disk_is_published_and_signs_only_after_the_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let (keys, first) = live(dir.path());
        let next = KeyRing::prepare(dir.path(), now()).unwrap();
        keys.reload_if_changed().unwrap();
        let ring = keys.current();
        assert_eq!(Some(ring.active_kid()), first.as_deref());
        assert!(ring.verifying_key(&next).is_some());
        KeyRing::rotate(dir.path(), now()).unwrap();
        keys.reload_if_changed().unwrap();
        assert_eq!(keys.current().active_kid(), next);
    }

    #[test]
    fn a_retirement_on_disk_unpublishes_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let (keys, first) = live(dir.path());
        let first = first.unwrap();
        KeyRing::rotate(dir.path(), now()).unwrap();
        keys.reload_if_changed().unwrap();
        KeyRing::retire(
            dir.path(),
            &first,
            now(),
            super::super::keys::Retirement::Forced,
        )
        .unwrap();
        assert!(matches!(
            keys.reload_if_changed().unwrap(),
            Reload::Reloaded { published: 1, .. }
        ));
        assert!(keys.current().verifying_key(&first).is_none());
    }

    #[test]
    fn a_folder_made_writable_by_others_is_refused_until_fixed_though_the_manifest_is_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let (keys, first) = live(dir.path());
        assert_eq!(keys.load_error(), None);
        let chmod =
            |m| std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(m)).unwrap();
        chmod(0o777);
        assert!(matches!(
            keys.reload_if_changed(),
            Err(KeyError::WritableByOthers { .. })
        ));
        assert_eq!(keys.load_error(), Some("writable_by_others"));
        // Signing goes on with the ring in use.
        assert_eq!(Some(keys.current().active_kid()), first.as_deref());
        chmod(0o700);
        assert_eq!(keys.reload_if_changed().unwrap(), Reload::Unchanged);
        assert_eq!(keys.load_error(), None);
    }

    /// The watcher logs a failure when it starts or changes, and its end, not every look.
    #[test]
    fn a_failure_is_reported_once_per_change() {
        let mut failing = None;
        let loose =
            || -> Result<Reload, KeyError> { Err(KeyError::LoosePermissions("k.pem".into())) };
        let gone = || -> Result<Reload, KeyError> { Err(KeyError::NoActiveKey("keys".into())) };
        let unchanged = Ok(Reload::Unchanged);
        let reports: Vec<Option<String>> = [loose(), loose(), loose(), gone(), gone()]
            .iter()
            .map(|o| LookReport::of(o, &mut failing).map(|r| format!("{r:?}")))
            .collect();
        assert!(reports[0].as_deref().is_some_and(|r| r.contains("k.pem")));
        assert_eq!(reports[1..3], [None, None]);
        assert!(reports[3]
            .as_deref()
            .is_some_and(|r| r.contains("no active signing key")));
        assert_eq!(reports[4], None);
        assert_eq!(
            LookReport::of(&unchanged, &mut failing),
            Some(LookReport::Recovered)
        );
        assert_eq!(LookReport::of(&unchanged, &mut failing), None);
    }

    #[test]
    fn a_broken_key_on_disk_keeps_the_ring_in_use_and_is_retried() {
        let dir = tempfile::tempdir().unwrap();
        let (keys, first) = live(dir.path());
        let second = KeyRing::rotate(dir.path(), now()).unwrap();
        let path = dir.path().join(format!("{second}.pem"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            keys.reload_if_changed(),
            Err(KeyError::LoosePermissions(_))
        ));
        assert_eq!(keys.current().active_kid(), first.unwrap());
        // Fixed by the operator: the next look loads it.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(
            keys.reload_if_changed().unwrap(),
            Reload::Reloaded { .. }
        ));
        assert_eq!(keys.current().active_kid(), second);
    }

    #[test]
    fn a_key_named_without_its_file_here_is_key_file_missing_until_copied() {
        let dir = tempfile::tempdir().unwrap();
        let (keys, first) = live(dir.path());
        let next = KeyRing::prepare(dir.path(), now()).unwrap();
        let path = dir.path().join(format!("{next}.pem"));
        let away = dir.path().join("elsewhere");
        std::fs::rename(&path, &away).unwrap();
        assert!(matches!(
            keys.reload_if_changed(),
            Err(KeyError::KeyFileMissing(p)) if p == path
        ));
        assert_eq!(keys.load_error(), Some("key_file_missing"));
        assert_eq!(Some(keys.current().active_kid()), first.as_deref());
        std::fs::rename(&away, &path).unwrap();
        assert!(matches!(
            keys.reload_if_changed().unwrap(),
            Reload::Reloaded { published: 2, .. }
        ));
        assert_eq!(keys.load_error(), None);
    }
}
