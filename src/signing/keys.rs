//! Private keys on disk: one PKCS#8 PEM file a key (`<kid>.pem`, mode 0600), the same files on
//! every host. Which key signs and which are still published are the key states: a server
//! keeps them in the database (`signing_keys`, see `service::signing_keys`), so that every
//! process over it agrees; the offline tools, and deployments from before that table, keep
//! them in a manifest (`keyring.json`), which a database with no states imports once.
//!
//! Whoever can write the folder or the manifest can make the service sign with a key of
//! theirs (a new file, named in the manifest), so neither may be writable by group or others:
//! such a ring is refused, at start and on every reload, with the fix in the message.
//!
//! Life of a key: `next` (published ahead of time, signs nothing yet: optional) → `active`
//! (signs, published) → `rotated` (published so that codes it signed still verify until they
//! lapse) → `retired` (unpublished; its codes no longer verify).
//!
//! `next` exists for offline terminals: they verify with the JWKS they fetched when last
//! online, so a key they have never seen makes every code it signs `unknown_kid` to them.
//! Prepared a sync interval ahead, the next key is in their JWKS before it signs anything.

use super::jwk::{thumbprint, Jwk, Jwks};
use super::states::{self, NewKey};
use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

const MANIFEST: &str = "keyring.json";

crate::domain::code_enum! {
    /// A key's state, as the database's `signing_keys.state` and the old manifest spell it.
    #[derive(Deserialize)]
    pub enum KeyState {
        /// Prepared: published, not signing yet. `rotate` makes it active.
        Next,
        Active,
        Rotated,
        Retired,
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Manifest {
    keys: Vec<KeySummary>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}: not a valid key ring manifest: {1}")]
    Manifest(PathBuf, String),
    #[error("{0}: not an Ed25519 PKCS#8 private key")]
    BadKeyFile(PathBuf),
    #[error("{path} holds a key whose thumbprint is not its name {kid}")]
    KidMismatch { path: PathBuf, kid: String },
    #[error("{0}: a private key file must not be readable by others (chmod 600)")]
    LoosePermissions(PathBuf),
    /// The folder or the manifest: anyone who can write there can plant a signing key (a
    /// file, or a manifest naming it). The fix names the one path at fault: with the states
    /// in the database a folder may have no manifest to chmod.
    #[error(
        "{path} is writable by group or others, so anyone on this machine could plant a \
         signing key of theirs: run `chmod go-w {path}` (the keys folder {dir} wants 700, \
         its files 600)",
        path = .path.display(),
        dir = .dir.display()
    )]
    WritableByOthers { path: PathBuf, dir: PathBuf },
    /// Where the states were read: a folder, or the database.
    #[error("no active signing key in {0}: run `elicence keys generate`")]
    NoActiveKey(String),
    /// The states name a key this host has no file for: copy it here from where it was made
    /// (the same pem files on every host).
    #[error("{0}: no such key file on this host, though the key states name it: copy it here (mode 0600) from the host where it was made")]
    KeyFileMissing(PathBuf),
    /// The key states could not be read (the database is unavailable).
    #[error("the signing key states cannot be read: {0}")]
    States(String),
    #[error("an active key exists already ({0}); use `elicence keys rotate`")]
    AlreadyActive(String),
    #[error("no key {0} in the key ring")]
    UnknownKid(String),
    #[error("key {0} is the active key; rotate first, then retire it")]
    RetireActive(String),
    #[error("key {0} is prepared already: `elicence keys rotate` makes it active")]
    AlreadyPrepared(String),
    /// Codes (or a status list) the key signed may still be relied on: retiring it now would
    /// make them fail verification before they lapse.
    #[error("{}", still_in_use_message(.kid, .rotated_at, .lifetime))]
    StillInUse {
        kid: String,
        /// When it stopped signing; `None` when the manifest does not say.
        rotated_at: Option<DateTime<Utc>>,
        /// The longest lifetime of anything it signed.
        lifetime: Duration,
    },
}

impl KeyError {
    /// Stable snake_case, for `/readyz`.
    pub fn code(&self) -> &'static str {
        match self {
            KeyError::Io { .. } => "unreadable",
            KeyError::Manifest(..) => "bad_manifest",
            KeyError::BadKeyFile(_) => "bad_key_file",
            KeyError::KidMismatch { .. } => "kid_mismatch",
            KeyError::LoosePermissions(_) => "key_file_readable_by_others",
            KeyError::WritableByOthers { .. } => "writable_by_others",
            KeyError::NoActiveKey(_) => "no_active_key",
            KeyError::KeyFileMissing(_) => "key_file_missing",
            KeyError::States(_) => "key_states_unavailable",
            KeyError::AlreadyActive(_) => "already_active",
            KeyError::UnknownKid(_) => "unknown_kid",
            KeyError::RetireActive(_) => "retire_active",
            KeyError::AlreadyPrepared(_) => "already_prepared",
            KeyError::StillInUse { .. } => "still_in_use",
        }
    }
}

fn still_in_use_message(
    kid: &str,
    rotated_at: &Option<DateTime<Utc>>,
    lifetime: &Duration,
) -> String {
    let utc = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let secs = lifetime.num_seconds();
    match rotated_at {
        Some(at) => format!(
            "key {kid} was rotated out at {}, and what it signed (display codes, the status \
             list) may be relied on for up to {secs} s after that: codes still in circulation \
             would stop verifying. Retire it from {} on, or pass --force to retire it now",
            utc(*at),
            utc(*at + *lifetime),
        ),
        None => format!(
            "key {kid} is rotated but the key ring does not say when, so codes it signed may \
             still be live (they last up to {secs} s); pass --force to retire it anyway"
        ),
    }
}

/// When a rotated key may be unpublished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retirement {
    /// Once everything it signed has lapsed: this long after it was rotated out (the longest
    /// lifetime of a display code or a status list signed with it).
    AfterLapse(Duration),
    /// Now, whatever it signed: those codes stop verifying at once.
    Forced,
}

/// The state of one key and when it changed (a row of `signing_keys`, an entry of a
/// manifest, a line of `keys list`): never the private part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySummary {
    pub kid: String,
    pub state: KeyState,
    pub created_at: DateTime<Utc>,
    /// When it began to sign; manifests written before this was recorded do not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activated_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<DateTime<Utc>>,
}

/// The keys loaded for use: the active signing key and every published verifying key.
pub struct KeyRing {
    active_kid: String,
    active: SigningKey,
    published: Vec<(String, VerifyingKey)>,
}

// Never print a private key, not even through `{:?}`.
impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("active_kid", &self.active_kid)
            .field(
                "published",
                &self.published.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The manifest as it is on disk (empty when there is none): what a running server compares
/// to notice that the keys CLI changed the ring.
pub(super) fn manifest_bytes(dir: &Path) -> Result<Vec<u8>, KeyError> {
    let path = dir.join(MANIFEST);
    match fs::read(&path) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(KeyError::Io { path, source: e }),
    }
}

/// Refuses a folder or manifest that group or others may write (see the module notes). A
/// folder that does not exist has nothing to refuse.
pub(super) fn check_folder(dir: &Path) -> Result<(), KeyError> {
    for path in [dir.to_owned(), dir.join(MANIFEST)] {
        let mode = match fs::metadata(&path) {
            Ok(meta) => meta.permissions().mode(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(KeyError::Io { path, source }),
        };
        if mode & 0o022 != 0 {
            return Err(KeyError::WritableByOthers {
                path,
                dir: dir.to_owned(),
            });
        }
    }
    Ok(())
}

fn read_manifest(dir: &Path) -> Result<Manifest, KeyError> {
    check_folder(dir)?;
    let bytes = manifest_bytes(dir)?;
    if bytes.is_empty() {
        return Ok(Manifest::default());
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| KeyError::Manifest(dir.join(MANIFEST), e.to_string()))
}

/// Writes a file readable by its owner only, atomically (temporary file, then rename).
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io(&tmp))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(io(&tmp))?;
    fs::rename(&tmp, path).map_err(io(path))
}

fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<(), KeyError> {
    let json = serde_json::to_vec_pretty(manifest)
        .map_err(|e| KeyError::Manifest(dir.join(MANIFEST), e.to_string()))?;
    write_private(&dir.join(MANIFEST), &json)
}

fn key_path(dir: &Path, kid: &str) -> PathBuf {
    dir.join(format!("{kid}.pem"))
}

fn load_key(dir: &Path, kid: &str) -> Result<SigningKey, KeyError> {
    let path = key_path(dir, kid);
    let meta = match fs::metadata(&path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(KeyError::KeyFileMissing(path))
        }
        Err(source) => return Err(KeyError::Io { path, source }),
    };
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(KeyError::LoosePermissions(path));
    }
    let pem = fs::read_to_string(&path).map_err(io(&path))?;
    let key = SigningKey::from_pkcs8_pem(&pem).map_err(|_| KeyError::BadKeyFile(path.clone()))?;
    if thumbprint(&key.verifying_key()) != kid {
        return Err(KeyError::KidMismatch {
            path,
            kid: kid.to_owned(),
        });
    }
    Ok(key)
}

/// Creates a new key file (mode 0600; a folder it creates is its owner's only), loads it
/// once so that a broken one is never named, and returns its kid.
pub fn new_key_file(dir: &Path) -> Result<String, KeyError> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io(dir))?;
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let kid = thumbprint(&key.verifying_key());
    let pem = key
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .map_err(|_| KeyError::BadKeyFile(key_path(dir, &kid)))?;
    write_private(&key_path(dir, &kid), pem.as_bytes())?;
    load_key(dir, &kid)?;
    Ok(kid)
}

/// The states in the manifest of `dir` (none without one): what a database with no key
/// states imports once.
pub fn manifest_states(dir: &Path) -> Result<Vec<KeySummary>, KeyError> {
    Ok(read_manifest(dir)?.keys)
}

/// Applies a rule of `states` to the manifest in `dir` and saves it; key files it makes go
/// in `dir`.
fn change_manifest<T>(
    dir: &Path,
    rule: impl FnOnce(&mut Vec<KeySummary>, NewKey<'_>) -> Result<T, KeyError>,
) -> Result<T, KeyError> {
    let mut manifest = read_manifest(dir)?;
    let outcome = rule(&mut manifest.keys, &mut || new_key_file(dir))?;
    write_manifest(dir, &manifest)?;
    Ok(outcome)
}

impl KeyRing {
    /// Loads the active key and every published key that `keys` names from the files in
    /// `dir`, refusing a folder writable by others and key files readable by them.
    pub fn from_states(dir: &Path, keys: &[KeySummary]) -> Result<KeyRing, KeyError> {
        check_folder(dir)?;
        let active = keys
            .iter()
            .find(|k| k.state == KeyState::Active)
            .ok_or_else(|| KeyError::NoActiveKey(dir.display().to_string()))?;
        let active_key = load_key(dir, &active.kid)?;
        let mut published = Vec::new();
        for entry in keys.iter().filter(|k| k.state != KeyState::Retired) {
            let key = load_key(dir, &entry.kid)?;
            published.push((entry.kid.clone(), key.verifying_key()));
        }
        Ok(KeyRing {
            active_kid: active.kid.clone(),
            active: active_key,
            published,
        })
    }

    /// Loads the ring a manifest in `dir` describes (the offline tools, and tests).
    pub fn open(dir: &Path) -> Result<KeyRing, KeyError> {
        KeyRing::from_states(dir, &manifest_states(dir)?)
    }

    /// Opens the ring of a manifest, generating a first active key when `dir` has none.
    /// Returns the ring and the kid of a key it generated.
    pub fn open_or_generate(
        dir: &Path,
        now: DateTime<Utc>,
    ) -> Result<(KeyRing, Option<String>), KeyError> {
        let manifest = read_manifest(dir)?;
        if manifest.keys.iter().any(|k| k.state == KeyState::Active) {
            return Ok((KeyRing::open(dir)?, None));
        }
        let kid = KeyRing::generate(dir, now)?;
        Ok((KeyRing::open(dir)?, Some(kid)))
    }

    /// [`states::generate`] on the manifest in `dir`.
    pub fn generate(dir: &Path, now: DateTime<Utc>) -> Result<String, KeyError> {
        change_manifest(dir, |keys, new_key| states::generate(keys, now, new_key))
    }

    /// [`states::prepare`] on the manifest in `dir`.
    pub fn prepare(dir: &Path, now: DateTime<Utc>) -> Result<String, KeyError> {
        change_manifest(dir, |keys, new_key| states::prepare(keys, now, new_key))
    }

    /// [`states::rotate`] on the manifest in `dir`; returns the new active kid.
    pub fn rotate(dir: &Path, now: DateTime<Utc>) -> Result<String, KeyError> {
        Ok(KeyRing::rotate_to_next(dir, now)?.0)
    }

    /// As [`KeyRing::rotate`], saying whether the new key was the prepared one.
    pub fn rotate_to_next(dir: &Path, now: DateTime<Utc>) -> Result<(String, bool), KeyError> {
        change_manifest(dir, |keys, new_key| states::rotate(keys, now, new_key))
    }

    /// [`states::retire`] on the manifest in `dir`.
    pub fn retire(
        dir: &Path,
        kid: &str,
        now: DateTime<Utc>,
        when: Retirement,
    ) -> Result<(), KeyError> {
        change_manifest(dir, |keys, _| states::retire(keys, kid, now, when))
    }

    pub fn list(dir: &Path) -> Result<Vec<KeySummary>, KeyError> {
        manifest_states(dir)
    }

    pub fn active_kid(&self) -> &str {
        &self.active_kid
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.active.sign(message).to_bytes()
    }

    /// A published key by kid; retired and unknown keys are `None`.
    pub fn verifying_key(&self, kid: &str) -> Option<&VerifyingKey> {
        self.published
            .iter()
            .find(|(k, _)| k == kid)
            .map(|(_, key)| key)
    }

    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: self
                .published
                .iter()
                .map(|(_, key)| Jwk::from_key(key))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-22T04:00:00Z".parse().unwrap()
    }

    #[test]
    fn first_key_is_generated_private_and_active() {
        let dir = tempfile::tempdir().unwrap();
        let (ring, generated) = KeyRing::open_or_generate(dir.path(), now()).unwrap();
        let kid = generated.unwrap();
        assert_eq!(ring.active_kid(), kid);
        let pem_path = dir.path().join(format!("{kid}.pem"));
        assert_eq!(
            fs::metadata(&pem_path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(fs::read_to_string(&pem_path)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(!format!("{ring:?}").contains("PRIVATE"));
        // A second start reuses the key.
        let (again, generated) = KeyRing::open_or_generate(dir.path(), now()).unwrap();
        assert_eq!(generated, None);
        assert_eq!(again.active_kid(), kid);
        assert!(matches!(
            KeyRing::generate(dir.path(), now()),
            Err(KeyError::AlreadyActive(_))
        ));
    }

    #[test]
    fn rotation_keeps_old_keys_published_until_retired() {
        let dir = tempfile::tempdir().unwrap();
        let first = KeyRing::generate(dir.path(), now()).unwrap();
        let second = KeyRing::rotate(dir.path(), now()).unwrap();
        let ring = KeyRing::open(dir.path()).unwrap();
        assert_eq!(ring.active_kid(), second);
        assert!(ring.verifying_key(&first).is_some());
        assert_eq!(ring.jwks().keys.len(), 2);
        assert!(matches!(
            KeyRing::retire(dir.path(), &second, now(), Retirement::Forced),
            Err(KeyError::RetireActive(_))
        ));
        assert!(matches!(
            KeyRing::retire(dir.path(), "nope", now(), Retirement::Forced),
            Err(KeyError::UnknownKid(_))
        ));
        KeyRing::retire(dir.path(), &first, now(), Retirement::Forced).unwrap();
        let ring = KeyRing::open(dir.path()).unwrap();
        assert!(ring.verifying_key(&first).is_none());
        assert_eq!(ring.jwks().keys.len(), 1);
        let states: Vec<_> = KeyRing::list(dir.path())
            .unwrap()
            .into_iter()
            .map(|k| k.state)
            .collect();
        assert_eq!(states, [KeyState::Retired, KeyState::Active]);
    }

    #[test]
    fn a_prepared_key_is_published_before_it_signs_and_rotation_activates_it() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            KeyRing::prepare(dir.path(), now()),
            Err(KeyError::NoActiveKey(_))
        ));
        let first = KeyRing::generate(dir.path(), now()).unwrap();
        let next = KeyRing::prepare(dir.path(), now()).unwrap();
        match KeyRing::prepare(dir.path(), now()) {
            Err(KeyError::AlreadyPrepared(kid)) => assert_eq!(kid, next),
            other => panic!("{other:?}"),
        }
        let ring = KeyRing::open(dir.path()).unwrap();
        assert_eq!(
            ring.active_kid(),
            first,
            "the prepared key signs nothing yet"
        );
        assert!(ring.verifying_key(&next).is_some(), "but it is published");
        assert_eq!(ring.jwks().keys.len(), 2);

        let later = now() + Duration::hours(30);
        assert_eq!(
            KeyRing::rotate_to_next(dir.path(), later).unwrap(),
            (next.clone(), true)
        );
        let ring = KeyRing::open(dir.path()).unwrap();
        assert_eq!(ring.active_kid(), next);
        assert!(ring.verifying_key(&first).is_some());
        let states: Vec<_> = KeyRing::list(dir.path())
            .unwrap()
            .into_iter()
            .map(|k| (k.kid, k.state, k.rotated_at))
            .collect();
        assert_eq!(
            states,
            [
                (first, KeyState::Rotated, Some(later)),
                (next, KeyState::Active, None)
            ]
        );
        // Without a prepared key, rotation makes a new one and says so.
        let (third, prepared) = KeyRing::rotate_to_next(dir.path(), later).unwrap();
        assert!(!prepared);
        assert_eq!(KeyRing::open(dir.path()).unwrap().active_kid(), third);
    }

    #[test]
    fn a_prepared_key_that_never_signed_is_retired_at_once() {
        let dir = tempfile::tempdir().unwrap();
        KeyRing::generate(dir.path(), now()).unwrap();
        let next = KeyRing::prepare(dir.path(), now()).unwrap();
        let lapse = Retirement::AfterLapse(Duration::days(1));
        KeyRing::retire(dir.path(), &next, now(), lapse).unwrap();
        let ring = KeyRing::open(dir.path()).unwrap();
        assert!(ring.verifying_key(&next).is_none());
        assert_eq!(ring.jwks().keys.len(), 1);
        // Another may be prepared in its place.
        assert_ne!(KeyRing::prepare(dir.path(), now()).unwrap(), next);
    }

    #[test]
    fn a_rotated_key_is_retired_only_once_what_it_signed_has_lapsed() {
        let dir = tempfile::tempdir().unwrap();
        let first = KeyRing::generate(dir.path(), now()).unwrap();
        let rotated_at = now() + Duration::hours(1);
        KeyRing::rotate(dir.path(), rotated_at).unwrap();
        let lifetime = Duration::seconds(180);
        let retire = |at| KeyRing::retire(dir.path(), &first, at, Retirement::AfterLapse(lifetime));
        let early = retire(rotated_at + lifetime - Duration::seconds(1)).unwrap_err();
        assert!(matches!(
            &early,
            KeyError::StillInUse { rotated_at: Some(at), .. } if *at == rotated_at
        ));
        let message = early.to_string();
        assert!(
            message.contains("2026-11-22 05:03:00 UTC") && message.contains("--force"),
            "{message}"
        );
        assert!(KeyRing::open(dir.path())
            .unwrap()
            .verifying_key(&first)
            .is_some());
        retire(rotated_at + lifetime).unwrap();
        assert!(KeyRing::open(dir.path())
            .unwrap()
            .verifying_key(&first)
            .is_none());
        let listed = KeyRing::list(dir.path()).unwrap();
        assert_eq!(listed[0].retired_at, Some(rotated_at + lifetime));
    }

    #[test]
    fn a_rotated_key_of_unknown_rotation_time_needs_force() {
        let dir = tempfile::tempdir().unwrap();
        let first = KeyRing::generate(dir.path(), now()).unwrap();
        KeyRing::rotate(dir.path(), now()).unwrap();
        // A manifest written by hand, without `rotated_at`.
        let path = dir.path().join(MANIFEST);
        let mut manifest = read_manifest(dir.path()).unwrap();
        manifest.keys[0].rotated_at = None;
        write_manifest(dir.path(), &manifest).unwrap();
        assert!(!fs::read_to_string(&path).unwrap().contains("rotated_at"));
        let later = now() + Duration::days(365);
        let lapse = Retirement::AfterLapse(Duration::seconds(180));
        assert!(matches!(
            KeyRing::retire(dir.path(), &first, later, lapse),
            Err(KeyError::StillInUse {
                rotated_at: None,
                ..
            })
        ));
        KeyRing::retire(dir.path(), &first, later, Retirement::Forced).unwrap();
    }

    #[test]
    fn loose_permissions_and_swapped_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let kid = KeyRing::generate(dir.path(), now()).unwrap();
        let path = dir.path().join(format!("{kid}.pem"));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            KeyRing::open(dir.path()),
            Err(KeyError::LoosePermissions(_))
        ));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        // Another key under this kid's name.
        let other = SigningKey::from_bytes(&[9u8; 32])
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .unwrap();
        fs::write(&path, other.as_bytes()).unwrap();
        assert!(matches!(
            KeyRing::open(dir.path()),
            Err(KeyError::KidMismatch { .. })
        ));
        fs::write(&path, "not a key").unwrap();
        assert!(matches!(
            KeyRing::open(dir.path()),
            Err(KeyError::BadKeyFile(_))
        ));
    }

    #[test]
    fn a_folder_or_manifest_writable_by_others_is_refused_with_the_fix() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("keys");
        KeyRing::generate(&dir, now()).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700, "a folder it creates is its owner's only");
        assert_eq!(mode(&dir.join(MANIFEST)), 0o600);
        let chmod = |p: &Path, m| fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
        for (path, loose) in [
            (dir.clone(), 0o777),
            (dir.join(MANIFEST), 0o666),
            (dir.clone(), 0o720),
        ] {
            chmod(&path, loose);
            let refused = KeyRing::open(&dir).unwrap_err();
            assert!(
                matches!(&refused, KeyError::WritableByOthers { path: p, .. } if *p == path),
                "{refused:?}"
            );
            let message = refused.to_string();
            let fix = format!("chmod go-w {}", path.display());
            assert!(message.contains(&fix), "{message}");
            // The keys CLI refuses it as well.
            assert!(KeyRing::rotate(&dir, now()).is_err());
            chmod(&dir, 0o700);
            chmod(&dir.join(MANIFEST), 0o600);
            KeyRing::open(&dir).unwrap();
        }
        // Readable by others is no way to plant a key: 0755 and 0644 stay accepted.
        chmod(&dir, 0o755);
        chmod(&dir.join(MANIFEST), 0o644);
        KeyRing::open(&dir).unwrap();
    }

    #[test]
    fn an_empty_directory_has_no_active_key() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            KeyRing::open(dir.path()),
            Err(KeyError::NoActiveKey(_))
        ));
    }
}
