//! Public keys as JWK (RFC 8037: OKP / Ed25519) and their RFC 7638 thumbprints.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A published public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Jwk {
    /// Always "OKP".
    pub kty: String,
    /// Always "Ed25519".
    pub crv: String,
    /// The public key, base64url without padding.
    pub x: String,
    /// The RFC 7638 thumbprint of this key.
    pub kid: String,
    #[serde(rename = "use")]
    pub use_: String,
    pub alg: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// RFC 7638: SHA-256 over the required members in lexicographic order, no white space.
pub fn thumbprint(key: &VerifyingKey) -> String {
    let x = URL_SAFE_NO_PAD.encode(key.as_bytes());
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

impl Jwk {
    pub fn from_key(key: &VerifyingKey) -> Jwk {
        Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: URL_SAFE_NO_PAD.encode(key.as_bytes()),
            kid: thumbprint(key),
            use_: "sig".into(),
            alg: "EdDSA".into(),
        }
    }

    /// The key this JWK describes, if it is an Ed25519 signing key whose kid matches.
    pub fn to_key(&self) -> Option<VerifyingKey> {
        if self.kty != "OKP" || self.crv != "Ed25519" {
            return None;
        }
        let bytes: [u8; 32] = URL_SAFE_NO_PAD.decode(&self.x).ok()?.try_into().ok()?;
        let key = VerifyingKey::from_bytes(&bytes).ok()?;
        (thumbprint(&key) == self.kid).then_some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8037 appendix A.3: the thumbprint of the example Ed25519 key.
    #[test]
    fn thumbprint_matches_rfc_8037_example() {
        let x = URL_SAFE_NO_PAD
            .decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
            .unwrap();
        let key = VerifyingKey::from_bytes(&x.try_into().unwrap()).unwrap();
        assert_eq!(
            thumbprint(&key),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn jwk_round_trips_and_checks_its_kid() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]).verifying_key();
        let jwk = Jwk::from_key(&key);
        assert_eq!(jwk.to_key(), Some(key));
        let json = serde_json::to_value(&jwk).unwrap();
        assert_eq!(json["use"], "sig");
        let mut wrong = jwk.clone();
        wrong.kid = "other".into();
        assert_eq!(wrong.to_key(), None);
        let mut not_okp = jwk;
        not_okp.kty = "EC".into();
        assert_eq!(not_okp.to_key(), None);
    }
}
