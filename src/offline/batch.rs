//! Many codes at once: the bulk path of a terminal catching up on a file of scans.
//!
//! Each code is split and its header checked as [`Verifier::verify`] does, but the verdict on
//! a header is remembered by its exact bytes (every code signed by one key has the same
//! header), and the signatures of a chunk are checked together with
//! `ed25519_dalek::verify_batch`. Chunks are shared out to threads with
//! `std::thread::scope`: the work is flat and uniform (chunks of equal cost, no nesting), so
//! a mutex-guarded chunk iterator balances it as well as a work-stealing pool would, without
//! adding rayon and its global pool to the binary.
//!
//! `crate::signing::batch` explains why the verdicts of a batch are those of strict
//! verification one by one.

use super::{Verdict, Verifier};
use crate::domain::code::CODE_TYP;
use crate::domain::minimal::MINIMAL_PREFIX;
use crate::signing::batch::strict_verdicts;
use crate::signing::jws::{self, MAX_TOKEN_BYTES};
use crate::signing::JwsError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, VerifyingKey};
use std::sync::{Mutex, PoisonError};

/// Signatures verified together. Measured per code on one core: 64 → 55k/s, 128 → 60k/s,
/// 256 → 65-70k/s, 512 → 75k/s; a forged code costs its whole chunk a strict re-check
/// (~30 µs a code), so 256 keeps a file with forgeries from falling far behind.
pub const CHUNK: usize = 256;

/// Distinct headers remembered per thread: one per published key is the usual case.
const HEADERS_KEPT: usize = 8;

/// A code whose header and key checked out, waiting for its signature.
struct Pending<'c> {
    slot: usize,
    key: usize,
    signing_input: &'c [u8],
    payload: &'c str,
    signature: Signature,
}

/// The verdict on a header segment, remembered by its exact text. `jws::parse_header`
/// depends on nothing else once the size and the three segments have been checked.
#[derive(Default)]
struct HeaderCache {
    seen: Vec<(Box<str>, Result<usize, JwsError>)>,
    next: usize,
}

impl HeaderCache {
    fn key_for(
        &mut self,
        verifier: &Verifier,
        code: &str,
        header: &str,
    ) -> Result<usize, JwsError> {
        if let Some((_, known)) = self.seen.iter().find(|(h, _)| **h == *header) {
            return *known;
        }
        let verdict = jws::parse_header(code, CODE_TYP)
            .and_then(|h| verifier.keys().index_of(&h.kid).ok_or(JwsError::UnknownKey));
        let entry = (Box::from(header), verdict);
        if self.seen.len() < HEADERS_KEPT {
            self.seen.push(entry);
        } else {
            self.seen[self.next] = entry;
            self.next = (self.next + 1) % HEADERS_KEPT;
        }
        verdict
    }
}

/// What one thread reuses from chunk to chunk.
#[derive(Default)]
struct Scratch<'c> {
    headers: HeaderCache,
    pending: Vec<Pending<'c>>,
    messages: Vec<&'c [u8]>,
    signatures: Vec<Signature>,
    keys: Vec<VerifyingKey>,
}

/// The three segments, refused as `jws::verify_with` refuses them.
fn segments(code: &str) -> Result<(&str, &str, &str), JwsError> {
    if code.len() > MAX_TOKEN_BYTES {
        return Err(JwsError::Oversize);
    }
    let mut parts = code.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) => Ok((h, p, s)),
        _ => Err(JwsError::Malformed),
    }
}

fn signature(b64: &str) -> Result<Signature, JwsError> {
    // Room for the decoder's estimate of an 86-character segment; exactly 64 bytes must come out.
    let mut buf = [0u8; 66];
    match URL_SAFE_NO_PAD.decode_slice(b64, &mut buf) {
        Ok(64) => {
            let bytes: &[u8; 64] = buf[..64].try_into().map_err(|_| JwsError::Malformed)?;
            Ok(Signature::from_bytes(bytes))
        }
        _ => Err(JwsError::Malformed),
    }
}

impl Verifier {
    /// Verifies every code at `now` on `threads` threads; the verdicts, in order, are the ones
    /// [`Verifier::verify`] gives one by one.
    pub fn verify_all<S: AsRef<str> + Sync>(
        &self,
        codes: &[S],
        now: DateTime<Utc>,
        threads: usize,
    ) -> Vec<Verdict> {
        if self.purpose().is_minimal() {
            // One signature a code and no shared header: nothing for a batch to save.
            return codes.iter().map(|c| self.verify(c.as_ref(), now)).collect();
        }
        let mut out = vec![Verdict::default(); codes.len()];
        let work = Mutex::new(codes.chunks(CHUNK).zip(out.chunks_mut(CHUNK)));
        let worker = || {
            let mut scratch = Scratch::default();
            loop {
                let next = work.lock().unwrap_or_else(PoisonError::into_inner).next();
                let Some((codes, out)) = next else { break };
                self.verify_chunk(codes, out, now, &mut scratch);
            }
        };
        let threads = threads.clamp(1, codes.len().div_ceil(CHUNK).max(1));
        if threads == 1 {
            worker();
        } else {
            std::thread::scope(|s| {
                for _ in 1..threads {
                    s.spawn(worker);
                }
                worker();
            });
        }
        out
    }

    fn verify_chunk<'c, S: AsRef<str>>(
        &self,
        codes: &'c [S],
        out: &mut [Verdict],
        now: DateTime<Utc>,
        scratch: &mut Scratch<'c>,
    ) {
        scratch.pending.clear();
        for (slot, code) in codes.iter().enumerate() {
            match self.pending(code.as_ref(), slot, &mut scratch.headers) {
                Ok(p) => scratch.pending.push(p),
                // A minimal code among roadside ones: the one-by-one path says what it is.
                Err(_) if code.as_ref().starts_with(MINIMAL_PREFIX) => {
                    out[slot] = self.verify(code.as_ref(), now)
                }
                Err(e) => out[slot] = Verdict::refused(e),
            }
        }
        let verdicts = self.signature_verdicts(scratch);
        for (p, good) in scratch.pending.iter().zip(verdicts) {
            out[p.slot] = if !good {
                Verdict::refused(JwsError::BadSignature)
            } else {
                match URL_SAFE_NO_PAD.decode(p.payload) {
                    Ok(payload) => self.after_signature(Some(p.key), &payload, now),
                    Err(_) => Verdict::refused(JwsError::Malformed),
                }
            };
        }
    }

    /// Everything `jws::verify_with` checks before the signature, in the same order.
    fn pending<'c>(
        &self,
        code: &'c str,
        slot: usize,
        headers: &mut HeaderCache,
    ) -> Result<Pending<'c>, JwsError> {
        let (header, payload, sig) = segments(code)?;
        let key = headers.key_for(self, code, header)?;
        let signature = signature(sig)?;
        Ok(Pending {
            slot,
            key,
            signing_input: &code.as_bytes()[..header.len() + 1 + payload.len()],
            payload,
            signature,
        })
    }

    fn signature_verdicts(&self, scratch: &mut Scratch<'_>) -> Vec<bool> {
        scratch.messages.clear();
        scratch.signatures.clear();
        scratch.keys.clear();
        for p in &scratch.pending {
            scratch.messages.push(p.signing_input);
            scratch.signatures.push(p.signature);
            scratch.keys.push(*self.keys().key(p.key));
        }
        strict_verdicts(&scratch.messages, &scratch.signatures, &scratch.keys)
    }
}
