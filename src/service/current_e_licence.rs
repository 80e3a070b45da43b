//! The rule every holder route follows for "the holder's e-licence": the current one, or why
//! there is none — never issued (404 for the caller), or superseded by a licence change (410:
//! apply again, and why it ended).

use crate::domain::licence::LicenceNumber;
use crate::domain::registry_event::SupersedeReason;
use crate::storage::e_licences::{self, ELicenceRow};
use crate::storage::licences::{self, StoredLicence};
use crate::storage::{DbConn, StorageError};

#[derive(Debug, thiserror::Error)]
pub enum CurrentError {
    #[error("no e-licence was ever issued for this licence")]
    NeverIssued,
    #[error("the e-licence was superseded by a licence change")]
    Superseded(Option<SupersedeReason>),
    #[error("licence not found")]
    LicenceNotFound,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The licence's current e-licence.
pub fn of(conn: &mut DbConn, number: &LicenceNumber) -> Result<ELicenceRow, CurrentError> {
    match e_licences::current_for(conn, number.as_str())? {
        Some(e) => Ok(e),
        None => Err(why_none(conn, number)?),
    }
}

/// [`of`], with the licence as stored.
pub fn with_licence(
    conn: &mut DbConn,
    number: &LicenceNumber,
) -> Result<(ELicenceRow, StoredLicence), CurrentError> {
    let e = of(conn, number)?;
    let stored = licences::find(conn, number)?.ok_or(CurrentError::LicenceNotFound)?;
    Ok((e, stored))
}

/// Why a licence has no current e-licence: its newest was superseded, or there never was one.
fn why_none(conn: &mut DbConn, number: &LicenceNumber) -> Result<CurrentError, StorageError> {
    Ok(match e_licences::latest_for(conn, number.as_str())? {
        Some(e) if !e.is_current() => CurrentError::Superseded(e.superseded_reason),
        _ => CurrentError::NeverIssued,
    })
}
