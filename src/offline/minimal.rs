//! Minimal (purpose-bound) codes, as a rental desk, an insurer or an employer checks them
//! with our published keys: exactly the steps of docs/code-format.md, "Purposes". Also what a
//! verifier of one kind makes of the other kind's code: a code of ours for another purpose is
//! `purpose_mismatch`, never read further. The server's online check uses the same functions.

use super::Invalid;
use crate::domain::code::CODE_TYP;
use crate::domain::minimal::{MinimalClaims, MAX_MINIMAL_CODE_CHARS, MINIMAL_PREFIX};
use crate::domain::purpose::Purpose;
use crate::signing::cose::{self, CoseError};
use crate::signing::jws;
use ed25519_dalek::VerifyingKey;

/// The claims of a minimal code made for `purpose`, and the `kid` that signed it; or why not.
/// A roadside code (a JWS) that we signed is `purpose_mismatch`; any other text without the
/// prefix is `bad_prefix`.
pub fn read<'k>(
    text: &str,
    purpose: Purpose,
    key_for: impl Fn(&str) -> Option<&'k VerifyingKey>,
) -> Result<(String, MinimalClaims), Invalid> {
    if !text.starts_with(MINIMAL_PREFIX) {
        return Err(match jws::verify_with(text, CODE_TYP, &key_for) {
            Ok(_) => Invalid::PurposeMismatch,
            Err(_) => Invalid::Cose(CoseError::BadPrefix),
        });
    }
    let (kid, claims) = signed_claims(text, key_for)?;
    if claims.purpose != purpose {
        return Err(Invalid::PurposeMismatch);
    }
    Ok((kid, claims))
}

/// What a roadside verifier says of a text with the minimal prefix: `purpose_mismatch` when
/// it is a code we signed, else why it is not.
pub fn for_roadside<'k>(text: &str, key_for: impl Fn(&str) -> Option<&'k VerifyingKey>) -> Invalid {
    match signed_claims(text, key_for) {
        Ok(_) => Invalid::PurposeMismatch,
        Err(e) => e,
    }
}

fn signed_claims<'k>(
    text: &str,
    key_for: impl Fn(&str) -> Option<&'k VerifyingKey>,
) -> Result<(String, MinimalClaims), Invalid> {
    let v = cose::verify_text_with(text, MINIMAL_PREFIX, MAX_MINIMAL_CODE_CHARS, &key_for)
        .map_err(Invalid::Cose)?;
    let claims = MinimalClaims::from_cbor(&v.payload).map_err(|_| Invalid::Claims)?;
    Ok((v.kid, claims))
}
