//! Where a terminal's inputs come from: a file, or an http(s) URL fetched once when the
//! terminal is online. Both are bounded (a body larger than the caller's limit is refused,
//! not read) and a fetch gives up after [`FETCH_TIMEOUT`].

use std::path::Path;
use std::time::Duration;
use ureq::tls::{RootCerts, TlsConfig, TlsProvider};

/// The whole fetch, connection to last byte.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0}: {1}")]
    Fetch(String, ureq::Error),
    #[error("{name}: larger than {max} bytes, not {what}")]
    TooLarge {
        name: String,
        max: u64,
        what: &'static str,
    },
}

/// What one source holds: at most `max` bytes of `what` (for the messages), asked for as
/// `accept` when fetched.
pub struct Source<'a> {
    pub max: u64,
    pub what: &'static str,
    pub accept: &'a str,
}

impl Source<'_> {
    /// The bytes at `source`: a path, or an `http://` / `https://` URL.
    pub fn load(&self, source: &str) -> Result<Vec<u8>, LoadError> {
        if source.starts_with("http://") || source.starts_with("https://") {
            self.fetch(source)
        } else {
            self.read(source)
        }
    }

    fn too_large(&self, source: &str) -> LoadError {
        LoadError::TooLarge {
            name: source.to_owned(),
            max: self.max,
            what: self.what,
        }
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, LoadError> {
        super::super::read_at_most(Path::new(path), self.max)
            .map_err(|e| LoadError::Read(path.to_owned(), e))?
            .ok_or_else(|| self.too_large(path))
    }

    fn fetch(&self, url: &str) -> Result<Vec<u8>, LoadError> {
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
            ureq::Error::BodyExceedsLimit(_) => self.too_large(url),
            other => LoadError::Fetch(url.to_owned(), other),
        };
        let mut response = agent
            .get(url)
            .header("Accept", self.accept)
            .call()
            .map_err(err)?;
        response
            .body_mut()
            .with_config()
            .limit(self.max)
            .read_to_vec()
            .map_err(err)
    }
}
