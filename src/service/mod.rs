//! Use cases that combine the pure rules, storage and signing: issuing an e-licence, issuing
//! its display code, verifying a scanned code, building the offline status list. Synchronous:
//! callers run them on the blocking pool through `Database::run` (the status list's cache
//! moves its rebuilds there itself).

pub mod codes;
pub mod counter;
pub mod current_e_licence;
pub mod issuance;
pub mod lifecycle;
pub mod photo_review;
pub mod readiness;
pub mod signing_keys;
pub mod status_list;
pub mod verification;
pub mod verification_queue;

use rand::RngCore;

/// A random identifier with a readable prefix, e.g. `el_3f9a…`.
pub(crate) fn random_id(prefix: &str, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    let hex: String = buf.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}
