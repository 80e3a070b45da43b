//! Signing: Ed25519 keys on disk (`keys/`) and the running server's view of them, their
//! public JWK form, compact JWS, and COSE_Sign1 in Base45 for the purpose-bound QR codes that
//! must stay small.
//!
//! Nothing here knows about licences: it signs and verifies bytes under a key ring. The
//! claims of an e-licence code are defined elsewhere; the algorithm and the key are always
//! chosen here, never taken from a token.

pub mod base45;
pub mod batch;
pub mod cose;
pub mod jwk;
pub mod jws;
pub mod keys;
pub mod live;
pub mod states;

pub use jwk::{thumbprint, Jwk, Jwks};
pub use jws::{JwsError, JwsHeader, Verified};
pub use keys::{KeyError, KeyRing, KeyState, KeySummary};
pub use live::LiveKeys;
