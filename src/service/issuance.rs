//! Issuing an e-licence with the photo on file (已留存照片): generated at once when the
//! licence is eligible. One current e-licence per licence; asking again returns it.

use crate::domain::eligibility::{evaluate, Reason};
use crate::domain::licence::LicenceNumber;
use crate::storage::e_licences::{self, ELicenceRow, NewELicence};
use crate::storage::{licences, DbConn, StorageError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("no such licence")]
    LicenceNotFound,
    #[error("the licence may not get an e-licence")]
    NotEligible(Vec<Reason>),
    #[error("there is no photo on file")]
    PhotoRequired,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

#[derive(Debug, Clone)]
pub struct Issued {
    pub e_licence: ELicenceRow,
    /// False when the licence already had a current e-licence.
    pub created: bool,
}

pub fn photo_digest(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(bytes))
}

pub fn issue_with_photo_on_file(
    conn: &mut DbConn,
    number: &LicenceNumber,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Issued, IssueError> {
    let attempt = conn.write_transaction(|conn| {
        let stored = licences::find(conn, number)?.ok_or(IssueError::LicenceNotFound)?;
        let eligibility = evaluate(&stored.licence, today);
        if !eligibility.is_eligible() {
            return Err(IssueError::NotEligible(eligibility.reasons().to_vec()));
        }
        if let Some(current) = e_licences::current_for(conn, number.as_str())? {
            return Ok(Issued {
                e_licence: current,
                created: false,
            });
        }
        let photo = licences::find_photo(conn, number)?.ok_or(IssueError::PhotoRequired)?;
        let id = super::random_id("el_", 12);
        e_licences::insert_current(
            conn,
            &NewELicence {
                id: &id,
                licence_number: number.as_str(),
                photo_source: "on_file",
                photo: &photo.bytes,
                photo_media_type: photo.format.media_type(),
                photo_sha256: &photo_digest(&photo.bytes),
                generated_at: now,
            },
        )?;
        let created = e_licences::find(conn, &id)?
            .ok_or_else(|| StorageError::Corrupt(format!("{id} vanished")))?;
        Ok(Issued {
            e_licence: created,
            created: true,
        })
    });
    match attempt {
        // PostgreSQL: a concurrent request created it first; the unique index refused ours.
        Err(IssueError::Storage(StorageError::Constraint(_))) => {
            let current = e_licences::current_for(conn, number.as_str())?.ok_or_else(|| {
                StorageError::Corrupt("no current e-licence after a conflict".into())
            })?;
            Ok(Issued {
                e_licence: current,
                created: false,
            })
        }
        other => other,
    }
}
