//! COSE_Sign1 (RFC 9052) with EdDSA, as QR text: a short prefix, then the tagged COSE_Sign1
//! in Base45 (RFC 9285), the way the EU Digital COVID Certificate carried its CWTs.
//!
//! Strict on the way in, like `jws`: the algorithm is fixed to EdDSA (-8), the key comes from
//! our ring by the `kid` of the *protected* header (the UTF-8 bytes of the JWKS `kid`), and
//! anything else in the headers (`crit`, a content type, a key in the unprotected bucket) is
//! refused. The message must be exactly the bytes our encoder writes for what it holds (tag
//! 18, shortest lengths, nothing after it), so one signed message has one text.
//!
//! A COSE signature covers `["Signature1", protected, h'', payload]` in CBOR: it begins with
//! 0x84 0x6A, never with the ASCII of a JWS signing input, so the same key signing both
//! formats cannot have one signature stand for the other.

use super::base45;
use super::keys::KeyRing;
use coset::TaggedCborSerializable;
use coset::{iana, CoseSign1, CoseSign1Builder, HeaderBuilder};
use ed25519_dalek::{Signature, VerifyingKey};

/// Why a text was refused. `code()` is the stable reason code shown to verifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CoseError {
    #[error("the code is longer than any we issue")]
    Oversize,
    #[error("the code does not start with the expected prefix")]
    BadPrefix,
    #[error("the code is not Base45 (RFC 9285) after its prefix")]
    BadBase45,
    #[error("the code is not a tagged COSE_Sign1 in our encoding")]
    Malformed,
    #[error("the header names a parameter we never accept")]
    ForbiddenHeader,
    #[error("the algorithm is not EdDSA")]
    UnsupportedAlgorithm,
    #[error("the key id is not one of our published keys")]
    UnknownKey,
    #[error("the signature does not match")]
    BadSignature,
}

impl CoseError {
    pub fn code(self) -> &'static str {
        match self {
            CoseError::Oversize => "oversize",
            CoseError::BadPrefix => "bad_prefix",
            CoseError::BadBase45 => "bad_base45",
            CoseError::Malformed => "malformed",
            CoseError::ForbiddenHeader => "forbidden_header",
            CoseError::UnsupportedAlgorithm => "unsupported_alg",
            CoseError::UnknownKey => "unknown_kid",
            CoseError::BadSignature => "bad_signature",
        }
    }
}

/// A message whose signature checked out: the `kid` that named the key, and the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub kid: String,
    pub payload: Vec<u8>,
}

/// The tagged COSE_Sign1 of `payload`, signed by the ring's active key.
pub fn sign(ring: &KeyRing, payload: Vec<u8>) -> Vec<u8> {
    let protected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .key_id(ring.active_kid().as_bytes().to_vec())
        .build();
    CoseSign1Builder::new()
        .protected(protected)
        .payload(payload)
        .create_signature(b"", |tbs| ring.sign(tbs).to_vec())
        .build()
        .to_tagged_vec()
        // Only a header that cannot be encoded fails, and ours always can.
        .unwrap_or_default()
}

/// `prefix` and the Base45 of [`sign`].
pub fn sign_text(ring: &KeyRing, prefix: &str, payload: Vec<u8>) -> String {
    let mut text = String::from(prefix);
    text.push_str(&base45::encode(&sign(ring, payload)));
    text
}

/// Verifies QR text: at most `max_chars`, `prefix`, Base45, then [`verify_with`].
pub fn verify_text_with<'k>(
    text: &str,
    prefix: &str,
    max_chars: usize,
    key_for: impl FnOnce(&str) -> Option<&'k VerifyingKey>,
) -> Result<Verified, CoseError> {
    if text.len() > max_chars {
        return Err(CoseError::Oversize);
    }
    let body = text.strip_prefix(prefix).ok_or(CoseError::BadPrefix)?;
    let bytes = base45::decode(body).map_err(|_| CoseError::BadBase45)?;
    verify_with(&bytes, key_for)
}

/// Verifies a tagged COSE_Sign1 against `key_for(kid)`.
pub fn verify_with<'k>(
    bytes: &[u8],
    key_for: impl FnOnce(&str) -> Option<&'k VerifyingKey>,
) -> Result<Verified, CoseError> {
    let sign1 = CoseSign1::from_tagged_slice(bytes).map_err(|_| CoseError::Malformed)?;
    let header = &sign1.protected.header;
    if !sign1.unprotected.is_empty()
        || !header.crit.is_empty()
        || header.content_type.is_some()
        || !header.iv.is_empty()
        || !header.partial_iv.is_empty()
        || !header.counter_signatures.is_empty()
        || !header.rest.is_empty()
    {
        return Err(CoseError::ForbiddenHeader);
    }
    if header.alg
        != Some(coset::RegisteredLabelWithPrivate::Assigned(
            iana::Algorithm::EdDSA,
        ))
    {
        return Err(CoseError::UnsupportedAlgorithm);
    }
    let kid = std::str::from_utf8(&header.key_id).map_err(|_| CoseError::UnknownKey)?;
    let key = key_for(kid).ok_or(CoseError::UnknownKey)?;
    // One text for one message: exactly what our encoder writes for these parts.
    if sign1.payload.is_none() || sign1.clone().to_tagged_vec().ok().as_deref() != Some(bytes) {
        return Err(CoseError::Malformed);
    }
    sign1.verify_signature(b"", |sig, tbs| {
        let sig: &[u8; 64] = sig.try_into().map_err(|_| CoseError::Malformed)?;
        key.verify_strict(tbs, &Signature::from_bytes(sig))
            .map_err(|_| CoseError::BadSignature)
    })?;
    Ok(Verified {
        kid: kid.to_owned(),
        payload: sign1.payload.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = "T1:";

    fn ring() -> (tempfile::TempDir, KeyRing) {
        let dir = tempfile::tempdir().unwrap();
        let (ring, _) =
            KeyRing::open_or_generate(dir.path(), "2026-11-22T00:00:00Z".parse().unwrap()).unwrap();
        (dir, ring)
    }

    fn verify(ring: &KeyRing, text: &str) -> Result<Verified, CoseError> {
        verify_text_with(text, PREFIX, 1024, |kid| ring.verifying_key(kid))
    }

    /// Re-signs nothing: rebuilds the message from edited parts, keeping the signature.
    fn rebuilt(ring: &KeyRing, edit: impl FnOnce(&mut CoseSign1)) -> String {
        let bytes = sign(ring, b"payload".to_vec());
        let mut m = CoseSign1::from_tagged_slice(&bytes).unwrap();
        m.protected.original_data = None;
        edit(&mut m);
        format!("{PREFIX}{}", base45::encode(&m.to_tagged_vec().unwrap()))
    }

    #[test]
    fn sign_then_verify_round_trips_with_the_kid_in_the_protected_header() {
        let (_d, ring) = ring();
        let text = sign_text(&ring, PREFIX, b"payload".to_vec());
        assert!(base45::is_qr_alphanumeric(&text));
        let v = verify(&ring, &text).unwrap();
        assert_eq!(v.payload, b"payload");
        assert_eq!(v.kid, ring.active_kid());
        let bytes = sign(&ring, b"payload".to_vec());
        assert_eq!(&bytes[..2], [0xD2, 0x84], "tag 18, an array of four");
    }

    #[test]
    fn every_forgery_class_is_refused_with_its_code() {
        let (_d, ring) = ring();
        let good = sign_text(&ring, PREFIX, b"payload".to_vec());
        let body = &good[PREFIX.len()..];
        let bytes = base45::decode(body).unwrap();
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        let other_alg = rebuilt(&ring, |m| {
            m.protected.header.alg = Some(coset::RegisteredLabelWithPrivate::Assigned(
                iana::Algorithm::ES256,
            ))
        });
        let unprotected_kid = rebuilt(&ring, |m| m.unprotected.key_id = b"x".to_vec());
        let crit = rebuilt(&ring, |m| {
            m.protected.header.crit = vec![coset::RegisteredLabelWithPrivate::Assigned(
                iana::HeaderParameter::Alg,
            )]
        });
        let other_kid = rebuilt(&ring, |m| m.protected.header.key_id = b"someone".to_vec());
        let other_payload = rebuilt(&ring, |m| m.payload = Some(b"paylobd".to_vec()));
        let detached = rebuilt(&ring, |m| m.payload = None);
        let mut trailing = bytes.clone();
        trailing.push(0);
        // The same message with a longer encoding of the signature's length (0x59 00 40).
        let sig_at = bytes.len() - 66;
        let mut long_len = bytes[..sig_at].to_vec();
        long_len.extend_from_slice(&[0x59, 0x00, 0x40]);
        long_len.extend_from_slice(&bytes[sig_at + 2..]);
        let enc = |b: &[u8]| format!("{PREFIX}{}", base45::encode(b));
        let cases = [
            (format!("{PREFIX}{}", "0".repeat(1100)), CoseError::Oversize),
            (format!("X1:{body}"), CoseError::BadPrefix),
            (body.to_owned(), CoseError::BadPrefix),
            (
                format!("{PREFIX}{}", body.to_lowercase()),
                CoseError::BadBase45,
            ),
            // A length of 1 modulo 3 (a lone character): never Base45.
            (
                format!("{PREFIX}{}", &body[..body.len() / 3 * 3 - 2]),
                CoseError::BadBase45,
            ),
            (enc(&flipped), CoseError::BadSignature),
            (enc(&bytes[..bytes.len() - 10]), CoseError::Malformed),
            (enc(&bytes[1..]), CoseError::Malformed),
            (enc(&trailing), CoseError::Malformed),
            (enc(&long_len), CoseError::Malformed),
            (enc(b""), CoseError::Malformed),
            (other_alg, CoseError::UnsupportedAlgorithm),
            (unprotected_kid, CoseError::ForbiddenHeader),
            (crit, CoseError::ForbiddenHeader),
            (other_kid, CoseError::UnknownKey),
            (other_payload, CoseError::BadSignature),
            (detached, CoseError::Malformed),
        ];
        for (text, expected) in cases {
            assert_eq!(
                verify(&ring, &text).unwrap_err(),
                expected,
                "{}",
                &text[..text.len().min(60)]
            );
        }
        assert!(verify(&ring, &good).is_ok());
    }

    #[test]
    fn another_rings_message_names_an_unknown_key() {
        let (_d1, ours) = ring();
        let (_d2, theirs) = ring();
        let text = sign_text(&theirs, PREFIX, b"x".to_vec());
        assert_eq!(verify(&ours, &text).unwrap_err(), CoseError::UnknownKey);
    }
}
