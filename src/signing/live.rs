//! The key ring of a running server, followed on disk, so that `elicence keys rotate` and
//! `keys retire` take effect in a running `serve` within seconds, with no restart and no
//! dropped request.
//!
//! The keys CLI writes a new key's file first and the manifest last, each atomically (a
//! temporary file, then a rename), so a manifest that has changed names only complete files.
//! A reload that fails (a key file with loose permissions, a folder writable by others, a
//! manifest edited by hand into nonsense) keeps the ring in use, says why in the log once
//! (not at every look), and makes the service not ready (`/readyz`) until it is put right:
//! signing never stops, but the operator learns that the ring on disk is not the one in use.

use super::keys::{check_folder, manifest_bytes, KeyError, KeyRing};
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::Duration;

/// How often `serve` looks at `keys/` for a rotation or a retirement.
pub const RELOAD_EVERY: Duration = Duration::from_secs(5);

/// The ring in use, swapped whole when the manifest on disk changes. Readers take an
/// `Arc` of the ring and keep it for the request: one request signs and verifies with one
/// ring, even if a reload lands in the middle of it.
pub struct LiveKeys {
    dir: PathBuf,
    ring: RwLock<Arc<KeyRing>>,
    /// The manifest, byte for byte, that the ring in use was loaded from.
    loaded_from: Mutex<Vec<u8>>,
    /// Why the ring on disk cannot be loaded, as of the last look (`KeyError::code`).
    load_error: Mutex<Option<&'static str>>,
}

/// What a look at the directory found.
#[derive(Debug, PartialEq, Eq)]
pub enum Reload {
    Unchanged,
    Reloaded {
        active_kid: String,
        published: usize,
    },
}

impl LiveKeys {
    /// Opens the ring in `dir`; refused without an active key.
    pub fn open(dir: &Path) -> Result<LiveKeys, KeyError> {
        let ring = KeyRing::open(dir)?;
        LiveKeys::loaded(dir, ring)
    }

    /// Opens the ring in `dir`, generating a first key when it has none (as
    /// [`KeyRing::open_or_generate`]); returns the kid of a key it generated.
    pub fn open_or_generate(
        dir: &Path,
        now: DateTime<Utc>,
    ) -> Result<(LiveKeys, Option<String>), KeyError> {
        let (ring, generated) = KeyRing::open_or_generate(dir, now)?;
        Ok((LiveKeys::loaded(dir, ring)?, generated))
    }

    fn loaded(dir: &Path, ring: KeyRing) -> Result<LiveKeys, KeyError> {
        // Read after the ring: if the CLI changed the manifest in between, the next look
        // sees bytes that differ and loads again, which is harmless.
        let loaded_from = manifest_bytes(dir)?;
        Ok(LiveKeys {
            dir: dir.to_owned(),
            ring: RwLock::new(Arc::new(ring)),
            loaded_from: Mutex::new(loaded_from),
            load_error: Mutex::new(None),
        })
    }

    /// Why the ring on disk could not be loaded at the last look (`KeyError::code`); `None`
    /// while it is the ring in use or loads.
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

    /// Loads the ring again when the manifest changed since the ring in use was loaded, and
    /// refuses a folder or manifest that became writable by others even if it did not. On an
    /// error the ring in use stays, and [`LiveKeys::load_error`] says why until it is fixed.
    pub fn reload_if_changed(&self) -> Result<Reload, KeyError> {
        let outcome = self.look();
        *self
            .load_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = outcome.as_ref().err().map(KeyError::code);
        outcome
    }

    fn look(&self) -> Result<Reload, KeyError> {
        let mut loaded_from = self
            .loaded_from
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        check_folder(&self.dir)?;
        let on_disk = manifest_bytes(&self.dir)?;
        if on_disk == *loaded_from {
            return Ok(Reload::Unchanged);
        }
        let ring = KeyRing::open(&self.dir)?;
        let change = Reload::Reloaded {
            active_kid: ring.active_kid().to_owned(),
            published: ring.jwks().keys.len(),
        };
        *self.ring.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(ring);
        *loaded_from = on_disk;
        Ok(change)
    }

    /// Looks at the directory every `every` on a thread of its own, which stops once the
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
    /// The failure logged last is over, and the ring in use is the one on disk.
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
                tracing::info!(kid, published, "signing keys changed on disk: reloaded")
            }
            LookReport::Failing(error) => tracing::warn!(
                %error,
                "the signing keys on disk cannot be loaded: keeping the keys in use, not ready \
                 until this is fixed (logged again only if it changes)"
            ),
            LookReport::Recovered => {
                tracing::info!("the signing keys on disk are usable again: ready")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn now() -> DateTime<Utc> {
        "2026-11-22T04:00:00Z".parse().unwrap()
    }

    #[test]
    fn an_unchanged_directory_keeps_the_same_ring() {
        let dir = tempfile::tempdir().unwrap();
        let (keys, generated) = LiveKeys::open_or_generate(dir.path(), now()).unwrap();
        assert!(generated.is_some());
        let before = keys.current();
        assert_eq!(keys.reload_if_changed().unwrap(), Reload::Unchanged);
        assert!(Arc::ptr_eq(&before, &keys.current()));
    }

    #[test]
    fn a_rotation_on_disk_becomes_the_signing_key_and_the_old_key_stays_published() {
        let dir = tempfile::tempdir().unwrap();
        let (keys, first) = LiveKeys::open_or_generate(dir.path(), now()).unwrap();
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
        let (keys, first) = LiveKeys::open_or_generate(dir.path(), now()).unwrap();
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
        let (keys, first) = LiveKeys::open_or_generate(dir.path(), now()).unwrap();
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
        let (keys, first) = LiveKeys::open_or_generate(dir.path(), now()).unwrap();
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
        let (keys, first) = LiveKeys::open_or_generate(dir.path(), now()).unwrap();
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
}
