//! The key ring of a running server, followed on disk, so that `elicence keys rotate` and
//! `keys retire` take effect in a running `serve` within seconds, with no restart and no
//! dropped request.
//!
//! The keys CLI writes a new key's file first and the manifest last, each atomically (a
//! temporary file, then a rename), so a manifest that has changed names only complete files.
//! A reload that fails (a key file with loose permissions, a manifest edited by hand into
//! nonsense) keeps the ring in use and says why in the log: signing never stops.

use super::keys::{manifest_bytes, KeyError, KeyRing};
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
    /// Opens the ring in `dir`, generating a first key when it has none (as
    /// [`KeyRing::open_or_generate`]); returns the kid of a key it generated.
    pub fn open_or_generate(
        dir: &Path,
        now: DateTime<Utc>,
    ) -> Result<(LiveKeys, Option<String>), KeyError> {
        let (ring, generated) = KeyRing::open_or_generate(dir, now)?;
        // Read after the ring: if the CLI changed the manifest in between, the next look
        // sees bytes that differ and loads again, which is harmless.
        let loaded_from = manifest_bytes(dir)?;
        Ok((
            LiveKeys {
                dir: dir.to_owned(),
                ring: RwLock::new(Arc::new(ring)),
                loaded_from: Mutex::new(loaded_from),
            },
            generated,
        ))
    }

    /// The ring to sign and verify with now.
    pub fn current(&self) -> Arc<KeyRing> {
        self.ring
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Loads the ring again when the manifest changed since the ring in use was loaded.
    /// On an error the ring in use stays.
    pub fn reload_if_changed(&self) -> Result<Reload, KeyError> {
        let mut loaded_from = self
            .loaded_from
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
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
    /// last handle to these keys is gone. Reloads and failures are logged (kids only: they
    /// are public).
    pub fn watch(self: &Arc<Self>, every: Duration) -> std::io::Result<()> {
        let keys: Weak<LiveKeys> = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("keys-watch".into())
            .spawn(move || loop {
                std::thread::sleep(every);
                let Some(keys) = keys.upgrade() else { break };
                match keys.reload_if_changed() {
                    Ok(Reload::Unchanged) => {}
                    Ok(Reload::Reloaded {
                        active_kid,
                        published,
                    }) => tracing::info!(
                        kid = active_kid,
                        published,
                        "signing keys changed on disk: reloaded"
                    ),
                    Err(error) => tracing::warn!(
                        %error,
                        "signing keys changed on disk but cannot be loaded: keeping the keys in use"
                    ),
                }
            })
            .map(|_| ())
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
