//! Compact JWS (RFC 7515) with EdDSA (RFC 8037), strict on the way in.
//!
//! Verification never lets the token choose how it is checked: the algorithm is fixed to
//! EdDSA, the key comes from our own ring by `kid`, and headers that point elsewhere for a
//! key (`jku`, `x5u`, `jwk`, `x5c`) or demand extensions (`crit`) are refused outright.

use super::keys::KeyRing;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::Signature;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The largest token we look at; anything longer is refused before decoding.
pub const MAX_TOKEN_BYTES: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwsHeader {
    pub alg: String,
    pub kid: String,
    pub typ: String,
}

/// Why a token was refused. `code()` is the stable reason code shown to verifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    #[error("the token is larger than its type allows (a roadside code: {MAX_TOKEN_BYTES} bytes)")]
    Oversize,
    #[error("the token is not three base64url segments of JSON")]
    Malformed,
    #[error("the header names a key source or extension we never accept")]
    ForbiddenHeader,
    #[error("the algorithm is not EdDSA")]
    UnsupportedAlgorithm,
    #[error("the token type is not the expected one")]
    WrongType,
    #[error("the key id is not one of our published keys")]
    UnknownKey,
    #[error("the signature does not match")]
    BadSignature,
}

impl JwsError {
    pub fn code(self) -> &'static str {
        match self {
            JwsError::Oversize => "oversize",
            JwsError::Malformed => "malformed",
            JwsError::ForbiddenHeader => "forbidden_header",
            JwsError::UnsupportedAlgorithm => "unsupported_alg",
            JwsError::WrongType => "wrong_typ",
            JwsError::UnknownKey => "unknown_kid",
            JwsError::BadSignature => "bad_signature",
        }
    }
}

/// A token whose signature checked out, with its header and raw payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub header: JwsHeader,
    pub payload: Vec<u8>,
}

/// The header of what the ring's active key signs now, in base64url.
fn encoded_header(ring: &KeyRing, typ: &str) -> String {
    let header = JwsHeader {
        alg: "EdDSA".into(),
        kid: ring.active_kid().to_owned(),
        typ: typ.to_owned(),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap_or_default())
}

/// The largest payload, in bytes, that [`sign`] turns into a token of at most `max_chars`
/// with the ring's active key: known before signing, so claims can be made to fit a QR code.
pub fn max_payload_bytes(ring: &KeyRing, typ: &str, max_chars: usize) -> usize {
    const SIGNATURE_CHARS: usize = 86; // 64 bytes in base64url
    let fixed = encoded_header(ring, typ).len() + 2 + SIGNATURE_CHARS;
    // n bytes take ceil(4n / 3) characters of unpadded base64url.
    max_chars.saturating_sub(fixed) * 3 / 4
}

/// Signs `payload` (already serialised claims) with the ring's active key.
pub fn sign(ring: &KeyRing, typ: &str, payload: &[u8]) -> String {
    let mut token = encoded_header(ring, typ);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(payload));
    let signature = ring.sign(token.as_bytes());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    token
}

const FORBIDDEN_HEADERS: [&str; 5] = ["jku", "x5u", "jwk", "x5c", "crit"];

/// Checks the header without any key: the part shared by online and offline verification.
pub fn parse_header(token: &str, expected_typ: &str) -> Result<JwsHeader, JwsError> {
    parse_header_within(token, expected_typ, MAX_TOKEN_BYTES)
}

fn parse_header_within(
    token: &str,
    expected_typ: &str,
    max_bytes: usize,
) -> Result<JwsHeader, JwsError> {
    if token.len() > max_bytes {
        return Err(JwsError::Oversize);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Malformed);
    };
    let raw = URL_SAFE_NO_PAD.decode(h).map_err(|_| JwsError::Malformed)?;
    let fields: Map<String, Value> =
        serde_json::from_slice(&raw).map_err(|_| JwsError::Malformed)?;
    if FORBIDDEN_HEADERS.iter().any(|f| fields.contains_key(*f)) {
        return Err(JwsError::ForbiddenHeader);
    }
    if fields.get("alg").and_then(Value::as_str) != Some("EdDSA") {
        return Err(JwsError::UnsupportedAlgorithm);
    }
    if fields.get("typ").and_then(Value::as_str) != Some(expected_typ) {
        return Err(JwsError::WrongType);
    }
    let kid = fields
        .get("kid")
        .and_then(Value::as_str)
        .ok_or(JwsError::UnknownKey)?;
    Ok(JwsHeader {
        alg: "EdDSA".into(),
        kid: kid.to_owned(),
        typ: expected_typ.to_owned(),
    })
}

/// Verifies a compact token against `key_for(kid)`.
pub fn verify_with<'k>(
    token: &str,
    expected_typ: &str,
    key_for: impl FnOnce(&str) -> Option<&'k ed25519_dalek::VerifyingKey>,
) -> Result<Verified, JwsError> {
    verify_within(token, expected_typ, MAX_TOKEN_BYTES, key_for)
}

/// [`verify_with`] for a token type that may be larger than a roadside code (the status
/// list): the same strict checks, with `max_bytes` in place of [`MAX_TOKEN_BYTES`].
pub fn verify_within<'k>(
    token: &str,
    expected_typ: &str,
    max_bytes: usize,
    key_for: impl FnOnce(&str) -> Option<&'k ed25519_dalek::VerifyingKey>,
) -> Result<Verified, JwsError> {
    let signed = Signed::split(token, expected_typ, max_bytes, key_for)?;
    signed
        .key
        .verify_strict(signed.signing_input.as_bytes(), &signed.signature)
        .map_err(|_| JwsError::BadSignature)?;
    signed.into_verified()
}

/// Verifies against the published keys of our own ring.
pub fn verify(ring: &KeyRing, token: &str, expected_typ: &str) -> Result<Verified, JwsError> {
    verify_with(token, expected_typ, |kid| ring.verifying_key(kid))
}

/// A token whose header and key checked out, its signature not yet checked.
struct Signed<'t> {
    header: JwsHeader,
    key: ed25519_dalek::VerifyingKey,
    signing_input: &'t str,
    signature: Signature,
}

impl<'t> Signed<'t> {
    /// Everything checked before the signature, in the order refusals are reported.
    fn split<'k>(
        token: &'t str,
        expected_typ: &str,
        max_bytes: usize,
        key_for: impl FnOnce(&str) -> Option<&'k ed25519_dalek::VerifyingKey>,
    ) -> Result<Signed<'t>, JwsError> {
        let header = parse_header_within(token, expected_typ, max_bytes)?;
        let key = *key_for(&header.kid).ok_or(JwsError::UnknownKey)?;
        let (signing_input, sig_b64) = token.rsplit_once('.').ok_or(JwsError::Malformed)?;
        let sig_bytes: [u8; 64] = URL_SAFE_NO_PAD
            .decode(sig_b64)
            .map_err(|_| JwsError::Malformed)?
            .try_into()
            .map_err(|_| JwsError::Malformed)?;
        Ok(Signed {
            header,
            key,
            signing_input,
            signature: Signature::from_bytes(&sig_bytes),
        })
    }

    /// The header and decoded payload of a token whose signature checked out.
    fn into_verified(self) -> Result<Verified, JwsError> {
        let payload_b64 = self
            .signing_input
            .split_once('.')
            .map(|(_, p)| p)
            .ok_or(JwsError::Malformed)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .map_err(|_| JwsError::Malformed)?;
        Ok(Verified {
            header: self.header,
            payload,
        })
    }
}

/// Verifies many tokens against our ring at once, with the verdicts [`verify`] gives one by
/// one: the signatures that got as far are checked together (`signing::batch`), so one
/// forgery costs its batch-mates a re-check and never their verdict.
pub fn verify_all(
    ring: &KeyRing,
    tokens: &[&str],
    expected_typ: &str,
) -> Vec<Result<Verified, JwsError>> {
    let split: Vec<Result<Signed<'_>, JwsError>> = tokens
        .iter()
        .map(|t| {
            Signed::split(t, expected_typ, MAX_TOKEN_BYTES, |kid| {
                ring.verifying_key(kid)
            })
        })
        .collect();
    let signed: Vec<&Signed<'_>> = split.iter().filter_map(|s| s.as_ref().ok()).collect();
    let messages: Vec<&[u8]> = signed.iter().map(|s| s.signing_input.as_bytes()).collect();
    let signatures: Vec<Signature> = signed.iter().map(|s| s.signature).collect();
    let keys: Vec<ed25519_dalek::VerifyingKey> = signed.iter().map(|s| s.key).collect();
    let mut verdicts = super::batch::strict_verdicts(&messages, &signatures, &keys).into_iter();
    split
        .into_iter()
        .map(|s| {
            let s = s?;
            if verdicts.next() != Some(true) {
                return Err(JwsError::BadSignature);
            }
            s.into_verified()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TYP: &str = "elicence+jwt";

    fn ring() -> (tempfile::TempDir, KeyRing) {
        let dir = tempfile::tempdir().unwrap();
        let (ring, _) =
            KeyRing::open_or_generate(dir.path(), "2026-11-22T00:00:00Z".parse().unwrap()).unwrap();
        (dir, ring)
    }

    fn b64(v: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(v)
    }

    fn with_header(token: &str, header: &Value) -> String {
        let rest = token.split_once('.').unwrap().1;
        format!("{}.{rest}", b64(&serde_json::to_vec(header).unwrap()))
    }

    #[test]
    fn the_largest_payload_that_fits_is_known_before_signing() {
        let (_d, ring) = ring();
        for max_chars in [300, 412, 413, 414, 415, 500] {
            let n = max_payload_bytes(&ring, TYP, max_chars);
            assert!(
                sign(&ring, TYP, &vec![b'x'; n]).len() <= max_chars,
                "{max_chars}"
            );
            assert!(
                sign(&ring, TYP, &vec![b'x'; n + 1]).len() > max_chars,
                "{max_chars}"
            );
        }
        assert_eq!(max_payload_bytes(&ring, TYP, 10), 0);
    }

    #[test]
    fn sign_then_verify_round_trips() {
        let (_d, ring) = ring();
        let token = sign(&ring, TYP, br#"{"sub":"x"}"#);
        let v = verify(&ring, &token, TYP).unwrap();
        assert_eq!(v.payload, br#"{"sub":"x"}"#);
        assert_eq!(v.header.kid, ring.active_kid());
    }

    /// Every forgery class made from `token`, with the refusal it must get.
    fn forgeries(ring: &KeyRing, token: &str) -> Vec<(String, JwsError)> {
        let kid = ring.active_kid().to_owned();
        let (h, rest) = token.split_once('.').unwrap();
        let (p, s) = rest.split_once('.').unwrap();
        vec![
            ("a".repeat(MAX_TOKEN_BYTES + 1), JwsError::Oversize),
            (format!("{h}.{p}"), JwsError::Malformed),
            (format!("{token}.x"), JwsError::Malformed),
            (format!("!!.{p}.{s}"), JwsError::Malformed),
            (format!("{h}.{p}.{s}="), JwsError::Malformed),
            (format!("{h}.{p}.{}", b64(&[0u8; 10])), JwsError::Malformed),
            (
                format!("{h}.{}.{s}", b64(br#"{"sub":"y"}"#)),
                JwsError::BadSignature,
            ),
            (
                format!("{h}.{p}.{}", b64(&[1u8; 64])),
                JwsError::BadSignature,
            ),
            (
                with_header(
                    token,
                    &serde_json::json!({"alg":"none","kid":kid,"typ":TYP}),
                ),
                JwsError::UnsupportedAlgorithm,
            ),
            (
                with_header(
                    token,
                    &serde_json::json!({"alg":"HS256","kid":kid,"typ":TYP}),
                ),
                JwsError::UnsupportedAlgorithm,
            ),
            (
                with_header(token, &serde_json::json!({"kid":kid,"typ":TYP})),
                JwsError::UnsupportedAlgorithm,
            ),
            (
                with_header(
                    token,
                    &serde_json::json!({"alg":"EdDSA","kid":kid,"typ":"JWT"}),
                ),
                JwsError::WrongType,
            ),
            (
                with_header(
                    token,
                    &serde_json::json!({"alg":"EdDSA","kid":"someone-else","typ":TYP}),
                ),
                JwsError::UnknownKey,
            ),
            (
                with_header(token, &serde_json::json!({"alg":"EdDSA","typ":TYP})),
                JwsError::UnknownKey,
            ),
            (
                with_header(
                    token,
                    &serde_json::json!({"alg":"EdDSA","kid":kid,"typ":TYP,"jku":"https://evil/jwks"}),
                ),
                JwsError::ForbiddenHeader,
            ),
            (
                with_header(
                    token,
                    &serde_json::json!({"alg":"EdDSA","kid":kid,"typ":TYP,"x5u":"https://evil"}),
                ),
                JwsError::ForbiddenHeader,
            ),
            (
                with_header(
                    token,
                    &serde_json::json!({"alg":"EdDSA","kid":kid,"typ":TYP,"jwk":{"kty":"OKP"}}),
                ),
                JwsError::ForbiddenHeader,
            ),
            (
                with_header(
                    token,
                    &serde_json::json!({"alg":"EdDSA","kid":kid,"typ":TYP,"crit":["exp"]}),
                ),
                JwsError::ForbiddenHeader,
            ),
            (format!("{}.{p}.{s}", b64(b"not json")), JwsError::Malformed),
            (String::new(), JwsError::Malformed),
        ]
    }

    #[test]
    fn every_forgery_class_is_refused_with_its_code() {
        let (_d, ring) = ring();
        let token = sign(&ring, TYP, br#"{"sub":"x"}"#);
        for (forged, expected) in forgeries(&ring, &token) {
            assert_eq!(
                verify(&ring, &forged, TYP).unwrap_err(),
                expected,
                "{}",
                &forged[..forged.len().min(80)]
            );
        }
    }

    #[test]
    fn a_batch_gives_the_verdicts_of_one_by_one() {
        let (_d, ring) = ring();
        let good: Vec<String> = (0..5)
            .map(|i| sign(&ring, TYP, format!(r#"{{"sub":"{i}"}}"#).as_bytes()))
            .collect();
        let all_good: Vec<&str> = good.iter().map(String::as_str).collect();
        let verdicts = verify_all(&ring, &all_good, TYP);
        for (token, verdict) in all_good.iter().zip(&verdicts) {
            assert_eq!(verdict, &verify(&ring, token, TYP), "a passing batch");
        }
        // Each forgery among good codes: its refusal, and the good ones still pass.
        let forged = forgeries(&ring, &good[0]);
        let mut mixed: Vec<&str> = Vec::new();
        for (f, _) in &forged {
            mixed.push(f);
            mixed.push(&good[mixed.len() % good.len()]);
        }
        let verdicts = verify_all(&ring, &mixed, TYP);
        assert_eq!(verdicts.len(), mixed.len());
        for (token, verdict) in mixed.iter().zip(&verdicts) {
            assert_eq!(verdict, &verify(&ring, token, TYP));
        }
        let refused: Vec<JwsError> = verdicts.iter().filter_map(|v| v.clone().err()).collect();
        let expected: Vec<JwsError> = forged.iter().map(|(_, e)| *e).collect();
        assert_eq!(refused, expected);
        assert!(verify_all(&ring, &[], TYP).is_empty());
        assert_eq!(
            verify_all(&ring, &all_good[..1], TYP)[0],
            verify(&ring, &good[0], TYP)
        );
    }
    #[test]
    fn a_header_rewritten_with_the_same_kid_breaks_the_signature() {
        let (_d, ring) = ring();
        let token = sign(&ring, TYP, b"{}");
        // Same meaning, different bytes: the signature covers the exact header bytes.
        let header = format!(
            r#"{{"typ":"{TYP}", "kid":"{}", "alg":"EdDSA"}}"#,
            ring.active_kid()
        );
        let rest = token.split_once('.').unwrap().1;
        let reordered = format!("{}.{rest}", b64(header.as_bytes()));
        assert_eq!(
            verify(&ring, &reordered, TYP).unwrap_err(),
            JwsError::BadSignature
        );
    }

    #[test]
    fn another_rings_signature_is_unknown_or_bad() {
        let (_d1, ours) = ring();
        let (_d2, theirs) = ring();
        let token = sign(&theirs, TYP, b"{}");
        assert_eq!(
            verify(&ours, &token, TYP).unwrap_err(),
            JwsError::UnknownKey
        );
    }
}
