//! Signing: Ed25519 keys on disk (`keys/`), their public JWK form, and compact JWS.
//!
//! Nothing here knows about licences: it signs and verifies bytes under a key ring. The
//! claims of an e-licence code are defined elsewhere; the algorithm and the key are always
//! chosen here, never taken from a token.

pub mod jwk;
pub mod jws;
pub mod keys;

pub use jwk::{thumbprint, Jwk, Jwks};
pub use jws::{JwsError, JwsHeader, Verified};
pub use keys::{KeyError, KeyRing, KeyState, KeySummary};
