//! Ed25519 signatures checked many at once, with exactly the verdicts `verify_strict` gives
//! one by one: `ed25519_dalek::verify_batch` first (about 18 µs a signature from eight on,
//! against 40 µs strictly), and if the batch fails, each signature strictly on its own. Used by
//! the server's verifier (`jws::verify_all`, scans that arrive together) and by the offline
//! terminal (`offline::batch`, a file of codes).
//!
//! # Why a passing batch may stand for strict verification, and a failing one is re-checked
//!
//! `verify_batch` checks one random linear combination of the signature equations,
//! Σ zᵢ·(sᵢ·B − Rᵢ − kᵢ·Aᵢ) = 0 with kᵢ = H(Rᵢ‖Aᵢ‖Mᵢ), where the 128-bit zᵢ are drawn from a
//! hash of every input (a Merlin transcript). In ed25519-dalek 2.2 this equation is *not*
//! multiplied by the cofactor 8; the argument holds for the cofactored form as well.
//!
//! - Nothing good is reported bad. A signature that passes `verify_strict` has
//!   Rᵢ = sᵢ·B − kᵢ·Aᵢ exactly (strict recomputes R and compares encodings), so its term is
//!   zero: a chunk of strictly valid signatures always passes. A failing batch therefore
//!   holds at least one signature strict refuses, and re-checking every member with
//!   `verify_strict` gives exactly the strict verdicts. One forged code does not poison its
//!   chunk; it costs its chunk-mates a re-check.
//! - Nothing bad is reported good, for any code not made with our private key. A member off
//!   by a point of large order passes only if the zᵢ, fixed by hashing the inputs themselves,
//!   cancel it: about 2⁻¹²⁸ per try. What a linear check cannot see are small-order parts,
//!   which strict refuses outright: a key of small or mixed order (`offline::KeySet` refuses
//!   those), a small-order R, or an R off by a torsion point. With a prime-order key, an R
//!   satisfying s·B = R + k·A with such a part needs the discrete log of A, because k hashes R
//!   itself: only the holder of our private key can make one, and that holder can sign any code
//!   anyway. The same goes for the 19 non-canonical encodings of R (strict refuses them, the
//!   batch reduces them): a signature with one needs the private key or the discrete log of a
//!   fixed point. A scalar s ≥ ℓ makes the batch fail and the re-check refuse it.

use ed25519_dalek::{Signature, VerifyingKey};

/// Whether each signature verifies, as `verify_strict` would say of it alone; the three
/// slices are read in step.
pub fn strict_verdicts(
    messages: &[&[u8]],
    signatures: &[Signature],
    keys: &[VerifyingKey],
) -> Vec<bool> {
    if messages.len() > 1 && ed25519_dalek::verify_batch(messages, signatures, keys).is_ok() {
        return vec![true; messages.len()];
    }
    messages
        .iter()
        .zip(signatures)
        .zip(keys)
        .map(|((m, s), k)| k.verify_strict(m, s).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    #[test]
    fn one_forgery_fails_alone() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let messages: Vec<Vec<u8>> = (0..6u8).map(|i| vec![i; 40]).collect();
        let mut signatures: Vec<Signature> = messages.iter().map(|m| key.sign(m)).collect();
        let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        let keys = vec![key.verifying_key(); refs.len()];
        assert_eq!(strict_verdicts(&refs, &signatures, &keys), vec![true; 6]);
        signatures[3] = key.sign(b"something else");
        assert_eq!(
            strict_verdicts(&refs, &signatures, &keys),
            [true, true, true, false, true, true]
        );
        assert!(strict_verdicts(&[], &[], &[]).is_empty());
        assert_eq!(
            strict_verdicts(&refs[3..4], &signatures[3..4], &keys[3..4]),
            [false]
        );
    }
}
