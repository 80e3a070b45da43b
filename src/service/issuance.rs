//! Issuing an e-licence with the photo on file (已留存照片): generated at once when the
//! licence is eligible. One current e-licence per licence; asking again returns it.

use crate::domain::e_licence::{ELicencePhotoSource, IssuedVia};
use crate::domain::eligibility::{evaluate, Reason};
use crate::domain::licence::LicenceNumber;
use crate::service::status_list;
use crate::storage::e_licences::{self, ELicenceRow, NewELicence};
use crate::storage::licences::StoredLicence;
use crate::storage::{licences, photos, DbConn, StorageError};
use chrono::{DateTime, NaiveDate, Utc};

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("no such licence")]
    LicenceNotFound,
    #[error("the licence may not get an e-licence")]
    NotEligible(Vec<Reason>),
    #[error("there is no photo on file")]
    PhotoRequired,
    /// The photo on file fails the automatic pre-checks (their codes) or cannot be read
    /// (`unreadable`): the holder must submit a photo for review instead.
    #[error("the photo on file cannot be used without review")]
    PhotoOnFileUnusable(Vec<&'static str>),
    /// The photo on file was never prepared (it came before preparation existed, or by
    /// another path): the caller prepares it off the database's threads
    /// ([`photo_on_file_to_prepare`], `crate::photo::prepare` on the photo pool,
    /// [`remember_prepared`]) and asks again. Decoding never runs on a database connection.
    #[error("the photo on file was never prepared")]
    PhotoNotPrepared,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

#[derive(Debug, Clone)]
pub struct Issued {
    pub e_licence: ELicenceRow,
    /// The licence, as read in the transaction that decided (for the answer's document).
    pub licence: StoredLicence,
    /// False when the licence already had a current e-licence.
    pub created: bool,
}

pub fn photo_digest(bytes: &[u8]) -> String {
    crate::photo::digest(bytes)
}

/// Where an e-licence is issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel<'a> {
    /// In the app: the photo on file, or an upload a reviewer approved.
    App,
    /// At the counter (车辆管理所), by the clerk holding this token.
    Counter { clerk_token_id: &'a str },
}

impl Channel<'_> {
    pub fn via(self) -> IssuedVia {
        match self {
            Channel::App => IssuedVia::App,
            Channel::Counter { .. } => IssuedVia::Counter,
        }
    }

    pub fn code(self) -> &'static str {
        self.via().code()
    }
}

/// Generates the current e-licence of `number` with this photo, and tells the holder
/// (`e_licence_issued`, in the same transaction). The caller has checked that the licence may
/// have one and has none; the partial unique index refuses a second one. The caller holds
/// the licence's row lock in this transaction (`licences::find_for_update`, the first
/// statement of every writer of a licence's e-licences on PostgreSQL): a concurrent registry
/// write waits for this issuance, or this one for it, so the entry written below is computed
/// from the licence as committed, never from a version a concurrent import is replacing.
pub(crate) fn create(
    conn: &mut DbConn,
    number: &LicenceNumber,
    photo_source: ELicencePhotoSource,
    photo: &[u8],
    media_type: &str,
    channel: Channel<'_>,
    now: DateTime<Utc>,
) -> Result<ELicenceRow, StorageError> {
    let id = super::random_id("el_", 12);
    let photo_sha256 = photo_digest(photo);
    let mut attempts = 0;
    let row = loop {
        let position = status_list::allocate(conn, now)?;
        let new = NewELicence {
            id: &id,
            licence_number: number.as_str(),
            photo_source,
            photo,
            photo_media_type: media_type,
            photo_sha256: &photo_sha256,
            generated_at: now,
            issued_via: channel.via(),
            issued_by: match channel {
                Channel::App => None,
                Channel::Counter { clerk_token_id } => Some(clerk_token_id),
            },
            position,
        };
        if let Some(row) = e_licences::insert_current(conn, &new)? {
            break row;
        }
        // Refused by a unique index. The licence's own current e-licence came first: the
        // caller handles that. Otherwise, on PostgreSQL, a concurrent issuance drew the same
        // index (one chance in hundreds of thousands) and committed first: draw again.
        attempts += 1;
        if attempts >= 3 || e_licences::current_for(conn, number.as_str())?.is_some() {
            return Err(StorageError::Constraint(format!(
                "licence {}: a current e-licence exists, or no free position in {attempts} draws",
                number.masked()
            )));
        }
    };
    let position = row.position()?;
    crate::storage::notifications::push(
        conn,
        number.as_str(),
        "e_licence_issued",
        &serde_json::json!({"e_licence_id": row.id, "via": row.issued_via}),
        now,
    )?;
    // Last, as they lock the list's row until the commit: its entry (VALID, with the day
    // time may change it) and the index counted as given out.
    status_list::entries::update_and_count(
        conn,
        &[number.as_str()],
        Some(position.list() as i32),
        now,
    )?;
    Ok(row)
}

/// Generates the current e-licence at the counter (车辆管理所): as [`create`], with a
/// normalised JPEG, recorded as issued there by the clerk's token `clerk_token_id`. The caller
/// holds the licence's row lock.
pub(crate) fn create_at_counter(
    conn: &mut DbConn,
    number: &LicenceNumber,
    photo_source: ELicencePhotoSource,
    jpeg: &[u8],
    clerk_token_id: &str,
    now: DateTime<Utc>,
) -> Result<ELicenceRow, StorageError> {
    let channel = Channel::Counter { clerk_token_id };
    // The counter locked the licence's row already (`served_locked`).
    create(conn, number, photo_source, jpeg, "image/jpeg", channel, now)
}

/// Issues the e-licence with the registry's photo, normalised and pre-checked like an upload
/// when it arrived: [`IssueError::PhotoNotPrepared`] if it never was (the caller prepares it
/// off the database's threads and asks again).
pub fn issue_with_photo_on_file(
    conn: &mut DbConn,
    number: &LicenceNumber,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Issued, IssueError> {
    let issued = issue_in_app(conn, number, today, now);
    match &issued {
        Ok(i) if i.created => crate::telemetry::metrics::issued(Channel::App.code()),
        Err(e) => {
            if let Some(reason) = e.refusal() {
                crate::telemetry::metrics::issuance_refused(Channel::App.code(), reason);
            }
        }
        Ok(_) => {}
    }
    issued
}

impl IssueError {
    /// The refusal's code, for the metrics; `None` when it is not a refusal (the photo is
    /// prepared and the request asked again, or storage failed).
    fn refusal(&self) -> Option<&'static str> {
        match self {
            IssueError::LicenceNotFound => Some("licence_not_found"),
            IssueError::NotEligible(_) => Some("not_eligible"),
            IssueError::PhotoRequired => Some("photo_required"),
            IssueError::PhotoOnFileUnusable(_) => Some("photo_on_file_unusable"),
            IssueError::PhotoNotPrepared | IssueError::Storage(_) => None,
        }
    }
}

fn issue_in_app(
    conn: &mut DbConn,
    number: &LicenceNumber,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Issued, IssueError> {
    let stored = licences::find(conn, number)?.ok_or(IssueError::LicenceNotFound)?;
    if let Some(issued) = existing_or_refusal(conn, &stored, today)? {
        return Ok(issued);
    }
    let (photo_source, photo) = match usable_photo(conn, number) {
        Ok(photo) => (ELicencePhotoSource::OnFile, photo),
        Err(e @ (IssueError::PhotoRequired | IssueError::PhotoOnFileUnusable(_))) => {
            superseded_photo(conn, number)?.ok_or(e)?
        }
        Err(e) => return Err(e),
    };
    let attempt = conn.write_transaction(|conn| {
        // Checked again under the write lock, the licence's row locked first: the licence or
        // a concurrent request may have changed things since the reads above.
        let locked = licences::find_for_update(conn, number)?.ok_or(IssueError::LicenceNotFound)?;
        if let Some(issued) = existing_or_refusal(conn, &locked, today)? {
            return Ok(issued);
        }
        let created = create(
            conn,
            number,
            photo_source,
            &photo,
            "image/jpeg",
            Channel::App,
            now,
        )?;
        Ok(Issued {
            e_licence: created,
            licence: locked,
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
                licence: stored,
                created: false,
            })
        }
        other => other,
    }
}

/// The licence's current e-licence if it has one (issuance is idempotent), the refusal if
/// it may not have one, or `None`: go ahead.
fn existing_or_refusal(
    conn: &mut DbConn,
    stored: &StoredLicence,
    today: NaiveDate,
) -> Result<Option<Issued>, IssueError> {
    let eligibility = evaluate(&stored.licence, today);
    if !eligibility.is_eligible() {
        return Err(IssueError::NotEligible(eligibility.reasons().to_vec()));
    }
    Ok(
        e_licences::current_for(conn, stored.licence.number.as_str())?.map(|current| Issued {
            e_licence: current,
            licence: stored.clone(),
            created: false,
        }),
    )
}

/// Applying again after a licence change superseded the e-licence, with no usable photo on
/// file: the superseded e-licence's photo (with its source), which a reviewer or the
/// automatic checks already accepted.
fn superseded_photo(
    conn: &mut DbConn,
    number: &LicenceNumber,
) -> Result<Option<(ELicencePhotoSource, Vec<u8>)>, IssueError> {
    let Some(latest) = e_licences::latest_for(conn, number.as_str())? else {
        return Ok(None);
    };
    if latest.is_current() || latest.photo_media_type != "image/jpeg" {
        return Ok(None);
    }
    Ok(e_licences::photo(conn, &latest.id)?.map(|(bytes, _)| (latest.photo_source, bytes)))
}

/// The photo on file as an e-licence photo: the normalised copy prepared when the registry
/// sent it, if it passed every automatic pre-check. One that arrived before preparation
/// existed (or by another path) is [`IssueError::PhotoNotPrepared`]: prepared by the caller,
/// once, and remembered.
pub(crate) fn usable_photo(
    conn: &mut DbConn,
    number: &LicenceNumber,
) -> Result<Vec<u8>, IssueError> {
    let (sha256, failed) = match licences::prepared_photo(conn, number)? {
        None => return Err(IssueError::LicenceNotFound),
        Some((Some(sha256), Some(failed))) => (sha256, failed),
        Some(_) if licences::find_photo(conn, number)?.is_none() => {
            return Err(IssueError::PhotoRequired)
        }
        Some(_) => return Err(IssueError::PhotoNotPrepared),
    };
    if !failed.is_empty() {
        return Err(IssueError::PhotoOnFileUnusable(
            failed.split(',').map(crate::photo::check_code).collect(),
        ));
    }
    photos::get(conn, &sha256)?
        .map(|(bytes, _)| bytes)
        .ok_or_else(|| {
            StorageError::Corrupt(format!("prepared photo {sha256} is not stored")).into()
        })
}

/// The photo on file of `number` if it was never prepared: its bytes, to prepare off the
/// database's threads. `None` when there is none, or it is prepared already.
pub fn photo_on_file_to_prepare(
    conn: &mut DbConn,
    number: &LicenceNumber,
) -> Result<Option<Vec<u8>>, StorageError> {
    match licences::prepared_photo(conn, number)? {
        Some((None, _) | (_, None)) => Ok(licences::find_photo(conn, number)?.map(|p| p.bytes)),
        _ => Ok(None),
    }
}

/// Remembers `prepared`, made from the photo on file `original`, unless that photo was
/// replaced or prepared meanwhile (a newer photo arrives prepared).
pub fn remember_prepared(
    conn: &mut DbConn,
    number: &LicenceNumber,
    original: &[u8],
    prepared: &crate::domain::record::PreparedPhoto,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    conn.write_transaction(|conn| {
        let unchanged = licences::find_photo(conn, number)?.is_some_and(|p| p.bytes == original);
        let unprepared = matches!(
            licences::prepared_photo(conn, number)?,
            Some((None, _) | (_, None))
        );
        if unchanged && unprepared {
            licences::set_prepared(conn, number, prepared, now)?;
        }
        Ok(())
    })
}
