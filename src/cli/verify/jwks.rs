//! Where a terminal's keys come from: a JWKS file, or `/.well-known/jwks.json` fetched over
//! HTTP(S) when the terminal is online. Parsing and choosing the keys is `offline::keys`.

use crate::offline::{JwksError, KeySet};
use std::path::Path;
use std::time::Duration;
use ureq::tls::{RootCerts, TlsConfig, TlsProvider};

/// A JWKS of a few keys is well under a kilobyte; anything past this is not ours.
pub const MAX_JWKS_BYTES: u64 = 1 << 20;
/// The whole fetch, connection to last byte.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0}: {1}")]
    Fetch(String, ureq::Error),
    #[error("{0}: larger than {MAX_JWKS_BYTES} bytes, not a JWKS")]
    TooLarge(String),
    #[error("{0}: {1}")]
    Parse(String, JwksError),
}

/// The keys in `source` (a path or an `http(s)://` URL) and a message per key ignored.
pub fn load(source: &str) -> Result<(KeySet, Vec<String>), LoadError> {
    let bytes = if source.starts_with("http://") || source.starts_with("https://") {
        fetch(source)?
    } else {
        read(source)?
    };
    KeySet::from_jwks_json(&bytes).map_err(|e| LoadError::Parse(source.to_owned(), e))
}

fn read(path: &str) -> Result<Vec<u8>, LoadError> {
    super::super::read_at_most(Path::new(path), MAX_JWKS_BYTES)
        .map_err(|e| LoadError::Read(path.to_owned(), e))?
        .ok_or_else(|| LoadError::TooLarge(path.to_owned()))
}

fn fetch(url: &str) -> Result<Vec<u8>, LoadError> {
    // native-tls over the system OpenSSL and its CA store, so an authority's own CA works.
    let tls = TlsConfig::builder()
        .provider(TlsProvider::NativeTls)
        .root_certs(RootCerts::PlatformVerifier)
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(FETCH_TIMEOUT))
        .tls_config(tls)
        .build()
        .into();
    let err = |e| match e {
        ureq::Error::BodyExceedsLimit(_) => LoadError::TooLarge(url.to_owned()),
        other => LoadError::Fetch(url.to_owned(), other),
    };
    let mut response = agent.get(url).call().map_err(err)?;
    response
        .body_mut()
        .with_config()
        .limit(MAX_JWKS_BYTES)
        .read_to_vec()
        .map_err(err)
}
