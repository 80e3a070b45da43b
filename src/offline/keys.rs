//! The verifying keys of an offline terminal, taken from a JWKS document (the bytes of
//! `/.well-known/jwks.json`, however they were obtained: reading and fetching are the CLI's).
//!
//! Only what we publish is taken: OKP / Ed25519 keys for `EdDSA` signatures whose `kid` is
//! their RFC 7638 thumbprint, and not of small order or with a torsion component. Anything
//! else in the document is ignored, and each ignored key is reported so the terminal can warn.

use crate::signing::Jwk;
use ed25519_dalek::VerifyingKey;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("not a JWKS document: {0}")]
    NotJwks(String),
    #[error("the JWKS holds no usable Ed25519 key")]
    NoUsableKey,
}

/// The published keys, looked up by `kid`.
#[derive(Debug, Clone)]
pub struct KeySet {
    keys: Vec<(String, VerifyingKey)>,
}

impl KeySet {
    /// Parses a JWKS document. Returns the keys and one message per key that was ignored.
    pub fn from_jwks_json(bytes: &[u8]) -> Result<(KeySet, Vec<String>), JwksError> {
        let doc: Value =
            serde_json::from_slice(bytes).map_err(|e| JwksError::NotJwks(e.to_string()))?;
        let entries = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| JwksError::NotJwks("no \"keys\" array".into()))?;
        let mut keys: Vec<(String, VerifyingKey)> = Vec::new();
        let mut ignored = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            match usable(entry) {
                Ok(jwk_key) if keys.iter().any(|(kid, _)| *kid == jwk_key.0) => {
                    ignored.push(format!("key {i} ({}): listed twice", jwk_key.0))
                }
                Ok(jwk_key) => keys.push(jwk_key),
                Err(why) => ignored.push(format!("key {i}: {why}")),
            }
        }
        if keys.is_empty() {
            return Err(JwksError::NoUsableKey);
        }
        Ok((KeySet { keys }, ignored))
    }

    /// The position of `kid`, for a cheap handle kept per code.
    pub fn index_of(&self, kid: &str) -> Option<usize> {
        self.keys.iter().position(|(k, _)| k == kid)
    }

    pub fn get(&self, kid: &str) -> Option<&VerifyingKey> {
        self.index_of(kid).map(|i| &self.keys[i].1)
    }

    pub fn kid(&self, index: usize) -> &str {
        &self.keys[index].0
    }

    pub fn key(&self, index: usize) -> &VerifyingKey {
        &self.keys[index].1
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The key an entry describes, or why it is not one we take.
fn usable(entry: &Value) -> Result<(String, VerifyingKey), String> {
    let jwk: Jwk = serde_json::from_value(entry.clone())
        .map_err(|_| "not an OKP JWK with kty, crv, x, kid, use and alg; ignored".to_owned())?;
    if jwk.alg != "EdDSA" || jwk.use_ != "sig" {
        return Err(format!(
            "{}: alg {:?} / use {:?} is not EdDSA / sig; ignored",
            jwk.kid, jwk.alg, jwk.use_
        ));
    }
    let key = jwk.to_key().ok_or_else(|| {
        format!(
            "{}: not an Ed25519 key whose kid is its RFC 7638 thumbprint; ignored",
            jwk.kid
        )
    })?;
    if key.is_weak() || !key.to_edwards().is_torsion_free() {
        return Err(format!(
            "{}: a small-order or mixed-order point; ignored",
            jwk.kid
        ));
    }
    Ok((jwk.kid, key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn our_keys_are_taken_and_everything_else_is_ignored_with_a_reason() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]).verifying_key();
        let ours = serde_json::to_value(Jwk::from_key(&key)).unwrap();
        let mut wrong_kid = ours.clone();
        wrong_kid["kid"] = json!("mine");
        let mut hs = ours.clone();
        hs["alg"] = json!("HS256");
        // The identity point: small order, rejected even with its own thumbprint as kid.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak =
            serde_json::to_value(Jwk::from_key(&VerifyingKey::from_bytes(&identity).unwrap()))
                .unwrap();
        let doc = json!({"keys": [
            ours, {"kty": "RSA", "kid": "r", "n": "AQAB", "e": "AQAB"},
            wrong_kid, hs, weak, ours,
        ]});
        let (set, ignored) = KeySet::from_jwks_json(doc.to_string().as_bytes()).unwrap();
        assert_eq!(set.len(), 1);
        assert_eq!(set.get(&crate::signing::thumbprint(&key)), Some(&key));
        assert_eq!(ignored.len(), 5, "{ignored:?}");
        assert!(ignored[0].starts_with("key 1:"), "{ignored:?}");
        assert!(ignored[3].contains("small-order"), "{ignored:?}");
        assert!(ignored[4].contains("twice"), "{ignored:?}");
    }

    #[test]
    fn a_document_without_keys_is_refused() {
        for bad in [&b"<html>"[..], br#"{"keys": 1}"#, br#"[]"#] {
            assert!(matches!(
                KeySet::from_jwks_json(bad),
                Err(JwksError::NotJwks(_))
            ));
        }
        assert!(matches!(
            KeySet::from_jwks_json(br#"{"keys": [{"kty": "EC"}]}"#),
            Err(JwksError::NoUsableKey)
        ));
    }
}
