//! The terminal's keys: a JWKS file, or `/.well-known/jwks.json` fetched over HTTP(S) when the
//! terminal is online. Parsing and choosing the keys is `offline::keys`.

use super::source::{self, Source};
use crate::offline::{JwksError, KeySet};

/// A JWKS of a few keys is well under a kilobyte; anything past this is not ours.
pub const MAX_JWKS_BYTES: u64 = 1 << 20;

const JWKS: Source<'static> = Source {
    max: MAX_JWKS_BYTES,
    what: "a JWKS",
    accept: "application/jwk-set+json, application/json",
};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Source(#[from] source::LoadError),
    #[error("{0}: {1}")]
    Parse(String, JwksError),
}

/// The keys in `source` (a path or an `http(s)://` URL) and a message per key ignored.
pub fn load(source: &str) -> Result<(KeySet, Vec<String>), LoadError> {
    let bytes = JWKS.load(source)?;
    KeySet::from_jwks_json(&bytes).map_err(|e| LoadError::Parse(source.to_owned(), e))
}
